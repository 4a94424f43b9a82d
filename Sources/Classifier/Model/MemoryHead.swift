import Foundation
import Linalg

/// A balanced kernel-density head over labelled rows, mixed into a linear model's
/// log-probabilities: the part of a class a linear boundary cannot draw (a class made of
/// several clusters, a Few class whose rows sit apart from its mean) is still near its own
/// rows.
///
/// The rows are centred by `center` and scaled to unit length, so a similarity is a cosine.
/// Class `c`'s log-density at a row `x` is `logsumexp over c's rows j of cos(x, x_j)/T`
/// less `log n_c` (a Parzen window of temperature `T`), and the head's log-posterior is its
/// log-softmax over the classes: a uniform prior, so it is balanced by construction and
/// needs no shift. The classifier's scores are `(1 − w)·log softmax(logits) + w·log p(c | x)`.
/// A class with no rows has log-density `MemoryHead.emptyClass`.
///
/// `afg train --method glag --select-on-val` chooses `w` and `T` on its folds
/// (`MemoryHead.choose`); docs/RESULTS.md measures it.
public struct MemoryHead: Equatable, Sendable {
    /// `D`: the mean of the rows it was built from.
    public var center: [Float]
    /// `M × D`: those rows, centred and of unit length (a row equal to the centre stays 0),
    /// grouped by class (`classOrder`).
    public var rows: Matrix<Float>
    /// `M` labels in `0..<numClasses`, non-decreasing.
    public var labels: [Int32]
    public var numClasses: Int
    /// `T > 0`.
    public var temperature: Double
    /// `w` in `[0, 1]`: the head's weight in the mixed scores.
    public var weight: Double

    /// The weights `choose` considers (0: the linear model alone).
    public static let weights: [Double] = [0, 0.25, 0.5, 0.75]
    /// The temperatures `choose` considers, on cosine similarities.
    public static let temperatures: [Double] = [0.02, 0.05, 0.1]
    /// The log-density of a class without rows: far below any row's, yet finite.
    public static let emptyClass: Float = -1e4

    /// A head from stored parts (a classifier file).
    /// - Precondition: `rows` is `labels.count × center.count`, labels in `0..<numClasses`,
    ///   `temperature > 0`, `weight` in `[0, 1]`.
    public init(center: [Float], rows: Matrix<Float>, labels: [Int32], numClasses: Int, temperature: Double, weight: Double) {
        precondition(rows.rows == labels.count && rows.cols == center.count, "MemoryHead: \(rows.rows) × \(rows.cols) rows, \(labels.count) labels, \(center.count)-d centre")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < numClasses }, "MemoryHead: a label outside 0..<\(numClasses)")
        precondition(temperature > 0 && (0...1).contains(weight), "MemoryHead: temperature \(temperature), weight \(weight)")
        let order = MemoryHead.classOrder(labels, numClasses: numClasses)
        let grouped = order.enumerated().allSatisfy { $0.offset == $0.element }
        self.center = center; self.rows = grouped ? rows : rows.gatheringRows(order)
        self.labels = grouped ? labels : order.map { labels[$0] }
        self.numClasses = numClasses; self.temperature = temperature; self.weight = weight
    }

    /// The indices of `labels` grouped by class, in index order within a class (a counting
    /// sort): the order the head keeps its rows in, so that each class's similarities are
    /// one contiguous run. O(N + C).
    static func classOrder(_ labels: [Int32], numClasses c: Int) -> [Int] {
        var next = [Int](repeating: 0, count: c + 1)
        for l in labels { next[Int(l) + 1] += 1 }
        for k in 0..<c { next[k + 1] += next[k] }
        var order = [Int](repeating: 0, count: labels.count)
        for (i, l) in labels.enumerated() { order[next[Int(l)]] = i; next[Int(l)] += 1 }
        return order
    }

    /// The head of the rows `x` (`N × D`, as the classifier reads them): centred by their
    /// mean (`FeatureScaler`'s), scaled to unit length. O(N·D).
    public init(fitting x: Matrix<Float>, labels: [Int32], numClasses: Int, temperature: Double, weight: Double) {
        let c = FeatureScaler(fitting: x).mean
        self.init(center: c, rows: MemoryHead.unit(x, center: c), labels: labels, numClasses: numClasses,
                  temperature: temperature, weight: weight)
    }

    /// `D`.
    public var dim: Int { center.count }

    /// `(x − center) / ‖x − center‖` row by row (a zero row stays 0). O(N·D).
    static func unit(_ x: Matrix<Float>, center: [Float]) -> Matrix<Float> {
        var u = x
        let d = x.cols
        for i in 0..<x.rows {
            var norm = 0.0
            for j in 0..<d {
                let v = x.data[i * d + j] - center[j]
                u.data[i * d + j] = v
                norm += Double(v) * Double(v)
            }
            let scale = norm > 0 ? Float(1 / norm.squareRoot()) : 0
            for j in 0..<d { u.data[i * d + j] *= scale }
        }
        return u
    }

    /// The head's log-posteriors (`N × C`) of the rows `x` (`N × D`, as the classifier reads them).
    /// - Complexity: `2·N·M·D` flops and `N·M` exponentials, in blocks of rows, so memory
    ///   stays `O(block·M)`.
    public func logPosteriors(_ x: Matrix<Float>) -> Matrix<Float> {
        precondition(x.cols == dim, "MemoryHead.logPosteriors: features have \(x.cols) columns, the head expects \(dim)")
        return MemoryHead.logPosteriors(MemoryHead.unit(x, center: center), memory: rows, labels: labels,
                                        numClasses: numClasses, temperatures: [temperature])[0]
    }

    /// The mixed scores `(1 − w)·log softmax(logits) + w·log p(c | x)` (`N × C`) of the rows
    /// `x` whose linear logits are `logits`. With `w = 0`, the log-softmax of the logits.
    /// O(N·C) beside `logPosteriors`.
    public func scores(logits: Matrix<Float>, rows x: Matrix<Float>) -> Matrix<Float> {
        precondition(logits.rows == x.rows && logits.cols == numClasses, "MemoryHead.scores: logits \(logits.rows) × \(logits.cols) for \(x.rows) rows, \(numClasses) classes")
        return MemoryHead.mix(MemoryHead.logSoftmax(logits), weight == 0 ? nil : logPosteriors(x), weight: weight)
    }

    /// The classes of the rows `x` (`N × D_in`, what `model` reads) under `model`'s logits
    /// with this head mixed in; the head reads the first `dim` columns of `x` (`T(x)` of a
    /// two-view input `[T(x) | x]`). Rows are processed in blocks, so memory stays
    /// `O(block·(M + C))`. Complexity: `model.predict`'s plus `logPosteriors`'.
    public func predict(with model: LinearModel, _ x: Matrix<Float>) -> [Int32] {
        precondition(x.cols >= dim && model.numClasses == numClasses, "MemoryHead.predict: \(x.cols) columns for a \(dim)-d head, \(model.numClasses) classes for \(numClasses)")
        var out: [Int32] = []
        out.reserveCapacity(x.rows)
        let block = 2048, d = dim, n = x.cols
        var start = 0
        while start < x.rows {
            let rows = min(block, x.rows - start)
            let xb = x.gatheringRows(start..<(start + rows))
            var own = Matrix<Float>(rows: rows, cols: d)
            for i in 0..<rows { for j in 0..<d { own.data[i * d + j] = xb.data[i * n + j] } }
            out += MemoryHead.argmax(scores(logits: model.logits(xb), rows: own))
            start += rows
        }
        return out
    }

    /// The arg-max class of each row of `scores` (the lowest index on ties). O(N·C).
    public static func argmax(_ scores: Matrix<Float>) -> [Int32] {
        let c = scores.cols
        return (0..<scores.rows).map { i in
            var best = 0
            for k in 1..<max(c, 1) where scores.data[i * c + k] > scores.data[i * c + best] { best = k }
            return Int32(best)
        }
    }

    /// Row-wise log-softmax, in Double per row. O(N·C).
    static func logSoftmax(_ z: Matrix<Float>) -> Matrix<Float> {
        var out = z
        let c = z.cols
        for i in 0..<z.rows {
            var top = -Double.infinity
            for k in 0..<c { top = max(top, Double(z.data[i * c + k])) }
            var total = 0.0
            for k in 0..<c { total += exp(Double(z.data[i * c + k]) - top) }
            let norm = top + log(total)
            for k in 0..<c { out.data[i * c + k] = Float(Double(z.data[i * c + k]) - norm) }
        }
        return out
    }

    /// `(1 − w)·a + w·b` entry by entry (`a` alone when `b` is nil). O(N·C).
    static func mix(_ a: Matrix<Float>, _ b: Matrix<Float>?, weight w: Double) -> Matrix<Float> {
        guard let b else { return a }
        var out = a
        let u = Float(1 - w), v = Float(w)
        for i in out.data.indices { out.data[i] = u * a.data[i] + v * b.data[i] }
        return out
    }

    /// The balanced log-posteriors of unit rows `q` against the unit rows `memory` of
    /// `labels`, one `N × C` matrix per temperature (the similarities computed once). The
    /// memory rows are grouped by class first (no copy when they already are), so a class's
    /// similarities are one contiguous run: its maximum and its sum of exponentials are
    /// vector loops (`FastExp`, float, about 2 ulp), its log-density is formed in Double.
    /// Each block's similarities come from one product; its rows are then turned into
    /// log-posteriors in `parallelRanges`, each row alone with the same arithmetic on any
    /// schedule, so the bits do not depend on the thread count.
    /// - Complexity: `2·N·M·D` flops, `N·M` exponentials per temperature; memory
    ///   `O(block·M)` beside the output (and `M·D` when the rows must be grouped).
    static func logPosteriors(_ q: Matrix<Float>, memory: Matrix<Float>, labels: [Int32], numClasses c: Int,
                              temperatures: [Double]) -> [Matrix<Float>] {
        let order = classOrder(labels, numClasses: c)
        let grouped = order.enumerated().allSatisfy { $0.offset == $0.element } ? memory : memory.gatheringRows(order)
        let n = q.rows, m = memory.rows, nt = temperatures.count
        var flat = [Float](repeating: 0, count: nt * n * c)
        var counts = [Int](repeating: 0, count: c)
        for l in labels { counts[Int(l)] += 1 }
        let starts = counts.reduce(into: [0]) { $0.append($0.last! + $1) }
        let logCounts = counts.map { $0 > 0 ? log(Double($0)) : 0 }
        let block = max(1, min(512, (1 << 22) / max(m, 1)))
        flat.withUnsafeMutableBufferPointer { po in
            guard let out = po.baseAddress else { return }   // no rows or no classes
            var start = 0
            while start < n {
                let rows = min(block, n - start)
                var s = Matrix<Float>(rows: rows, cols: m)
                BLAS.gemm(q.gatheringRows(start..<(start + rows)), grouped, transposeB: true, into: &s)
                s.data.withUnsafeBufferPointer { ps in
                    parallelRanges(rows, costPerItem: 2 * m * nt) { range in
                        var density = [Double](repeating: 0, count: c), scratch = [Float](repeating: 0, count: max(m, 1))
                        for i in range {
                            for (t, temperature) in temperatures.enumerated() {
                                let inv = Float(1 / temperature)
                                var best = -Double.infinity
                                for k in 0..<c {
                                    density[k] = Double(emptyClass)
                                    guard counts[k] > 0, let row = ps.baseAddress else { continue }
                                    let run = row + i * m + starts[k]
                                    let top = FastExp.maxOf(run, nil, scale: inv, counts[k])
                                    let total = scratch.withUnsafeMutableBufferPointer {
                                        FastExp.expShifted(run, nil, scale: inv, shift: top, $0.baseAddress!, counts[k])
                                    }
                                    density[k] = Double(top) + log(Double(total)) - logCounts[k]
                                    best = max(best, density[k])
                                }
                                if best == -Double.infinity { best = Double(emptyClass) }
                                var z = 0.0
                                for k in 0..<c { z += exp(density[k] - best) }
                                let norm = best + log(z), o = out + (t * n + start + i) * c
                                for k in 0..<c { o[k] = Float(density[k] - norm) }
                            }
                        }
                    }
                }
                start += rows
            }
        }
        return (0..<nt).map { t in Matrix(rows: n, cols: c, data: Array(flat[(t * n * c)..<((t + 1) * n * c)])) }
    }

    /// The weight and temperature of the head, chosen on the folds.
    public struct Choice: Sendable, Equatable {
        public var weight: Double
        public var temperature: Double
        /// Mean held-out per-class recall, per `(weight, temperature)` of the grid
        /// (`weights.count × temperatures.count`, row-major; every temperature's entry of
        /// weight 0 is the linear model alone).
        public var scores: [Double]
        /// Per fold, the chosen point's held-out mean per-class recall, and the linear model's.
        public var foldScores: [Double]
        public var linearFoldScores: [Double]
    }

    /// Chooses `(w, T)` among `weights × temperatures` by mean held-out per-class recall over
    /// the folds: fold `f`'s head is built from its training rows of `x` (`N × D`, as the
    /// classifier reads them), and mixed into `heldOutLogits(f)` (its held-out rows' linear
    /// logits, in `folds.heldOut(f)` order), asked for one fold at a time. The highest mean
    /// wins, the smaller weight (then the smaller temperature) on ties, so `w = 0` stands
    /// unless the head adds. `progress(f)` is called as fold `f` is done.
    /// - Complexity: per fold, `heldOutLogits`' cost, `2·N_f·(N − N_f)·D` flops and
    ///   `|temperatures|·N_f·(N − N_f)` exponentials.
    public static func choose(_ x: Matrix<Float>, labels: [Int32], numClasses c: Int, folds: StratifiedFolds,
                              heldOutLogits: (Int) throws -> Matrix<Float>, weights: [Double] = MemoryHead.weights,
                              temperatures: [Double] = MemoryHead.temperatures, progress: (Int) -> Void = { _ in }) rethrows -> Choice {
        let grid = weights.count * temperatures.count
        var perFold = [[Double]](repeating: [Double](repeating: 0, count: grid), count: folds.count)
        for f in 0..<folds.count {
            let fold = folds.training(f), te = folds.heldOut(f)
            let tr = classOrder(fold.map { labels[$0] }, numClasses: c).map { fold[$0] }   // grouped by class, as a head keeps them
            let train = x.gatheringRows(tr), center = FeatureScaler(fitting: train).mean
            let posteriors = logPosteriors(unit(x.gatheringRows(te), center: center), memory: unit(train, center: center),
                                           labels: tr.map { labels[$0] }, numClasses: c, temperatures: temperatures)
            let logits = try heldOutLogits(f)
            precondition(logits.rows == te.count && logits.cols == c, "MemoryHead.choose: fold \(f)'s logits are \(logits.rows) × \(logits.cols), its held-out rows \(te.count) × \(c) classes")
            let linear = logSoftmax(logits), truth = te.map { labels[$0] }, zeros = [Int](repeating: 0, count: c)
            for (a, w) in weights.enumerated() {
                for (b, p) in posteriors.enumerated() {
                    perFold[f][a * temperatures.count + b] = Metrics(predictions: argmax(mix(linear, w == 0 ? nil : p, weight: w)),
                                                                      labels: truth, numClasses: c, trainCounts: zeros).meanPerClassRecall
                }
            }
            progress(f)
        }
        let means = (0..<grid).map { g in perFold.reduce(0) { $0 + $1[g] } / Double(folds.count) }
        var best = 0
        for g in 1..<grid where means[g] > means[best] { best = g }
        return Choice(weight: weights[best / temperatures.count], temperature: temperatures[best % temperatures.count],
                      scores: means, foldScores: perFold.map { $0[best] }, linearFoldScores: perFold.map { $0[0] })
    }
}
