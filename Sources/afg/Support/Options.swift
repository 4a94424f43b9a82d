import AFG
import ArgumentParser
import Classifier
import FeatureIO
import Linalg

// The option groups every subcommand that takes them shares. Each numeric option derives
// its flag, `--help` text and check from the library's `Setting` (AFG's Settings.swift):
// the default and interval are declared once, in the library. Checks run in `validate()`,
// before any file is read, and fail with one line (`CLIError`).

extension ArgumentHelp {
    /// The help of a declared setting: its sentence and its interval.
    init<V>(_ s: Setting<V>) { self.init(stringLiteral: s.helpText) }
    /// The help of a declared setting whose option is optional (so that a run knows it was
    /// given): its sentence, its interval and its default.
    init<V>(defaulted s: Setting<V>, note: String = "") {
        self.init(stringLiteral: s.helpText + (s.defaultValue.map { " Default: \($0)\(note)." } ?? ""))
    }
}

extension NameSpecification {
    /// The long flag of a declared setting.
    static func setting<V>(_ s: Setting<V>) -> NameSpecification { .customLong(s.name) }
}

extension MeanMode: ExpressibleByArgument {}
extension Weighting: ExpressibleByArgument {}
extension BetaRule: ExpressibleByArgument {}
extension Method: ExpressibleByArgument {}
extension TeacherKind: ExpressibleByArgument {}
extension InitKind: ExpressibleByArgument {}

/// `--quiet`, `--json`.
struct OutputOptions: ParsableArguments {
    @Flag(help: "No progress on stderr.") var quiet = false
    @Flag(help: "Print the result as JSON.") var json = false
    /// Progress on stderr: rank 0's only under MPI.
    var console: Console { Console(quiet: quiet || !Job.ranks.isRoot) }
}

/// `--many`, `--few`: the Many / Medium / Few cut points of a report.
struct ShotOptions: ParsableArguments {
    typealias S = ShotThresholds.Settings
    @Option(name: .setting(S.many), help: .init(defaulted: S.many)) var givenMany: Int?
    @Option(name: .setting(S.few), help: .init(defaulted: S.few)) var givenFew: Int?
    var many: Int { givenMany ?? S.many.value }
    var few: Int { givenFew ?? S.few.value }
    /// Whether either cut point was given.
    var given: Bool { givenMany != nil || givenFew != nil }

    func validate() throws {
        try checkingSettings { try S.many.check(many); try S.few.check(few) }
        guard few <= many + 1 else {
            throw CLIError("--few \(few) must not exceed --many \(many) + 1 (Few: n < few, Many: n > many)")
        }
    }
    var thresholds: ShotThresholds { ShotThresholds(many: many, few: few) }
}

/// `--tukey auto|λ`, `--no-tukey`. `auto` (the default) is 0.5 when every training
/// feature is ≥ 0 (pooled post-ReLU features) and no transform otherwise (signed
/// embeddings, where a fractional power is undefined).
struct TukeyOptions: ParsableArguments {
    @Option(name: .setting(Tukey.Settings.lambda),
            help: "Tukey λ applied to every feature file (0 = log), or auto: \(Tukey.Settings.lambda.value) when every training feature is ≥ 0, else none. A number must be finite. Default: auto.")
    var givenTukey: String?
    @Flag(help: "No Tukey transform.") var noTukey = false
    var tukey: String { givenTukey ?? "auto" }
    /// Whether --tukey or --no-tukey was given.
    var given: Bool { givenTukey != nil || noTukey }

    func validate() throws {
        if tukey == "auto" { return }
        guard let v = Float(tukey) else { throw CLIError("--tukey must be auto or a number (got \(tukey))") }
        try checkingSettings { try Tukey.Settings.lambda.check(v) }
    }

    /// The λ to apply to features whose smallest value is `minimum` (nil: none), and what
    /// `auto` decided, for the run's notes.
    func lambda(minimum: Float) -> (lambda: Float?, note: String?) {
        if noTukey { return (nil, nil) }
        guard tukey == "auto" else { return (Float(tukey)!, nil) }
        if minimum >= 0 { return (Tukey.Settings.lambda.value, "--tukey auto: λ = \(Tukey.Settings.lambda.value) (every training feature is ≥ 0)") }
        return (nil, "--tukey auto: no transform (the training features have negative values, minimum \(minimum))")
    }
}

/// The generator's settings (`afg calibrate`, and `afg train` for glag / tailcalib).
struct GeneratorOptions: ParsableArguments {
    typealias S = GeneratorConfig.Settings
    @Option(name: .setting(S.k), help: .init(defaulted: S.k)) var k: Int?
    @Option(name: .setting(S.alpha), help: .init(defaulted: S.alpha)) var alpha: Float?
    @Option(name: .setting(S.initialBeta), help: .init(defaulted: S.initialBeta, note: "; \(GeneratedRegression.Settings.initialBeta) for glag on the converged solver (lbfgs), which does not adapt β"))
    var initialBeta: Float?
    @Option(name: .setting(S.headThreshold), help: "A class is tail when n_c < this. Must be ≥ 0. Default: \(S.headThreshold.value); for glag on the converged solver (lbfgs), ⌈n_max/3⌉ of the rows it fits.")
    var headThreshold: Int?
    @Option(help: "Calibrated mean: sample (μ' = z̃) or pull (towards the donors' means). Default: sample.")
    var meanMode: MeanMode?
    @Option(name: .setting(S.targetPerClass), help: .init(S.targetPerClass)) var targetPerClass: Int?
    /// Old spellings (`afg calibrate` before this release), kept for one release with a warning.
    @Option(name: .customLong("beta"), help: .hidden) var legacyBeta: Float?
    @Option(name: .customLong("per-class"), help: .hidden) var legacyPerClass: Int?

    mutating func validate() throws {
        if let b = legacyBeta {
            Console.stderr("warning: --beta is deprecated and goes in the next release; use --initial-beta")
            initialBeta = b; legacyBeta = nil
        }
        if let m = legacyPerClass {
            Console.stderr("warning: --per-class is deprecated and goes in the next release; use --target-per-class")
            targetPerClass = m; legacyPerClass = nil
        }
        try checkingSettings { try config.checkSettings() }
    }

    /// The flags given, by name.
    var given: [String] {
        [(k != nil, S.k.name), (alpha != nil, S.alpha.name), (initialBeta != nil, S.initialBeta.name),
         (headThreshold != nil, S.headThreshold.name), (meanMode != nil, "mean-mode"),
         (targetPerClass != nil, S.targetPerClass.name)].filter(\.0).map { "--" + $0.1 }
    }

    /// The generator configuration (GLAG weighting; `afg calibrate --weighting` overrides it).
    var config: GeneratorConfig { config(initialBeta: S.initialBeta.value) }

    /// The configuration with `initialBeta` as the default confidence (the converged
    /// solver's differs from the SGD path's).
    func config(initialBeta defaultBeta: Float) -> GeneratorConfig {
        GeneratorConfig(k: k ?? S.k.value, alpha: alpha ?? S.alpha.value, initialBeta: initialBeta ?? defaultBeta,
                        headThreshold: headThreshold ?? S.headThreshold.value, meanMode: meanMode ?? .sample,
                        targetPerClass: targetPerClass)
    }
}

/// Where the datasets of a feature file live (`--features-key`, `--labels-key`,
/// `--class-names-key`).
struct DatasetKeyOptions: ParsableArguments {
    @Option(name: .customLong("features-key"), help: "Dataset (array, tensor) holding the N × D features (e.g. train/feats).")
    var features = "features"
    @Option(name: .customLong("labels-key"), help: "Dataset holding the N integer labels (e.g. train/targets).")
    var labels = "labels"
    @Option(name: .customLong("class-names-key"), help: "Dataset holding the C class names (optional in the file).")
    var classNames = "class_names"

    var keys: DatasetKeys { DatasetKeys(features: features, labels: labels, classNames: classNames) }
}

/// `--class-names-may-differ`: the waiver of the class-name check (`checkClassNames`).
struct ClassNameOptions: ParsableArguments {
    @Flag(help: "Accept --val, --test, --teacher or --compare files whose class names differ from the training file's (or the classifier's); the labels are still read as indices 0..<C.")
    var classNamesMayDiffer = false
}

/// `--head-key`: which weight / bias pair of a PyTorch state_dict is the head.
struct HeadKeyOption: ParsableArguments {
    @Option(name: .customLong("head-key"),
            help: "Prefix of the head's weight and bias in a state_dict (e.g. fc, heads.0); needed only when the file holds several of weight, fc.*, linear.*, head.*, classifier.*.")
    var headKey: String?
}

// MARK: - afg train

/// `--epochs`, `--lr`, … : the SGD path's optimiser (and `lws`'s scales, the budget).
struct SGDOptions: ParsableArguments {
    typealias S = SGDConfig.Settings
    @Option(name: .setting(S.epochs), help: .init(defaulted: S.epochs)) var epochs: Int?
    @Option(name: .setting(S.learningRate), help: .init(defaulted: S.learningRate)) var lr: Float?
    @Option(name: .setting(S.batchSize), help: .init(defaulted: S.batchSize)) var batchSize: Int?
    @Option(name: .setting(S.momentum), help: .init(defaulted: S.momentum)) var momentum: Float?
    @Option(name: .setting(S.weightDecay), help: .init(defaulted: S.weightDecay)) var weightDecay: Float?
    @Option(name: .setting(TrainConfig.Settings.lwsLearningRate), help: .init(defaulted: TrainConfig.Settings.lwsLearningRate))
    var lwsLr: Float?
    @Option(name: .setting(TrainConfig.Settings.epochRows), help: .init(TrainConfig.Settings.epochRows)) var epochRows: Int?

    var config: SGDConfig {
        SGDConfig(learningRate: lr ?? S.learningRate.value, momentum: momentum ?? S.momentum.value,
                  weightDecay: weightDecay ?? S.weightDecay.value, batchSize: batchSize ?? S.batchSize.value,
                  epochs: epochs ?? S.epochs.value)
    }

    /// The optimiser's flags given, by name (`--lws-lr` and `--epoch-rows` apart).
    var optimiserGiven: [String] {
        [(epochs != nil, S.epochs.name), (lr != nil, S.learningRate.name), (batchSize != nil, S.batchSize.name),
         (momentum != nil, S.momentum.name), (weightDecay != nil, S.weightDecay.name)].filter(\.0).map { "--" + $0.1 }
    }
}

/// GLAG's ablations, KD term and adaptive confidence.
struct GLAGOptions: ParsableArguments {
    typealias K = KDSettings.Settings
    @Flag(help: "GLAG ablation: keep β fixed.") var noAdaptive = false
    @Flag(help: "GLAG ablation: no KD term.") var noKd = false
    @Option(name: .setting(K.maxWeight), help: .init(defaulted: K.maxWeight)) var kdMax: Double?
    @Option(name: .setting(K.temperature), help: .init(defaulted: K.temperature)) var kdTemperature: Float?
    @Option(name: .setting(K.gamma), help: .init(defaulted: K.gamma)) var kdGamma: Double?
    @Option(help: "β update rule: net or own. Default: net.") var betaRule: BetaRule?
    @Option(name: .setting(BetaUpdate.Settings.step), help: .init(defaulted: BetaUpdate.Settings.step))
    var betaStep: Float?

    var kd: KDSettings {
        KDSettings(schedule: GradualSchedule(maxValue: kdMax ?? K.maxWeight.value, gamma: kdGamma ?? K.gamma.value),
                   temperature: kdTemperature ?? K.temperature.value)
    }
    var betaUpdate: BetaUpdate { BetaUpdate(rule: betaRule ?? .net, step: betaStep ?? BetaUpdate.Settings.step.value) }

    /// The KD flags given (`--kd-max`, `--kd-temperature`, `--kd-gamma`).
    var kdGiven: [String] {
        [(kdMax != nil, K.maxWeight.name), (kdTemperature != nil, K.temperature.name), (kdGamma != nil, K.gamma.name)]
            .filter(\.0).map { "--" + $0.1 }
    }
    /// The β-update flags given (`--beta-rule`, `--beta-step`).
    var betaGiven: [String] {
        [(betaRule != nil, "beta-rule"), (betaStep != nil, BetaUpdate.Settings.step.name)].filter(\.0).map { "--" + $0.1 }
    }
}

/// `--solver lbfgs` and its settings; `--select-on-val` (either solver).
struct SolverOptions: ParsableArguments {
    typealias S = GLAGSolverConfig.Settings
    typealias G = GeneratedRegression.Settings
    enum Solver: String, ExpressibleByArgument, CaseIterable { case sgd, lbfgs }
    /// `--C`: a number, or `auto` (cross-validated on the grid of `RegressionCV`).
    enum CChoice: ExpressibleByArgument, Equatable {
        case auto, value(Double), invalid(String)
        init?(argument: String) {
            if argument == "auto" { self = .auto } else if let v = Double(argument) { self = .value(v) } else { self = .invalid(argument) }
        }
    }
    @Option(help: "Solver: sgd (mini-batch; streams) or lbfgs (converged full-batch logistic regression; methods glag, crt, ce, logit-adjust, balanced-softmax). Default: lbfgs for glag (sgd with --epoch-rows, --checkpoint-every or --resume), sgd for the other methods.")
    var solver: Solver?
    @Option(name: .customLong("C"), help: "lbfgs: inverse L2 strength, as scikit-learn's C (l2 = 1/(C·Σ weights)), a number > 0, or auto: stratified 5-fold cross-validation over 1e-4, 1e-3, …, 1e4 on train + val (rows centred and divided by one pooled standard deviation), then a refit on train + val. Default: auto when --val is given, and always for logit-adjust and balanced-softmax; else 1. SGD glag --select-on-val: C of the balanced teacher (default 1).")
    var inverseRegularizationChoice: CChoice?
    @Option(name: .customLong("rounds"), help: "lbfgs glag: run the multi-round GLAG (each round a fresh generated set, adaptive β, KD from --kd-teacher) for N rounds instead of one generated set + regression. Must be ≥ 1.")
    var rounds: Int?
    @Option(help: "lbfgs glag --rounds: KD teacher: balanced (class-weighted regression), stage-one (--teacher), none. Default: balanced.")
    var kdTeacher: TeacherKind?
    @Option(name: .customLong("init"), help: "lbfgs glag --rounds: start from the teacher or from zero. Default: teacher.")
    var initialization: InitKind?
    @Flag(help: "glag: the recommended command. On the converged solver (the default with this flag): chooses between the class-weighted regression and one generated set + regression, and C, by stratified 5-fold cross-validation over train + val (train alone without --val; the blend is kept unless the regression beats it in a one-sided corrected resampled t-test at 5 % over the folds), prints the grid, refits on every labelled row; never reads a test file. With --solver sgd: KD teacher (stage-one / balanced / none) × initial β chosen on --val.")
    var selectOnVal = false
    @Option(name: .setting(S.gradientTolerance), help: .init(defaulted: S.gradientTolerance)) var givenTolerance: Double?
    @Option(name: .setting(G.blend), help: .init(defaulted: G.blend)) var givenBlend: Double?
    @Option(name: .setting(G.cDivisor), help: .init(defaulted: G.cDivisor)) var givenCDivisor: Double?
    @Flag(help: "lbfgs glag on Tukey-transformed features: blend with the class-weighted regression on the transformed features, so the classifier file holds one linear head (loadable as a torch.nn.Linear on Tukey-transformed features). Default: with the regression on the raw features, a second head (raw_weight) in the file.")
    var singleHead = false
    @Flag(help: "lbfgs glag --select-on-val: no memory head (labelled rows whose balanced kernel density the folds may mix into the scores), so the classifier is linear (loadable as a torch.nn.Linear) and its file holds no training rows. Default: the folds choose the head's weight, 0 among them.")
    var noMemoryHead = false

    var tolerance: Double { givenTolerance ?? S.gradientTolerance.value }
    var blend: Double { givenBlend ?? G.blend.value }
    var cDivisor: Double { givenCDivisor ?? G.cDivisor.value }

    /// The solver a run of `method` uses: the flag, else lbfgs for glag unless an SGD-only
    /// flag (`streaming`: --epoch-rows, checkpoints) asks for SGD.
    func effectiveSolver(method: Method, streaming: Bool) -> Solver {
        solver ?? (method == .glag && !streaming ? .lbfgs : .sgd)
    }
    /// `--C` as given, or its default (`auto` with a validation file, else 1).
    func cChoice(hasValidation: Bool) -> CChoice { inverseRegularizationChoice ?? (hasValidation ? .auto : .value(S.inverseRegularization.value)) }
    /// A fixed `C` (the SGD grid's balanced teacher; 1 when `auto`).
    var inverseRegularization: Double {
        if case .value(let v)? = inverseRegularizationChoice { return v }
        return S.inverseRegularization.value
    }

    func validate() throws {
        try checkingSettings {
            if case .invalid(let text)? = inverseRegularizationChoice { throw CLIError("--C must be auto or a number > 0 (got \(text))") }
            if case .value(let v)? = inverseRegularizationChoice { try S.inverseRegularization.check(v) }
            if let r = rounds { try S.rounds.check(r) }
            try S.gradientTolerance.check(tolerance)
            try G.blend.check(blend)
            try G.cDivisor.check(cDivisor)
        }
    }
}

/// `--checkpoint-every`, `--resume` (the SGD path).
struct CheckpointOptions: ParsableArguments {
    @Option(name: .customLong("checkpoint-every"), help: "Write a checkpoint (<out>.ckpt) every N epochs (0 = never). Must be ≥ 0. Default: 0.")
    var givenCheckpointEvery: Int?
    @Flag(help: "Resume from <out>.ckpt if it exists.") var resume = false
    var checkpointEvery: Int { givenCheckpointEvery ?? 0 }
}
