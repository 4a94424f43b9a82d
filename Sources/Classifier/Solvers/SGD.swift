import AFG
import Foundation
import Linalg

/// Optimiser settings (method.md: SGD, momentum 0.9, weight decay 5e-4, cosine schedule).
public struct SGDConfig: Codable, Equatable, Sendable {
    public enum Settings {
        public static let learningRate = Setting<Float>("lr", "Peak learning rate (cosine schedule to 0).", default: 0.1, .above(0))
        public static let momentum = Setting<Float>("momentum", "SGD momentum.", default: 0.9, .closedOpen(0, 1))
        public static let weightDecay = Setting<Float>("weight-decay", "Weight decay on W.", default: 5e-4, .atLeast(0))
        public static let batchSize = Setting<Int>("batch-size", "Rows per mini-batch.", default: 256, .atLeast(1))
        public static let epochs = Setting<Int>("epochs", "Epochs (GLAG: generation epochs).", default: 40, .atLeast(1))
    }
    /// Peak learning rate (step 0).
    public var learningRate: Float = Settings.learningRate.value
    /// The cosine schedule's floor, reached at the end of the last epoch.
    public var minLearningRate: Float = 0
    public var momentum: Float = Settings.momentum.value
    /// L2 weight decay, applied to `W` (not to the bias), PyTorch-style (`g + wd·W`).
    public var weightDecay: Float = Settings.weightDecay.value
    /// Rows per mini-batch (the last batch of an epoch may be smaller).
    public var batchSize: Int = Settings.batchSize.value
    public var epochs: Int = Settings.epochs.value
    /// In-epoch progress of the engines built from this configuration; not a setting (not
    /// encoded, equal to any other sink), nil = none.
    public var progress: BatchProgressSink?

    private enum CodingKeys: String, CodingKey { case learningRate, minLearningRate, momentum, weightDecay, batchSize, epochs }

    public init(learningRate: Float = Settings.learningRate.value, minLearningRate: Float = 0,
                momentum: Float = Settings.momentum.value, weightDecay: Float = Settings.weightDecay.value,
                batchSize: Int = Settings.batchSize.value, epochs: Int = Settings.epochs.value) {
        self.learningRate = learningRate; self.minLearningRate = minLearningRate
        self.momentum = momentum; self.weightDecay = weightDecay
        self.batchSize = batchSize; self.epochs = epochs
    }

    /// Throws `SettingError` naming the first setting outside its interval.
    public func checkSettings() throws {
        try Settings.learningRate.check(learningRate); try Settings.momentum.check(momentum)
        try Settings.weightDecay.check(weightDecay); try Settings.batchSize.check(batchSize); try Settings.epochs.check(epochs)
    }

    /// Cosine schedule at fractional epoch `t`: `lr_min + (lr − lr_min)·(1 + cos(π t/T))/2`.
    public func learningRate(at t: Double) -> Float {
        let u = min(max(t / Double(max(epochs, 1)), 0), 1)
        return minLearningRate + (learningRate - minLearningRate) * Float(0.5 * (1 + cos(Double.pi * u)))
    }
}

/// The rows one epoch draws from: the real (transformed) rows `0..<N`, then an optional
/// generated block `N..<N+G`.
public struct TrainingRows {
    /// `N × D` real features (already transformed), row-major.
    public var real: Matrix<Float>
    /// `N` labels in `0..<C`.
    public var realLabels: [Int32]
    /// `G × D` generated features, or nil.
    public var generated: Matrix<Float>?
    /// `G` labels of the generated rows.
    public var generatedLabels: [Int32]
    /// Per-real-row loss weights (`N`), nil = 1. Generated rows weigh 1.
    public var sampleWeights: [Float]?
    /// `N × D_t` untransformed features of the real rows, for the KD teacher; nil = no KD.
    public var teacherFeatures: Matrix<Float>?
    /// `C` flags: real rows of these classes get the KD term (method.md: head classes).
    public var kdClasses: [Bool]?
    /// `N × C` logits of the KD teacher on the real rows (`teacher.logits(teacherFeatures)`),
    /// computed once for a run instead of every epoch: the engine copies a KD row's logits
    /// from here instead of running the teacher's product on the batch. nil = the product.
    public var teacherLogits: Matrix<Float>?

    public init(real: Matrix<Float>, realLabels: [Int32], generated: Matrix<Float>? = nil, generatedLabels: [Int32] = [],
                sampleWeights: [Float]? = nil, teacherFeatures: Matrix<Float>? = nil, kdClasses: [Bool]? = nil,
                teacherLogits: Matrix<Float>? = nil) {
        precondition(real.rows == realLabels.count, "TrainingRows: \(real.rows) rows, \(realLabels.count) labels")
        precondition(generated.map { $0.rows == generatedLabels.count && $0.cols == real.cols } ?? generatedLabels.isEmpty,
                     "TrainingRows: generated block shape mismatch")
        precondition(sampleWeights.map { $0.count == real.rows } ?? true, "TrainingRows: sample weights count")
        precondition(teacherFeatures.map { $0.rows == real.rows } ?? true, "TrainingRows: teacher features rows")
        precondition(teacherLogits.map { $0.rows == real.rows } ?? true, "TrainingRows: teacher logits rows")
        self.real = real; self.realLabels = realLabels; self.generated = generated
        self.generatedLabels = generatedLabels; self.sampleWeights = sampleWeights
        self.teacherFeatures = teacherFeatures; self.kdClasses = kdClasses; self.teacherLogits = teacherLogits
    }

    /// `N + G`.
    public var count: Int { real.rows + (generated?.rows ?? 0) }
}

/// Knowledge-distillation settings: weight `β_KD(t) = schedule.value(t, T)`, temperature.
public struct KDSettings: Codable, Equatable, Sendable {
    public enum Settings {
        public static let maxWeight = Setting<Double>("kd-max", "KD weight at the end of training (kd_max).", default: 1, .atLeast(0))
        public static let temperature = Setting<Float>("kd-temperature", "KD temperature.", default: 2, .above(0))
        public static let gamma = Setting<Double>("kd-gamma", "Curvature γ of the KD schedule (shared GraLoss shape).",
                                                  default: 3, .closed(-50, 50))
    }
    public var schedule: GradualSchedule
    public var temperature: Float
    public init(schedule: GradualSchedule = .init(maxValue: Settings.maxWeight.value, gamma: Settings.gamma.value),
                temperature: Float = Settings.temperature.value) {
        self.schedule = schedule; self.temperature = temperature
    }

    /// Throws `SettingError` naming the first setting outside its interval.
    public func checkSettings() throws {
        try Settings.maxWeight.check(schedule.maxValue)
        try Settings.gamma.check(schedule.gamma)
        try Settings.temperature.check(temperature)
    }
}

/// What one epoch did.
public struct EpochStats: Codable, Equatable, Sendable {
    public var epoch: Int
    /// Mean loss per row over the epoch (CE part + KD part).
    public var loss: Double
    public var kdLoss: Double
    public var rows: Int
    public var seconds: Double
    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
}

/// Mini-batch SGD for a linear softmax classifier, on buffers allocated once.
///
/// A step on a batch `X` (`B × D`) with labels `y`:
///
///     G = dL/dlogits(X·Wᵀ + b)                 (B × C, loss kernel, in place)
///     V ← μ·V + Gᵀ·X + wd·W ;  W ← W − lr·V   (one gemm with β = μ, one fused pass)
///     v_b ← μ·v_b + Σ_rows G ;  b ← b − lr·v_b
///
/// - Complexity: per row `4·D·C` flops in two gemms (forward, weight gradient), plus
///   `2·D_t·C` for rows with a KD term, plus `O(C)` for the softmax; `O(C·D)` per step for
///   the update. Memory: `O(B·(D + C) + C·D)`, nothing allocated per batch.
public final class SGDEngine {
    public var model: LinearModel
    /// The momentum buffers (`C × D` and `C`): part of the resumable state.
    public var velocityW: [Float]
    public var velocityB: [Float]
    public let config: SGDConfig
    /// The KD teacher (on untransformed features) and its settings, when used.
    public let teacher: LinearModel?
    public let kd: KDSettings?
    /// Run the softmax kernel on several threads (results do not depend on it).
    public var parallelLoss = true
    /// Data-parallel training (`RowShare`): every step's gradient is summed across ranks
    /// before the update, and `order` entries −1 (another rank's rows) count in the batch
    /// size only; the epoch's loss is summed with `sumLossAcrossRanks`. nil = one process
    /// (the fused update below).
    public var sumAcrossRanks: SumFloatsAcrossRanks?
    public var sumLossAcrossRanks: SumAcrossRanks?
    /// The summed step's buffer (`C·D + C` floats), allocated on first use.
    private var gradient: [Float] = []

    private let c: Int, d: Int, dt: Int, cap: Int
    private let x: UnsafeMutablePointer<Float>, tx: UnsafeMutablePointer<Float>
    private let logits: UnsafeMutablePointer<Float>, tLogits: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    private let labels: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>
    private let kdIndex: UnsafeMutablePointer<Int32>, offsets: UnsafeMutablePointer<Float>

    public init(model: LinearModel, config: SGDConfig, teacher: LinearModel? = nil, kd: KDSettings? = nil) {
        precondition(config.batchSize > 0 && config.epochs > 0, "SGDEngine: batch size and epochs must be positive")
        if let t = teacher { precondition(t.numClasses == model.numClasses, "SGDEngine: teacher has \(t.numClasses) classes, model \(model.numClasses)") }
        self.model = model; self.config = config; self.teacher = teacher; self.kd = kd
        c = model.numClasses; d = model.dim; dt = teacher?.dim ?? 0; cap = config.batchSize
        velocityW = [Float](repeating: 0, count: c * d)
        velocityB = [Float](repeating: 0, count: c)
        func alloc<T>(_ n: Int, _ v: T) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(n, 1)); p.initialize(repeating: v, count: max(n, 1)); return p
        }
        x = alloc(cap * d, 0); tx = alloc(cap * dt, 0)
        logits = alloc(cap * c, 0); tLogits = alloc(cap * c, 0); scratch = alloc(cap * c, 0)
        labels = alloc(cap, 0); weights = alloc(cap, 1); kdIndex = alloc(cap, -1); offsets = alloc(c, 0)
    }

    deinit {
        for p in [x, tx, logits, tLogits, scratch, weights, offsets] { p.deallocate() }
        labels.deallocate(); kdIndex.deallocate()
    }

    /// Trains one epoch over `order` (indices into `rows`: `< N` real, else generated; −1
    /// under `sumAcrossRanks` for another rank's row).
    ///
    /// - Parameters:
    ///   - epoch: the 0-based epoch; the fractional epoch `t = epoch + step/steps` drives the
    ///     cosine learning rate, the GraLoss `τ(t)` and the KD weight.
    ///   - loss: the loss family member; `classCounts` gives the prior for its offsets.
    /// - Precondition: every index in `order` is in `0..<rows.count`; labels in `0..<C`.
    @discardableResult
    public func runEpoch(_ rows: TrainingRows, order: [Int], epoch: Int, loss: LossKind, classCounts: [Int]) -> EpochStats {
        let empty = Matrix<Float>(rows: 0, cols: 0)
        let d = self.d
        return (rows.generated ?? empty).data.withUnsafeBufferPointer { genP in
            rows.generatedLabels.withUnsafeBufferPointer { genL in
                epochCore(rows, order: order, epoch: epoch, loss: loss, classCounts: classCounts) { g, dst in
                    dst.update(from: genP.baseAddress! + g * d, count: d)
                    return genL[g]
                }
            }
        }
    }

    /// Trains one epoch whose generated rows are streamed: `order` entries `≥ N` are
    /// `N + g` with `g` = 0, 1, 2, … in order of appearance (as `Sampler.budget` numbers
    /// them), and row `g` is the `g`-th row of `generated` (pulled a batch at a time when the
    /// order reaches it). `rows.generated` must be nil. Same arithmetic as
    /// `runEpoch(_:order:epoch:loss:classCounts:)` on the concatenated rows, so the result
    /// does not depend on the size of the batches the iterator yields.
    ///
    /// - Precondition: the stream holds at least as many rows as the order's generated
    ///   entries, each batch `D` columns wide.
    /// - Complexity: as the other `runEpoch`; memory one batch of the stream.
    @discardableResult
    public func runEpoch<S: IteratorProtocol>(_ rows: TrainingRows, order: [Int], generated source: inout S,
                                              epoch: Int, loss: LossKind, classCounts: [Int]) -> EpochStats
    where S.Element == GeneratedSet {
        precondition(rows.generated == nil, "SGDEngine: a streamed epoch takes its generated rows from the stream")
        let d = self.d
        var batch: GeneratedSet?
        var at = 0, expected = 0
        return epochCore(rows, order: order, epoch: epoch, loss: loss, classCounts: classCounts) { g, dst in
            precondition(g == expected, "SGDEngine: streamed row \(g) out of order (expected \(expected))")
            expected += 1
            if batch == nil || at == batch!.count {
                batch = source.next(); at = 0
                precondition(batch.map { $0.count > 0 && $0.features.cols == d } ?? false, "SGDEngine: generated stream ended early or has the wrong width")
            }
            batch!.features.data.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + at * d, count: d) }
            let y = batch!.labels[at]
            at += 1
            return y
        }
    }

    /// The epoch loop; `generatedRow(g, dst)` writes generated row `g` (`D` floats) to
    /// `dst` and returns its label.
    private func epochCore(_ rows: TrainingRows, order: [Int], epoch: Int, loss: LossKind, classCounts: [Int],
                           generatedRow: (Int, UnsafeMutablePointer<Float>) -> Int32) -> EpochStats {
        precondition(rows.real.cols == d, "SGDEngine: features have \(rows.real.cols) columns, model \(d)")
        precondition(classCounts.count == c, "SGDEngine: \(classCounts.count) class counts for \(c) classes")
        let start = DispatchTime.now().uptimeNanoseconds
        let steps = (order.count + cap - 1) / cap
        let logPrior = LossKind.offsets(tau: 1, classCounts: classCounts)
        let n = rows.real.rows
        let cached = rows.teacherLogits != nil
        let useKD = teacher != nil && kd != nil && (rows.teacherFeatures != nil || cached) && rows.kdClasses != nil
        if useKD && cached { precondition(rows.teacherLogits!.cols == c, "SGDEngine: teacher logits have \(rows.teacherLogits!.cols) columns, model \(c)") }
        if useKD && !cached { precondition(rows.teacherFeatures!.cols == dt, "SGDEngine: teacher features have \(rows.teacherFeatures!.cols) columns, teacher \(dt)") }
        var ceTotal = 0.0, kdTotal = 0.0
        let T = Double(config.epochs)
        let empty = Matrix<Float>(rows: 0, cols: 0)
        rows.real.data.withUnsafeBufferPointer { realP in
        (rows.teacherFeatures ?? empty).data.withUnsafeBufferPointer { teachP in
        (rows.teacherLogits ?? empty).data.withUnsafeBufferPointer { teachL in
        rows.realLabels.withUnsafeBufferPointer { realL in
            for step in 0..<steps {
                let lo = step * cap, bsz = min(cap, order.count - lo)
                if let p = config.progress, step & 31 == 31 { p.report(BatchProgress(epoch: epoch, rowsDone: lo, rowsTotal: order.count)) }
                let t = Double(epoch) + Double(step) / Double(steps)
                let lr = config.learningRate(at: t)
                let tau = Float(loss.tau(at: t, totalEpochs: T))
                for j in 0..<c { offsets[j] = tau * logPrior[j] }
                // Gather the batch (this rank's entries of it: `m` rows).
                var kdCount = 0, m = 0
                for i in 0..<bsz {
                    let idx = order[lo + i]
                    if idx < 0 { continue }
                    let r = m
                    m += 1
                    if idx < n {
                        (x + r * d).update(from: realP.baseAddress! + idx * d, count: d)
                        let y = realL[idx]
                        labels[r] = y
                        weights[r] = rows.sampleWeights?[idx] ?? 1
                        if useKD && rows.kdClasses![Int(y)] {
                            if cached {
                                (tLogits + r * c).update(from: teachL.baseAddress! + idx * c, count: c)
                            } else {
                                (tx + kdCount * dt).update(from: teachP.baseAddress! + idx * dt, count: dt)
                            }
                            kdIndex[r] = Int32(kdCount); kdCount += 1
                        } else { kdIndex[r] = -1 }
                    } else {
                        labels[r] = generatedRow(idx - n, x + r * d); weights[r] = 1; kdIndex[r] = -1
                    }
                }
                forward(rows: m, kdRows: cached ? 0 : kdCount)
                var kdW: Float = 0
                if kdCount > 0, let kd = kd { kdW = Float(kd.schedule.value(at: t, totalEpochs: T)) }
                let batch = LossBatch(rows: m, classes: c, logits: logits, labels: labels, weights: weights,
                                      offsets: tau == 0 ? nil : UnsafePointer(offsets),
                                      teacherLogits: kdCount > 0 ? UnsafePointer(tLogits) : nil,
                                      kdIndex: kdCount > 0 ? UnsafePointer(kdIndex) : nil,
                                      kdWeight: kdW, kdTemperature: kd?.temperature ?? 1,
                                      normaliser: Float(bsz), scratch: scratch)
                let (ce, kdl) = m > 0 ? LossKernel.run(batch, parallel: parallelLoss) : (0, 0)
                ceTotal += ce * Double(bsz); kdTotal += kdl * Double(bsz)
                // Backward + update.
                if let sum = sumAcrossRanks { applySummedUpdate(rows: m, lr: lr, sum: sum) } else { applyUpdate(rows: m, lr: lr) }
            }
        } } } }
        if let sum = sumLossAcrossRanks {
            var totals = [ceTotal, kdTotal]
            sum(&totals)
            (ceTotal, kdTotal) = (totals[0], totals[1])
        }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let total = max(order.count, 1)
        return EpochStats(epoch: epoch, loss: (ceTotal + kdTotal) / Double(total), kdLoss: kdTotal / Double(total),
                          rows: order.count, seconds: secs)
    }

    /// The student's logits of the batch's `m` rows (`X·Wᵀ + b` into `logits`) and, for the
    /// `kdRows` packed teacher rows in `tx`, the teacher's (into `scratch`, then scattered
    /// to their batch rows of `tLogits` by `kdIndex`). `2·(m + kdRows)·C·D` flops.
    private func forward(rows m: Int, kdRows: Int) {
        model.bias.withUnsafeBufferPointer { pb in
            for r in 0..<m { (logits + r * c).update(from: pb.baseAddress!, count: c) }
        }
        if m > 0 {
            model.weight.data.withUnsafeBufferPointer { pw in
                Float._gemm(false, true, m, c, d, 1, x, d, pw.baseAddress!, d, 1, logits, c)
            }
        }
        guard kdRows > 0, let teacher = teacher else { return }
        teacher.bias.withUnsafeBufferPointer { pb in
            for r in 0..<kdRows { (scratch + r * c).update(from: pb.baseAddress!, count: c) }
        }
        teacher.weight.data.withUnsafeBufferPointer { pw in
            Float._gemm(false, true, kdRows, c, dt, 1, tx, dt, pw.baseAddress!, dt, 1, scratch, c)
        }
        for r in 0..<m where kdIndex[r] >= 0 {
            (tLogits + r * c).update(from: scratch + Int(kdIndex[r]) * c, count: c)
        }
    }

    /// The data-parallel step: this rank's `GᵀX` and `Σ_rows G` (its `m` rows, `G` in
    /// `logits`, already divided by the global batch size) in one buffer, summed across
    /// ranks, then the update of `applyUpdate` with the sum in place of the fused product.
    /// - Complexity: `2·m·C·D` flops, `C·(D + 1)` floats summed.
    private func applySummedUpdate(rows m: Int, lr: Float, sum: SumFloatsAcrossRanks) {
        let cd = c * d
        if gradient.isEmpty { gradient = [Float](repeating: 0, count: cd + c) }
        gradient.withUnsafeMutableBufferPointer { pg in
            let g = pg.baseAddress!
            if m > 0 { Float._gemm(true, false, c, d, m, 1, logits, c, x, d, 0, g, d) } else { g.update(repeating: 0, count: cd) }
            (g + cd).update(repeating: 0, count: c)
            for r in 0..<m {
                let row = logits + r * c
                for j in 0..<c { g[cd + j] += row[j] }
            }
        }
        sum(&gradient)
        let mu = config.momentum, wd = config.weightDecay
        velocityW.withUnsafeMutableBufferPointer { pv in
            model.weight.data.withUnsafeMutableBufferPointer { pw in
                gradient.withUnsafeBufferPointer { pg in
                    for j in 0..<cd {
                        let vj = mu * pv[j] + pg[j] + wd * pw[j]
                        pv[j] = vj
                        pw[j] -= lr * vj
                    }
                }
            }
        }
        for j in 0..<c {
            velocityB[j] = mu * velocityB[j] + gradient[cd + j]
            model.bias[j] -= lr * velocityB[j]
        }
    }

    /// `V ← μV + GᵀX + wd·W`, `W ← W − lr·V`; bias likewise without decay. `G` is in `logits`.
    private func applyUpdate(rows bsz: Int, lr: Float) {
        let mu = config.momentum, wd = config.weightDecay
        velocityW.withUnsafeMutableBufferPointer { pv in
            Float._gemm(true, false, c, d, bsz, 1, logits, c, x, d, mu, pv.baseAddress!, d)
            model.weight.data.withUnsafeMutableBufferPointer { pw in
                SGDEngine.decayAndStep(velocity: pv.baseAddress!, weight: pw.baseAddress!, count: c * d, wd: wd, lr: lr)
            }
        }
        velocityB.withUnsafeMutableBufferPointer { pvb in
            model.bias.withUnsafeMutableBufferPointer { pb in
                for j in 0..<c { pvb[j] *= mu }
                for r in 0..<bsz {
                    let g = logits + r * c
                    for j in 0..<c { pvb[j] += g[j] }
                }
                for j in 0..<c { pb[j] -= lr * pvb[j] }
            }
        }
    }
}

extension SGDEngine {
    /// `v ← v + wd·w`, `w ← w − lr·v` elementwise over `count` floats: 16 lanes at a time, in
    /// `parallelRanges` (each element's arithmetic is the same on any schedule, so the bits
    /// are). Memory-bound: 16 bytes read and written per element.
    static func decayAndStep(velocity v: UnsafeMutablePointer<Float>, weight w: UnsafeMutablePointer<Float>,
                             count: Int, wd: Float, lr: Float) {
        parallelRanges(count) { range in
            var j = range.lowerBound
            let rv = UnsafeMutableRawPointer(v), rw = UnsafeMutableRawPointer(w)
            while j + 16 <= range.upperBound {
                let vj = rv.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                    + wd * rw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                rv.storeBytes(of: vj, toByteOffset: j * 4, as: SIMD16<Float>.self)
                rw.storeBytes(of: rw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self) - lr * vj,
                              toByteOffset: j * 4, as: SIMD16<Float>.self)
                j += 16
            }
            while j < range.upperBound {
                let vj = v[j] + wd * w[j]
                v[j] = vj
                w[j] -= lr * vj
                j += 1
            }
        }
    }
}

/// Where an epoch is: rows trained so far out of the epoch's rows.
public struct BatchProgress: Sendable {
    public var epoch: Int
    public var rowsDone: Int
    public var rowsTotal: Int
}

/// Where an `SGDEngine` reports in-epoch progress (`SGDConfig.progress`): every 32 batches,
/// on the training thread. Equal to every other sink, so that configurations compare by
/// their settings only.
public final class BatchProgressSink: Equatable, @unchecked Sendable {
    public let report: (BatchProgress) -> Void
    public init(_ report: @escaping (BatchProgress) -> Void) { self.report = report }
    public static func == (a: BatchProgressSink, b: BatchProgressSink) -> Bool { true }
}
