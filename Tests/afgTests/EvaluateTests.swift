import Foundation
import XCTest
import FeatureIO

/// `afg evaluate --compare`: each compared classifier scores exactly what it scores alone,
/// the plot draws one bar group per classifier, and mismatched files fail with one line.
final class EvaluateTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws {
        dir = try scratchFolder("evaluate")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func json(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    func testCompareMatchesSeparateEvaluations() throws {
        let a = path("crt.h5"), b = path("lr.h5"), svg = path("plot.svg")
        XCTAssertEqual(try afg("train", "--method", "crt", "--epochs", "2", "--train", "\(fixtures)/train.h5", "--out", a, "--quiet").status, 0)
        XCTAssertEqual(try afg("train", "--method", "ce", "--solver", "lbfgs", "--no-tukey", "--tolerance", "1e-2",
                               "--train", "\(fixtures)/train.h5", "--out", b, "--quiet").status, 0)
        let both = try afg("evaluate", "--classifier", a, "--compare", b, "--test", "\(fixtures)/test.h5", "--plot", svg, "--json")
        XCTAssertEqual(both.status, 0, both.err)
        let alone = try afg("evaluate", "--classifier", b, "--test", "\(fixtures)/test.h5", "--json")
        let compared = try XCTUnwrap(try json(both.out)["compared"] as? [[String: Any]])
        XCTAssertEqual(compared.count, 1)
        let s1 = try XCTUnwrap(compared[0]["summary"] as? [String: Any]), s2 = try XCTUnwrap(try json(alone.out)["summary"] as? [String: Any])
        // b has no Tukey λ while a has 0.5: each is scored under its own transform.
        XCTAssertEqual(s1["overall"] as? Double, s2["overall"] as? Double)
        XCTAssertEqual(s1["meanPerClassRecall"] as? Double, s2["meanPerClassRecall"] as? Double)
        let text = try XCTUnwrap(String(contentsOfFile: svg, encoding: .utf8))
        XCTAssertEqual(text.components(separatedBy: "<g fill=").count - 1, 2)
        XCTAssertTrue(text.contains("crt: top-1"))
    }

    func testMismatchedCompareFailsWithOneLine() throws {
        let a = path("a.h5")
        XCTAssertEqual(try afg("train", "--method", "ce", "--epochs", "1", "--train", "\(fixtures)/train.h5", "--out", a, "--quiet").status, 0)
        var f = try FeatureStore.readClassifier(path: a)
        f.classCounts![0] += 1
        let b = path("b.h5")
        try FeatureStore.writeClassifier(f, to: b)
        let r = try afg("evaluate", "--classifier", a, "--compare", b, "--test", "\(fixtures)/test.h5", "--plot", path("p.svg"))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("other class counts"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("p.svg")))
    }
}
