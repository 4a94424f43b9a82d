import Foundation
import XCTest
import FeatureIO

/// Validation, test and classifier files must name their classes as the training file
/// does, class by class (the same indices under other names would be scored silently).
final class ClassNameTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws {
        dir = try scratchFolder("names")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `name` in the test folder: fixture `split` with classes 1 and 2 swapped in its names.
    func renamed(_ split: String) throws -> String {
        var s = try FeatureStore.readFeatures(path: "\(fixtures)/\(split).h5")
        let names = try XCTUnwrap(s.classNames)
        s.classNames = names
        s.classNames!.swapAt(1, 2)
        let p = path("\(split)-renamed.h5")
        try FeatureStore.writeFeatures(s, to: p)
        return p
    }

    func testDisagreeingClassNamesAreRefused() throws {
        let train = "\(fixtures)/train.h5", names = try XCTUnwrap(try FeatureStore.readFeatures(path: train).classNames)
        let val = try renamed("val"), test = try renamed("test")
        let r = try afg("train", "--method", "crt", "--epochs", "1", "--train", train, "--val", val, "--out", path("c.h5"), "--quiet")
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertEqual(r.err, "Error: \(val): class 1 is named '\(names[2])', but '\(names[1])' in the training file \(train); the class indices must mean the same classes\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c.h5")))

        let clf = path("ok.h5")
        XCTAssertEqual(try afg("train", "--method", "crt", "--epochs", "1", "--train", train, "--out", clf, "--quiet").status, 0)
        let e = try afg("evaluate", "--classifier", clf, "--test", test)
        XCTAssertEqual(e.status, 1, e.err)
        XCTAssertTrue(e.err.contains("\(test): class 1 is named '\(names[2])', but '\(names[1])' in the classifier \(clf)"), e.err)
        XCTAssertEqual(try afg("evaluate", "--classifier", clf, "--test", "\(fixtures)/test.h5").status, 0)

        // The waiver: the same runs go through, reading the labels as indices.
        let w = try afg("train", "--method", "crt", "--epochs", "1", "--train", train, "--val", val, "--out", path("w.h5"),
                        "--class-names-may-differ", "--quiet")
        XCTAssertEqual(w.status, 0, w.err)
        let we = try afg("evaluate", "--classifier", clf, "--test", test, "--class-names-may-differ")
        XCTAssertEqual(we.status, 0, we.err)
    }
}
