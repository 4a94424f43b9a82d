import AFG
import Foundation
import Linalg

/// Centring and one pooled scale, `x ↦ (x − μ)/s`: `μ` the per-feature mean, `s` one number
/// for every feature, the root of the mean per-feature (population) variance (`s = 1` for
/// constant rows). A regression solved on scaled rows is mapped back to one on the raw rows
/// by `rawModel`, so a classifier file never needs the scaler.
///
/// Dividing by one `s` makes one `C` grid fit every data set's scale while keeping the
/// features' relative scales, so the L2 penalty stays isotropic in the features' own units.
/// Per-feature standardisation (scikit-learn's `StandardScaler`) blows up near-constant
/// features (a border pixel, a rarely active unit) to the scale of informative ones; on the
/// accuracy suite it cost 0.2 points on average against this scaler (docs/RESULTS.md).
public struct FeatureScaler: Sendable, Equatable {
    /// The scaling in words, for a classifier file's record.
    public static let description = "centred, one pooled standard deviation"

    /// `μ` (`D`) and `s`.
    public var mean: [Float]
    public var scale: Float

    /// Fits `μ` and `s` to the rows of `x` (accumulated in Double); with `sumAcrossRanks`,
    /// to the rows of every rank (two sums of `D + 1` and `D` doubles). O(N·D).
    public init(fitting x: Matrix<Float>, sumAcrossRanks: SumAcrossRanks? = nil) {
        let d = x.cols
        var sum = [Double](repeating: 0, count: d + 1), sq = [Double](repeating: 0, count: d)
        for i in 0..<x.rows { for j in 0..<d { sum[j] += Double(x.data[i * d + j]) } }
        sum[d] = Double(x.rows)
        sumAcrossRanks?(&sum)
        let n = Int(sum[d])
        let mu = sum.prefix(d).map { n > 0 ? $0 / Double(n) : 0 }
        for i in 0..<x.rows { for j in 0..<d { let v = Double(x.data[i * d + j]) - mu[j]; sq[j] += v * v } }
        sumAcrossRanks?(&sq)
        mean = mu.map(Float.init)
        let variance = n > 0 && d > 0 ? sq.reduce(0, +) / Double(n * d) : 0
        scale = variance > 1e-24 ? Float(variance.squareRoot()) : 1
    }

    /// `(x − μ)/s` row by row; same shape as `x`. O(N·D).
    public func apply(_ x: Matrix<Float>) -> Matrix<Float> {
        var out = x
        apply(to: &out)
        return out
    }

    /// `x ← (x − μ)/s` in place (no second copy of the rows). O(N·D).
    public func apply(to x: inout Matrix<Float>) {
        precondition(x.cols == mean.count, "FeatureScaler: \(x.cols) columns, fitted on \(mean.count)")
        let d = x.cols, rows = x.rows
        let inv = 1 / scale
        x.data.withUnsafeMutableBufferPointer { p in
            for i in 0..<rows { for j in 0..<d { p[i * d + j] = (p[i * d + j] - mean[j]) * inv } }
        }
    }

    /// The model on raw rows that gives the logits `m` gives on scaled rows:
    /// `W'_kj = W_kj / s`, `b'_k = b_k − Σ_j W'_kj μ_j` (in Double). O(C·D).
    public func rawModel(_ m: LinearModel) -> LinearModel {
        let c = m.numClasses, d = m.dim
        precondition(d == mean.count, "FeatureScaler: model reads \(d) features, fitted on \(mean.count)")
        var w = m.weight
        var b = m.bias
        for k in 0..<c {
            var shift = 0.0
            for j in 0..<d {
                let v = Double(m.weight.data[k * d + j]) / Double(scale)
                w.data[k * d + j] = Float(v)
                shift += v * Double(mean[j])
            }
            b[k] = Float(Double(m.bias[k]) - shift)
        }
        return LinearModel(weight: w, bias: b)
    }
}
