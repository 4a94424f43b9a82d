import Classifier
import FeatureIO
import Foundation
import Linalg

/// The class counts of the scale run: `C` classes from `maxCount` down to `minCount`, a
/// smooth long tail summing to exactly `total`.
///
/// Profile `n(r) = max · (min/max)^((r/(C−1))^p)` for rank `r`, with `p` found by bisection
/// so the rounded counts sum close to `total`; the remaining difference is spread one row at
/// a time over the inner classes without breaking the ordering (non-increasing, first
/// `max`, last `min`).
/// - Precondition: `C ≥ 2`, `minCount ≥ 1`, `C·min ≤ total ≤ C·max`.
func scaleCounts(classes C: Int, total: Int, maxCount: Int, minCount: Int) -> [Int] {
    precondition(C >= 2 && minCount >= 1 && maxCount >= minCount && C * minCount <= total && total <= C * maxCount,
                 "scaleCounts: infeasible shape C=\(C) N=\(total) max=\(maxCount) min=\(minCount)")
    let ratio = Double(minCount) / Double(maxCount)
    func counts(_ p: Double) -> [Int] {
        (0..<C).map { r in
            let u = Double(r) / Double(C - 1)
            return min(maxCount, max(minCount, Int((Double(maxCount) * Foundation.pow(ratio, Foundation.pow(u, p))).rounded())))
        }
    }
    var lo = 1e-4, hi = 1e4        // sum grows with p
    for _ in 0..<200 {
        let mid = (lo * hi).squareRoot()
        if counts(mid).reduce(0, +) < total { lo = mid } else { hi = mid }
    }
    var n = counts(hi)
    var diff = total - n.reduce(0, +)
    while diff != 0 {
        let before = diff
        if diff > 0 {
            for r in 1..<(C - 1) where diff > 0 && n[r] < n[r - 1] { n[r] += 1; diff -= 1 }
        } else {
            for r in stride(from: C - 2, through: 1, by: -1) where diff < 0 && n[r] > n[r + 1] { n[r] -= 1; diff += 1 }
        }
        precondition(diff != before, "scaleCounts: cannot reach \(total) rows")
    }
    return n
}

/// Environment integer with a default (the scale benchmarks take their shape from the
/// environment so `make bench-scale` and a quick small trial share one code path).
private func envInt(_ name: String, _ fallback: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
}

/// `afg-bench scale-data`: writes the scale run's synthetic data set, streamed.
///
/// Shape (environment, defaults = iNaturalist-2018): `SCALE_CLASSES` 8142, `SCALE_DIM`
/// 2048, `SCALE_ROWS` 437513, `SCALE_MAX` 1000, `SCALE_MIN` 2, `SCALE_SEED` 0; files
/// under `SCALE_DIR` (default `/tmp/afg-scale`):
/// - `train.h5`: float32 features (`N × D`, rows grouped by class, 3.6 GB at full size),
///   int64 labels; counts from `scaleCounts`.
/// - `test.h5`: `SCALE_TEST_PER_CLASS` (default 2) further rows per class, balanced.
/// - `teacher.h5`: a stage-one head `g₁` for KD, the nearest-class-mean rule in the Tukey
///   (λ = 0.5) space, `W_c = m̃_c`, `b_c = −‖m̃_c‖²/2` with `m̃_c` the class mean of `√z`
///   (recorded λ = 0.5, so `afg train` needs no second, untransformed copy of the rows).
///
/// Features: `z = max(0, a + μ_c + s_c·(Vᵀ v + e))`, `a = 0.3`; class means `μ_c = Bᵀ u_c`
/// in a random 64-dimensional subspace (`B` 64 × D, entries `N(0, 0.12²/64)`, `u_c ~ N(0, I)`,
/// so `‖μ_c‖ ≈ 0.12·√D`: neighbouring classes overlap, the task is not trivial), a per-class scale `s_c ∈ [0.5, 1]`, shared low-rank noise (`V` 16 × D,
/// `v ~ N(0, I)`) and isotropic noise `e ~ N(0, I)`: non-negative (post-ReLU-like),
/// with class structure a linear classifier can learn. Row `j` of class `c` draws from
/// `Xoshiro256(seed:, streams: [c, j])`, so the file is deterministic and independent of
/// the thread count. Memory: `C·D` doubles of sums plus one block of 8192 rows.
func benchScaleData() throws {
    let C = envInt("SCALE_CLASSES", 8142), D = envInt("SCALE_DIM", 2048), N = envInt("SCALE_ROWS", 437_513)
    let maxCount = envInt("SCALE_MAX", 1000), minCount = envInt("SCALE_MIN", 2)
    let seed = UInt64(envInt("SCALE_SEED", 0))
    let dir = ProcessInfo.processInfo.environment["SCALE_DIR"] ?? "/tmp/afg-scale"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let t0 = DispatchTime.now().uptimeNanoseconds
    let counts = scaleCounts(classes: C, total: N, maxCount: maxCount, minCount: minCount)
    let rank = 64, noiseRank = 16
    var rng = Xoshiro256(seed: seed, streams: [UInt64.max, 0])
    let basis: [Float] = standardNormals(rank * D, using: &rng).map { $0 * 0.12 / Float(rank).squareRoot() }
    let coords: [Float] = standardNormals(C * rank, using: &rng)
    let noiseBasis: [Float] = standardNormals(noiseRank * D, using: &rng).map { $0 * 0.5 / Float(noiseRank).squareRoot() }
    var means = [Float](repeating: 0, count: C * D)
    coords.withUnsafeBufferPointer { pu in basis.withUnsafeBufferPointer { pb in means.withUnsafeMutableBufferPointer { pm in
        Float._gemm(false, false, C, D, rank, 1, pu.baseAddress!, rank, pb.baseAddress!, D, 0, pm.baseAddress!, D)
    } } }
    let scale: [Float] = (0..<C).map { _ in 0.5 + 0.5 * Float(rng.nextOpenUnit()) }
    let offset: Float = 0.3

    let block = 8192
    var x = [Float](repeating: 0, count: block * D)
    var labels = [Int32](repeating: 0, count: block)
    var noise = [Float](repeating: 0, count: block * noiseRank)
    var low = [Float](repeating: 0, count: block * D)
    var sums = [Double](repeating: 0, count: C * D)     // Σ √z per class of the training rows (teacher)
    /// Writes `rowCounts[c]` rows of each class, grouped by class; row `k` of class `c` is
    /// draw `firstIndex[c] + k` of the class's streams (the test rows follow the training ones).
    func writeRows(_ path: String, rowCounts: [Int], firstIndex: [Int], split: String, accumulate: Bool) throws {
        let writer = try FeatureWriter(path: path, dim: D, numClasses: C,
                                       attributes: ["source": "afg-bench scale-data", "scale_seed": "\(seed)", "split": split])
        var start = [Int](repeating: 0, count: C + 1)
        for c in 0..<C { start[c + 1] = start[c] + rowCounts[c] }
        let total = start[C]
        var c0 = 0
        for r0 in stride(from: 0, to: total, by: block) {
            let m = min(block, total - r0)
            while start[c0 + 1] <= r0 { c0 += 1 }
            var c = c0
            var rowClass = [Int](repeating: 0, count: m), rowIndex = [Int](repeating: 0, count: m)
            for q in 0..<m {
                while start[c + 1] <= r0 + q { c += 1 }
                rowClass[q] = c; rowIndex[q] = firstIndex[c] + r0 + q - start[c]; labels[q] = Int32(c)
            }
            let stripes = 2 * ProcessInfo.processInfo.activeProcessorCount
            x.withUnsafeMutableBufferPointer { px in noise.withUnsafeMutableBufferPointer { pn in
                let px = px.baseAddress!, pn = pn.baseAddress!
                parallelFor(stripes) { s, _ in
                    for q in (s * m / stripes)..<((s + 1) * m / stripes) {
                        var g = Xoshiro256(seed: seed, streams: [UInt64(rowClass[q]), UInt64(rowIndex[q])])
                        fillStandardNormal(UnsafeMutableBufferPointer(start: px + q * D, count: D), using: &g)
                        fillStandardNormal(UnsafeMutableBufferPointer(start: pn + q * noiseRank, count: noiseRank), using: &g)
                    }
                }
            } }
            noise.withUnsafeBufferPointer { pn in noiseBasis.withUnsafeBufferPointer { pv in low.withUnsafeMutableBufferPointer { pl in
                Float._gemm(false, false, m, D, noiseRank, 1, pn.baseAddress!, noiseRank, pv.baseAddress!, D, 0, pl.baseAddress!, D)
            } } }
            for q in 0..<m {
                let c = rowClass[q], s = scale[c]
                for j in 0..<D {
                    let v = offset + means[c * D + j] + s * (x[q * D + j] + low[q * D + j])
                    let z = max(v, 0)
                    x[q * D + j] = z
                    if accumulate { sums[c * D + j] += Double(z.squareRoot()) }
                }
            }
            try writer.append(features: m == block ? x : Array(x[0..<(m * D)]), labels: m == block ? labels : Array(labels[0..<m]))
        }
        try writer.finish()
    }
    let path = "\(dir)/train.h5"
    try writeRows(path, rowCounts: counts, firstIndex: Array(repeating: 0, count: C), split: "train", accumulate: true)
    // A balanced test split from the same class distributions (`SCALE_TEST_PER_CLASS`, default 2 rows per class).
    let testPerClass = envInt("SCALE_TEST_PER_CLASS", 2)
    if testPerClass > 0 {
        try writeRows("\(dir)/test.h5", rowCounts: Array(repeating: testPerClass, count: C), firstIndex: counts,
                      split: "test", accumulate: false)
    }
    let tw = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9

    // The teacher: nearest class mean in the λ = 0.5 space.
    var w = [Float](repeating: 0, count: C * D), b = [Float](repeating: 0, count: C)
    for c in 0..<C {
        var s = 0.0
        for j in 0..<D { let v = sums[c * D + j] / Double(counts[c]); w[c * D + j] = Float(v); s += v * v }
        b[c] = Float(-s / 2)
    }
    try FeatureStore.writeClassifier(ClassifierFile(numClasses: C, dim: D, weight: w, bias: b, classCounts: counts,
                                                    method: "nearest-class-mean", tukeyLambda: 0.5,
                                                    configJSON: "{\"source\":\"afg-bench scale-data\"}"),
                                     to: "\(dir)/teacher.h5")

    let sorted = counts.sorted()
    let q = Sampler.budgetPerClass(epochRows: N, numClasses: C)
    print("scale-data: \(path): \(N) rows, \(C) classes, D = \(D), float32 \(fmt(Double(N * D * 4) / 1e9)) GB")
    print("scale-data: counts max \(sorted.last!), min \(sorted.first!), median \(sorted[C / 2]), tail (< 100) classes \(counts.filter { $0 < 100 }.count) with \(counts.filter { $0 < 100 }.reduce(0, +)) rows")
    print("scale-data: budget N = \(N): q = \(q) per class, \(counts.filter { $0 < q }.count) classes below q, \(counts.reduce(0) { $0 + max(q - $1, 0) }) generated rows per epoch")
    if testPerClass > 0 { print("scale-data: test \(dir)/test.h5: \(testPerClass) rows per class (\(testPerClass * C) rows)") }
    print("scale-data: teacher \(dir)/teacher.h5 (nearest class mean, Tukey 0.5)")
    print("scale-data: write \(fmt(tw, 1)) s, peak RSS \(fmt(Double(peakRSSBytes()) / 1e9)) GB")
}
