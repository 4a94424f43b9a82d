import Foundation
import XCTest
import FeatureIO

/// Inputs whose data live outside the HDF5 file (issue 14, "silent wrong results"), end to
/// end through `afg inspect` and `afg train`: the files of `fixtures/h5py/make_linked.py`.
/// What resolves reads and trains; a virtual dataset with a missing source, a dangling
/// external link, missing or short external raw storage and class names that are not UTF-8
/// each exit 1 with one line naming the file, the dataset and the missing target, and
/// `train` leaves no output behind.
final class LinkedInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try scratchFolder("linked")
        let ok = try? Process.run(URL(fileURLWithPath: "/usr/bin/python3"), arguments: ["-c", "import h5py"])
        ok?.waitUntilExit()
        try XCTSkipUnless(ok?.terminationStatus == 0, "h5py not installed")
        let w = try Process.run(URL(fileURLWithPath: "/usr/bin/python3"),
                                arguments: [repoRoot.appendingPathComponent("fixtures/h5py/make_linked.py").path, dir.path])
        w.waitUntilExit()
        XCTAssertEqual(w.terminationStatus, 0)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testResolvedSourcesInspectAndTrain() throws {
        for name in ["vds.h5", "vds_both.h5", "elink.h5", "ext.h5"] {
            let r = try afg("inspect", path(name), "--json")
            XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
            let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            XCTAssertEqual(j?["count"] as? Int, 6, name)
            let t = try afg("train", "--method", "crt", "--epochs", "1", "--no-tukey", "--train", path(name),
                            "--out", path("\(name).clf.h5"), "--quiet")
            XCTAssertEqual(t.status, 0, "\(name): \(t.err)")
        }
    }

    func testUnresolvedSourcesAreRefusedByInspectAndTrain() throws {
        let cases: [(String, String)] = [
            ("vds_missing.h5", "features: virtual dataset: source file gone.h5 (of source dataset x) not found"),
            ("vds_nodset.h5", "features: virtual dataset: source dataset nothing not found in \(path("src.h5"))"),
            ("elink_bad.h5", "features: external link features -> gone.h5:/x does not resolve: file gone.h5 not found"),
            ("ext_missing.h5", "features: external raw data file \(path("gone.bin")) not found"),
            ("ext_short.h5", "features: external raw data file \(path("short.bin")) holds 20 bytes, but the dataset needs 48"),
            ("names.h5", "class_names: string 1 of 2 is not valid UTF-8 (bytes 64 ff 67)"),
            ("names_attr.h5", "attribute 'note': string 1 of 2 is not valid UTF-8 (bytes fe)"),
        ]
        for (name, needle) in cases {
            let i = try afg("inspect", path(name))
            XCTAssertEqual(i.status, 1, "\(name): \(i.out)")
            XCTAssertEqual(i.out, "", name)
            XCTAssertEqual(i.err.split(separator: "\n").count, 1, i.err)
            XCTAssertTrue(i.err.hasPrefix("Error: \(path(name)): \(needle)"), "\(name): \(i.err)")
            let out = path("\(name).clf.h5")
            let t = try afg("train", "--method", "crt", "--epochs", "1", "--no-tukey", "--train", path(name), "--out", out, "--quiet")
            XCTAssertEqual(t.status, 1, "\(name): \(t.err)")
            XCTAssertEqual(t.err.split(separator: "\n").count, 1, t.err)
            XCTAssertTrue(t.err.contains("\(path(name)): \(needle)"), "\(name): \(t.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), name)
        }
    }
}
