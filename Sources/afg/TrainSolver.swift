import ArgumentParser
import AFG
import Classifier
import FeatureIO
import Foundation
import Linalg

/// `afg train --solver lbfgs`: the converged full-batch solver (issue 8). With it,
/// `ce` is the unweighted multinomial logistic regression, `crt` the class-weighted one
/// (`balanced`, scikit-learn's `class_weight="balanced"`), and `glag` runs GLAG rounds
/// on the solver, optionally choosing its settings on the validation split.
enum Solver: String, ExpressibleByArgument, CaseIterable { case sgd, lbfgs }

struct SolverOptions: ParsableArguments {
    @Option(help: "Solver: sgd (mini-batch; streams) or lbfgs (converged full-batch logistic regression; methods glag, crt, ce).")
    var solver: Solver = .sgd
    @Option(name: .customLong("C"), help: "lbfgs: inverse L2 strength, as scikit-learn's C (l2 = 1/(C·Σ weights)).")
    var inverseRegularization: Double = 1
    @Option(help: "lbfgs glag: generation rounds (each a fresh generated set; warm-started solve).")
    var rounds = 10
    @Option(help: "lbfgs glag: KD teacher: balanced (class-weighted regression), stage-one (--teacher), none.")
    var kdTeacher: TeacherKind = .balanced
    @Option(name: .customLong("init"), help: "lbfgs glag: start from the teacher or from zero.")
    var initialization: InitKind = .teacher
    @Flag(help: "glag: choose settings on --val by mean per-class recall and print the grid (never reads a test file). sgd: KD teacher (stage-one / balanced / none) × initial β; lbfgs: mean mode, initial β, k, KD weight, teacher.")
    var selectOnVal = false
    @Option(help: "lbfgs: stop when the largest gradient entry is below this.")
    var tolerance: Double = 1e-4

    func validate() throws {
        if !(inverseRegularization > 0) { throw ValidationError("--C must be positive") }
        if rounds < 1 { throw ValidationError("--rounds must be at least 1") }
    }
}

extension TeacherKind: ExpressibleByArgument {}
extension InitKind: ExpressibleByArgument {}

extension Train {
    /// The lbfgs path of `run()`. Loads, validates, fits, writes the classifier file atomically.
    func runSolver() throws {
        let o = solverOptions
        guard [.glag, .crt, .ce].contains(method) else {
            throw CLIError("--solver lbfgs trains glag, crt or ce; \(method.rawValue) uses --solver sgd")
        }
        if o.selectOnVal && method != .glag { throw CLIError("--select-on-val applies to --method glag") }
        if epochRows != nil { throw CLIError("--epoch-rows applies to --solver sgd (the lbfgs solver fits the whole generated set)") }
        let lambda: Float? = noTukey ? nil : tukey
        let (trainSet, x) = try loadFeatures(train, lambda: lambda)
        let c = trainSet.numClasses
        var validation: LabeledFeatures?
        if let v = val {
            let (s, vx) = try loadFeatures(v, numClasses: c, lambda: lambda)
            if s.dim != trainSet.dim { throw CLIError("\(v): feature dimension \(s.dim), training file \(train) has \(trainSet.dim)") }
            validation = LabeledFeatures(features: vx, labels: s.labels, numClasses: c)
        }
        if o.selectOnVal && validation == nil { throw CLIError("--select-on-val needs --val") }
        var stageOne: LinearModel?, teacherX: Matrix<Float>?
        if let t = teacher {
            let f = try FeatureStore.readClassifier(path: t)
            if f.numClasses != c { throw CLIError("\(t): \(f.numClasses) classes, training file \(train) has \(c)") }
            if f.dim != trainSet.dim { throw CLIError("\(t): dimension \(f.dim), training file \(train) has \(trainSet.dim)") }
            stageOne = LinearModel(weight: Matrix(rows: f.numClasses, cols: f.dim, data: f.weight), bias: f.bias)
            teacherX = f.tukeyLambda == lambda ? x : try loadFeatures(train, lambda: f.tukeyLambda).x
        }
        if method == .glag && o.kdTeacher == .stageOne && stageOne == nil && !o.selectOnVal {
            throw CLIError("--kd-teacher stage-one needs --teacher HEAD.h5")
        }
        let labels = trainSet.labels
        var counts = [Int](repeating: 0, count: c)
        for l in labels { counts[Int(l)] += 1 }

        var base = GLAGSolverConfig(generator: generatorConfig)
        base.rounds = o.rounds
        base.inverseRegularization = o.inverseRegularization
        base.teacher = noKd ? .none : o.kdTeacher
        base.initialization = o.initialization
        base.kd = GradualSchedule(maxValue: noKd ? 0 : kdMax, gamma: kdGamma)
        base.kdTemperature = Double(kdTemperature)
        base.adaptiveBeta = !noAdaptive
        base.betaRule = betaRule == "own" ? .own : .net
        base.betaStep = betaStep
        base.gradientTolerance = o.tolerance

        var model: LinearModel
        var chosen = "", record = ""
        let t0 = Date()
        switch method {
        case .ce, .crt:
            let weights = method == .crt ? LogisticRegression.balancedClassWeights(labels: labels, numClasses: c) : nil
            let total = weights.map { w in labels.reduce(0.0) { $0 + w[Int($1)] } } ?? Double(labels.count)
            let solver = LogisticRegression(gradientTolerance: o.tolerance, maxIterations: 2000)
            do {
                model = try solver.fit(features: x, labels: labels, numClasses: c, classWeights: weights,
                                       l2: LogisticRegression.l2(sklearnC: o.inverseRegularization, totalWeight: total))
            } catch { throw CLIError("\(train): \(error)") }
            record = "{\"solver\":\"lbfgs\",\"C\":\(o.inverseRegularization),\"class_weight\":\"\(method == .crt ? "balanced" : "none")\"}"
        case .glag where o.selectOnVal:
            let grid = GLAGSelection.defaultGrid(base: base, hasStageOne: stageOne != nil).filter { $0.config != nil }
            if !quiet { stderrLine("selecting on \(val!): \(grid.count) settings, score = validation mean per-class recall") }
            let outcome: GLAGSelection.Outcome
            do {
                outcome = try GLAGSelection.select(
                    grid: grid, features: x, labels: labels, numClasses: c, validation: validation!, stageOne: stageOne,
                    teacherFeatures: teacherX, seed: seed, inverseRegularization: o.inverseRegularization,
                    progress: { e in
                        if !quiet { stderrLine("  \(e.name): val mean recall \(pct(e.validationMeanRecall)), overall \(pct(e.validationAccuracy)) (\(String(format: "%.1f", e.seconds)) s)") }
                    })
            } catch { throw CLIError("\(train): \(error)") }
            model = outcome.model
            let best = outcome.entries[outcome.bestIndex]
            chosen = best.name
            let scores = outcome.entries.map {
                GridScore(name: $0.name, recall: $0.validationMeanRecall, overall: $0.validationAccuracy, detail: $0.summary)
            }
            record = "{\"solver\":\"lbfgs\",\"config\":\(jsonString(best.summary)),\(selectionMember(chosen: best.name, scores))}"
            if !json { printGrid(scores, best: outcome.bestIndex, nameWidth: 24) }
        default:
            let fit: GLAGFit
            do {
                fit = try GLAGSolver(config: base).fit(
                    features: x, labels: labels, numClasses: c, validation: validation, stageOne: stageOne,
                    teacherFeatures: teacherX, seed: seed, progress: { r in
                        if !quiet {
                            stderrLine("round \(r.round + 1)/\(o.rounds)  objective \(String(format: "%.5f", r.objective))  \(r.iterations) it  val \(pct(r.validationAccuracy))  recall \(pct(r.validationMeanRecall))  mean tail β \(String(format: "%.3f", r.meanTailBeta))")
                        }
                    })
            } catch { throw CLIError("\(train): \(error)") }
            model = fit.model
            record = "{\"solver\":\"lbfgs\",\"config\":\(jsonString(base.summary))}"
        }
        let seconds = Date().timeIntervalSince(t0)
        let name = methodName + (method == .glag ? "-lbfgs" : (method == .crt ? "-lbfgs-balanced" : "-lbfgs"))
        let file = ClassifierFile(numClasses: c, dim: trainSet.dim, weight: model.weight.data, bias: model.bias,
                                  classCounts: counts, method: name, tukeyLambda: lambda,
                                  configJSON: record, classNames: trainSet.classNames)
        try FeatureStore.writeClassifier(file, to: out)
        let vm = validation.map { Metrics(model: model, features: $0.features, labels: $0.labels, trainCounts: counts,
                                          thresholds: ShotThresholds(many: many, few: few)) }
        if json {
            struct Out: Encodable { var out: String; var method: String; var chosen: String?; var seconds: Double; var validation: Summary? }
            print(try encodeJSON(Out(out: out, method: name, chosen: chosen.isEmpty ? nil : chosen, seconds: seconds,
                                     validation: vm.map(Summary.init))))
        } else {
            print("wrote \(out) (method \(name), Tukey λ \(lambda.map { "\($0)" } ?? "none"), \(String(format: "%.1f", seconds)) s)")
            if !chosen.isEmpty { print("chosen on validation: \(chosen)") }
            if let m = vm {
                print("validation: overall \(pct(m.overall))  many \(pct(m.many))  medium \(pct(m.medium))  few \(pct(m.few))  mean recall \(pct(m.meanPerClassRecall))")
            }
        }
    }

    /// The generator settings from the shared GLAG flags.
    var generatorConfig: GeneratorConfig {
        var g = GeneratorConfig()
        g.k = k; g.alpha = alpha; g.initialBeta = initialBeta; g.headThreshold = headThreshold
        g.meanMode = meanMode == "pull" ? .pull : .sample
        g.targetPerClass = targetPerClass
        return g
    }
}

/// A JSON string literal for `s`.
func jsonString(_ s: String) -> String {
    let data = try! JSONEncoder().encode(s)
    return String(decoding: data, as: UTF8.self)
}
