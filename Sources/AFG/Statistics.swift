import Linalg

/// Per-class statistics of (transformed) features (method.md step 2): counts, means
/// and unbiased covariances `Σ_c = 1/(n_c − 1)·Σ (z − μ_c)(z − μ_c)ᵀ` (`Σ_c = 0` when `n_c ≤ 1`).
public struct ClassStatistics: Equatable, Sendable {
    /// `C`.
    public let numClasses: Int
    /// `D`.
    public let dim: Int
    /// `n_c` per class (`C`).
    public var counts: [Int]
    /// `C × D`, row-major; a class without samples has a zero mean.
    public var means: Matrix<Float>
    /// `C × D × D` values (class-major, each `D × D` row-major and symmetric), or nil when
    /// accumulated without covariances.
    public var covariances: [Float]?

    public init(numClasses: Int, dim: Int, counts: [Int], means: Matrix<Float>, covariances: [Float]?) {
        precondition(counts.count == numClasses && means.rows == numClasses && means.cols == dim,
                     "ClassStatistics: counts \(counts.count), means \(means.rows)×\(means.cols) for C=\(numClasses), D=\(dim)")
        precondition(covariances.map { $0.count == numClasses * dim * dim } ?? true, "ClassStatistics: covariances not C×D×D")
        self.numClasses = numClasses; self.dim = dim
        self.counts = counts; self.means = means; self.covariances = covariances
    }

    /// Statistics of an in-memory matrix, class by class in two passes (mean, then the
    /// centred scatter by `dsyrk`), all in Double. Unlike the streaming accumulator it needs
    /// only `n_c × D + D²` doubles of scratch beyond the `C·D²` floats of the result.
    ///
    /// - Parameters: `features` `N × D`; `labels` `N` values in `0..<numClasses`.
    /// - Throws: `AFGError` on a label out of range, a non-finite value, a length mismatch,
    ///   or a covariance beyond Float's range.
    /// - Complexity: O(N·D²).
    public init(features: Matrix<Float>, labels: [Int32], numClasses C: Int, covariances: Bool = true) throws {
        precondition(C > 0 && features.cols > 0, "ClassStatistics: C=\(C), D=\(features.cols)")
        let d = features.cols, dd = d * d
        let counts = try validatedClassCounts(features: features, labels: labels, numClasses: C)
        var start = [Int](repeating: 0, count: C + 1)
        for c in 0..<C { start[c + 1] = start[c] + counts[c] }
        var order = [Int](repeating: 0, count: labels.count)
        var fill = start
        for (r, l) in labels.enumerated() { order[fill[Int(l)]] = r; fill[Int(l)] += 1 }
        var means = Matrix<Float>(rows: C, cols: d)
        var cov: [Float] = covariances ? Array(repeating: 0, count: C * dd) : []
        // Classes in `parallelRanges`, each range with its own buffers; a class writes only
        // its row of `means` and block of `cov`, with arithmetic that does not depend on the
        // schedule.
        let maxCount = counts.max() ?? 0
        features.data.withUnsafeBufferPointer { px in
            means.data.withUnsafeMutableBufferPointer { pm in
                cov.withUnsafeMutableBufferPointer { pcov in
                    let pmb = pm.baseAddress!, pc = covariances ? pcov.baseAddress : nil
                    parallelRanges(C, costPerItem: maxCount * d * (pc == nil ? 1 : d)) { classes in
                        guard let pxb = px.baseAddress else { return }   // no rows: every class is empty
                        var buf = [Double](repeating: 0, count: maxCount * d)
                        var scatter = [Double](repeating: 0, count: pc == nil ? 0 : dd)
                        var mean = [Double](repeating: 0, count: d)
                        for c in classes where counts[c] > 0 {
                            let nc = counts[c]
                            for j in 0..<d { mean[j] = 0 }
                            for q in 0..<nc {
                                let r = order[start[c] + q]
                                for j in 0..<d { let v = Double(pxb[r * d + j]); buf[q * d + j] = v; mean[j] += v }
                            }
                            for j in 0..<d { mean[j] /= Double(nc); pmb[c * d + j] = Float(mean[j]) }
                            guard let pc, nc > 1 else { continue }
                            for q in 0..<nc { for j in 0..<d { buf[q * d + j] -= mean[j] } }
                            buf.withUnsafeBufferPointer { pb in
                                scatter.withUnsafeMutableBufferPointer { ps in
                                    Double._syrk(true, true, d, nc, 1 / Double(nc - 1), pb.baseAddress!, d, 0, ps.baseAddress!, d)
                                }
                            }
                            for i in 0..<d {
                                for j in 0...i {
                                    let v = Float(scatter[i * d + j])
                                    pc[c * dd + i * d + j] = v
                                    pc[c * dd + j * d + i] = v
                                }
                            }
                        }
                    }
                }
            }
        }
        self.init(numClasses: C, dim: d, counts: counts, means: means,
                  covariances: try ClassStatistics.finite(covariances ? cov : nil, dim: d))
    }

    /// `cov` when every entry is finite, else the error naming the first class whose
    /// covariance overflowed on the way to Float. O(C·D²).
    /// - Throws: `AFGError.covarianceOverflow`.
    static func finite(_ cov: [Float]?, dim d: Int) throws -> [Float]? {
        if let bad = cov?.firstIndex(where: { !$0.isFinite }) { throw AFGError.covarianceOverflow(classIndex: bad / (d * d)) }
        return cov
    }

    /// `Σ_c` as a `D × D` matrix. Precondition: covariances were accumulated, `c` in range.
    public func covariance(of c: Int) -> Matrix<Float> {
        precondition(c >= 0 && c < numClasses, "covariance(of:): class \(c) outside 0..<\(numClasses)")
        guard let cov = covariances else { preconditionFailure("covariance(of:): statistics were accumulated without covariances") }
        let dd = dim * dim
        return Matrix(rows: dim, cols: dim, data: Array(cov[(c * dd)..<((c + 1) * dd)]))
    }
}

/// One pass over row blocks (data larger than memory) to `ClassStatistics`.
///
/// Each block is split by class; per class the block mean and the centred scatter
/// `Σ (z − m_b)(z − m_b)ᵀ` are computed in Double (`dsyrk`), then merged into the running
/// state with Chan et al.'s parallel update (`M2 += M2_b + δδᵀ·n_a·n_b/(n_a+n_b)`). The
/// result equals a single pass over the whole matrix to rounding (≈1e-12 relative), whatever
/// the block sizes.
///
/// Memory: `C·D` doubles for means plus `D²` doubles per class seen when `covariances`
/// is on (ImageNet-LT shape, C=1000, D=512: 2 GB; pass `covariances: false` for means only).
public struct StatisticsAccumulator {
    public let numClasses: Int
    public let dim: Int
    public let accumulatesCovariances: Bool
    /// Rows added so far (used to number rows in error messages).
    public private(set) var rowsSeen = 0
    private var counts: [Int]
    private var means: [Double]          // C × D
    private var scatter: [[Double]]      // per class D × D lower triangle, empty until seen

    public init(numClasses: Int, dim: Int, covariances: Bool = true) {
        precondition(numClasses > 0 && dim > 0, "StatisticsAccumulator: C=\(numClasses), D=\(dim)")
        self.numClasses = numClasses; self.dim = dim; self.accumulatesCovariances = covariances
        counts = Array(repeating: 0, count: numClasses)
        means = Array(repeating: 0, count: numClasses * dim)
        scatter = Array(repeating: [], count: numClasses)
    }

    /// Adds `rows` rows: `features` `rows × D` row-major, `labels` `rows` values.
    ///
    /// - Throws: `AFGError.labelOutOfRange` / `.nonFiniteFeature` naming the row (counted
    ///   over all blocks); a failing block leaves the state unchanged.
    /// - Complexity: O(rows·D²) with covariances, O(rows·D) without.
    public mutating func add(rows: Int, features: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Int32>) throws {
        let d = dim
        precondition(features.count >= rows * d && labels.count >= rows, "StatisticsAccumulator.add: buffers shorter than \(rows) rows")
        if rows == 0 { return }
        // Validate the whole block first.
        var blockCount = [Int](repeating: 0, count: numClasses)
        for r in 0..<rows {
            let l = labels[r]
            guard l >= 0 && Int(l) < numClasses else {
                throw AFGError.labelOutOfRange(row: rowsSeen + r, label: l, numClasses: numClasses)
            }
            for j in 0..<d where !features[r * d + j].isFinite {
                throw AFGError.nonFiniteFeature(row: rowsSeen + r, column: j)
            }
            blockCount[Int(l)] += 1
        }
        // Counting sort of the block's rows by class.
        var start = [Int](repeating: 0, count: numClasses + 1)
        for c in 0..<numClasses { start[c + 1] = start[c] + blockCount[c] }
        var fill = start
        var order = [Int](repeating: 0, count: rows)
        for r in 0..<rows { let c = Int(labels[r]); order[fill[c]] = r; fill[c] += 1 }
        let maxCount = blockCount.max() ?? 0
        var buf = [Double](repeating: 0, count: maxCount * d)
        var mb = [Double](repeating: 0, count: d)
        var delta = [Double](repeating: 0, count: d)
        for c in 0..<numClasses where blockCount[c] > 0 {
            let nb = blockCount[c]
            // Gather in Double and take the block mean.
            for j in 0..<d { mb[j] = 0 }
            for (q, r) in order[start[c]..<start[c + 1]].enumerated() {
                for j in 0..<d { let v = Double(features[r * d + j]); buf[q * d + j] = v; mb[j] += v }
            }
            for j in 0..<d { mb[j] /= Double(nb) }
            let na = counts[c]
            if accumulatesCovariances {
                if scatter[c].isEmpty { scatter[c] = Array(repeating: 0, count: d * d) }
                for q in 0..<nb { for j in 0..<d { buf[q * d + j] -= mb[j] } }
                buf.withUnsafeBufferPointer { pb in
                    scatter[c].withUnsafeMutableBufferPointer { ps in
                        Double._syrk(true, true, d, nb, 1, pb.baseAddress!, d, 1, ps.baseAddress!, d)
                    }
                }
            }
            let base = c * d
            if na == 0 {
                for j in 0..<d { means[base + j] = mb[j] }
            } else {
                let total = Double(na + nb)
                for j in 0..<d { delta[j] = mb[j] - means[base + j] }
                if accumulatesCovariances {
                    delta.withUnsafeBufferPointer { pd in
                        scatter[c].withUnsafeMutableBufferPointer { ps in
                            Double._syrk(true, true, d, 1, Double(na) * Double(nb) / total, pd.baseAddress!, d, 1, ps.baseAddress!, d)
                        }
                    }
                }
                let f = Double(nb) / total
                for j in 0..<d { means[base + j] += delta[j] * f }
            }
            counts[c] = na + nb
        }
        rowsSeen += rows
    }

    /// Adds the rows of `features` (`N × D`) with `labels` (`N`).
    public mutating func add(features: Matrix<Float>, labels: [Int32]) throws {
        guard features.rows == labels.count else { throw AFGError.shapeMismatch(features: features.rows, labels: labels.count) }
        precondition(features.cols == dim, "StatisticsAccumulator.add: \(features.cols) columns, expected \(dim)")
        try features.data.withUnsafeBufferPointer { pf in
            try labels.withUnsafeBufferPointer { pl in try add(rows: features.rows, features: pf, labels: pl) }
        }
    }

    /// The statistics of everything added. O(C·D²).
    /// - Throws: `AFGError.covarianceOverflow`.
    public func finalize() throws -> ClassStatistics {
        let d = dim, dd = d * d
        let m = Matrix<Float>(rows: numClasses, cols: d, data: means.map { Float($0) })
        var cov: [Float]? = nil
        if accumulatesCovariances {
            var out = [Float](repeating: 0, count: numClasses * dd)
            for c in 0..<numClasses where counts[c] > 1 {
                let s = scatter[c], inv = 1 / Double(counts[c] - 1), base = c * dd
                for i in 0..<d {
                    for j in 0...i {
                        let v = Float(s[i * d + j] * inv)
                        out[base + i * d + j] = v
                        out[base + j * d + i] = v
                    }
                }
            }
            cov = out
        }
        return ClassStatistics(numClasses: numClasses, dim: d, counts: counts, means: m,
                               covariances: try ClassStatistics.finite(cov, dim: d))
    }
}
