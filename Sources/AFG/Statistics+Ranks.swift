import Linalg

/// Sums a Double buffer elementwise across the processes of a job, in place, leaving the
/// same bits on every process; the identity (`{ _ in }`) in one process. AFG and
/// Classifier take one of these instead of knowing how processes talk (the CLI passes
/// the `Distributed` module's reduction).
public typealias SumAcrossRanks = (inout [Double]) -> Void

extension ClassStatistics {
    /// Statistics of rows spread over several processes, each passing its own rows:
    /// counts, then per-class sums (means), then each class's scatter about the global
    /// mean (its lower triangle, packed), all in Double, each summed across ranks (three
    /// reductions, the scatters in groups of at most 2²³ doubles). The result is the
    /// two-pass statistics of the concatenated rows up to the order of the sums (≈1e-15
    /// relative), the same on every rank.
    ///
    /// - Parameters: `features` this rank's `n × D` rows (n may be 0); `labels` `n` values
    ///   in `0..<numClasses`; `sum` identical in call order on every rank.
    ///   `scatterSum` sums the scatters instead of `sum` (nil: `sum`) and returns whether
    ///   this rank holds the total: a reduce to one rank (half the traffic of a reduce and
    ///   broadcast) returns true there only, and the other ranks' statistics have no
    ///   covariances (nil; they skip the `C·D²` conversion); counts and means are the same
    ///   on every rank.
    /// - Throws: `AFGError` on a label out of range, a non-finite value, or a length
    ///   mismatch in this rank's rows; `.covarianceOverflow` on the rank holding the
    ///   covariances.
    /// - Complexity: O(n·D²) local flops; `C·(D + 1) + C_cov·D(D+1)/2` doubles reduced,
    ///   `C_cov` the classes with more than one row.
    public init(features: Matrix<Float>, labels: [Int32], numClasses C: Int, covariances: Bool = true,
                sumAcrossRanks sum: SumAcrossRanks, scatterSum: ((inout [Double]) -> Bool)? = nil) throws {
        precondition(C > 0 && features.cols > 0, "ClassStatistics: C=\(C), D=\(features.cols)")
        let d = features.cols
        let local = try validatedClassCounts(features: features, labels: labels, numClasses: C)
        var counted = local.map(Double.init)
        sum(&counted)
        let counts = counted.map { Int($0) }
        var sums = [Double](repeating: 0, count: C * d)
        features.data.withUnsafeBufferPointer { px in
            for (r, l) in labels.enumerated() {
                let base = Int(l) * d
                for j in 0..<d { sums[base + j] += Double(px[r * d + j]) }
            }
        }
        sum(&sums)
        for c in 0..<C where counts[c] > 0 {
            let inv = Double(counts[c])
            for j in 0..<d { sums[c * d + j] /= inv }
        }
        let means = Matrix<Float>(rows: C, cols: d, data: sums.map { Float($0) })
        var cov: [Float]? = nil
        if covariances {
            func merged(_ s: (inout [Double]) -> Bool) -> [Float]? {
                ClassStatistics.mergedCovariances(features: features, labels: labels, localCounts: local, counts: counts,
                                                  means: sums, sum: s)
            }
            cov = scatterSum.map(merged) ?? merged { sum(&$0); return true }
        }
        self.init(numClasses: C, dim: d, counts: counts, means: means, covariances: try ClassStatistics.finite(cov, dim: d))
    }

    /// `Σ_c = S_c/(n_c − 1)`, `S_c` the scatter about the global mean `means` (`C × D`,
    /// Double) summed across ranks as packed lower triangles (`D(D+1)/2` each); classes
    /// with more than one row, in groups of at most 2²³ doubles per reduction.
    /// `C × D × D` floats, or nil on a rank where `sum` says it does not hold the total.
    static func mergedCovariances(features: Matrix<Float>, labels: [Int32], localCounts: [Int], counts: [Int],
                                  means: [Double], sum: (inout [Double]) -> Bool) -> [Float]? {
        let C = counts.count, d = features.cols, dd = d * d, tri = d * (d + 1) / 2
        var start = [Int](repeating: 0, count: C + 1)
        for c in 0..<C { start[c + 1] = start[c] + localCounts[c] }
        var order = [Int](repeating: 0, count: labels.count)
        var fill = start
        for (r, l) in labels.enumerated() { order[fill[Int(l)]] = r; fill[Int(l)] += 1 }
        var out: [Float] = []       // allocated on the rank that holds the totals
        var holds = true
        var buf = [Double](repeating: 0, count: (localCounts.max() ?? 0) * d)
        let classes = (0..<C).filter { counts[$0] > 1 }
        let perGroup = max(1, (1 << 23) / tri)
        var square = [Double](repeating: 0, count: dd)
        for g0 in stride(from: 0, to: classes.count, by: perGroup) {
            let group = Array(classes[g0..<min(g0 + perGroup, classes.count)])
            var scatter = [Double](repeating: 0, count: group.count * tri)
            features.data.withUnsafeBufferPointer { px in
                for (slot, c) in group.enumerated() where localCounts[c] > 0 {
                    let nc = localCounts[c]
                    for q in 0..<nc {
                        let r = order[start[c] + q]
                        for j in 0..<d { buf[q * d + j] = Double(px[r * d + j]) - means[c * d + j] }
                    }
                    buf.withUnsafeBufferPointer { pb in
                        square.withUnsafeMutableBufferPointer { ps in
                            Double._syrk(true, true, d, nc, 1, pb.baseAddress!, d, 0, ps.baseAddress!, d)
                        }
                    }
                    var k = slot * tri
                    for i in 0..<d { for j in 0...i { scatter[k] = square[i * d + j]; k += 1 } }
                }
            }
            holds = sum(&scatter) && holds
            guard holds else { continue }
            if out.isEmpty { out = [Float](repeating: 0, count: C * dd) }
            for (slot, c) in group.enumerated() {
                let inv = 1 / Double(counts[c] - 1), o = c * dd
                var k = slot * tri
                for i in 0..<d {
                    for j in 0...i {
                        let v = Float(scatter[k] * inv)
                        k += 1
                        out[o + i * d + j] = v
                        out[o + j * d + i] = v
                    }
                }
            }
        }
        guard holds else { return nil }
        return out.isEmpty ? [Float](repeating: 0, count: C * dd) : out
    }
}

extension FeatureGenerator {
    /// The number of internal blocks of an epoch (`⌈G / blockRows⌉`).
    public var blockCount: Int { (generatedRows + config.blockRows - 1) / config.blockRows }

    /// Internal blocks `blocks` of epoch `epoch`, in plan order (class 0 first): the very
    /// bits of the same rows of `generate(seed:epoch:)`, since every row draws from its
    /// own stream and the blocks are the ones `generate` forms. For splitting an epoch
    /// across processes: rank `r` generates its blocks, and the concatenation over ranks
    /// is the one-process epoch.
    /// - Returns: `rows × D` features (row-major) and `rows` labels.
    /// - Complexity: as `generate`, for the rows of these blocks.
    public func generateBlocks(_ blocks: Range<Int>, seed: UInt64, epoch: Int) -> (features: [Float], labels: [Int32]) {
        let p = plan(seed: seed, epoch: epoch)
        let G = p.totalRows, d = dim, B = config.blockRows
        let lo = min(blocks.lowerBound * B, G), hi = min(blocks.upperBound * B, G)
        let n = hi - lo
        let ws = SamplerWorkspace()
        var labels = [Int32](repeating: 0, count: n)
        let features = [Float](unsafeUninitializedCapacity: n * d) { buf, initialized in
            labels.withUnsafeMutableBufferPointer { pl in
                var a = lo
                while a < hi {
                    let b = min(a + B, hi)
                    _ = sampleBlock(plan: p, seed: seed, epoch: epoch, rows: a..<b,
                                    out: buf.baseAddress! + (a - lo) * d, labels: pl.baseAddress! + (a - lo), workspace: ws)
                    a = b
                }
            }
            initialized = n * d
        }
        return (features, labels)
    }
}
