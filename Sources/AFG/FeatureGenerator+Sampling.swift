import Foundation
import Linalg

/// One epoch's allocation (method.md step 7): which tail sample seeds each generated row.
struct EpochPlan: Sendable {
    /// `C + 1` offsets: class `c`'s generated rows are `[classOffset[c], classOffset[c+1])`.
    let classOffset: [Int]
    /// Per generated row, the seeding tail sample (index into `seeds`), −1 for head rows.
    let rowSeed: [Int32]
    /// `C × C` mean support weights `ū_{c,i}`.
    let donorWeights: Matrix<Float>
    /// The order rows are produced in: position `i` of the epoch is plan row `order[i]`;
    /// nil = plan order (class 0 first). See `FeatureGenerator.batches(seed:epoch:batchRows:shuffled:)`.
    var order: [Int32]? = nil
    var totalRows: Int { classOffset.last ?? 0 }

    /// The plan row at epoch position `i`.
    @inline(__always) func planRow(_ i: Int) -> Int { order.map { Int($0[i]) } ?? i }

    /// The class whose plan rows contain `row` (binary search over `classOffset`).
    func classOf(planRow row: Int) -> Int {
        var lo = 0, hi = classOffset.count - 1      // classOffset[lo] <= row < classOffset[hi]
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if classOffset[mid] <= row { lo = mid } else { hi = mid }
        }
        return lo
    }
}

/// A uniform integer in `0..<n` (Lemire's multiply-high; bias below n/2⁶⁴).
@inline(__always)
private func bounded(_ n: Int, _ rng: inout Xoshiro256) -> Int {
    Int(truncatingIfNeeded: rng.next().multipliedFullWidth(by: UInt64(n)).high)
}

extension FeatureGenerator {
    /// The allocation of epoch `epoch`: class `c` gets `M − n_c` rows; for a tail class each
    /// sample seeds `⌊(M − n_c)/n_c⌋` rows and `(M − n_c) mod n_c` samples, chosen without
    /// replacement from stream `[epoch, c, UInt64.max]`, seed one more. O(G + T·k).
    func plan(seed: UInt64, epoch: Int) -> EpochPlan {
        let C = numClasses, k = config.k
        var offset = [Int](repeating: 0, count: C + 1)
        for c in 0..<C { offset[c + 1] = offset[c] + generatedCount(of: c) }
        var rowSeed = [Int32](repeating: -1, count: offset[C])
        var donors = Matrix<Float>(rows: C, cols: C)
        let e = UInt64(bitPattern: Int64(epoch))
        for c in 0..<C where isTail[c] {
            let g = generatedCount(of: c), n = counts[c]
            if g == 0 { continue }
            var per = [Int](repeating: g / n, count: n)
            let extra = g % n
            if extra > 0 {
                var rng = Xoshiro256(seed: seed, streams: [e, UInt64(c), UInt64.max])
                var perm = Array(0..<n)
                for i in 0..<extra {
                    let j = i + bounded(n - i, &rng)
                    perm.swapAt(i, j)
                    per[perm[i]] += 1
                }
            }
            var row = offset[c]
            var acc = [Double](repeating: 0, count: C)
            for q in 0..<n {
                let t = seedStart[c] + q
                for _ in 0..<per[q] { rowSeed[row] = Int32(t); row += 1 }
                for a in 0..<k where support[t * k + a] >= 0 {
                    acc[Int(support[t * k + a])] += Double(per[q]) * Double(weight[t * k + a])
                }
            }
            for i in 0..<C where acc[i] != 0 { donors.data[c * C + i] = Float(acc[i] / Double(g)) }
        }
        return EpochPlan(classOffset: offset, rowSeed: rowSeed, donorWeights: donors)
    }

    /// One generation epoch: every class filled to `M` (rows of class 0 first, then 1, …).
    /// Deterministic in `(seed, epoch, beta, config)`; identical bits to concatenating
    /// `batches(seed:epoch:batchRows:)` for any `batchRows`.
    ///
    /// - Complexity: `Σ 2·rank·D` flops per generated row (the sampling `gemm`s) plus
    ///   `Σ rank + D` normals per row; memory `G × D` floats for the result plus one block.
    public func generate(seed: UInt64, epoch: Int) -> GeneratedSet {
        let p = plan(seed: seed, epoch: epoch)
        let G = p.totalRows, d = dim
        let ws = SamplerWorkspace()
        var labels = [Int32](repeating: 0, count: G)
        let features = [Float](unsafeUninitializedCapacity: G * d) { buf, initialized in
            labels.withUnsafeMutableBufferPointer { pl in
                var a = 0
                while a < G {
                    let b = min(a + config.blockRows, G)
                    _ = sampleBlock(plan: p, seed: seed, epoch: epoch, rows: a..<b,
                                    out: buf.baseAddress! + a * d, labels: pl.baseAddress! + a, workspace: ws)
                    a = b
                }
            }
            initialized = G * d
        }
        return GeneratedSet(features: Matrix(rows: G, cols: d, data: features), labels: labels, donorWeights: p.donorWeights)
    }

    /// The same rows as `generate(seed:epoch:)`, as a lazy sequence of mini-batches of
    /// `batchRows` rows (the last one shorter). Memory: one internal block plus one batch.
    ///
    /// With `shuffled`, the epoch's rows come in a uniformly random order (a permutation
    /// drawn from stream `[epoch, UInt64.max, UInt64.max]`), so a consumer that streams
    /// them into SGD sees the classes mixed instead of class 0 first. Each row keeps its own
    /// normal stream `[e, c, j]`, so the shuffled epoch holds the same draws as the plain
    /// one (equal to rounding: the products are grouped by block differently). The output
    /// is deterministic in `(seed, epoch, β, config)` and does not depend on `batchRows`.
    /// Extra memory: `G` 32-bit indices.
    public func batches(seed: UInt64, epoch: Int, batchRows: Int, shuffled: Bool = false) -> GeneratedBatches {
        precondition(batchRows > 0, "batches: batchRows must be positive")
        var p = plan(seed: seed, epoch: epoch)
        if shuffled {
            let G = p.totalRows
            var order = [Int32](unsafeUninitializedCapacity: G) { b, n in
                for i in 0..<G { b[i] = Int32(i) }
                n = G
            }
            var rng = Xoshiro256(seed: seed, streams: [UInt64(bitPattern: Int64(epoch)), UInt64.max, UInt64.max])
            if G > 1 {
                for i in stride(from: G - 1, to: 0, by: -1) { order.swapAt(i, bounded(i + 1, &rng)) }
            }
            p.order = order
        }
        return GeneratedBatches(generator: self, plan: p, seed: seed, epoch: epoch, batchRows: batchRows)
    }

    /// The mean support weights `ū` (`C × C`) of epoch `epoch` without sampling. O(G + T·k).
    public func donorWeights(seed: UInt64, epoch: Int) -> Matrix<Float> { plan(seed: seed, epoch: epoch).donorWeights }

    /// Floating-point operations of the sampling products of one epoch (`Σ_rows Σ_parts
    /// 2·rank·D`), for throughput figures. O(G·k).
    public func samplingFlops(seed: UInt64, epoch: Int) -> Double {
        let p = plan(seed: seed, epoch: epoch)
        var total = 0.0
        for c in 0..<numClasses {
            for row in p.classOffset[c]..<p.classOffset[c + 1] {
                forEachPart(c: c, t: Int(p.rowSeed[row])) { f, _ in total += 2 * Double(factors[f].rank) * Double(dim) }
            }
        }
        return total
    }

    /// Generates global rows `rows` of the epoch into `out` (`rows.count × D`) and `labels`.
    /// Returns the flops of its products.
    ///
    /// 1. Every row lists its parts `(factor f, scale)`; the rows of each factor are counted.
    /// 2. In parallel over rows, each row's stream fills its slot of `E_f` (`m_f × rank_f`,
    ///    the scale folded in) and writes `μ' (+ √α e_0)` to its output row.
    /// 3. One `gemm` per factor, `E_f · G_f`, lands on the output rows: straight into
    ///    them (`β = 1`) when they are consecutive, else through a scratch and a row scatter.
    func sampleBlock(plan p: EpochPlan, seed: UInt64, epoch: Int, rows: Range<Int>,
                     out: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>,
                     workspace ws: SamplerWorkspace) -> Double {
        let m = rows.count
        if m == 0 { return 0 }
        ws.reserveRows(m, parts: config.k + 1, classes: numClasses)
        // 1. Parts per row.
        listParts(plan: p, rows: rows, labels: labels, workspace: ws)
        // 2. Normals and means, in parallel over rows (each row owns its stream and slots).
        drawNormalsAndMeans(plan: p, seed: seed, epoch: epoch, rows: m, out: out, workspace: ws)
        // 3. One product per factor.
        return multiplyFactors(rows: m, out: out, workspace: ws)
    }

    /// Step 1 of `sampleBlock`: each row's class, label and parts `(factor f, scale)`, the
    /// rows of each factor counted, and the layout of `E` (`segmentStart`) and of the
    /// per-factor row lists (`rowStart`, `rowList`) in `ws`. O(rows·(k+1) + C).
    private func listParts(plan p: EpochPlan, rows: Range<Int>, labels: UnsafeMutablePointer<Int32>,
                           workspace ws: SamplerWorkspace) {
        let m = rows.count, C = numClasses, P = config.k + 1
        let partF = ws.partFactor, partPos = ws.partPos, partScale = ws.partScale, partN = ws.partCount
        let rowClass = ws.rowClass, rowJ = ws.rowIndex, rowPlan = ws.rowPlan
        let fCount = ws.factorCount, segStart = ws.segmentStart, rowStart = ws.rowStart
        for f in 0..<C { fCount[f] = 0 }
        var c = 0
        if p.order == nil { while p.classOffset[c + 1] <= rows.lowerBound { c += 1 } }
        for q in 0..<m {
            let global = p.planRow(rows.lowerBound + q)
            if p.order == nil {
                while p.classOffset[c + 1] <= global { c += 1 }
            } else {
                c = p.classOf(planRow: global)
            }
            rowPlan[q] = global
            rowClass[q] = Int32(c)
            rowJ[q] = global - p.classOffset[c]
            labels[q] = Int32(c)
            var np = 0
            forEachPart(c: c, t: Int(p.rowSeed[global])) { f, scale in
                partF[q * P + np] = Int32(f); partScale[q * P + np] = scale
                partPos[q * P + np] = Int32(fCount[f]); fCount[f] += 1
                np += 1
            }
            partN[q] = Int32(np)
        }
        var eTotal = 0, rTotal = 0
        for f in 0..<C {
            segStart[f] = eTotal; rowStart[f] = rTotal
            eTotal += fCount[f] * factors[f].rank; rTotal += fCount[f]
        }
        ws.reserveE(eTotal, rowList: rTotal)
        let rowList = ws.rowList
        for q in 0..<m {
            for a in 0..<Int(partN[q]) {
                let o = q * P + a
                rowList[rowStart[Int(partF[o])] + Int(partPos[o])] = Int32(q)
            }
        }
    }

    /// Step 2 of `sampleBlock`: in parallel over row stripes, row `q`'s stream
    /// `[epoch, c, j]` fills its slots of `E` (the scale folded in) and writes
    /// `μ' (+ √α e_0)` to output row `q`. O(rows·(Σ rank + D)) normals.
    private func drawNormalsAndMeans(plan p: EpochPlan, seed: UInt64, epoch: Int, rows m: Int,
                                     out: UnsafeMutablePointer<Float>, workspace ws: SamplerWorkspace) {
        let d = dim, P = config.k + 1
        let partF = ws.partFactor, partPos = ws.partPos, partScale = ws.partScale, partN = ws.partCount
        let rowClass = ws.rowClass, rowJ = ws.rowIndex, rowPlan = ws.rowPlan
        let segStart = ws.segmentStart, E = ws.e
        let ranks = ws.ranks(of: factors)
        let e = UInt64(bitPattern: Int64(epoch))
        let alphaScale = config.alpha.squareRoot(), hasAlpha = config.alpha > 0
        let zig = Ziggurat.shared
        let stripes = max(1, min(m / 32, 8 * availableProcessorCount))
        seeds.data.withUnsafeBufferPointer { ps in
            means.data.withUnsafeBufferPointer { pm in
                let sp = ps.baseAddress ?? UnsafePointer(bitPattern: 8)!, mp = pm.baseAddress!
                parallelFor(stripes) { s, _ in
                    let lo = s * m / stripes, hi = (s + 1) * m / stripes
                    for q in lo..<hi {
                        let global = rowPlan[q], cls = Int(rowClass[q])
                        var rng = InlineXoshiro(seed: seed, streams: [e, UInt64(cls), UInt64(rowJ[q])])
                        for a in 0..<Int(partN[q]) {
                            let o = q * P + a, f = Int(partF[o]), r = ranks[f]
                            zig.fill(E + segStart[f] + Int(partPos[o]) * r, count: r, scale: partScale[o], &rng)
                        }
                        let row = out + q * d
                        writeMean(c: cls, t: Int(p.rowSeed[global]), seeds: sp, means: mp, into: row)
                        if hasAlpha { zig.add(row, count: d, scale: alphaScale, &rng) }
                    }
                }
            }
        }
    }

    /// Step 3 of `sampleBlock`: one `gemm` per factor, `E_f · G_f` (`m_f × rank_f` by
    /// `rank_f × D`), added to the factor's output rows: straight into them (`β = 1`) when
    /// they are consecutive ("direct"), else through a scratch and a row scatter. Each
    /// output row takes its products in increasing factor order. Returns the flops,
    /// `Σ_f 2·m_f·rank_f·D`.
    ///
    /// The products are the same OpenBLAS calls (`productBlocks` row slices) on the same
    /// operands as a loop over the factors in order, so the bits are too; only the schedule
    /// is parallel:
    /// A. every scratch product (blocks of all factors in one task pool);
    /// B1. per row, the scatters that precede its direct product (or all of them);
    /// B2. the direct products (rows whose direct products overlap go as one task);
    /// B3. per row, the scatters that follow its direct product.
    private func multiplyFactors(rows m: Int, out: UnsafeMutablePointer<Float>, workspace ws: SamplerWorkspace) -> Double {
        let d = dim, C = numClasses, P = config.k + 1
        let fCount = ws.factorCount, segStart = ws.segmentStart, rowStart = ws.rowStart
        let E = ws.e, rowList = ws.rowList, tmpStart = ws.scratchStart
        var flops = 0.0, scratchTotal = 0
        var scratchTasks: [GemmTask] = [], directs: [(f: Int, first: Int)] = []
        for f in 0..<C {
            tmpStart[f] = -1
            let mf = fCount[f]
            if mf == 0 { continue }
            let r = factors[f].rank, first = Int(rowList[rowStart[f]])
            flops += 2 * Double(mf) * Double(r) * Double(d)
            if Int(rowList[rowStart[f] + mf - 1]) - first == mf - 1 { directs.append((f, first)); continue }
            tmpStart[f] = scratchTotal; scratchTotal += mf * d
            let blocks = productBlocks(mf)
            for i in 0..<blocks { scratchTasks.append(GemmTask(factor: f, block: i, blocks: blocks, cost: mf * r / blocks)) }
        }
        let tmp = ws.scratch(scratchTotal)
        // A. Scratch products.
        scratchTasks.sort { $0.cost > $1.cost }
        parallelFor(scratchTasks.count) { i, _ in
            let t = scratchTasks[i], f = t.factor
            factors[f].g.withUnsafeBufferPointer { pg in
                Float._gemmBlock(t.block, of: t.blocks, false, false, fCount[f], d, factors[f].rank, 1, E + segStart[f],
                                 factors[f].rank, pg.baseAddress!, d, 0, tmp + tmpStart[f], d)
            }
        }
        // Each row's parts in increasing factor order (step 2 has drawn its normals).
        let partF = ws.partFactor, partPos = ws.partPos, partN = ws.partCount
        for q in 0..<m { sortParts(partF + q * P, partPos + q * P, count: Int(partN[q])) }
        let comps = DirectComponents(directs: directs, counts: fCount, rows: m, rowComponent: ws.rowComponent)
        let scatter = RowScatter(partF: partF, partPos: partPos, partN: partN, P: P, d: d, tmpStart: tmpStart,
                                 tmp: UnsafePointer(tmp), out: out)
        // B1. Scatters before the direct product (all of a row's scatters if it has none).
        forEachRowStripe(m) { q in
            let c = Int(ws.rowComponent[q])
            if c < 0 { scatter.apply(row: q, from: 0, below: Int.max) } else if comps.isSimple(c) {
                _ = scatter.apply(row: q, from: 0, below: comps.factors[c][0])
            }
        }
        // B2. Direct products.
        var tasks: [GemmTask] = []
        for c in comps.factors.indices {
            if comps.isSimple(c) {
                let f = comps.factors[c][0], blocks = productBlocks(fCount[f])
                for i in 0..<blocks { tasks.append(GemmTask(factor: f, block: i, blocks: blocks, cost: fCount[f] * factors[f].rank / blocks)) }
            } else {
                tasks.append(GemmTask(factor: -1 - c, block: 0, blocks: 1, cost: comps.factors[c].reduce(0) { $0 + fCount[$1] * factors[$1].rank }))
            }
        }
        tasks.sort { $0.cost > $1.cost }
        parallelFor(tasks.count) { i, _ in
            let t = tasks[i]
            if t.factor >= 0 {
                directProduct(t.factor, block: t.block, of: t.blocks, first: Int(rowList[rowStart[t.factor]]), out: out, workspace: ws)
            } else {
                overlappingDirects(comps, component: -1 - t.factor, scatter: scatter, out: out, workspace: ws)
            }
        }
        // B3. Scatters after the direct product.
        forEachRowStripe(m) { q in
            let c = Int(ws.rowComponent[q])
            if c >= 0 && comps.isSimple(c) {
                scatter.apply(row: q, from: scatter.position(row: q, of: comps.factors[c][0]) + 1, below: Int.max)
            }
        }
        return flops
    }

    /// The blocks one factor's product `E_f · G_f` (`m_f × rank` by `rank × D`) is cut
    /// into: slices of at least 1024 rows when it has at least `D` rows (`_gemmBlock` then
    /// cuts rows), else one; never columns. Each block is one OpenBLAS call that packs
    /// `G_f` again, and a column slice would pack all of `E_f` again; the many factors of a
    /// block already give the threads enough products. OpenBLAS's bits depend on the
    /// slicing, so this fixes the sampler's bits too (it depends on `m_f` and `D` only).
    @inline(__always)
    private func productBlocks(_ mf: Int) -> Int { mf >= dim ? max(1, mf / 1024) : 1 }

    /// Block `block` of factor `f`'s direct product, `β = 1` into its consecutive output
    /// rows from `first`.
    @inline(__always)
    private func directProduct(_ f: Int, block: Int, of blocks: Int, first: Int, out: UnsafeMutablePointer<Float>,
                               workspace ws: SamplerWorkspace) {
        let d = dim, r = factors[f].rank
        factors[f].g.withUnsafeBufferPointer { pg in
            Float._gemmBlock(block, of: blocks, false, false, ws.factorCount[f], d, r, 1, ws.e + ws.segmentStart[f], r,
                             pg.baseAddress!, d, 1, out + first * d, d)
        }
    }

    /// Step B2 for a component whose direct products share rows: in increasing factor
    /// order, each row's pending scatters below the direct factor, then its product;
    /// then every row's remaining scatters. One task.
    private func overlappingDirects(_ comps: DirectComponents, component c: Int, scatter: RowScatter,
                                    out: UnsafeMutablePointer<Float>, workspace ws: SamplerWorkspace) {
        let rows = comps.rows[c], next = ws.rowCursor
        for q in rows { next[q] = 0 }
        for f in comps.factors[c] {
            let first = Int(ws.rowList[ws.rowStart[f]]), mf = ws.factorCount[f]
            for q in first..<(first + mf) { next[q] = Int32(scatter.apply(row: q, from: Int(next[q]), below: f)) }
            let blocks = productBlocks(mf)
            for i in 0..<blocks { directProduct(f, block: i, of: blocks, first: first, out: out, workspace: ws) }
            for q in first..<(first + mf) { next[q] += 1 }
        }
        for q in rows { scatter.apply(row: q, from: Int(next[q]), below: Int.max) }
    }
}

/// One block of one factor's product, and its size for the largest-first schedule.
private struct GemmTask {
    var factor: Int, block: Int, blocks: Int, cost: Int
}

/// Sorts one row's parts by factor (insertion sort: at most `k + 1` of them).
@inline(__always)
private func sortParts(_ f: UnsafeMutablePointer<Int32>, _ pos: UnsafeMutablePointer<Int32>, count n: Int) {
    if n < 2 { return }
    for i in 1..<n {
        let kf = f[i], kp = pos[i]
        var j = i
        while j > 0 && f[j - 1] > kf { f[j] = f[j - 1]; pos[j] = pos[j - 1]; j -= 1 }
        f[j] = kf; pos[j] = kp
    }
}

/// The direct products of one block grouped into components: runs of output rows covered
/// by overlapping direct ranges. A component with one direct factor is "simple".
private struct DirectComponents {
    /// Per component, its direct factors in increasing order.
    var factors: [[Int]] = []
    /// Per component, its rows.
    var rows: [Range<Int>] = []

    /// Sets `rowComponent[q]` to the component of row `q`, −1 outside every direct range.
    init(directs: [(f: Int, first: Int)], counts: UnsafeMutablePointer<Int>, rows m: Int,
         rowComponent: UnsafeMutablePointer<Int32>) {
        for q in 0..<m { rowComponent[q] = -1 }
        let byStart = directs.sorted { $0.first < $1.first || ($0.first == $1.first && $0.f < $1.f) }
        for (f, first) in byStart {
            let end = first + counts[f]
            if let last = rows.last, first < last.upperBound {
                factors[factors.count - 1].append(f)
                rows[rows.count - 1] = last.lowerBound..<max(last.upperBound, end)
            } else {
                factors.append([f]); rows.append(first..<end)
            }
        }
        for c in factors.indices {
            factors[c].sort()
            for q in rows[c] { rowComponent[q] = Int32(c) }
        }
    }

    @inline(__always) func isSimple(_ c: Int) -> Bool { factors[c].count == 1 }
}

/// Adds a row's scratch products to its output row, in its (sorted) part order.
private struct RowScatter: @unchecked Sendable {
    let partF: UnsafeMutablePointer<Int32>, partPos: UnsafeMutablePointer<Int32>, partN: UnsafeMutablePointer<Int32>
    let P: Int, d: Int
    let tmpStart: UnsafeMutablePointer<Int>
    let tmp: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>

    /// The index of factor `f` among row `q`'s parts (which hold it).
    @inline(__always)
    func position(row q: Int, of f: Int) -> Int {
        var a = 0
        while Int(partF[q * P + a]) != f { a += 1 }
        return a
    }

    /// Adds the scratch products of row `q`'s parts from index `from` while their factor
    /// is below `limit`; returns the index of the first part not applied.
    @inline(__always) @discardableResult
    func apply(row q: Int, from: Int, below limit: Int) -> Int {
        var a = from
        let n = Int(partN[q]), dst = out + q * d
        while a < n {
            let f = Int(partF[q * P + a])
            if f >= limit { break }
            let src = tmp + tmpStart[f] + Int(partPos[q * P + a]) * d
            for j in 0..<d { dst[j] += src[j] }
            a += 1
        }
        return a
    }
}

/// Runs `body(q)` for every row `q` in `0..<m`, in stripes of 64 rows over the threads.
private func forEachRowStripe(_ m: Int, _ body: (Int) -> Void) {
    let stripes = (m + 63) / 64
    parallelFor(stripes) { s, _ in for q in (s * 64)..<min(m, s * 64 + 64) { body(q) } }
}

/// Reused buffers of the block sampler (the pointer work of one hot kernel, in one place).
final class SamplerWorkspace {
    private(set) var partFactor: UnsafeMutablePointer<Int32> = SamplerWorkspace.buffer(1)
    private(set) var partPos: UnsafeMutablePointer<Int32> = SamplerWorkspace.buffer(1)
    private(set) var partScale: UnsafeMutablePointer<Float> = SamplerWorkspace.buffer(1)
    private(set) var partCount: UnsafeMutablePointer<Int32> = SamplerWorkspace.buffer(1)
    private(set) var rowClass: UnsafeMutablePointer<Int32> = SamplerWorkspace.buffer(1)
    private(set) var rowIndex: UnsafeMutablePointer<Int> = SamplerWorkspace.buffer(1)
    private(set) var rowPlan: UnsafeMutablePointer<Int> = SamplerWorkspace.buffer(1)
    private(set) var factorCount: UnsafeMutablePointer<Int> = SamplerWorkspace.buffer(1)
    private(set) var segmentStart: UnsafeMutablePointer<Int> = SamplerWorkspace.buffer(1)
    private(set) var rowStart: UnsafeMutablePointer<Int> = SamplerWorkspace.buffer(1)
    private(set) var e: UnsafeMutablePointer<Float> = SamplerWorkspace.buffer(1)
    private(set) var rowList: UnsafeMutablePointer<Int32> = SamplerWorkspace.buffer(1)
    /// Per class, the offset of its products in the scratch (−1: direct).
    private(set) var scratchStart: UnsafeMutablePointer<Int> = SamplerWorkspace.buffer(1)
    /// Per row, its direct component (−1: none) and the next part to apply.
    private(set) var rowComponent: UnsafeMutablePointer<Int32> = SamplerWorkspace.buffer(1)
    private(set) var rowCursor: UnsafeMutablePointer<Int32> = SamplerWorkspace.buffer(1)
    private var tmp: UnsafeMutablePointer<Float> = SamplerWorkspace.buffer(1)
    private var rowCap = 0, partCap = 0, classCap = 0, eCap = 1, listCap = 1, tmpCap = 1
    private var cachedRanks: [Int] = []

    init() {}

    deinit {
        let all: [UnsafeMutableRawPointer] = [.init(partFactor), .init(partPos), .init(partScale), .init(partCount),
                                              .init(rowClass), .init(rowIndex), .init(rowPlan), .init(factorCount),
                                              .init(segmentStart), .init(rowStart), .init(e), .init(rowList), .init(tmp),
                                              .init(scratchStart), .init(rowComponent), .init(rowCursor)]
        all.forEach(releaseWorkingMemory)
    }

    /// `n` uninitialised values in working memory (huge pages for the large `E` and scratch).
    private static func buffer<T>(_ n: Int) -> UnsafeMutablePointer<T> { allocateWorkingMemory(T.self, count: n) }

    private func grow<T>(_ p: inout UnsafeMutablePointer<T>, _ n: Int) {
        releaseWorkingMemory(p); p = SamplerWorkspace.buffer(n)
    }

    func reserveRows(_ m: Int, parts: Int, classes: Int) {
        if m > rowCap {
            grow(&partCount, m); grow(&rowClass, m); grow(&rowIndex, m); grow(&rowPlan, m)
            grow(&rowComponent, m); grow(&rowCursor, m); rowCap = m
        }
        if m * parts > partCap {
            grow(&partFactor, m * parts); grow(&partPos, m * parts); grow(&partScale, m * parts); partCap = m * parts
        }
        if classes > classCap {
            grow(&factorCount, classes); grow(&segmentStart, classes); grow(&rowStart, classes)
            grow(&scratchStart, classes); classCap = classes
        }
    }

    func reserveE(_ n: Int, rowList rows: Int) {
        if n > eCap { grow(&e, n); eCap = n }
        if rows > listCap { grow(&rowList, rows); listCap = rows }
    }

    func scratch(_ n: Int) -> UnsafeMutablePointer<Float> {
        if n > tmpCap { grow(&tmp, n); tmpCap = n }
        return tmp
    }

    func ranks(of factors: [CovarianceFactor]) -> [Int] {
        if cachedRanks.count != factors.count { cachedRanks = factors.map(\.rank) }
        return cachedRanks
    }
}

/// A lazy sequence of mini-batches of one generation epoch (see `FeatureGenerator.batches`).
public struct GeneratedBatches: Sequence {
    let generator: FeatureGenerator
    let plan: EpochPlan
    let seed: UInt64
    let epoch: Int
    /// Rows per batch (the last batch may be shorter).
    public let batchRows: Int
    /// Rows of the whole epoch.
    public var totalRows: Int { plan.totalRows }
    /// `C × C` mean support weights of the epoch (also carried by every batch).
    public var donorWeights: Matrix<Float> { plan.donorWeights }

    public func makeIterator() -> Iterator { Iterator(owner: self) }

    /// Generates block by block on its own buffers. Copies of one iterator share those
    /// buffers: advance one copy at a time.
    public struct Iterator: IteratorProtocol {
        let owner: GeneratedBatches
        let workspace = SamplerWorkspace()
        var position = 0
        var block: [Float] = []
        var blockLabels: [Int32] = []
        var blockIndex = -1

        init(owner: GeneratedBatches) { self.owner = owner }

        public mutating func next() -> GeneratedSet? {
            let g = owner.generator, G = owner.totalRows, d = g.dim, B = g.config.blockRows
            if position >= G { return nil }
            let end = Swift.min(position + owner.batchRows, G), n = end - position
            var labels = [Int32](repeating: 0, count: n)
            if position % B == 0 && end == Swift.min(position + B, G) {
                // The batch is one whole block: generated straight into it, no copy.
                let features = [Float](unsafeUninitializedCapacity: n * d) { pf, initialized in
                    labels.withUnsafeMutableBufferPointer { pl in
                        _ = g.sampleBlock(plan: owner.plan, seed: owner.seed, epoch: owner.epoch, rows: position..<end,
                                          out: pf.baseAddress!, labels: pl.baseAddress!, workspace: workspace)
                    }
                    initialized = n * d
                }
                position = end
                return GeneratedSet(features: Matrix(rows: n, cols: d, data: features), labels: labels, donorWeights: owner.plan.donorWeights)
            }
            // Every element is written below: skip the zero fill.
            var features = [Float](unsafeUninitializedCapacity: n * d) { _, initialized in initialized = n * d }
            var at = position
            while at < end {
                let bi = at / B, b0 = bi * B, b1 = Swift.min(b0 + B, G)
                if bi != blockIndex {
                    if block.count < (b1 - b0) * d { block = Array(repeating: 0, count: B * d); blockLabels = Array(repeating: 0, count: B) }
                    block.withUnsafeMutableBufferPointer { pb in
                        blockLabels.withUnsafeMutableBufferPointer { pl in
                            _ = g.sampleBlock(plan: owner.plan, seed: owner.seed, epoch: owner.epoch, rows: b0..<b1,
                                              out: pb.baseAddress!, labels: pl.baseAddress!, workspace: workspace)
                        }
                    }
                    blockIndex = bi
                }
                let take = Swift.min(end, b1) - at
                let from = at - b0, to = at - position
                features.withUnsafeMutableBufferPointer { pf in
                    block.withUnsafeBufferPointer { pb in
                        (pf.baseAddress! + to * d).update(from: pb.baseAddress! + from * d, count: take * d)
                    }
                }
                for i in 0..<take { labels[to + i] = blockLabels[from + i] as Int32 }
                at += take
            }
            position = end
            return GeneratedSet(features: Matrix(rows: n, cols: d, data: features), labels: labels, donorWeights: owner.plan.donorWeights)
        }
    }
}
