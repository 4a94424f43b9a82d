import Foundation
import Linalg

/// Partial whitening, `x ↦ (x − μ)·Σ^(−p)`: `μ` the rows' mean, `Σ` their Ledoit–Wolf
/// covariance, `0 < p ≤ ½` (`p = ½` whitens fully). The logit-adjusted candidate reads
/// signed rows through it (`LogitAdjustedRegression.Settings.recommendedWhiteningPower`).
///
/// Sentence embeddings are anisotropic: a few directions carry most of the rows' variance.
/// An L2 penalty on a regression's weights over these rows is `‖W‖²` on the raw rows, and
/// `‖W·Σ^(p)‖²` on the transformed ones: `p = 0` ignores how the rows spread, `p = ½`
/// penalises each logit's variance over the rows; `p = ¼` sits between. The Ledoit–Wolf
/// shrinkage (Ledoit & Wolf, 2004, the optimal convex combination of the sample covariance
/// and a multiple of the identity) keeps `Σ^(−p)` bounded in the directions the rows barely
/// see. A model fitted on transformed rows maps back to one on the raw rows (`rawModel`),
/// so a classifier file never needs the transform.
public struct PartialWhitening: Sendable, Equatable {
    /// `μ` (`D`).
    public var mean: [Float]
    /// `Σ^(−p)`, `D × D`, symmetric.
    public var matrix: Matrix<Float>
    /// `p`.
    public var power: Double
    /// The Ledoit–Wolf weight `δ ∈ [0, 1]` of the identity: `Σ = (1 − δ)·S + δ·(tr S / D)·I`.
    public var shrinkage: Double

    /// The transform in words, for a classifier file's record.
    public var description: String {
        "centred, covariance^(−\(power)) (Ledoit–Wolf shrinkage \(String(format: "%.3f", shrinkage)))"
    }

    /// Rows rescaled along each direction by at most this factor of the mean variance's
    /// inverse: a direction with no variance (constant features, fewer rows than features
    /// without shrinkage) is treated as one with `varianceFloor` times the mean variance.
    static let varianceFloor = 1e-6

    /// Fits `μ`, the Ledoit–Wolf covariance and `Σ^(−p)` to the rows of `x` (finite; in
    /// Double, over blocks of rows). Constant rows give `μ` and the identity.
    /// - Throws: `LinalgError` when the eigendecomposition fails.
    /// - Complexity: O(N·D² + D³).
    public init(fitting x: Matrix<Float>, power p: Double) throws {
        precondition(p > 0 && p <= 0.5, "PartialWhitening: power \(p) outside (0, ½]")
        let n = x.rows, d = x.cols
        var mu = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mu[j] += Double(x.data[i * d + j]) } }
        if n > 0 { for j in 0..<d { mu[j] /= Double(n) } }
        // S = Σ_k c_k c_kᵀ / N over the centred rows c_k, and Σ_k ‖c_k‖⁴ for the shrinkage.
        var s = Matrix<Double>(rows: d, cols: d)
        var fourth = 0.0
        let block = 4096
        var start = 0
        while start < n {
            let rows = min(block, n - start)
            var c = Matrix<Double>(rows: rows, cols: d)
            for i in 0..<rows {
                var sq = 0.0
                for j in 0..<d {
                    let v = Double(x.data[(start + i) * d + j]) - mu[j]
                    c.data[i * d + j] = v; sq += v * v
                }
                fourth += sq * sq
            }
            BLAS.syrk(c, transpose: true, alpha: 1 / Double(n), beta: start == 0 ? 0 : 1, into: &s)
            start += rows
        }
        BLAS.symmetrize(&s)
        mean = mu.map(Float.init)
        power = p
        let delta = PartialWhitening.ledoitWolfShrinkage(covariance: s, rows: n, sumOfFourthPowers: fourth)
        shrinkage = delta
        let m = d > 0 ? (0..<d).reduce(0.0) { $0 + s.data[$1 * d + $1] } / Double(d) : 0
        guard m > 1e-24, m.isFinite else { matrix = .identity(d); return }
        let (values, vectors) = try BLAS.symmetricEigen(s)
        // Σ^(−p) = Vᵀ·diag(λ^(−p))·V with λ the shrunk eigenvalues (rows of V: eigenvectors).
        var scaled = vectors
        for i in 0..<d {
            let lambda = max((1 - delta) * values[i] + delta * m, PartialWhitening.varianceFloor * m)
            let f = Foundation.pow(lambda, -p)
            for j in 0..<d { scaled.data[i * d + j] *= f }
        }
        matrix = BLAS.matmul(vectors, transposeA: true, scaled).converted(to: Float.self)
    }

    /// The Ledoit–Wolf weight of the identity target for the sample covariance `S` (`D × D`,
    /// normalised by `N`) of `N` centred rows whose squared lengths' squares sum to
    /// `sumOfFourthPowers`: with `m = tr S / D`, `d² = ‖S − m·I‖²_F / D` and
    /// `b² = min(d², (Σ_k ‖c_k‖⁴ / N − ‖S‖²_F) / (N·D))`, `δ = b² / d²` (0 when `d² = 0`).
    /// O(D²).
    public static func ledoitWolfShrinkage(covariance s: Matrix<Double>, rows n: Int, sumOfFourthPowers: Double) -> Double {
        let d = s.rows
        guard n > 0, d > 0 else { return 0 }
        let trace = (0..<d).reduce(0.0) { $0 + s.data[$1 * d + $1] }, m = trace / Double(d)
        let frobenius = s.data.reduce(0.0) { $0 + $1 * $1 }
        let dist = (frobenius - 2 * m * trace + Double(d) * m * m) / Double(d)
        guard dist > 0 else { return 0 }
        let b = min(dist, max(0, (sumOfFourthPowers / Double(n) - frobenius) / (Double(n) * Double(d))))
        return b / dist
    }

    /// `(x − μ)·Σ^(−p)` row by row; same shape as `x`. O(N·D²).
    public func apply(_ x: Matrix<Float>) -> Matrix<Float> {
        precondition(x.cols == mean.count, "PartialWhitening: \(x.cols) columns, fitted on \(mean.count)")
        var centred = x
        let d = x.cols
        for i in 0..<x.rows { for j in 0..<d { centred.data[i * d + j] -= mean[j] } }
        return BLAS.matmul(centred, matrix)
    }

    /// The model on raw rows that gives the logits `m` gives on transformed rows:
    /// `W' = W·Σ^(−p)` (symmetric), `b' = b − W'·μ` (in Double). O(C·D²).
    public func rawModel(_ m: LinearModel) -> LinearModel {
        let c = m.numClasses, d = m.dim
        precondition(d == mean.count, "PartialWhitening: model reads \(d) features, fitted on \(mean.count)")
        let w = BLAS.matmul(m.weight.converted(to: Double.self), matrix.converted(to: Double.self))
        var b = m.bias
        for k in 0..<c {
            var shift = 0.0
            for j in 0..<d { shift += w.data[k * d + j] * Double(mean[j]) }
            b[k] = Float(Double(m.bias[k]) - shift)
        }
        return LinearModel(weight: w.converted(to: Float.self), bias: b)
    }
}
