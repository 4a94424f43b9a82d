import Foundation
import XCTest
import FeatureIO

/// `afg calibrate` end to end: statistics against a direct computation, the balanced file's
/// shape, flags and real rows, determinism in the seed, and one-line errors.
final class CalibrateTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try scratchFolder("calibrate")
    }

    /// Non-negative long-tailed features: counts 40, 12, 5, 2 in dimension 3.
    func writeTrain(negative: Bool = false) throws -> (path: String, set: FeatureSet) {
        let counts = [40, 12, 5, 2], d = 3
        var x = [Float](), y = [Int32]()
        var state: UInt64 = 12345
        func uniform() -> Float { state = state &* 6364136223846793005 &+ 1442695040888963407; return Float(state >> 40) / Float(1 << 24) }
        for (c, n) in counts.enumerated() {
            for _ in 0..<n { for j in 0..<d { x.append(Float(c + 1) * 0.5 + Float(j) * 0.1 + uniform()) }; y.append(Int32(c)) }
        }
        if negative { x[7 * d + 1] = -0.5 }
        let set = FeatureSet(features: x, dim: d, labels: y, numClasses: 4, classNames: ["a", "b", "c", "d"])
        let path = dir.appendingPathComponent("train.h5").path
        try FeatureStore.writeFeatures(set, to: path)
        return (path, set)
    }

    func testStatisticsAndBalancedFile() throws {
        let (train, set) = try writeTrain()
        let stats = dir.appendingPathComponent("stats.h5").path, bal = dir.appendingPathComponent("bal.h5").path
        let r = try afg("calibrate", "--train", train, "--out", stats, "--generate", bal, "--target-per-class", "50",
                        "--head-threshold", "10", "--seed", "3", "--json", "--quiet")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        XCTAssertEqual(summary["generated_rows"] as? Int, 200 - 59)
        XCTAssertEqual(summary["tail_classes"] as? Int, 2)

        // Statistics in the sqrt space, against a direct two-pass computation.
        let s = try FeatureStore.readStatistics(path: stats)
        XCTAssertEqual(s.counts, [40, 12, 5, 2])
        XCTAssertEqual(s.tukeyLambda, 0.5)
        let z = set.features.map { $0.squareRoot() }
        for c in 0..<4 {
            let rows = (0..<set.count).filter { set.labels[$0] == Int32(c) }
            var mean = [Double](repeating: 0, count: 3)
            for r in rows { for j in 0..<3 { mean[j] += Double(z[r * 3 + j]) / Double(rows.count) } }
            for j in 0..<3 { XCTAssertEqual(Double(s.means[c * 3 + j]), mean[j], accuracy: 1e-5) }
            for i in 0..<3 { for j in 0..<3 {
                var v = 0.0
                for r in rows { v += (Double(z[r * 3 + i]) - mean[i]) * (Double(z[r * 3 + j]) - mean[j]) }
                v /= Double(rows.count - 1)
                XCTAssertEqual(Double(s.covariances![c * 9 + i * 3 + j]), v, accuracy: 1e-5, "class \(c) (\(i),\(j))")
            } }
        }

        // Balanced file: real transformed rows first, then generated ones; 50 per class.
        let b = try FeatureStore.readFeatures(path: bal)
        XCTAssertEqual(b.count, 200)
        XCTAssertEqual(b.classCounts, [50, 50, 50, 50])
        XCTAssertEqual(b.classNames, ["a", "b", "c", "d"])
        XCTAssertEqual(Array(b.features[0..<(set.count * 3)]), z)
        guard case .uint8(let flag) = try FeatureStore.readColumn(path: bal, key: "is_generated") else { return XCTFail("is_generated not uint8") }
        XCTAssertEqual(flag, [UInt8](repeating: 0, count: 59) + [UInt8](repeating: 1, count: 141))
        XCTAssertTrue(b.features.allSatisfy(\.isFinite))

        // Same seed → same file content; another seed → other generated rows.
        let bal2 = dir.appendingPathComponent("bal2.h5").path, bal3 = dir.appendingPathComponent("bal3.h5").path
        XCTAssertEqual(try afg("calibrate", "--train", train, "--out", stats, "--generate", bal2, "--target-per-class", "50",
                               "--head-threshold", "10", "--seed", "3", "--quiet").status, 0)
        XCTAssertEqual(try afg("calibrate", "--train", train, "--out", stats, "--generate", bal3, "--target-per-class", "50",
                               "--head-threshold", "10", "--seed", "4", "--quiet").status, 0)
        XCTAssertEqual(try FeatureStore.readFeatures(path: bal2).features, b.features)
        XCTAssertNotEqual(try FeatureStore.readFeatures(path: bal3).features, b.features)
    }

    /// The spellings of the release before (`--beta`, `--per-class`) still work, with a
    /// warning, and give the same file as the new ones (`--initial-beta`, `--target-per-class`).
    func testOldSpellingsWorkWithAWarning() throws {
        let (train, _) = try writeTrain()
        let stats = dir.appendingPathComponent("stats.h5").path
        let old = dir.appendingPathComponent("old.h5").path, new = dir.appendingPathComponent("new.h5").path
        let o = try afg("calibrate", "--train", train, "--out", stats, "--generate", old, "--per-class", "30", "--beta", "0.8",
                        "--head-threshold", "10", "--quiet")
        XCTAssertEqual(o.status, 0, o.err)
        XCTAssertTrue(o.err.contains("warning: --per-class is deprecated"), o.err)
        XCTAssertTrue(o.err.contains("warning: --beta is deprecated"), o.err)
        let n = try afg("calibrate", "--train", train, "--out", stats, "--generate", new, "--target-per-class", "30",
                        "--initial-beta", "0.8", "--head-threshold", "10", "--quiet")
        XCTAssertEqual(n.status, 0, n.err)
        XCTAssertEqual(n.err, "")
        XCTAssertEqual(try FeatureStore.readFeatures(path: old).features, try FeatureStore.readFeatures(path: new).features)
        XCTAssertEqual(try FeatureStore.readFeatures(path: old).count, 40 + 3 * 30)
    }

    /// Every option outside its interval fails in `validate()`, before any file is read:
    /// one line naming the flag, exit 1, even when the training file does not exist.
    func testOptionsOutsideTheirIntervalFailBeforeReading() throws {
        let missing = dir.appendingPathComponent("missing.h5").path, stats = dir.appendingPathComponent("s.h5").path
        for (flag, value, needle) in [("--k", "0", "--k must be ≥ 1 (got 0)"), ("--alpha", "nan", "--alpha must be a finite number ≥ 0.0 (got nan)"),
                                      ("--initial-beta", "1.5", "--initial-beta must be in [0.0, 1.0] (got 1.5)"),
                                      ("--head-threshold", "-1", "--head-threshold must be ≥ 0 (got -1)"),
                                      ("--tukey", "inf", "--tukey must be finite (got inf)"),
                                      ("--tukey", "sqrt", "--tukey must be auto or a number (got sqrt)"),
                                      ("--shift", "nan", "--shift must be finite (got nan)")] {
            let r = try afg("calibrate", "--train", missing, "--out", stats, "\(flag)=\(value)")
            XCTAssertEqual(r.status, 1, "\(flag) \(value)")
            XCTAssertEqual(r.err, "Error: \(needle)\n")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: stats))
    }

    func testErrorsAreOneLine() throws {
        let (train, _) = try writeTrain(negative: true)
        let stats = dir.appendingPathComponent("stats.h5").path
        let r = try afg("calibrate", "--train", train, "--out", stats, "--tukey", "0.5", "--quiet")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("1 negative feature value(s), first in row 7"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stats))
        // --tukey auto (the default) leaves signed features untransformed, and says so.
        let auto = try afg("calibrate", "--train", train, "--out", stats, "--json")
        XCTAssertEqual(auto.status, 0, auto.err)
        XCTAssertTrue(auto.err.contains("--tukey auto: no transform"), auto.err)
        XCTAssertNil(try FeatureStore.readStatistics(path: stats).tukeyLambda)
        try FileManager.default.removeItem(atPath: stats)
        // With a shift the same file is accepted.
        XCTAssertEqual(try afg("calibrate", "--train", train, "--out", stats, "--shift", "1", "--tukey", "0.5", "--quiet").status, 0)
        XCTAssertEqual(try FeatureStore.readStatistics(path: stats).tukeyLambda, 0.5)
        let bad = try afg("calibrate", "--train", train, "--out", stats, "--target-per-class", "5")
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.err, "Error: --target-per-class needs --generate\n")
        let missing = try afg("calibrate", "--train", dir.appendingPathComponent("nope.h5").path, "--out", stats, "--quiet")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("nope.h5"), missing.err)
    }
}
