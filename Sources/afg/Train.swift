import ArgumentParser
import Foundation
import AFG
import Classifier
import FeatureIO
import Linalg

/// A one-line CLI error (ArgumentParser prints `Error: <description>`).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}

extension Method: ExpressibleByArgument {}

/// Loads a feature file and applies a Tukey λ (nil = none); errors name the file.
/// The rows live in `x` only: the returned set's `features` is emptied (one copy of N × D).
func loadFeatures(_ path: String, numClasses: Int? = nil, lambda: Float?) throws -> (set: FeatureSet, x: Matrix<Float>) {
    var set = try FeatureStore.readFeatures(path: path, numClasses: numClasses)
    var m = Matrix(rows: set.count, cols: set.dim, data: set.features)
    set.features = []   // else the in-place transform below copies the N × D buffer (copy on write)
    if let l = lambda {
        do { try Tukey.apply(&m, lambda: l) } catch { throw CLIError("\(path): dataset features: \(error)") }
    }
    return (set, m)
}

func stderrLine(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

func pct(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a" }

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the stage-two linear classifier (GLAG or a baseline) on feature files.",
        discussion: """
        Features are Tukey-transformed with --tukey (default 0.5) before training; the \
        classifier file records λ so `afg evaluate` applies the same transform. Methods \
        lws, tau-norm and logit-adjust post-process the --teacher (on its own input \
        space) or, without one, a cross-entropy classifier trained here. Progress per \
        epoch goes to stderr; the summary (or --json) to stdout.
        """)

    @Option(help: "Stage-two method.") var method: Method
    @Option(help: "Training feature file (HDF5).") var train: String
    @Option(help: "Validation feature file: adaptive β, choice of p / τ, progress.") var val: String?
    @Option(help: "Stage-one classifier file g₁ (KD teacher, start point, base of the post-hoc methods).") var teacher: String?
    @Option(help: "Output classifier file.") var out: String

    @Option(help: "Epochs (GLAG: generation epochs).") var epochs = 40
    @Option(help: "Peak learning rate (cosine schedule to 0).") var lr: Float = 0.1
    @Option(help: "Rows per mini-batch.") var batchSize = 256
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Option(help: "Weight decay on W.") var weightDecay: Float = 5e-4
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Tukey λ applied to every feature file (0 = log).") var tukey: Float = 0.5
    @Flag(help: "No Tukey transform.") var noTukey = false

    @Flag(help: "GLAG ablation: keep β fixed.") var noAdaptive = false
    @Flag(help: "GLAG ablation: no KD term.") var noKd = false
    @Option(help: "KD weight at the end of training (kd_max).") var kdMax: Double = 1
    @Option(help: "KD temperature.") var kdTemperature: Float = 2
    @Option(help: "Curvature γ of the KD schedule (shared GraLoss shape).") var kdGamma: Double = 3
    @Option(help: "Support classes per tail sample.") var k = 2
    @Option(help: "Extra isotropic spread α.") var alpha: Float = 0
    @Option(help: "Initial β of tail classes.") var initialBeta: Float = 0.6
    @Option(help: "A class is tail when n_c < this.") var headThreshold = 100
    @Option(help: "Calibrated mean: sample or pull.") var meanMode = "sample"
    @Option(help: "β update rule: net or own.") var betaRule = "net"
    @Option(help: "β step δ.") var betaStep: Float = 0.05
    @Option(help: "Rows per class after generation (default n_max).") var targetPerClass: Int?
    @Option(help: "lws: learning rate of the per-class scales.") var lwsLr: Float = 0.1
    @Option(help: "GLAG/TailCalib class-balanced budget: N rows per epoch, q = ⌈N/C⌉ per class (q real rows drawn without replacement, or all real rows plus q − n_c generated ones), generated rows streamed. Default: every class filled to n_max.") var epochRows: Int?

    @Option(help: "Many: training count > this.") var many = 100
    @Option(help: "Few: training count < this.") var few = 20

    @Option(help: "Write a checkpoint (<out>.ckpt) every N epochs (0 = never).") var checkpointEvery = 0
    @Flag(help: "Resume from <out>.ckpt if it exists.") var resume = false
    @Flag(help: "No progress on stderr.") var quiet = false
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup(title: "Converged solver") var solverOptions: SolverOptions

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
        if !["sample", "pull"].contains(meanMode) { throw ValidationError("--mean-mode must be sample or pull") }
        if !["net", "own"].contains(betaRule) { throw ValidationError("--beta-rule must be net or own") }
        if few > many + 1 { throw ValidationError("--few must not exceed --many") }
        if !(kdTemperature > 0) { throw ValidationError("--kd-temperature must be positive") }
        if checkpointEvery < 0 { throw ValidationError("--checkpoint-every must be >= 0") }
    }

    var config: TrainConfig {
        var c = TrainConfig(method: method)
        c.sgd = SGDConfig(learningRate: lr, momentum: momentum, weightDecay: weightDecay, batchSize: batchSize, epochs: epochs)
        c.seed = seed
        c.adaptive = !noAdaptive; c.useKD = !noKd
        c.kd = KDSettings(schedule: GradualSchedule(maxValue: kdMax, gamma: kdGamma), temperature: kdTemperature)
        c.generation.k = k; c.generation.alpha = alpha; c.generation.initialBeta = initialBeta
        c.generation.headThreshold = headThreshold; c.generation.meanMode = meanMode; c.generation.betaRule = betaRule
        c.generation.betaStep = betaStep; c.generation.targetPerClass = targetPerClass
        c.lwsLearningRate = lwsLr; c.generation.epochRows = epochRows
        c.thresholds = ShotThresholds(many: many, few: few)
        return c
    }

    func run() throws {
        if solverOptions.solver == .lbfgs { return try runSolver() }
        let lambda: Float? = noTukey ? nil : tukey
        let cfg = config
        let (trainSet, trainX) = try loadFeatures(train, lambda: lambda)
        let c = trainSet.numClasses
        var valSet: FeatureSet?, valX: Matrix<Float>?
        if let v = val {
            let (s, x) = try loadFeatures(v, numClasses: c, lambda: lambda)
            if s.dim != trainSet.dim { throw CLIError("\(v): feature dimension \(s.dim), training file \(train) has \(trainSet.dim)") }
            valSet = s; valX = x
        }
        var teacherModel: LinearModel?, rawTrain: Matrix<Float>?, rawVal: Matrix<Float>?, teacherLambda: Float?
        if let t = teacher {
            let f = try FeatureStore.readClassifier(path: t)
            if f.numClasses != c { throw CLIError("\(t): \(f.numClasses) classes, training file \(train) has \(c)") }
            if f.dim != trainSet.dim { throw CLIError("\(t): dimension \(f.dim), training file \(train) has \(trainSet.dim)") }
            teacherModel = LinearModel(weight: Matrix(rows: f.numClasses, cols: f.dim, data: f.weight), bias: f.bias)
            teacherLambda = f.tukeyLambda
            // The teacher's input: the features under its own recorded λ.
            if f.tukeyLambda != lambda {
                rawTrain = try loadFeatures(train, lambda: f.tukeyLambda).x
                if let v = val { rawVal = try loadFeatures(v, numClasses: c, lambda: f.tukeyLambda).x }
            }
        }
        let inputs = TrainInputs(
            train: LabeledFeatures(features: trainX, labels: trainSet.labels, numClasses: c),
            val: valSet.map { LabeledFeatures(features: valX!, labels: $0.labels, numClasses: c) },
            teacher: teacherModel, rawTrain: rawTrain, rawVal: rawVal)
        if solverOptions.selectOnVal {
            return try runSelection(cfg, inputs: inputs, lambda: lambda, trainSet: trainSet)
        }
        let trainer = try Trainer(config: cfg, inputs: inputs)
        let ckpt = out + ".ckpt"
        var state: TrainingState?
        if resume {
            if FileManager.default.fileExists(atPath: ckpt) {
                guard let data = FileManager.default.contents(atPath: ckpt) else { throw CLIError("\(ckpt): cannot read") }
                do { state = try TrainingState(encoded: [UInt8](data)) } catch { throw CLIError("\(ckpt): \(error)") }
                if !quiet { stderrLine("resuming from \(ckpt) after epoch \(state!.epochsDone) (phase \(state!.phase))") }
            } else if !quiet {
                stderrLine("no checkpoint at \(ckpt): starting from scratch")
            }
        }
        trainer.checkpointEvery = checkpointEvery
        trainer.onCheckpoint = { s in
            let bytes = Data(s.encoded())
            try writeAtomically(to: ckpt) { tmp in
                guard FileManager.default.createFile(atPath: tmp, contents: bytes) else {
                    throw CLIError("\(ckpt): cannot write the checkpoint")
                }
            }
        }
        let total = epochs
        if !quiet {
            trainer.onEpoch = { r in
                var line = "\(r.phase == 1 ? "lws " : "")epoch \(r.epoch + 1)/\(total)  loss \(String(format: "%.4f", r.loss))"
                if r.kdLoss > 0 { line += " (kd \(String(format: "%.4f", r.kdLoss)))" }
                line += "  val \(pct(r.valAccuracy))  few \(pct(r.valFew))  \(Int(r.rowsPerSecond)) rows/s"
                if let b = r.meanTailBeta { line += String(format: "  mean tail β %.3f", b) }
                stderrLine(line)
            }
        }
        let result: TrainResult
        do { result = try trainer.run(resumingFrom: state) } catch let e as TrainError { throw CLIError("\(e)") }
        if !quiet { for n in result.notes { stderrLine("note: \(n)") } }
        let recordedLambda = result.inputSpace == .transformed ? lambda : teacherLambda
        let file = ClassifierFile(numClasses: c, dim: trainSet.dim, weight: result.model.weight.data, bias: result.model.bias,
                                  classCounts: result.classCounts, method: methodName, tukeyLambda: recordedLambda,
                                  configJSON: recordJSON(cfg, result: result, lambda: recordedLambda), classNames: trainSet.classNames)
        try FeatureStore.writeClassifier(file, to: out)
        if FileManager.default.fileExists(atPath: ckpt) { try? FileManager.default.removeItem(atPath: ckpt) }
        let valMetrics: Metrics? = valSet.map { v in
            let x = result.inputSpace == .transformed ? valX! : (rawVal ?? valX!)
            return Metrics(model: result.model, features: x, labels: v.labels, trainCounts: result.classCounts, thresholds: cfg.thresholds)
        }
        try printSummary(result, lambda: recordedLambda, validation: valMetrics)
    }

    /// The run's summary on stdout (text, or JSON with `--json`).
    func printSummary(_ result: TrainResult, lambda recordedLambda: Float?, validation valMetrics: Metrics?,
                      selection: [String: Double]? = nil, chosenSetting: String? = nil) throws {
        if json {
            struct Out: Encodable {
                var out: String, method: String, tukeyLambda: Float?, epochs: Int, chosen: [String: Double]
                var notes: [String], validation: Summary?, history: [EpochReport]
                var selected: String?, selectionGrid: [String: Double]?
            }
            let o = Out(out: out, method: methodName, tukeyLambda: recordedLambda, epochs: epochs, chosen: result.chosen,
                        notes: result.notes, validation: valMetrics.map(Summary.init), history: result.history,
                        selected: chosenSetting, selectionGrid: selection)
            print(try encodeJSON(o))
        } else {
            print("wrote \(out) (method \(methodName), Tukey λ \(recordedLambda.map { "\($0)" } ?? "none"))")
            if let s = chosenSetting { print("chosen on validation: \(s)") }
            for (k, v) in result.chosen.sorted(by: { $0.key < $1.key }) { print("chosen on validation: \(k) = \(v)") }
            if let m = valMetrics {
                print("validation: overall \(pct(m.overall))  many \(pct(m.many))  medium \(pct(m.medium))  few \(pct(m.few))  mean recall \(pct(m.meanPerClassRecall))")
            }
        }
    }

    /// The method with its ablations, e.g. `glag-no-kd`.
    var methodName: String {
        guard method == .glag else { return method.rawValue }
        return "glag" + (noAdaptive ? "-no-adaptive" : "") + (noKd ? "-no-kd" : "")
    }

    /// The classifier file's `config` attribute; `extra` is a JSON member appended as is.
    func recordJSON(_ cfg: TrainConfig, result: TrainResult, lambda: Float?, extra: String? = nil) -> String {
        var s = "{\"config\":\(cfg.json),\"input_space\":\"\(result.inputSpace.rawValue)\""
        if let l = lambda { s += ",\"tukey_lambda\":\(l)" }
        let chosen = result.chosen.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        s += ",\"chosen\":{\(chosen)}"
        if let e = extra { s += "," + e }
        return s + "}"
    }
}

/// The headline figures of `Metrics`, for JSON output.
struct Summary: Encodable {
    var overall: Double, many: Double?, medium: Double?, few: Double?, meanPerClassRecall: Double, rows: Int
    var groupSizes: [String: Int], thresholds: ShotThresholds
    init(_ m: Metrics) {
        overall = m.overall; many = m.many; medium = m.medium; few = m.few
        meanPerClassRecall = m.meanPerClassRecall; rows = m.rows; groupSizes = m.groupSizes; thresholds = m.thresholds
    }
}

func encodeJSON<T: Encodable>(_ v: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .prettyPrinted]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try e.encode(v), as: UTF8.self)
}
