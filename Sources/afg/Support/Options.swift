import AFG
import ArgumentParser
import Classifier
import FeatureIO

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
    var console: Console { Console(quiet: quiet) }
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

/// `--tukey`, `--no-tukey`.
struct TukeyOptions: ParsableArguments {
    @Option(name: .setting(Tukey.Settings.lambda), help: .init(Tukey.Settings.lambda)) var tukey = Tukey.Settings.lambda.value
    @Flag(help: "No Tukey transform.") var noTukey = false

    func validate() throws { try checkingSettings { try Tukey.Settings.lambda.check(tukey) } }
    /// The λ to apply (nil: none).
    var lambda: Float? { noTukey ? nil : tukey }
}

/// The generator's settings (`afg calibrate`, and `afg train` for glag / tailcalib).
struct GeneratorOptions: ParsableArguments {
    typealias S = GeneratorConfig.Settings
    @Option(name: .setting(S.k), help: .init(S.k)) var k = S.k.value
    @Option(name: .setting(S.alpha), help: .init(S.alpha)) var alpha = S.alpha.value
    @Option(name: .setting(S.initialBeta), help: .init(S.initialBeta)) var initialBeta = S.initialBeta.value
    @Option(name: .setting(S.headThreshold), help: .init(S.headThreshold)) var headThreshold = S.headThreshold.value
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
        GeneratorConfig(k: k, alpha: alpha, initialBeta: initialBeta, headThreshold: headThreshold, meanMode: meanMode,
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
