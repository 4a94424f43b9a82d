import Foundation
import XCTest
import FeatureIO

/// `--max-memory` is a real bound: on shapes where a different part of the plan dominates,
/// the measured peak resident memory of `afg train` (GNU time's maximum RSS; `make setup`
/// installs `time`) stays within the plan it prints, above the resident size of a run on a
/// tiny set (the runtime, the libraries, their buffers).
final class MemoryPlanTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try scratchFolder("plan")
        _ = try XCTUnwrap(FileManager.default.isExecutableFile(atPath: "/usr/bin/time") ? true : nil,
                          "/usr/bin/time missing: `make setup` installs package time")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Long-tailed Gaussian classes (class k has `head·decay^k` rows, at least 4), shifted
    /// positive when `positive` (Tukey then applies and the blend has two views).
    func write(_ name: String, classes c: Int, dim d: Int, head: Int, decay: Double, positive: Bool = false) throws -> String {
        var rng = SystemRandomNumberGenerator()
        var x = [Float](), y = [Int32]()
        let means = (0..<(c * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        for k in 0..<c {
            for _ in 0..<max(4, Int(Double(head) * pow(decay, Double(k)))) {
                y.append(Int32(k))
                for j in 0..<d {
                    let v = means[k * d + j] + Float.random(in: -1.5...1.5, using: &rng)
                    x.append(positive ? abs(v) : v)
                }
            }
        }
        let p = path(name)
        try FeatureStore.writeFeatures(FeatureSet(features: x, dim: d, labels: y, numClasses: c), to: p)
        return p
    }

    /// The plan's total in bytes, from the refusal under `--max-memory 1K`.
    func plan(_ args: [String]) throws -> Double {
        let r = try afgArgs(args + ["--out", path("o.h5"), "--max-memory", "1K", "--quiet"])
        XCTAssertEqual(r.status, 1, r.err)
        let words = try XCTUnwrap(r.err.components(separatedBy: "needs about ").dropFirst().first, r.err)
            .split(separator: " ")
        let value = try XCTUnwrap(Double(words[0]), r.err)
        let unit = ["bytes": 1.0, "KB": 0x1p10, "MB": 0x1p20, "GB": 0x1p30, "TB": 0x1p40][String(words[1])]
        return value * (try XCTUnwrap(unit, r.err))
    }

    /// Peak RSS in bytes of a run that must succeed.
    func peak(_ args: [String]) throws -> Double {
        let out = path("o.h5")
        try? FileManager.default.removeItem(atPath: out)
        let r = try shell((["/usr/bin/time", "-f", "peak-kb %M", afgBinary.path] + args + ["--out", out, "--quiet"])
            .map { "'\($0)'" }.joined(separator: " "))
        XCTAssertEqual(r.status, 0, r.err)
        // `--quiet`: GNU time's line is all of stderr (no progress line, not even its erasure).
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        let line = try XCTUnwrap(r.err.split(separator: "\n").last { $0.hasPrefix("peak-kb ") }, r.err)
        return 1024 * (try XCTUnwrap(Double(line.dropFirst(8)), r.err))
    }

    func testMeasuredPeakStaysWithinThePlan() throws {
        let tiny = try write("tiny.h5", classes: 3, dim: 4, head: 20, decay: 0.9)
        let base = try peak(["train", "--method", "crt", "--solver", "lbfgs", "--C", "1", "--train", tiny])
        let wide = try write("wide.h5", classes: 3, dim: 3000, head: 12, decay: 0.9)
        let cv = try write("cv.h5", classes: 20, dim: 256, head: 1500, decay: 0.75)
        let cvVal = try write("cv-val.h5", classes: 20, dim: 256, head: 200, decay: 0.8)
        let lt = try write("lt.h5", classes: 40, dim: 128, head: 3000, decay: 0.85, positive: true)
        let cases: [(String, [String])] = [
            // The (D+1)² preconditioner dominates (137 MB of 144).
            ("few rows, D = 3000", ["train", "--method", "crt", "--solver", "lbfgs", "--C", "1", "--train", wide]),
            // Cross-validated C: folds, the pooled rows and the refit's scaled copy.
            ("--C auto", ["train", "--method", "crt", "--solver", "lbfgs", "--train", cv, "--val", cvVal]),
            // The generated set (two views, the solver's copy of the joined rows).
            ("plain glag", ["train", "--method", "glag", "--train", lt]),
        ]
        for (name, args) in cases {
            let planned = try plan(args), measured = try peak(args) - base
            XCTAssertLessThanOrEqual(measured, 1.1 * planned + 4 * 0x1p20,
                                     "\(name): peak \(Int(measured / 0x1p20)) MB above the base, plan \(Int(planned / 0x1p20)) MB")
            // A plan far above the peak would refuse runs that fit.
            XCTAssertLessThanOrEqual(planned, 2 * measured + 8 * 0x1p20,
                                     "\(name): plan \(Int(planned / 0x1p20)) MB, peak \(Int(measured / 0x1p20)) MB above the base")
        }
    }
}
