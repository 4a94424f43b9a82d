import Foundation
import Linalg
@testable import AFG

/// Naive Double reference implementations of method.md steps 2–6, written from the
/// formulas independently of the engine (loops, no BLAS), for the tests to compare against.
enum Reference {
    static func stats(_ x: Matrix<Float>, _ y: [Int32], _ C: Int) -> (counts: [Int], means: [[Double]], covs: [[[Double]]]) {
        let d = x.cols
        var counts = [Int](repeating: 0, count: C)
        var means = [[Double]](repeating: [Double](repeating: 0, count: d), count: C)
        for r in 0..<x.rows { let c = Int(y[r]); counts[c] += 1; for j in 0..<d { means[c][j] += Double(x[r, j]) } }
        for c in 0..<C where counts[c] > 0 { for j in 0..<d { means[c][j] /= Double(counts[c]) } }
        var covs = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: d), count: d), count: C)
        for r in 0..<x.rows {
            let c = Int(y[r])
            for i in 0..<d { for j in 0..<d {
                covs[c][i][j] += (Double(x[r, i]) - means[c][i]) * (Double(x[r, j]) - means[c][j])
            } }
        }
        for c in 0..<C where counts[c] > 1 { for i in 0..<d { for j in 0..<d { covs[c][i][j] /= Double(counts[c] - 1) } } }
        for c in 0..<C where counts[c] <= 1 { for i in 0..<d { for j in 0..<d { covs[c][i][j] = 0 } } }
        return (counts, means, covs)
    }

    /// `(support, weights, μ', Σ')` for training row `row` per method.md (GLAG or TailCalib).
    static func calibrated(_ x: Matrix<Float>, _ y: [Int32], _ C: Int, row: Int, config: GeneratorConfig, beta: Double)
        -> (support: [Int], weights: [Double], mean: [Double], cov: [[Double]]) {
        let (counts, means, covs) = stats(x, y, C)
        let d = x.cols, c = Int(y[row])
        let z = (0..<d).map { Double(x[row, $0]) }
        func dist(_ i: Int) -> Double { (0..<d).reduce(0.0) { $0 + pow(z[$1] - means[i][$1], 2) }.squareRoot() }
        var eye = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for i in 0..<d { eye[i][i] = Double(config.alpha) }
        func plus(_ a: [[Double]], _ b: [[Double]], _ s: Double) -> [[Double]] {
            (0..<d).map { i in (0..<d).map { j in a[i][j] + s * b[i][j] } }
        }
        if counts[c] >= config.headThreshold {
            return ([], [], means[c], plus(eye, covs[c], 1))
        }
        let candidates = (0..<C).filter { $0 != c && counts[$0] > counts[c] }
        let support = Array(candidates.sorted { (dist($0), $0) < (dist($1), $1) }.prefix(config.k))
        if support.isEmpty { return ([], [], z, plus(eye, covs[c], 1)) }
        var w: [Double]
        switch config.weighting {
        case .tailcalib: w = support.map { _ in 1 / Double(support.count) }
        case .glag:
            let raw = support.map { Double(counts[$0]) / dist($0) }
            let s = raw.reduce(0, +)
            w = raw.map { $0 / s }
        }
        var mean = z, cov = eye
        switch config.weighting {
        case .tailcalib:
            for i in support { for j in 0..<d { mean[j] += means[i][j] } }
            mean = mean.map { $0 / Double(support.count + 1) }
            for i in support { cov = plus(cov, covs[i], 1 / Double(support.count)) }
        case .glag:
            if config.meanMode == .pull {
                mean = z.map { (1 - beta) * $0 }
                for (a, i) in support.enumerated() { for j in 0..<d { mean[j] += beta * w[a] * means[i][j] } }
            }
            cov = plus(cov, covs[c], 1 - beta)
            for (a, i) in support.enumerated() { cov = plus(cov, covs[i], beta * w[a]) }
        }
        return (support, w, mean, cov)
    }
}

/// A long-tailed toy set: `counts[c]` samples of class `c` around random centres, with a
/// random linear mixing per class so covariances differ. Values ≥ 0 (ReLU) when `relu`.
func toyData(counts: [Int], dim d: Int, seed: UInt64, relu: Bool = false, spread: Float = 3) -> (Matrix<Float>, [Int32]) {
    var rng = Xoshiro256(seed: seed)
    let n = counts.reduce(0, +)
    var x = Matrix<Float>(rows: n, cols: d)
    var y = [Int32](repeating: 0, count: n)
    var r = 0
    for (c, nc) in counts.enumerated() {
        let centre: [Float] = standardNormals(d, using: &rng).map { $0 * spread }
        let mix: [Float] = standardNormals(d * d, using: &rng).map { $0 / Float(d).squareRoot() }
        for _ in 0..<nc {
            let e: [Float] = standardNormals(d, using: &rng)
            for i in 0..<d {
                var v = centre[i]
                for j in 0..<d { v += mix[i * d + j] * e[j] }
                x[r, i] = relu ? max(v, 0) : v
            }
            y[r] = Int32(c); r += 1
        }
    }
    return (x, y)
}

func maxRelDiff(_ a: [Float], _ b: [Double]) -> Double {
    var worst = 0.0
    for i in a.indices { worst = max(worst, abs(Double(a[i]) - b[i]) / (1 + abs(b[i]))) }
    return worst
}
