import AFG
import Classifier
import FeatureIO
import Foundation
import Linalg

/// `afg train --solver lbfgs`: the converged full-batch solver. With it, `ce` is the
/// unweighted multinomial logistic regression, `crt` the class-weighted one (`balanced`,
/// scikit-learn's `class_weight="balanced"`), and `glag` runs GLAG rounds on the solver,
/// optionally choosing its settings on the validation split.
extension Train {
    /// GLAG-on-the-solver settings from the shared flags.
    var solverConfig: GLAGSolverConfig {
        let o = solverOptions
        var base = GLAGSolverConfig(generator: generator.config)
        base.rounds = o.rounds
        base.inverseRegularization = o.inverseRegularization
        base.teacher = glag.noKd ? .none : o.kdTeacher
        base.initialization = o.initialization
        base.kd = GradualSchedule(maxValue: glag.noKd ? 0 : glag.kdMax, gamma: glag.kdGamma)
        base.kdTemperature = Double(glag.kdTemperature)
        base.adaptiveBeta = !glag.noAdaptive
        base.betaUpdate = BetaUpdate(rule: glag.betaRule, step: glag.betaStep)
        base.gradientTolerance = o.tolerance
        return base
    }

    /// The recorded method name: `glag-lbfgs`, `ce-lbfgs`, `crt-lbfgs-balanced`.
    var solverMethodName: String { methodName + (method == .crt ? "-lbfgs-balanced" : "-lbfgs") }

    /// The stage-one head and the rows it reads (the untransformed features when its λ differs).
    func stageOne(_ data: TrainData) -> (LinearModel?, Matrix<Float>?) {
        guard let t = data.inputs.teacher else { return (nil, nil) }
        return (t, data.inputs.rawTrain ?? data.inputs.train.features)
    }

    /// `ce` / `crt`: the converged (class-weighted) multinomial regression.
    func fitRegression(_ data: TrainData) throws -> TrainOutcome {
        let o = solverOptions, x = data.inputs.train, labels = x.labels, c = x.numClasses
        // Under MPI the counts, the total weight and every evaluation are summed across ranks.
        let counts = Job.totalCounts(x.classCounts)
        let weights = method == .crt
            ? (Job.isDistributed ? LogisticRegression.balancedClassWeights(classCounts: counts.map(Double.init))
                                 : LogisticRegression.balancedClassWeights(labels: labels, numClasses: c))
            : nil
        var total = [weights.map { w in labels.reduce(0.0) { $0 + w[Int($1)] } } ?? Double(labels.count)]
        Job.ranks.sum(&total)
        let solver = LogisticRegression(gradientTolerance: o.tolerance, maxIterations: 2000)
        let model: LinearModel
        do {
            model = try solver.fit(features: x.features, labels: labels, numClasses: c, classWeights: weights,
                                   l2: LogisticRegression.l2(sklearnC: o.inverseRegularization, totalWeight: total[0]),
                                   sumAcrossRanks: Job.isDistributed ? Job.sum : nil)
        } catch { throw CLIError("\(train): \(error)") }
        return TrainOutcome(model: model, classCounts: counts, method: solverMethodName, lambda: data.lambda,
                            record: ClassifierRecord.regression(C: o.inverseRegularization, balanced: method == .crt))
    }

    /// `glag` on the solver: rounds of generation and a warm-started solve.
    func fitSolverGLAG(_ data: TrainData, _ console: Console) throws -> TrainOutcome {
        let base = solverConfig, x = data.inputs.train
        let (head, headX) = stageOne(data)
        let fit: GLAGFit
        do {
            fit = try GLAGSolver(config: base).fit(
                features: x.features, labels: x.labels, numClasses: x.numClasses, validation: data.inputs.val,
                stageOne: head, teacherFeatures: headX, seed: seed, progress: { r in
                    console.line("round \(r.round + 1)/\(base.rounds)  objective \(String(format: "%.5f", r.objective))  \(r.iterations) it  val \(pct(r.validationAccuracy))  recall \(pct(r.validationMeanRecall))  mean tail β \(String(format: "%.3f", r.meanTailBeta))")
                })
        } catch { throw CLIError("\(train): \(error)") }
        return TrainOutcome(model: fit.model, classCounts: x.classCounts, method: solverMethodName, lambda: data.lambda,
                            record: ClassifierRecord.solver(summary: base.summary))
    }

    /// `glag --select-on-val` on the solver: the grid of `GLAGSelection.solverGrid`.
    func fitSolverSelection(_ data: TrainData, _ console: Console) throws -> TrainOutcome {
        let x = data.inputs.train
        let (head, headX) = stageOne(data)
        let grid = GLAGSelection.solverGrid(base: solverConfig, hasStageOne: head != nil).filter { $0.config != nil }
        console.line("selecting on \(val!): \(grid.count) settings, score = validation mean per-class recall")
        let outcome: GLAGSelection.Outcome<(LinearModel, GLAGFit?)>
        do {
            outcome = try GLAGSelection.selectSolver(
                grid: grid, features: x.features, labels: x.labels, numClasses: x.numClasses, validation: data.inputs.val!,
                stageOne: head, teacherFeatures: headX, seed: seed, inverseRegularization: solverOptions.inverseRegularization,
                progress: { console.line(selectionLine($0)) })
        } catch { throw CLIError("\(train): \(error)") }
        let best = outcome.entries[outcome.bestIndex]
        let scores = outcome.entries.map { GridScore($0, detail: true) }
        let record = ClassifierRecord.solver(summary: best.summary,
                                             selection: ClassifierRecord.selection(chosen: best.name, scores))
        return TrainOutcome(model: outcome.run.0, classCounts: x.classCounts, method: solverMethodName, lambda: data.lambda,
                            record: record, selected: best.name, grid: scores)
    }
}

/// The classifier file's `config` attribute (docs/FORMAT.md), one builder per path.
enum ClassifierRecord {
    /// SGD methods: the run's `TrainConfig`, its input space, λ, the post-hoc choices and
    /// an optional extra member (`selection`).
    static func sgd(_ cfg: TrainConfig, result: TrainResult, lambda: Float?, extra: String? = nil) -> String {
        var s = "{\"config\":\(cfg.json),\"input_space\":\"\(result.inputSpace.rawValue)\""
        if let l = lambda { s += ",\"tukey_lambda\":\(l)" }
        let chosen = result.chosen.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        s += ",\"chosen\":{\(chosen)}"
        if let e = extra { s += "," + e }
        return s + "}"
    }

    /// lbfgs `ce` / `crt`.
    static func regression(C: Double, balanced: Bool) -> String {
        "{\"solver\":\"lbfgs\",\"C\":\(C),\"class_weight\":\"\(balanced ? "balanced" : "none")\"}"
    }

    /// lbfgs `glag`: the settings' summary line, and the grid when chosen on validation.
    static func solver(summary: String, selection: String? = nil) -> String {
        let quoted = (try? encodeJSON(summary, pretty: false)) ?? "\"\""
        return "{\"solver\":\"lbfgs\",\"config\":\(quoted)" + (selection.map { "," + $0 } ?? "") + "}"
    }

    /// The `selection` member: `"selection":{"chosen":…,"grid":[…]}`.
    static func selection(chosen: String, _ scores: [GridScore]) -> String {
        let rows = scores.map { "{\"name\":\"\($0.name)\",\"val_mean_recall\":\($0.recall),\"val_overall\":\($0.overall)}" }
        return "\"selection\":{\"chosen\":\"\(chosen)\",\"grid\":[\(rows.joined(separator: ","))]}"
    }
}
