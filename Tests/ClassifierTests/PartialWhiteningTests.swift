import Foundation
import Linalg
import XCTest
@testable import Classifier

final class PartialWhiteningTests: XCTestCase {
    /// Correlated rows: three directions of very different spread plus a constant feature.
    func anisotropicRows(_ n: Int, seed: UInt64) -> Matrix<Float> {
        var rng = Xoshiro256(seed: seed)
        let z: [Double] = standardNormals(n * 3, using: &rng)
        var x = Matrix<Float>(rows: n, cols: 4)
        for i in 0..<n {
            let a = z[3 * i], b = z[3 * i + 1], c = z[3 * i + 2]
            x[i, 0] = Float(5 * a + 0.1 * c + 1); x[i, 1] = Float(5 * a + b); x[i, 2] = Float(0.05 * c - 2); x[i, 3] = 0.5
        }
        return x
    }

    /// The shrinkage is Ledoit and Wolf's: scikit-learn's `ledoit_wolf_shrinkage` gives
    /// 0.234979607936593 on these seven rows; it lies in [0, 1] and is 0 for constant rows.
    func testShrinkageMatchesScikitLearn() throws {
        let rows: [[Double]] = [[0.841471, 0.909297, 0.14112, -0.756802], [-0.958924, -0.179415, 0.856987, 1.289358],
                                [0.412118, -0.344021, -0.59999, 0.063427], [0.420167, 0.990607, 0.650288, -0.287903],
                                [-0.961397, -0.650987, 0.349877, 1.212945], [0.836656, 0.191149, -0.44622, -0.305578],
                                [-0.132352, 0.762558, 0.956376, 0.270906]]
        let x = Matrix<Float>(rows: 7, cols: 4, data: rows.flatMap { $0.map(Float.init) })
        let w = try PartialWhitening(fitting: x, power: 0.25)
        XCTAssertEqual(w.shrinkage, 0.234979607936593, accuracy: 2e-6)
        let constant = try PartialWhitening(fitting: Matrix<Float>(rows: 5, cols: 3, repeating: 2), power: 0.5)
        XCTAssertEqual(constant.shrinkage, 0)
        XCTAssertEqual(constant.matrix, .identity(3))
        XCTAssertEqual(constant.apply(Matrix<Float>(rows: 1, cols: 3, data: [3, 2, 1])).data, [1, 0, -1])
    }

    /// `M = Σ^(−p)` of the shrunk covariance: `M^(1/p)·Σ = I` for `p = ½` and `p = ¼`, with
    /// `Σ = (1 − δ)·S + δ·(tr S / D)·I` rebuilt from the rows; the transformed rows are
    /// centred, and at `p = ½` their covariance is `M·S·M`, the identity shrunk toward `S`.
    func testTransformIsTheShrunkCovariancesPower() throws {
        let x = anisotropicRows(400, seed: 3)
        let n = x.rows, d = x.cols
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i, j]) / Double(n) } }
        var s = Matrix<Double>(rows: d, cols: d)
        for i in 0..<n { for j in 0..<d { for k in 0..<d {
            s[j, k] += (Double(x[i, j]) - mean[j]) * (Double(x[i, k]) - mean[k]) / Double(n)
        } } }
        for p in [0.5, 0.25] {
            let w = try PartialWhitening(fitting: x, power: p)
            XCTAssertGreaterThan(w.shrinkage, 0); XCTAssertLessThan(w.shrinkage, 1)
            for j in 0..<d { XCTAssertEqual(Double(w.mean[j]), mean[j], accuracy: 1e-4) }
            let m = (0..<d).reduce(0.0) { $0 + s[$1, $1] } / Double(d)
            var sigma = s
            for j in 0..<d { for k in 0..<d { sigma[j, k] = (1 - w.shrinkage) * s[j, k] + (j == k ? w.shrinkage * m : 0) } }
            let mm = w.matrix.converted(to: Double.self)
            var power = Matrix<Double>.identity(d)
            for _ in 0..<Int((1 / p).rounded()) { power = BLAS.matmul(power, mm) }
            let product = BLAS.matmul(power, sigma)
            for j in 0..<d { for k in 0..<d { XCTAssertEqual(product[j, k], j == k ? 1 : 0, accuracy: 1e-3, "p \(p) (\(j), \(k))") } }
            let z = w.apply(x)
            for j in 0..<d {
                XCTAssertEqual((0..<n).reduce(0.0) { $0 + Double(z[$1, j]) } / Double(n), 0, accuracy: 1e-4, "column \(j) centred")
            }
        }
    }

    /// The model mapped back reads raw rows and gives the logits the model gives on the
    /// transformed rows.
    func testRawModelGivesTheSameLogits() throws {
        let x = anisotropicRows(50, seed: 5)
        let w = try PartialWhitening(fitting: x, power: 0.25)
        var rng = Xoshiro256(seed: 9)
        let model = LinearModel(weight: Matrix(rows: 3, cols: 4, data: standardNormals(12, using: &rng)), bias: [0.5, -1, 2])
        let raw = w.rawModel(model), z = w.apply(x)
        for i in 0..<x.rows {
            for c in 0..<3 {
                var a = Double(model.bias[c]), b = Double(raw.bias[c])
                for j in 0..<4 { a += Double(model.weight[c, j]) * Double(z[i, j]); b += Double(raw.weight[c, j]) * Double(x[i, j]) }
                XCTAssertEqual(a, b, accuracy: 1e-3 * (1 + abs(a)), "row \(i) class \(c)")
            }
        }
    }
}
