import FeatureIO
import Foundation
import XCTest

/// Sharded feature options in one process: several files (repeated flags or a quoted
/// glob) are the concatenated data set; files that disagree are refused with one line.
final class ShardTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        _ = try XCTUnwrap(FileManager.default.isExecutableFile(atPath: afgBinary.path) ? afgBinary : nil,
                          "afg not built at \(afgBinary.path)")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("afg-shards-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(at: dir!) }
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testAGlobAndRepeatedFlagsReadTheConcatenatedRows() throws {
        let whole = try runProcess(afgBinary.path, ["calibrate", "--train", shardFixture("all.h5"), "--out", path("w.h5"),
                                             "--generate", path("wb.h5"), "--seed", "5", "--quiet"])
        XCTAssertEqual(whole.status, 0, whole.err)
        // `[a-c].h5` sorts to a, b, c: the order of all.h5.
        let glob = try runProcess(afgBinary.path, ["calibrate", "--train", shardFixture("[a-c].h5"), "--out", path("g.h5"),
                                            "--generate", path("gb.h5"), "--seed", "5", "--quiet"])
        XCTAssertEqual(glob.status, 0, glob.err)
        let flags = try runProcess(afgBinary.path, ["calibrate", "--train", shardFixture("a.h5"), "--train", shardFixture("b.h5"),
                                             "--train", shardFixture("c.h5"), "--out", path("f.h5"), "--quiet"])
        XCTAssertEqual(flags.status, 0, flags.err)
        XCTAssertEqual(FileManager.default.contents(atPath: path("gb.h5")), FileManager.default.contents(atPath: path("wb.h5")))
        let w = try FeatureStore.readStatistics(path: path("w.h5"))
        for s in [try FeatureStore.readStatistics(path: path("g.h5")), try FeatureStore.readStatistics(path: path("f.h5"))] {
            XCTAssertEqual(s.counts, w.counts); XCTAssertEqual(s.means, w.means); XCTAssertEqual(s.covariances, w.covariances)
        }
    }

    func testShardsInAnotherOrderAreAnotherDataSet() throws {
        // Rows are read in the order given: the class counts agree, the generated rows do not.
        for (name, order) in [("abc", ["a.h5", "b.h5", "c.h5"]), ("cba", ["c.h5", "b.h5", "a.h5"])] {
            let r = try runProcess(afgBinary.path, ["calibrate"] + order.flatMap { ["--train", shardFixture($0)] }
                                + ["--out", path("\(name).h5"), "--generate", path("\(name)-b.h5"), "--quiet"])
            XCTAssertEqual(r.status, 0, r.err)
        }
        XCTAssertEqual(try FeatureStore.readStatistics(path: path("abc.h5")).counts, try FeatureStore.readStatistics(path: path("cba.h5")).counts)
        let abc = try FeatureStore.readFeatures(path: path("abc-b.h5")), cba = try FeatureStore.readFeatures(path: path("cba-b.h5"))
        XCTAssertEqual(abc.count, cba.count)
        XCTAssertNotEqual(abc.features, cba.features)
    }

    func testAShardThatDisagreesIsNamed() throws {
        let a = shardFixture("a.h5"), bad = shardFixture("bad-dim.h5")
        let r = try runProcess(afgBinary.path, ["train", "--method", "crt", "--solver", "lbfgs", "--train", a, "--train", bad,
                                         "--out", path("c.h5")])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "Error: \(bad): feature dimension 15, \(a) has 16\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testAGlobThatMatchesNothingIsOneLine() throws {
        let pattern = path("nothing-*.h5")
        let r = try runProcess(afgBinary.path, ["evaluate", "--classifier", shardFixture("a.h5"), "--test", pattern])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.err, "Error: --test '\(pattern)': no file matches the pattern\n")
    }
}
