import Foundation
import XCTest
import FeatureIO

/// `afg train`'s progress wired end to end (its timing and text: `FitProgressLineTests`):
/// with stderr a log (not a terminal), a fit that runs past 2 s writes plain lines naming the
/// step and the running solve's iteration and tolerance; `--quiet` writes nothing; and the
/// classifier does not depend on whether progress was reported.
final class ProgressTests: XCTestCase {
    /// 40 Gaussian classes in 128 dimensions, about 32,000 rows, solved to a tolerance of
    /// 1e-7: seconds on two cores.
    func testALongSolveReportsItsIterationsInALog() throws {
        let dir = try scratchFolder("progress")
        var rng = SystemRandomNumberGenerator()
        let c = 40, d = 128
        var x = [Float](), y = [Int32]()
        let means = (0..<(c * d)).map { _ in Float.random(in: -0.3...0.3, using: &rng) }
        for k in 0..<c {
            for _ in 0..<(400 + 20 * (c - k)) {
                y.append(Int32(k))
                for j in 0..<d { x.append(means[k * d + j] + Float.random(in: -2...2, using: &rng)) }
            }
        }
        let train = dir.appendingPathComponent("train.h5").path
        try FeatureStore.writeFeatures(FeatureSet(features: x, dim: d, labels: y, numClasses: c), to: train)
        let args = ["train", "--method", "crt", "--solver", "lbfgs", "--C", "1", "--tolerance", "1e-7", "--train", train]

        let start = Date()
        let loud = try afgArgs(args + ["--out", dir.appendingPathComponent("loud.h5").path])
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(loud.status, 0, loud.err)
        XCTAssertFalse(loud.err.contains("\u{1B}") || loud.err.contains("\r"), "no terminal codes in a log: \(loud.err)")
        let lines = loud.err.split(separator: "\n").filter { $0.hasPrefix("the regression at C = 1.0") }
        // The process starts and reads its file before the fit's clock starts: allow 1 s.
        if seconds > 3 { XCTAssertFalse(lines.isEmpty, "a \(seconds) s run reported nothing: \(loud.err)") }
        XCTAssertLessThanOrEqual(lines.count, Int(seconds / 10) + 1, loud.err)
        for line in lines {
            XCTAssertTrue(line.contains("  iteration ") && line.contains("  f = ") && line.contains("(stops at 1e-07)"), String(line))
        }

        let quiet = try afgArgs(args + ["--out", dir.appendingPathComponent("quiet.h5").path, "--quiet"])
        XCTAssertEqual(quiet.status, 0, quiet.err)
        XCTAssertEqual(quiet.err, "")
        let a = try Data(contentsOf: dir.appendingPathComponent("loud.h5"))
        let b = try Data(contentsOf: dir.appendingPathComponent("quiet.h5"))
        XCTAssertEqual(a, b, "reporting progress changed the classifier file")
    }
}
