import Foundation
import Linalg

/// One class's covariance factor `G` (`rank × D`, row-major) with `Gᵀ·G = Σ_c` (plus
/// `jitter·I` on the Cholesky path). A draw of the class's part is `eᵀ·G`, `e ~ N(0, I_rank)`.
struct CovarianceFactor: Sendable {
    /// Rows of `G`: `n_c` for the centred data, `D` for Cholesky, 0 when `Σ_c = 0`.
    var rank: Int
    var g: [Float]
    var jitter: Float
    var isCholesky: Bool
}

/// The support set of one tail sample (method.md steps 4–5).
public struct SupportSet: Equatable, Sendable {
    /// Donor classes, nearest first (at most `k`; fewer when `H_c` is smaller).
    public var classes: [Int]
    /// Their weights `w_i` (sum 1): `∝ n_i/d_i` for GLAG, `1/|S|` for TailCalib.
    public var weights: [Float]
    /// `d_i = ‖μ_i − z̃‖₂`, computed in Double.
    public var distances: [Double]
}

/// A generated set: rows of classes in increasing class order (the trainer shuffles).
public struct GeneratedSet: Sendable {
    /// `G × D`, row-major.
    public var features: Matrix<Float>
    /// `G` class labels.
    public var labels: [Int32]
    /// `C × C`: entry `(c, i)` is the mean support weight `ū_{c,i}` that class `c`'s
    /// generated rows put on donor `i` over the whole epoch (zero rows for head classes).
    /// A mini-batch carries the epoch's matrix.
    public var donorWeights: Matrix<Float>
    public var count: Int { labels.count }
}

/// The Adaptive Feature Generator (method.md §Stage two, steps 3–8).
///
/// Built once from the (already Tukey-transformed) training features: class means, one
/// covariance factor per class, the tail samples and their support sets. Each call to
/// `generate` / `batches` then draws a fresh epoch filling every class to `M` rows:
///
///     z = μ' + √(1−β_c)·F_c e_c + Σ_{i∈S} √(β_c w_i)·F_i e_i + √α·e_0
///
/// with all draws that share a factor `F_i` formed by one `gemm` per block of rows.
/// Randomness: row `j` of class `c` in epoch `e` draws its normals from
/// `Xoshiro256(seed:, streams: [e, c, j])` (ziggurat), and the allocation of a class's
/// remainder from `[e, c, UInt64.max]`, so the output depends on `(seed, epoch, β, config)`
/// only: not on the mini-batch size nor the thread count.
public struct FeatureGenerator: Sendable {
    public let config: GeneratorConfig
    /// `C`.
    public let numClasses: Int
    /// `D`.
    public let dim: Int
    /// `n_c` (`C`).
    public let counts: [Int]
    /// `μ_c`, `C × D` (accumulated in Double).
    public let means: Matrix<Float>
    /// `n_c < headThreshold` (classes without samples are neither: they get no rows).
    public let isTail: [Bool]
    /// `β_c` (`C`), the state the trainer updates; read clamped to [0, 1]. Head classes
    /// start (and are used) at 0: they are not calibrated.
    public var beta: [Float]
    /// `M`, the count every class is filled to.
    public let targetPerClass: Int
    /// Diagonal jitter the Cholesky path needed per class (0 for exact factors).
    public var jitter: [Float] { factors.map(\.jitter) }

    let factors: [CovarianceFactor]
    let seeds: Matrix<Float>        // T × D: tail samples, grouped by class
    let seedClass: [Int32]          // T
    let seedStart: [Int]            // C + 1
    let seedOfRow: [Int32]          // N: index into seeds, −1 for rows of head classes
    let rowLabels: [Int32]          // N: the training labels
    let support: [Int32]            // T × k, −1 padded
    let weight: [Float]             // T × k
    let supportDistance: [Double]   // T × k

    /// - Parameters:
    ///   - features: `N × D`, row-major, already Tukey-transformed.
    ///   - labels: `N` values in `0..<numClasses`.
    /// - Throws: `AFGError` for bad labels, non-finite values, a length mismatch, an
    ///   invalid config, or a covariance that cannot be factored (NaN).
    /// - Complexity: O(N·D·min(n_c, D)) for statistics + O(Σ_{n_c > D} D³) for Cholesky
    ///   factors + O(T·C·D) for the nearest means of the `T` tail samples (one `gemm`
    ///   per 4096 tail rows). Memory ≈ 2·N·D floats.
    public init(features: Matrix<Float>, labels: [Int32], numClasses: Int, config: GeneratorConfig = .init()) throws {
        try config.validate()
        precondition(numClasses > 0, "FeatureGenerator: numClasses must be positive")
        let n = features.rows, d = features.cols, C = numClasses
        precondition(d > 0, "FeatureGenerator: features have no columns")
        let counts = try validatedClassCounts(features: features, labels: labels, numClasses: C)
        self.config = config; self.numClasses = C; self.dim = d; self.counts = counts
        rowLabels = labels
        let nmax = counts.max() ?? 0
        targetPerClass = config.targetPerClass ?? nmax
        let tail = counts.map { config.isTail(count: $0) }
        isTail = tail
        beta = tail.map { $0 ? config.initialBeta : 0 }

        // Rows grouped by class (counting sort, stable).
        var start = [Int](repeating: 0, count: C + 1)
        for c in 0..<C { start[c + 1] = start[c] + counts[c] }
        var order = [Int](repeating: 0, count: n)
        var fill = start
        for (r, l) in labels.enumerated() { order[fill[Int(l)]] = r; fill[Int(l)] += 1 }

        (self.means, self.factors) = try FeatureGenerator.meansAndFactors(features, order: order, start: start, counts: counts,
                                                                           choice: config.factor)

        // Tail samples (the seeds of generated rows), grouped by class.
        var seedStart = [Int](repeating: 0, count: C + 1)
        for c in 0..<C { seedStart[c + 1] = seedStart[c] + (tail[c] ? counts[c] : 0) }
        let T = seedStart[C]
        var seeds = Matrix<Float>(rows: T, cols: d)
        var seedClass = [Int32](repeating: 0, count: T)
        var seedOfRow = [Int32](repeating: -1, count: n)
        for c in 0..<C where tail[c] {
            for q in 0..<counts[c] {
                let r = order[start[c] + q], t = seedStart[c] + q
                seedOfRow[r] = Int32(t)
                seedClass[t] = Int32(c)
                for j in 0..<d { seeds.data[t * d + j] = features.data[r * d + j] }
            }
        }
        self.seeds = seeds; self.seedClass = seedClass; self.seedStart = seedStart; self.seedOfRow = seedOfRow
        let s = FeatureGenerator.supportSets(seeds: seeds, seedClass: seedClass, means: means, counts: counts, config: config)
        support = s.classes; weight = s.weights; supportDistance = s.distances
    }

    /// Per-class means (`C × D`) and covariance factors, classes in `parallelRanges`, each
    /// range with its own buffers (each class's arithmetic does not depend on the schedule,
    /// so neither do the bits); a failure reports the first failing class.
    /// - Parameters: `order[start[c] ..< start[c + 1]]` are class `c`'s rows of `features`.
    /// - Complexity: O(N·D) for the means plus each class's factor (`factor`).
    static func meansAndFactors(_ features: Matrix<Float>, order: [Int], start: [Int], counts: [Int],
                                choice: FactorChoice) throws -> (Matrix<Float>, [CovarianceFactor]) {
        let d = features.cols, C = counts.count, maxCount = max(counts.max() ?? 0, 1)
        var means = Matrix<Float>(rows: C, cols: d)
        let results = UnsafeMutableBufferPointer<Result<CovarianceFactor, Error>>.allocate(capacity: C)
        defer { results.deallocate() }
        means.data.withUnsafeMutableBufferPointer { pm in
            features.data.withUnsafeBufferPointer { px in
                let pmb = pm.baseAddress!
                parallelRanges(C, costPerItem: maxCount * d * d) { classes in
                    var mean = [Double](repeating: 0, count: d)
                    var centred = [Float](repeating: 0, count: maxCount * d)
                    for c in classes {
                        let nc = counts[c]
                        guard nc > 0, let pxb = px.baseAddress else {
                            (results.baseAddress! + c).initialize(to: .success(CovarianceFactor(rank: 0, g: [], jitter: 0, isCholesky: false)))
                            continue
                        }
                        for j in 0..<d { mean[j] = 0 }
                        for q in 0..<nc {
                            let r = order[start[c] + q]
                            for j in 0..<d { mean[j] += Double(pxb[r * d + j]) }
                        }
                        for j in 0..<d { mean[j] /= Double(nc); pmb[c * d + j] = Float(mean[j]) }
                        for q in 0..<nc {
                            let r = order[start[c] + q]
                            for j in 0..<d { centred[q * d + j] = Float(Double(pxb[r * d + j]) - mean[j]) }
                        }
                        (results.baseAddress! + c).initialize(to: Result {
                            try FeatureGenerator.factor(classIndex: c, centred: centred, count: nc, dim: d, choice: choice)
                        })
                    }
                }
            }
        }
        defer { results.baseAddress!.deinitialize(count: C) }
        var factors = [CovarianceFactor]()
        factors.reserveCapacity(C)
        for c in 0..<C { factors.append(try results[c].get()) }
        return (means, factors)
    }

    /// The factor of one class from its centred rows (`count × dim` at the front of `centred`).
    static func factor(classIndex c: Int, centred: [Float], count nc: Int, dim d: Int, choice: FactorChoice) throws -> CovarianceFactor {
        let zero = CovarianceFactor(rank: 0, g: [], jitter: 0, isCholesky: false)
        if nc < 2 { return zero }
        var trace = 0.0
        for v in centred[0..<(nc * d)] { trace += Double(v) * Double(v) }
        if trace == 0 { return zero }       // duplicates only: Σ_c = 0 exactly
        let useCentred = choice == .centredData || (choice == .automatic && nc <= d)
        let scale = 1 / Float(nc - 1).squareRoot()
        if useCentred {
            return CovarianceFactor(rank: nc, g: centred[0..<(nc * d)].map { $0 * scale }, jitter: 0, isCholesky: false)
        }
        var cov = Matrix<Float>(rows: d, cols: d)
        centred.withUnsafeBufferPointer { pa in
            cov.data.withUnsafeMutableBufferPointer { pc in
                Float._syrk(true, true, d, nc, 1 / Float(nc - 1), pa.baseAddress!, d, 0, pc.baseAddress!, d)
            }
        }
        do {
            let f = try BLAS.choleskyWithJitter(cov)
            // G = Lᵀ: a row vector e gives eᵀLᵀ = (L e)ᵀ.
            var g = [Float](repeating: 0, count: d * d)
            f.factor.data.withUnsafeBufferPointer { pl in
                g.withUnsafeMutableBufferPointer { pg in
                    for i in 0..<d { for j in 0...i { pg[j * d + i] = pl[i * d + j] } }
                }
            }
            return CovarianceFactor(rank: d, g: g, jitter: f.jitter, isCholesky: true)
        } catch {
            throw AFGError.factorization(classIndex: c, message: "\(error)")
        }
    }

    /// Support sets of all tail samples: distances to every class mean by one `gemm` per
    /// block of 4096 samples (`‖μ‖² − 2 z·μ + ‖z‖²`), masked to `H_c = {i : n_i > n_c}`,
    /// the `k` nearest kept, their distances recomputed exactly in Double for the weights.
    static func supportSets(seeds: Matrix<Float>, seedClass: [Int32], means: Matrix<Float>, counts: [Int],
                            config: GeneratorConfig) -> (classes: [Int32], weights: [Float], distances: [Double]) {
        let T = seeds.rows, d = seeds.cols, C = means.rows, k = config.k
        var classes = [Int32](repeating: -1, count: T * k)
        var weights = [Float](repeating: 0, count: T * k)
        var distances = [Double](repeating: 0, count: T * k)
        if T == 0 { return (classes, weights, distances) }
        var norm = [Double](repeating: 0, count: C)
        for i in 0..<C { var s = 0.0; for j in 0..<d { let v = Double(means.data[i * d + j]); s += v * v }; norm[i] = s }
        let chunk = 4096
        var dots = [Float](repeating: 0, count: min(chunk, T) * C)
        var bestD = [Double](repeating: 0, count: k), bestI = [Int](repeating: -1, count: k)
        seeds.data.withUnsafeBufferPointer { pz in
            means.data.withUnsafeBufferPointer { pm in
                for t0 in stride(from: 0, to: T, by: chunk) {
                    let tb = min(chunk, T - t0)
                    dots.withUnsafeMutableBufferPointer { pd in
                        Float._gemm(false, true, tb, C, d, 1, pz.baseAddress! + t0 * d, d, pm.baseAddress!, d, 0, pd.baseAddress!, C)
                    }
                    for q in 0..<tb {
                        let t = t0 + q, c = Int(seedClass[t]), z = pz.baseAddress! + t * d
                        var zn = 0.0
                        for j in 0..<d { zn += Double(z[j]) * Double(z[j]) }
                        var found = 0
                        for i in 0..<C where counts[i] > counts[c] {
                            let d2 = norm[i] - 2 * Double(dots[q * C + i]) + zn
                            if found < k || d2 < bestD[found - 1] {
                                // Insertion into the sorted short list (ties keep the lower index).
                                var p = found < k ? found : k - 1
                                while p > 0 && bestD[p - 1] > d2 { bestD[p] = bestD[p - 1]; bestI[p] = bestI[p - 1]; p -= 1 }
                                bestD[p] = d2; bestI[p] = i
                                if found < k { found += 1 }
                            }
                        }
                        if found == 0 { continue }
                        // Exact distances, then order by them.
                        var sel = (0..<found).map { a -> (Int, Double) in
                            let i = bestI[a]
                            var s = 0.0
                            for j in 0..<d { let v = Double(z[j]) - Double(pm[i * d + j]); s += v * v }
                            return (i, s.squareRoot())
                        }
                        sel.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                        let w = supportWeights(sel.map { Double(counts[$0.0]) }, distances: sel.map(\.1), weighting: config.weighting)
                        for a in 0..<found {
                            classes[t * k + a] = Int32(sel[a].0)
                            distances[t * k + a] = sel[a].1
                            weights[t * k + a] = Float(w[a])
                        }
                    }
                }
            }
        }
        return (classes, weights, distances)
    }

    /// `w_i = (n_i/d_i) / Σ_j (n_j/d_j)` (GLAG) or `1/|S|` (TailCalib). When some `d_i = 0`
    /// (a sample sitting on a donor mean) the weight goes to those donors only, `∝ n_i`.
    static func supportWeights(_ n: [Double], distances: [Double], weighting: Weighting) -> [Double] {
        let s = n.count
        if weighting == .tailcalib { return Array(repeating: 1 / Double(s), count: s) }
        if distances.contains(0) {
            let total = zip(n, distances).reduce(0.0) { $0 + ($1.1 == 0 ? $1.0 : 0) }
            return zip(n, distances).map { $0.1 == 0 ? $0.0 / total : 0 }
        }
        let raw = zip(n, distances).map { $0.0 / $0.1 }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    // MARK: Queries

    /// Rows generated per epoch for class `c`: `max(M − n_c, 0)` (0 for an empty class).
    public func generatedCount(of c: Int) -> Int { counts[c] > 0 ? max(targetPerClass - counts[c], 0) : 0 }

    /// Rows generated per epoch, all classes.
    public var generatedRows: Int { (0..<numClasses).reduce(0) { $0 + generatedCount(of: $1) } }

    /// Classes without training samples (they get no generated rows).
    public var emptyClasses: [Int] { (0..<numClasses).filter { counts[$0] == 0 } }

    /// The support set of training row `row` (index into the `features` given to `init`),
    /// or nil when the row belongs to a head class.
    public func supportSet(ofRow row: Int) -> SupportSet? {
        precondition(row >= 0 && row < seedOfRow.count, "supportSet(ofRow:): row \(row) out of range")
        let t = Int(seedOfRow[row])
        if t < 0 { return nil }
        let k = config.k
        let found = (0..<k).filter { support[t * k + $0] >= 0 }
        return SupportSet(classes: found.map { Int(support[t * k + $0]) }, weights: found.map { weight[t * k + $0] },
                          distances: found.map { supportDistance[t * k + $0] })
    }

    /// `Σ_c` as the sampler sees it (`GᵀG`: includes the Cholesky jitter), `D × D`. O(rank·D²).
    public func covariance(of c: Int) -> Matrix<Float> {
        var out = Matrix<Float>(rows: dim, cols: dim)
        accumulateGram(c, scale: 1, into: &out)
        BLAS.symmetrize(&out)
        return out
    }

    private func accumulateGram(_ f: Int, scale: Float, into out: inout Matrix<Float>) {
        let fac = factors[f]
        if fac.rank == 0 || scale == 0 { return }
        let d = dim
        fac.g.withUnsafeBufferPointer { pg in
            out.data.withUnsafeMutableBufferPointer { po in
                Float._syrk(true, true, d, fac.rank, scale, pg.baseAddress!, d, 1, po.baseAddress!, d)
            }
        }
    }

    /// The distribution rows seeded by training row `row` are drawn from, with the current
    /// `β`: `(μ', Σ')` for a tail row, `(μ_c, Σ_c + αI)` for a head row. `Σ'` is `D × D`
    /// (for tests and inspection; the sampler never forms it). O(k·rank·D²).
    public func calibratedDistribution(ofRow row: Int) -> (mean: [Float], covariance: Matrix<Float>) {
        precondition(row >= 0 && row < seedOfRow.count, "calibratedDistribution(ofRow:): row \(row) out of range")
        let t = Int(seedOfRow[row])
        let c = t >= 0 ? Int(seedClass[t]) : classOf(row: row)
        var mean = [Float](repeating: 0, count: dim)
        var cov = Matrix<Float>(rows: dim, cols: dim)
        mean.withUnsafeMutableBufferPointer { pm in
            seeds.data.withUnsafeBufferPointer { ps in
                means.data.withUnsafeBufferPointer { pmu in
                    writeMean(c: c, t: t, seeds: ps.baseAddress!, means: pmu.baseAddress!, into: pm.baseAddress!)
                }
            }
        }
        forEachPart(c: c, t: t) { f, scale in accumulateGram(f, scale: scale * scale, into: &cov) }
        for i in 0..<dim { cov.data[i * dim + i] += config.alpha }
        BLAS.symmetrize(&cov)
        return (mean, cov)
    }

    private func classOf(row: Int) -> Int { Int(rowLabels[row]) }

    // MARK: Sampling plan shared by the sampler and the queries

    /// Calls `body(factorClass, scale)` for every non-empty part of the draw of a row of
    /// class `c` seeded by tail sample `t` (−1 for head rows), in a fixed order.
    @inline(__always)
    func forEachPart(c: Int, t: Int, _ body: (Int, Float) -> Void) {
        func part(_ f: Int, _ scale: Float) { if scale > 0 && factors[f].rank > 0 { body(f, scale) } }
        if t < 0 { part(c, 1); return }
        let k = config.k
        var s = 0
        while s < k && support[t * k + s] >= 0 { s += 1 }
        if s == 0 { part(c, 1); return }
        switch config.weighting {
        case .glag:
            let b = min(max(beta[c], 0), 1)
            part(c, (1 - b).squareRoot())
            for a in 0..<s { part(Int(support[t * k + a]), (b * weight[t * k + a]).squareRoot()) }
        case .tailcalib:
            let sc = (1 / Float(s)).squareRoot()
            for a in 0..<s { part(Int(support[t * k + a]), sc) }
        }
    }

    /// Writes `μ'` (`D` values) for a row of class `c` seeded by tail sample `t` (−1: head).
    @inline(__always)
    func writeMean(c: Int, t: Int, seeds: UnsafePointer<Float>, means: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let d = dim, k = config.k
        if t < 0 { out.update(from: means + c * d, count: d); return }
        let z = seeds + t * d
        var s = 0
        while s < k && support[t * k + s] >= 0 { s += 1 }
        if s == 0 { out.update(from: z, count: d); return }
        switch config.weighting {
        case .glag:
            if config.meanMode == .sample { out.update(from: z, count: d); return }
            let b = min(max(beta[c], 0), 1)
            for j in 0..<d { out[j] = (1 - b) * z[j] }
            for a in 0..<s {
                let mu = means + Int(support[t * k + a]) * d, w = b * weight[t * k + a]
                for j in 0..<d { out[j] += w * mu[j] }
            }
        case .tailcalib:
            let inv = 1 / Float(s + 1)
            out.update(from: z, count: d)
            for a in 0..<s {
                let mu = means + Int(support[t * k + a]) * d
                for j in 0..<d { out[j] += mu[j] }
            }
            for j in 0..<d { out[j] *= inv }
        }
    }
}
