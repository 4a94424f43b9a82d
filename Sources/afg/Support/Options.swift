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
    @Option(name: .setting(S.many), help: .init(S.many)) var many = S.many.value
    @Option(name: .setting(S.few), help: .init(S.few)) var few = S.few.value

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
            help: "Tukey λ applied to every feature file (0 = log), or auto: \(Tukey.Settings.lambda.value) when every training feature is ≥ 0, else none. A number must be finite.")
    var tukey = "auto"
    @Flag(help: "No Tukey transform.") var noTukey = false

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
    @Option(name: .setting(S.k), help: .init(S.k)) var k = S.k.value
    @Option(name: .setting(S.alpha), help: .init(S.alpha)) var alpha = S.alpha.value
    @Option(name: .setting(S.initialBeta), help: .init(S.initialBeta)) var initialBeta = S.initialBeta.value
    @Option(name: .setting(S.headThreshold), help: "A class is tail when n_c < this (default: 100; with --select-on-val on the converged solver, ⌈n_max/3⌉ from the data). Must be ≥ 0.")
    var headThreshold: Int?
    @Option(help: "Calibrated mean: sample (μ' = z̃) or pull (towards the donors' means).")
    var meanMode = GeneratorConfig().meanMode
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

    /// The generator configuration (GLAG weighting; `afg calibrate --weighting` overrides it).
    var config: GeneratorConfig {
        GeneratorConfig(k: k, alpha: alpha, initialBeta: initialBeta, headThreshold: headThreshold ?? S.headThreshold.value,
                        meanMode: meanMode,
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
    @Option(name: .setting(S.epochs), help: .init(S.epochs)) var epochs = S.epochs.value
    @Option(name: .setting(S.learningRate), help: .init(S.learningRate)) var lr = S.learningRate.value
    @Option(name: .setting(S.batchSize), help: .init(S.batchSize)) var batchSize = S.batchSize.value
    @Option(name: .setting(S.momentum), help: .init(S.momentum)) var momentum = S.momentum.value
    @Option(name: .setting(S.weightDecay), help: .init(S.weightDecay)) var weightDecay = S.weightDecay.value
    @Option(name: .setting(TrainConfig.Settings.lwsLearningRate), help: .init(TrainConfig.Settings.lwsLearningRate))
    var lwsLr = TrainConfig.Settings.lwsLearningRate.value
    @Option(name: .setting(TrainConfig.Settings.epochRows), help: .init(TrainConfig.Settings.epochRows)) var epochRows: Int?

    var config: SGDConfig {
        SGDConfig(learningRate: lr, momentum: momentum, weightDecay: weightDecay, batchSize: batchSize, epochs: epochs)
    }
}

/// GLAG's ablations, KD term and adaptive confidence.
struct GLAGOptions: ParsableArguments {
    typealias K = KDSettings.Settings
    @Flag(help: "GLAG ablation: keep β fixed.") var noAdaptive = false
    @Flag(help: "GLAG ablation: no KD term.") var noKd = false
    @Option(name: .setting(K.maxWeight), help: .init(K.maxWeight)) var kdMax = K.maxWeight.value
    @Option(name: .setting(K.temperature), help: .init(K.temperature)) var kdTemperature = K.temperature.value
    @Option(name: .setting(K.gamma), help: .init(K.gamma)) var kdGamma = K.gamma.value
    @Option(help: "β update rule: net or own.") var betaRule = BetaUpdate().rule
    @Option(name: .setting(BetaUpdate.Settings.step), help: .init(BetaUpdate.Settings.step))
    var betaStep = BetaUpdate.Settings.step.value

    var kd: KDSettings { KDSettings(schedule: GradualSchedule(maxValue: kdMax, gamma: kdGamma), temperature: kdTemperature) }
}

/// `--solver lbfgs` and its settings; `--select-on-val` (either solver).
struct SolverOptions: ParsableArguments {
    typealias S = GLAGSolverConfig.Settings
    enum Solver: String, ExpressibleByArgument, CaseIterable { case sgd, lbfgs }
    /// `--C`: a number, or `auto` (cross-validated on the grid of `RegressionCV`).
    enum CChoice: ExpressibleByArgument, Equatable {
        case auto, value(Double), invalid(String)
        init?(argument: String) {
            if argument == "auto" { self = .auto } else if let v = Double(argument) { self = .value(v) } else { self = .invalid(argument) }
        }
    }
    @Option(help: "Solver: sgd (mini-batch; streams) or lbfgs (converged full-batch logistic regression; methods glag, crt, ce). Default: lbfgs for glag (sgd with --epoch-rows, --checkpoint-every or --resume), sgd for the other methods.")
    var solver: Solver?
    @Option(name: .customLong("C"), help: "lbfgs: inverse L2 strength, as scikit-learn's C (l2 = 1/(C·Σ weights)), a number > 0, or auto: stratified 5-fold cross-validation over 1e-4, 1e-3, …, 1e4 on train + val (rows centred and divided by one pooled standard deviation), then a refit on train + val. Default: auto when --val is given, else 1.")
    var inverseRegularizationChoice: CChoice?
    @Option(name: .customLong("rounds"), help: "lbfgs glag: run the multi-round GLAG (each round a fresh generated set, adaptive β, KD from --kd-teacher) for N rounds instead of one generated set + regression. Must be ≥ 1.")
    var rounds: Int?
    @Option(help: "lbfgs glag: KD teacher: balanced (class-weighted regression), stage-one (--teacher), none.")
    var kdTeacher = GLAGSolverConfig().teacher
    @Option(name: .customLong("init"), help: "lbfgs glag: start from the teacher or from zero.")
    var initialization = GLAGSolverConfig().initialization
    @Flag(help: "glag: the recommended command. On the converged solver (the default with this flag): chooses between the class-weighted regression and one generated set + regression, and C, by stratified 5-fold cross-validation over train + val (the blend is kept unless the regression beats it in a one-sided corrected resampled t-test at 5 % over the folds), prints the grid, refits on train + val; never reads a test file. With --solver sgd: KD teacher (stage-one / balanced / none) × initial β chosen on --val.")
    var selectOnVal = false
    @Option(name: .setting(S.gradientTolerance), help: .init(S.gradientTolerance)) var tolerance = S.gradientTolerance.value
    @Option(name: .setting(GeneratedRegression.Settings.blend), help: .init(GeneratedRegression.Settings.blend))
    var blend = GeneratedRegression.Settings.blend.value
    @Flag(help: "lbfgs glag on Tukey-transformed features: blend with the class-weighted regression on the transformed features, so the classifier file holds one linear head (loadable as a torch.nn.Linear on Tukey-transformed features). Default: with the regression on the raw features, a second head (raw_weight) in the file.")
    var singleHead = false

    /// The solver a run of `method` uses: the flag, else lbfgs for glag unless an SGD-only
    /// flag (`streaming`: --epoch-rows, checkpoints) asks for SGD.
    func effectiveSolver(method: Method, streaming: Bool) -> Solver {
        solver ?? (method == .glag && !streaming ? .lbfgs : .sgd)
    }
    /// `--C` as given, or its default (`auto` with a validation file, else 1).
    func cChoice(hasValidation: Bool) -> CChoice { inverseRegularizationChoice ?? (hasValidation ? .auto : .value(S.inverseRegularization.value)) }
    /// A fixed `C` (the SGD paths' balanced teacher; 1 when `auto`).
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
            try GeneratedRegression.Settings.blend.check(blend)
        }
    }
}

/// `--checkpoint-every`, `--resume` (the SGD path).
struct CheckpointOptions: ParsableArguments {
    @Option(help: "Write a checkpoint (<out>.ckpt) every N epochs (0 = never). Must be ≥ 0.") var checkpointEvery = 0
    @Flag(help: "Resume from <out>.ckpt if it exists.") var resume = false
}
