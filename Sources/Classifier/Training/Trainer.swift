import Foundation
import Linalg
import AFG

/// The stage-two methods (method.md steps 9–10 and "Baselines"), one trainer each.
public enum Method: String, CaseIterable, Codable, Sendable {
    /// Adaptive feature generation + KD (method.md step 10).
    case glag
    /// Retrain `g` with instance-balanced sampling and cross-entropy.
    case ce
    /// Classifier re-training with class-balanced sampling (Kang et al.).
    case crt
    /// Keep `g₁`, learn one scale per class with class-balanced sampling (Kang et al.).
    case lws
    /// `W_c / ‖W_c‖^p` on `g₁`, `p` chosen on validation (Kang et al.).
    case tauNorm = "tau-norm"
    /// Post-hoc `g_c − τ·log π_c` on `g₁`, `τ` chosen on validation (Menon et al.).
    case logitAdjust = "logit-adjust"
    /// Train `g` with the balanced softmax loss (Ren et al.).
    case balancedSoftmax = "balanced-softmax"
    /// TailCalib / DC generation: equal weights, no adaptation, no KD.
    case tailcalib
}

/// Everything that defines a training run (recorded as JSON in the classifier file).
public struct TrainConfig: Encodable, Equatable, Sendable {
    public enum Settings {
        public static let lwsLearningRate = Setting<Float>("lws-lr", "lws: learning rate of the per-class scales.",
                                                           default: 0.1, .above(0))
        public static let epochRows = Setting<Int>(
            "epoch-rows",
            "GLAG/TailCalib class-balanced budget: N rows per epoch, q = ⌈N/C⌉ per class (q real rows drawn without replacement, or all real rows plus q − n_c generated ones), generated rows streamed. Default: every class filled to n_max.",
            default: nil, .atLeast(1))
    }

    public var method: Method
    public var sgd = SGDConfig()
    public var seed: UInt64 = 0
    /// GLAG: update `β` from validation accuracy (ablation `--no-adaptive` turns it off).
    public var adaptive = true
    /// GLAG: the KD term (ablation `--no-kd` turns it off).
    public var useKD = true
    public var kd = KDSettings()
    /// The generator of a GLAG or TailCalib run. Its `weighting` follows the method
    /// (`runGenerator`), so it is not part of the record.
    public var generator = GeneratorConfig()
    /// GLAG's adaptive confidence.
    public var betaUpdate = BetaUpdate()
    /// The class-balanced budget (`afg train --epoch-rows N`, opt-in; nil = every class
    /// filled to `M` each epoch, all real rows used). With `N` set, each epoch has
    /// `q = ⌈N / C⌉` rows per class (`q·C` rows in all, `N ≤ q·C < N + C`): a class with
    /// `n_c ≥ q` contributes `q` of its real rows drawn without replacement (seeded per
    /// epoch), a class with `0 < n_c < q` all its real rows plus `q − n_c` generated ones
    /// (the generator's `M` is `q`), a class without rows nothing. The rows are shuffled
    /// and the generated ones are produced block by block while SGD consumes them, so the
    /// epoch is never held in memory (see `Sampler.budget`, `SGDEngine.runEpoch(_:order:generated:...)`).
    /// Excludes `generator.targetPerClass`; GLAG and TailCalib only.
    public var epochRows: Int? = Settings.epochRows.defaultValue
    /// `tau-norm`: candidate `p` values.
    public var pGrid: [Double] = stride(from: 0.0, through: 2.0, by: 0.1).map { ($0 * 10).rounded() / 10 }
    /// `logit-adjust`: candidate `τ` values.
    public var tauGrid: [Double] = stride(from: 0.0, through: 3.0, by: 0.1).map { ($0 * 10).rounded() / 10 }
    /// `lws`: learning rate of the scales (the epochs and schedule are `sgd`'s).
    public var lwsLearningRate: Float = Settings.lwsLearningRate.value
    public var thresholds = ShotThresholds()

    public init(method: Method) { self.method = method }

    /// The generator the run uses: `generator` with TailCalib's weighting for `.tailcalib`
    /// and, with `epochRows`, the budget's per-class target `⌈N / C⌉`.
    public func runGenerator(numClasses: Int) -> GeneratorConfig {
        var g = generator
        g.weighting = method == .tailcalib ? .tailcalib : .glag
        if let n = epochRows { g.targetPerClass = Sampler.budgetPerClass(epochRows: n, numClasses: numClasses) }
        return g
    }

    /// Throws `SettingError` naming the first setting outside its interval, or
    /// `TrainError.invalidConfig` for settings that exclude each other.
    public func checkSettings() throws {
        try sgd.checkSettings()
        try kd.checkSettings()
        try generator.checkSettings()
        try BetaUpdate.Settings.step.check(betaUpdate.step)
        try Settings.lwsLearningRate.check(lwsLearningRate)
        try Settings.epochRows.check(epochRows)
        if epochRows != nil {
            if method != .glag && method != .tailcalib {
                throw TrainError.invalidConfig("epoch rows (a class-balanced budget) applies to glag and tailcalib only, not \(method.rawValue)")
            }
            if generator.targetPerClass != nil {
                throw TrainError.invalidConfig("epoch rows and target per class exclude each other (the budget sets M = ⌈N / C⌉)")
            }
        }
    }

    /// The record's member names (the classifier file's `config`, docs/FORMAT.md).
    private enum CodingKeys: String, CodingKey {
        case method, sgd, seed, adaptive, useKD, kd, generation, pGrid, tauGrid, lwsLearningRate, thresholds
    }
    private enum GenerationKeys: String, CodingKey {
        case k, alpha, initialBeta, headThreshold, meanMode, betaRule, betaStep, targetPerClass, epochRows, factor, blockRows
    }

    /// The record: the generator and β update as one `generation` member (k, alpha,
    /// initialBeta, headThreshold, meanMode, betaRule, betaStep, targetPerClass, epochRows;
    /// factor and blockRows only when not the defaults).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method); try c.encode(sgd, forKey: .sgd); try c.encode(seed, forKey: .seed)
        try c.encode(adaptive, forKey: .adaptive); try c.encode(useKD, forKey: .useKD); try c.encode(kd, forKey: .kd)
        try c.encode(pGrid, forKey: .pGrid); try c.encode(tauGrid, forKey: .tauGrid)
        try c.encode(lwsLearningRate, forKey: .lwsLearningRate); try c.encode(thresholds, forKey: .thresholds)
        var g = c.nestedContainer(keyedBy: GenerationKeys.self, forKey: .generation)
        let d = GeneratorConfig()
        try g.encode(generator.k, forKey: .k); try g.encode(generator.alpha, forKey: .alpha)
        try g.encode(generator.initialBeta, forKey: .initialBeta); try g.encode(generator.headThreshold, forKey: .headThreshold)
        try g.encode(generator.meanMode, forKey: .meanMode)
        try g.encode(betaUpdate.rule, forKey: .betaRule); try g.encode(betaUpdate.step, forKey: .betaStep)
        try g.encodeIfPresent(generator.targetPerClass, forKey: .targetPerClass)
        try g.encodeIfPresent(epochRows, forKey: .epochRows)
        if generator.factor != d.factor { try g.encode(generator.factor, forKey: .factor) }
        if generator.blockRows != d.blockRows { try g.encode(generator.blockRows, forKey: .blockRows) }
    }

    /// Canonical JSON (sorted keys): identical configs give identical bytes.
    public var json: String {
        let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// The data a run trains on.
public struct TrainInputs {
    /// Training rows, Tukey-transformed (the space the trained classifier works in).
    public var train: LabeledFeatures
    /// Validation rows, transformed like `train`; used for adaptive `β`, `p`, `τ` and progress.
    public var val: LabeledFeatures?
    /// The stage-one classifier `g₁` on untransformed features (KD teacher, start point,
    /// and the base of `lws` / `tau-norm` / `logit-adjust`).
    public var teacher: LinearModel?
    /// Untransformed training / validation features (the teacher's input); nil = the same
    /// as `train` / `val` (no transform).
    public var rawTrain: Matrix<Float>?
    public var rawVal: Matrix<Float>?

    public init(train: LabeledFeatures, val: LabeledFeatures? = nil, teacher: LinearModel? = nil,
                rawTrain: Matrix<Float>? = nil, rawVal: Matrix<Float>? = nil) {
        self.train = train; self.val = val; self.teacher = teacher; self.rawTrain = rawTrain; self.rawVal = rawVal
    }
}

/// Which features the trained classifier expects.
public enum InputSpace: String, Codable, Sendable {
    /// Tukey-transformed features (record the run's λ).
    case transformed
    /// Untransformed features (post-hoc methods on the teacher: no λ).
    case raw
}

/// One epoch's progress line.
public struct EpochReport: Codable, Equatable, Sendable {
    /// 0: the main SGD phase (or `g₁` training); 1: `lws` scale training.
    public var phase: Int
    public var epoch: Int
    public var loss: Double
    public var kdLoss: Double
    public var rows: Int
    public var seconds: Double
    public var rowsPerSecond: Double
    public var valAccuracy: Double?
    public var valFew: Double?
    /// Mean `β` over tail classes after this epoch's update (GLAG, TailCalib).
    public var meanTailBeta: Double?
}

/// The outcome of a run.
public struct TrainResult {
    public var model: LinearModel
    public var inputSpace: InputSpace
    public var history: [EpochReport]
    /// Hyper-parameters chosen on validation (`p`, `tau`), by name.
    public var chosen: [String: Double]
    /// Final `β` (GLAG, TailCalib).
    public var beta: [Float]?
    /// Things the user should know (e.g. "no validation split: β stays fixed").
    public var notes: [String]
    /// `C` training rows per class.
    public var classCounts: [Int]
}

/// Data errors of a training run (one line each).
public enum TrainError: Error, CustomStringConvertible, Equatable {
    case dimensionMismatch(what: String, expected: Int, found: Int)
    case classMismatch(what: String, expected: Int, found: Int)
    case emptyTraining
    case badCheckpoint(String)
    case checkpointMismatch(String)
    case generator(String)
    case selectionNeedsValidation
    case invalidConfig(String)
    /// A non-finite loss or weight after an epoch (1-based).
    case diverged(epoch: Int, loss: Double, learningRate: Float)

    public var description: String {
        switch self {
        case let .dimensionMismatch(w, e, f): return "\(w): feature dimension \(f), expected \(e)"
        case let .classMismatch(w, e, f): return "\(w): \(f) classes, expected \(e)"
        case .emptyTraining: return "training set has no rows"
        case let .badCheckpoint(s): return "checkpoint: \(s)"
        case let .checkpointMismatch(s): return "checkpoint does not match this run: \(s)"
        case let .generator(s): return "feature generator: \(s)"
        case .selectionNeedsValidation: return "selection on validation needs a validation split"
        case let .invalidConfig(s): return s
        case let .diverged(e, loss, lr):
            return "training diverged in epoch \(e) (loss \(loss)): the weights are no longer finite; try a lower --lr than \(lr) (or check the features' scale)"
        }
    }
}

/// Runs one method end to end: SGD epochs with progress and checkpoints, post-hoc choices.
///
/// Every epoch draws its randomness from `Xoshiro256(seed:, streams: [phase, epoch])`
/// (and the generator from `(seed, epoch)`), so the state at an epoch boundary
/// (`TrainingState`) is all a resumed run needs to finish with the same classifier.
public final class Trainer {
    public let config: TrainConfig
    public let inputs: TrainInputs
    /// Called after every epoch (progress on stderr in the CLI).
    public var onEpoch: ((EpochReport) -> Void)?
    /// Called with the state every `checkpointEvery` epochs (0 = never) and at phase ends.
    public var checkpointEvery = 0
    public var onCheckpoint: ((TrainingState) throws -> Void)?
    /// Test hook: stop (throwing `CancellationError`) after this many epochs of this run.
    public var stopAfterEpochs: Int?
    /// With `config.epochRows`: generated rows pulled from the generator per request
    /// while an epoch streams (memory `streamBatchRows × D` floats plus the generator's
    /// block). The trained model does not depend on it.
    public var streamBatchRows = 4096

    let classCounts: [Int]
    var epochsThisRun = 0

    /// Data-parallel training across the ranks of a job (nil: one process). `inputs.train`
    /// then holds this rank's rows only; class counts, epoch orders and the generator are
    /// the global ones.
    public let share: RowShare?

    /// Validates the inputs (dimensions, class counts, teacher shape).
    /// - Parameter share: this rank's place in a data set split across ranks: `ce`, `crt`,
    ///   `balanced-softmax`, `glag`, `tailcalib`, and `tau-norm` / `logit-adjust`, without
    ///   the class-balanced budget (`epochRows`).
    /// - Throws: `TrainError` naming the mismatch.
    public init(config: TrainConfig, inputs: TrainInputs, share: RowShare? = nil) throws {
        self.config = config
        self.inputs = inputs
        self.share = share
        let c = inputs.train.numClasses, d = inputs.train.features.cols
        if let s = share {
            if s.globalLabels.isEmpty { throw TrainError.emptyTraining }
            precondition(s.localRows == inputs.train.labels.count, "Trainer: share holds \(s.localRows) rows, inputs \(inputs.train.labels.count)")
            if config.method == .lws { throw TrainError.invalidConfig("lws trains in one process (its scales are not data-parallel)") }
            if config.epochRows != nil { throw TrainError.invalidConfig("the class-balanced budget (epoch rows) trains in one process") }
            if [.glag, .tailcalib].contains(config.method) && s.allFeatures == nil {
                throw TrainError.invalidConfig("data-parallel \(config.method.rawValue) needs every rank's rows for its generator")
            }
        } else if inputs.train.labels.isEmpty { throw TrainError.emptyTraining }
        do { try config.checkSettings() } catch let e as SettingError { throw TrainError.invalidConfig(e.description) }
        if let v = inputs.val {
            if v.features.cols != d { throw TrainError.dimensionMismatch(what: "validation features", expected: d, found: v.features.cols) }
            if v.numClasses != c { throw TrainError.classMismatch(what: "validation set", expected: c, found: v.numClasses) }
        }
        if let r = inputs.rawTrain, r.rows != inputs.train.features.rows {
            throw TrainError.dimensionMismatch(what: "untransformed training rows", expected: inputs.train.features.rows, found: r.rows)
        }
        if let t = inputs.teacher {
            if t.numClasses != c { throw TrainError.classMismatch(what: "teacher classifier", expected: c, found: t.numClasses) }
            let rd = inputs.rawTrain?.cols ?? d
            if t.dim != rd { throw TrainError.dimensionMismatch(what: "teacher classifier", expected: rd, found: t.dim) }
        }
        classCounts = share.map { LabeledFeatures.counts(of: $0.globalLabels, numClasses: c) } ?? inputs.train.classCounts
    }

    /// The labels the epoch orders are drawn over: every rank's under `share`.
    var orderLabels: [Int32] { share?.globalLabels ?? inputs.train.labels }

    /// An epoch order over the global rows, as this rank's row indices (unchanged in one process).
    func local(_ order: [Int], generated: Range<Int> = 0..<0) -> [Int] {
        share.map { $0.localOrder(order, generated: generated) } ?? order
    }

    /// An SGD engine, its steps summed across ranks under `share`.
    func makeEngine(model: LinearModel, config sgd: SGDConfig, teacher: LinearModel? = nil, kd: KDSettings? = nil) -> SGDEngine {
        let e = SGDEngine(model: model, config: sgd, teacher: teacher, kd: kd)
        e.sumAcrossRanks = share?.sumFloats
        e.sumLossAcrossRanks = share?.sum
        return e
    }

    var fingerprint: String {
        "\(config.json)|N=\(inputs.train.labels.count)|D=\(inputs.train.features.cols)|C=\(inputs.train.numClasses)|teacher=\(inputs.teacher != nil)|val=\(inputs.val?.labels.count ?? -1)"
    }

    func rng(phase: Int, epoch: Int) -> Xoshiro256 {
        Xoshiro256(seed: config.seed, streams: [UInt64(phase), UInt64(epoch)])
    }

    /// Trains, from scratch or from `state`.
    /// - Throws: `TrainError` (data, checkpoint mismatch), whatever `onCheckpoint` throws,
    ///   `CancellationError` when `stopAfterEpochs` is reached.
    public func run(resumingFrom state: TrainingState? = nil) throws -> TrainResult {
        if let s = state, s.fingerprint != fingerprint {
            throw TrainError.checkpointMismatch("it was written by a run with another configuration or data")
        }
        epochsThisRun = 0
        switch config.method {
        case .ce, .crt, .balancedSoftmax:
            let (model, outcome) = try sgdPhase(state: state, sampling: config.method == .crt ? .classBalanced : .instanceBalanced,
                                                loss: config.method == .balancedSoftmax ? .balancedSoftmax : .crossEntropy)
            return TrainResult(model: model, inputSpace: .transformed, history: outcome.reports, chosen: [:], beta: nil,
                               notes: [], classCounts: classCounts)
        case .glag, .tailcalib:
            return try runGeneration(state: state)
        case .lws, .tauNorm, .logitAdjust:
            return try runPostHoc(state: state)
        }
    }

    // MARK: plain SGD phase

    enum Sampling { case instanceBalanced, classBalanced }

    struct PhaseOutcome { var model: LinearModel; var reports: [EpochReport] }

    /// Phase 0 of ce / crt / balanced-softmax, and `g₁` training for the post-hoc methods.
    func sgdPhase(state: TrainingState?, sampling: Sampling, loss: LossKind) throws -> (LinearModel, PhaseOutcome) {
        let c = inputs.train.numClasses, d = inputs.train.features.cols
        let engine = makeEngine(model: LinearModel(numClasses: c, dim: d), config: config.sgd)
        var reports: [EpochReport] = []
        var start = 0
        if let s = state, s.phase == 0 {
            try s.restore(into: engine)
            reports = s.history; start = s.epochsDone
        } else if let s = state, s.phase > 0 {
            // Phase 0 finished before the checkpoint: its model is in the state.
            return (s.model, PhaseOutcome(model: s.model, reports: s.history))
        }
        let rows = TrainingRows(real: inputs.train.features, realLabels: inputs.train.labels)
        for e in start..<config.sgd.epochs {
            var g = rng(phase: 0, epoch: e)
            let labels = orderLabels
            let order = sampling == .classBalanced
                ? Sampler.classBalanced(labels: labels, numClasses: c, count: labels.count, using: &g)
                : Sampler.instanceBalanced(count: labels.count, using: &g)
            let st = engine.runEpoch(rows, order: local(order), epoch: e, loss: loss, classCounts: classCounts)
            reports.append(try report(phase: 0, stats: st, model: engine.model))
            try endOfEpoch(phase: 0, epochsDone: e + 1, total: config.sgd.epochs) {
                TrainingState(phase: 0, epochsDone: e + 1, fingerprint: fingerprint, model: engine.model,
                              velocityW: engine.velocityW, velocityB: engine.velocityB, history: reports)
            }
        }
        return (engine.model, PhaseOutcome(model: engine.model, reports: reports))
    }

    /// Validation figures of `model` on the transformed validation split (nil without one).
    func validate(_ model: LinearModel, raw: Bool = false) -> Metrics? {
        guard let v = inputs.val else { return nil }
        let x = raw ? (inputs.rawVal ?? v.features) : v.features
        return Metrics(model: model, features: x, labels: v.labels, trainCounts: classCounts, thresholds: config.thresholds)
    }

    /// The epoch's progress report (sent to `onEpoch`).
    /// - Throws: `TrainError.diverged` when the epoch's loss or the model is not finite.
    func report(phase: Int, stats: EpochStats, model: LinearModel, raw: Bool = false, beta: [Float]? = nil,
                isTail: [Bool]? = nil) throws -> EpochReport {
        if !stats.loss.isFinite || !model.weight.data.allSatisfy(\.isFinite) || !model.bias.allSatisfy(\.isFinite) {
            throw TrainError.diverged(epoch: stats.epoch + 1, loss: stats.loss, learningRate: phase == 1 ? config.lwsLearningRate : config.sgd.learningRate)
        }
        let m = validate(model, raw: raw)
        var tailBeta: Double?
        if let b = beta, let t = isTail {
            let vals = zip(b, t).filter { $0.1 }.map { Double($0.0) }
            tailBeta = vals.isEmpty ? nil : vals.reduce(0, +) / Double(vals.count)
        }
        let r = EpochReport(phase: phase, epoch: stats.epoch, loss: stats.loss, kdLoss: stats.kdLoss, rows: stats.rows,
                            seconds: stats.seconds, rowsPerSecond: stats.rowsPerSecond,
                            valAccuracy: m?.overall, valFew: m?.few, meanTailBeta: tailBeta)
        onEpoch?(r)
        return r
    }

    /// Checkpoint cadence and the test stop hook.
    func endOfEpoch(phase: Int, epochsDone: Int, total: Int, state: () -> TrainingState) throws {
        epochsThisRun += 1
        let due = checkpointEvery > 0 && (epochsDone % checkpointEvery == 0 || epochsDone == total)
        if due, let cb = onCheckpoint { try cb(state()) }
        if let stop = stopAfterEpochs, epochsThisRun >= stop { throw CancellationError() }
    }

    // MARK: post-hoc methods on g₁

    func runPostHoc(state: TrainingState?) throws -> TrainResult {
        var notes: [String] = []
        var g1: LinearModel
        var space: InputSpace
        var history: [EpochReport] = []
        var trainX: Matrix<Float>, valX: Matrix<Float>?
        if let t = inputs.teacher {
            g1 = t; space = .raw
            trainX = inputs.rawTrain ?? inputs.train.features
            valX = inputs.val.map { inputs.rawVal ?? $0.features }
        } else {
            notes.append("no teacher given: g₁ is a cross-entropy classifier trained here on the transformed features")
            let (m, out) = try sgdPhase(state: state, sampling: .instanceBalanced, loss: .crossEntropy)
            g1 = m; history = out.reports; space = .transformed
            trainX = inputs.train.features
            valX = inputs.val?.features
        }
        var chosen: [String: Double] = [:]
        let model: LinearModel
        switch config.method {
        case .lws:
            let (m, reports) = try trainLWS(g1: g1, features: trainX, raw: space == .raw, state: state, history: history)
            model = m; history = reports
        case .tauNorm:
            let (m, p) = chooseOnValidation(grid: config.pGrid, valX: valX, default: 1, notes: &notes, name: "p") { Trainer.tauNormalised(g1, p: $0) }
            model = m; chosen["p"] = p
        default:
            let (m, tau) = chooseOnValidation(grid: config.tauGrid, valX: valX, default: 1, notes: &notes, name: "τ") {
                g1.logitAdjusted(tau: $0, classCounts: self.classCounts)
            }
            model = m; chosen["tau"] = tau
        }
        return TrainResult(model: model, inputSpace: space, history: history, chosen: chosen, beta: nil, notes: notes, classCounts: classCounts)
    }

    /// The candidate with the best validation top-1 (the first on ties); `default` without a validation split.
    func chooseOnValidation(grid: [Double], valX: Matrix<Float>?, default d: Double, notes: inout [String], name: String,
                            make: (Double) -> LinearModel) -> (LinearModel, Double) {
        guard let vx = valX, let v = inputs.val, !grid.isEmpty else {
            notes.append("no validation split: \(name) = \(d) (not chosen)")
            return (make(d), d)
        }
        var best = (model: make(grid[0]), value: grid[0], acc: -1.0)
        for g in grid {
            let m = make(g)
            let acc = Metrics(model: m, features: vx, labels: v.labels, trainCounts: classCounts).overall
            if acc > best.acc { best = (m, g, acc) }
        }
        return (best.model, best.value)
    }

    /// τ-normalisation: row `c` of `W` (and `b_c`) divided by `‖W_c‖^p` (rows with zero norm kept).
    public static func tauNormalised(_ m: LinearModel, p: Double) -> LinearModel {
        var out = m
        let d = m.dim
        for c in 0..<m.numClasses {
            var s = 0.0
            for j in 0..<d { let w = Double(m.weight.data[c * d + j]); s += w * w }
            let norm = s.squareRoot()
            if norm == 0 { continue }
            let f = Float(pow(norm, -p))
            for j in 0..<d { out.weight.data[c * d + j] *= f }
            out.bias[c] *= f
        }
        return out
    }


    /// Learnable weight scaling: logits `s_c·(W_c·z + b_c)` with `W`, `b` fixed; `s` trained
    /// by SGD (momentum, cosine, no decay) with class-balanced sampling and cross-entropy.
    /// - Complexity: per epoch `2·N·D·C` flops (forward only: `s` has `C` parameters).
    func trainLWS(g1: LinearModel, features: Matrix<Float>, raw: Bool, state: TrainingState?,
                  history: [EpochReport]) throws -> (LinearModel, [EpochReport]) {
        let c = g1.numClasses, d = g1.dim, n = features.rows
        var scales = [Float](repeating: 1, count: c), vel = [Float](repeating: 0, count: c)
        var reports = history
        var start = 0
        if let s = state, s.phase == 1 {
            guard let sc = s.scales, let sv = s.scaleVelocity, sc.count == c, sv.count == c else {
                throw TrainError.badCheckpoint("lws scales missing")
            }
            scales = sc; vel = sv; reports = s.history; start = s.epochsDone
        }
        let cap = config.sgd.batchSize
        var x = [Float](repeating: 0, count: cap * d), u = [Float](repeating: 0, count: cap * c)
        var logits = [Float](repeating: 0, count: cap * c), scratch = [Float](repeating: 0, count: cap * c)
        var labels = [Int32](repeating: 0, count: cap)
        var grad = [Float](repeating: 0, count: c)
        let mu = config.sgd.momentum
        func scaled() -> LinearModel {
            var m = g1
            for k in 0..<c {
                for j in 0..<d { m.weight.data[k * d + j] *= scales[k] }
                m.bias[k] *= scales[k]
            }
            return m
        }
        let lrConfig = SGDConfig(learningRate: config.lwsLearningRate, epochs: config.sgd.epochs)
        for e in start..<config.sgd.epochs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var g = rng(phase: 1, epoch: e)
            let order = Sampler.classBalanced(labels: inputs.train.labels, numClasses: c, count: n, using: &g)
            let steps = (n + cap - 1) / cap
            var total = 0.0
            for step in 0..<steps {
                let lo = step * cap, bsz = min(cap, n - lo)
                let lr = lrConfig.learningRate(at: Double(e) + Double(step) / Double(steps))
                features.data.withUnsafeBufferPointer { px in
                    for r in 0..<bsz {
                        let i = order[lo + r]
                        for j in 0..<d { x[r * d + j] = px[i * d + j] }
                        labels[r] = inputs.train.labels[i]
                    }
                }
                for r in 0..<bsz { for k in 0..<c { u[r * c + k] = g1.bias[k] } }
                x.withUnsafeBufferPointer { px in g1.weight.data.withUnsafeBufferPointer { pw in u.withUnsafeMutableBufferPointer { pu in
                    Float._gemm(false, true, bsz, c, d, 1, px.baseAddress!, d, pw.baseAddress!, d, 1, pu.baseAddress!, c)
                } } }
                for r in 0..<bsz { for k in 0..<c { logits[r * c + k] = u[r * c + k] * scales[k] } }
                let (ce, _) = logits.withUnsafeMutableBufferPointer { pl in labels.withUnsafeBufferPointer { pl2 in scratch.withUnsafeMutableBufferPointer { ps in
                    LossKernel.run(LossBatch(rows: bsz, classes: c, logits: pl.baseAddress!, labels: pl2.baseAddress!, weights: nil,
                                             offsets: nil, teacherLogits: nil, kdIndex: nil, kdWeight: 0, kdTemperature: 1,
                                             normaliser: Float(bsz), scratch: ps.baseAddress!))
                } } }
                total += ce * Double(bsz)
                for k in 0..<c { grad[k] = 0 }
                for r in 0..<bsz { for k in 0..<c { grad[k] += logits[r * c + k] * u[r * c + k] } }
                for k in 0..<c { vel[k] = mu * vel[k] + grad[k]; scales[k] -= lr * vel[k] }
            }
            let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            let st = EpochStats(epoch: e, loss: total / Double(max(n, 1)), kdLoss: 0, rows: n, seconds: secs)
            reports.append(try report(phase: 1, stats: st, model: scaled(), raw: raw))
            try endOfEpoch(phase: 1, epochsDone: e + 1, total: config.sgd.epochs) {
                TrainingState(phase: 1, epochsDone: e + 1, fingerprint: fingerprint, model: g1, velocityW: [], velocityB: [],
                              history: reports, scales: scales, scaleVelocity: vel)
            }
        }
        return (scaled(), reports)
    }
}
