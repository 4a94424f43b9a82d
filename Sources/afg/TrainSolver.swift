import AFG
import Classifier
import Distributed
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
        base.rounds = o.rounds ?? GLAGSolverConfig.Settings.rounds.value
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
    /// `raw`: the transformed rows before any scaling (the head's input when λ agrees).
    func stageOne(_ data: TrainData, raw: Matrix<Float>? = nil) -> (LinearModel?, Matrix<Float>?) {
        guard let t = data.inputs.teacher else { return (nil, nil) }
        return (t, data.inputs.rawTrain ?? raw ?? data.inputs.train.features)
    }

    /// The labelled rows the cross-validated paths fit on: train, then validation.
    func pooled(_ data: TrainData) -> LabeledFeatures {
        let t = data.inputs.train
        guard let v = data.inputs.val else { return t }
        return LabeledFeatures(features: .verticalJoin(t.features, v.features), labels: t.labels + v.labels,
                               numClasses: t.numClasses)
    }

    /// The solver every lbfgs path uses.
    var regressionSolver: LogisticRegression { LogisticRegression(gradientTolerance: solverOptions.tolerance, maxIterations: 2000) }

    /// `ce` / `crt`: the converged (class-weighted) multinomial regression, at the given `C`
    /// or with `C` cross-validated (`--C auto`) and refitted on train + val. Under MPI the
    /// counts, the total weight and every evaluation are summed across ranks.
    func fitRegression(_ data: TrainData, _ console: Console) throws -> TrainOutcome {
        let balanced = method == .crt
        guard case .value(let C) = solverOptions.cChoice(hasValidation: val != nil) else {
            return try fitRegressionCV(data, console, balanced: balanced)
        }
        let x = data.inputs.train, labels = x.labels, c = x.numClasses
        let counts = Job.totalCounts(x.classCounts)
        let weights = balanced
            ? (Job.isDistributed ? LogisticRegression.balancedClassWeights(classCounts: counts.map(Double.init))
                                 : LogisticRegression.balancedClassWeights(labels: labels, numClasses: c))
            : nil
        var total = [weights.map { w in labels.reduce(0.0) { $0 + w[Int($1)] } } ?? Double(labels.count)]
        Job.ranks.sum(&total)
        let model: LinearModel
        do {
            model = try regressionSolver.fit(features: x.features, labels: labels, numClasses: c, classWeights: weights,
                                             l2: LogisticRegression.l2(sklearnC: C, totalWeight: total[0]),
                                             sumAcrossRanks: Job.isDistributed ? Job.sum : nil)
        } catch { throw CLIError("\(train): \(error)") }
        return TrainOutcome(model: model, classCounts: counts, method: solverMethodName, lambda: data.lambda,
                            record: ClassifierRecord.regression(C: C, balanced: balanced))
    }

    /// `--C auto`: `RegressionCV` over train + val, the grid printed, a refit on every row.
    /// Under MPI each rank holds its training rows and its part of the validation rows, the
    /// folds are the one-process folds, and every sum is across ranks.
    func fitRegressionCV(_ data: TrainData, _ console: Console, balanced: Bool) throws -> TrainOutcome {
        let k = 5, sum: SumAcrossRanks? = Job.isDistributed ? Job.sum : nil
        let (x, folds) = try Job.isDistributed ? distributedPool(data, folds: k)
            : { let x = pooled(data); return (x, StratifiedFolds(labels: x.labels, numClasses: x.numClasses, folds: k, seed: seed)) }()
        let cv = RegressionCV(balanced: balanced, solver: regressionSolver, sumAcrossRanks: sum)
        let model: LinearModel, path: RegressionCV.Path
        do {
            path = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: folds)
            let scaler = FeatureScaler(fitting: x.features, sumAcrossRanks: sum)
            model = scaler.rawModel(try cv.refit(scaler.apply(x.features), labels: x.labels, numClasses: x.numClasses, C: path.chosen))
        } catch { throw CLIError("\(train): \(error)") }
        let counts = Job.totalCounts(x.classCounts)
        let note = "C = \(path.chosen) by \(k)-fold cross-validation on \(counts.reduce(0, +)) rows (train\(val == nil ? "" : " + val")), refitted on them"
        console.line(note)
        for line in CrossValidatedSelection.pathLines(path) { console.line(line) }
        return TrainOutcome(model: model, classCounts: counts, method: solverMethodName, lambda: data.lambda,
                            record: ClassifierRecord.regressionCV(path, folds: k, balanced: balanced), notes: [note],
                            chosen: ["C": path.chosen])
    }

    /// Under MPI, the rows `--C auto` cross-validates on this rank: its training rows, then
    /// its contiguous part of the validation rows (every rank reads the whole validation
    /// file); and their folds, cut from the one-process folds of train + val (the labels of
    /// every rank gathered), so the grid's scores are the one-process scores.
    func distributedPool(_ data: TrainData, folds k: Int, withValidation: Bool = true) throws -> (LabeledFeatures, StratifiedFolds) {
        let ranks = Job.ranks, t = data.inputs.train
        let gathered = try gatheredTraining(t, features: false)
        let first = gathered.first, trainRows = gathered.labels.count
        var labels = gathered.labels
        var x = t, mine = Array(first..<(first + t.labels.count))
        if withValidation, let v = data.inputs.val {
            let part = rowRange(of: ranks.rank, size: ranks.size, rows: v.labels.count)
            labels += v.labels
            x = LabeledFeatures(features: .verticalJoin(t.features, v.features.gatheringRows(Array(part))),
                                labels: t.labels + v.labels[part], numClasses: t.numClasses)
            mine += part.map { trainRows + $0 }
        }
        let all = StratifiedFolds(labels: labels, numClasses: t.numClasses, folds: k, seed: seed)
        return (x, StratifiedFolds(count: k, fold: mine.map { all.fold[$0] }))
    }

    /// `glag` on the solver: rounds of generation and a warm-started solve. With `--C auto`,
    /// `C` is cross-validated for the class-weighted regression on the training rows and the
    /// rounds run on scaled rows (the model is mapped back to the raw rows).
    func fitSolverGLAG(_ data: TrainData, _ console: Console) throws -> TrainOutcome {
        var base = solverConfig
        var inputs = data.inputs
        var scaler: FeatureScaler? = nil
        if solverOptions.cChoice(hasValidation: val != nil) == .auto {
            let x = inputs.train
            let folds = StratifiedFolds(labels: x.labels, numClasses: x.numClasses, folds: 5, seed: seed)
            do {
                let path = try RegressionCV(balanced: true, solver: regressionSolver)
                    .path(x.features, labels: x.labels, numClasses: x.numClasses, folds: folds)
                base.inverseRegularization = path.chosen
                console.line("C = \(path.chosen) by 5-fold cross-validation of the class-weighted regression on \(train)")
            } catch { throw CLIError("\(train): \(error)") }
            let s = FeatureScaler(fitting: x.features)
            inputs.train.features = s.apply(x.features)
            if let v = inputs.val { inputs.val!.features = s.apply(v.features) }
            scaler = s
        }
        let x = inputs.train
        var stageData = data
        stageData.inputs = inputs
        let (head, headX) = stageOne(stageData, raw: data.inputs.train.features)
        let fit: GLAGFit
        do {
            fit = try GLAGSolver(config: base).fit(
                features: x.features, labels: x.labels, numClasses: x.numClasses, validation: inputs.val,
                stageOne: head, teacherFeatures: headX, seed: seed, progress: { r in
                    console.line("round \(r.round + 1)/\(base.rounds)  objective \(String(format: "%.5f", r.objective))  \(r.iterations) it  val \(pct(r.validationAccuracy))  recall \(pct(r.validationMeanRecall))  mean tail β \(String(format: "%.3f", r.meanTailBeta))")
                })
        } catch { throw CLIError("\(train): \(error)") }
        return TrainOutcome(model: scaler.map { $0.rawModel(fit.model) } ?? fit.model, classCounts: x.classCounts,
                            method: solverMethodName, lambda: data.lambda,
                            record: ClassifierRecord.solver(summary: base.summary + " C=\(base.inverseRegularization)"))
    }

    /// `glag` on the solver (the default for glag): one generated set (`GeneratedRegression`:
    /// k = 2, β = 1, sample mean, head threshold ⌈n_max/3⌉ unless given) and the converged
    /// unweighted regression on scaled rows. `C`: with `--C auto`, the class-weighted
    /// regression's cross-validated `C*` on train + val, then `C*/3` (the generated set holds
    /// several times the real rows and `l2 = 1/(C·rows)`; `C*/3` was the suite's most frequent
    /// choice), fitted on train + val; a number is used as given on the training rows. The
    /// classifier's logits blend the generated-set regression (weight `--blend`, 0.5) with
    /// the class-weighted regression at `C*` (or the given `C`). On Tukey-transformed rows
    /// that regression reads the raw rows, with its own cross-validated `C*` (two views,
    /// `LinearModel.twoView`: a `raw_weight` head in the file), unless `--single-head`.
    func fitGeneratedRegression(_ data: TrainData, _ console: Console) throws -> TrainOutcome {
        let auto = solverOptions.cChoice(hasValidation: val != nil) == .auto, blend = solverOptions.blend
        let sum: SumAcrossRanks? = Job.isDistributed ? Job.sum : nil
        func pool(_ data: TrainData) throws -> (LabeledFeatures, StratifiedFolds) {
            try Job.isDistributed ? distributedPool(data, folds: 5, withValidation: auto)
                : { let x = auto ? pooled(data) : data.inputs.train
                    return (x, StratifiedFolds(labels: x.labels, numClasses: x.numClasses, folds: 5, seed: seed)) }()
        }
        let (x, folds) = try pool(data)
        let rawData = data.lambda != nil && !solverOptions.singleHead && blend < 1 ? try untransformed(data) : nil
        let raw = try rawData.map { try pool($0).0 }
        let counts = Job.totalCounts(x.classCounts), rows = counts.reduce(0, +)
        let scaler = FeatureScaler(fitting: x.features, sumAcrossRanks: sum)
        var C = solverOptions.inverseRegularization, rawC = C
        var start: LinearModel? = nil
        let cv = RegressionCV(balanced: true, solver: regressionSolver, sumAcrossRanks: sum)
        var gr = GeneratedRegression(generator: GeneratedRegression.recommendedGenerator(counts: counts, headThreshold: generator.headThreshold),
                                     solver: regressionSolver)
        gr.sumAcrossRanks = sum
        let model: LinearModel
        do {
            if auto {
                let path = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: folds)
                console.line("C* = \(path.chosen) by 5-fold cross-validation of the class-weighted regression on \(rows) rows (train + val); the generated set uses C*/3")
                for line in CrossValidatedSelection.pathLines(path) { console.line(line) }
                start = try cv.refit(scaler.apply(x.features), labels: x.labels, numClasses: x.numClasses, C: path.chosen)
                C = path.chosen / 3
                if let r = raw {
                    let rawPath = try cv.path(r.features, labels: r.labels, numClasses: r.numClasses, folds: folds)
                    rawC = rawPath.chosen
                    console.line("C* = \(rawC) for the class-weighted regression on the raw features (the blend's second view), by the same folds")
                    for line in CrossValidatedSelection.pathLines(rawPath) { console.line(line) }
                }
            } else if blend < 1 {
                start = try cv.fit(scaler.apply(x.features), labels: x.labels, numClasses: x.numClasses, C: C)
            }
            let set = try generatedSet(gr, x, data, auto: auto, scaler: scaler)
            console.line("generated \(set.generated) rows (head threshold \(gr.generator.headThreshold)); solving at C = \(C)"
                         + (blend < 1 ? "; logits blended \(1 - blend) : \(blend) with the class-weighted regression" : ""))
            let generated = try gr.solve(set.rows, numClasses: x.numClasses, C: C, initial: start, totalRows: rows + set.generated)
            if let r = raw {
                let rawScaler = FeatureScaler(fitting: r.features, sumAcrossRanks: sum)
                let scaled = rawScaler.apply(r.features)
                let partner = try auto ? cv.refit(scaled, labels: r.labels, numClasses: r.numClasses, C: rawC)
                    : cv.fit(scaled, labels: r.labels, numClasses: r.numClasses, C: rawC)
                model = LinearModel.twoView(transformed: scaler.rawModel(generated), raw: rawScaler.rawModel(partner), weight: blend)
            } else {
                model = scaler.rawModel(LinearModel.blend(start ?? generated, generated, weight: blend))
            }
        } catch { throw CLIError("\(train): \(error)") }
        let g = gr.generator
        let record = "{\"solver\":\"lbfgs\",\"method\":\"one generated set + unweighted regression\",\"C\":\(C),\"C_selection\":\(auto ? "\"C*/3, C* by 5-fold cross-validation on train + val\"" : "\"given\""),\"scaling\":\"centred, one pooled standard deviation\",\"blend\":\(blend),"
            + (raw != nil ? "\"blend_view\":\"raw\",\"raw_C\":\(rawC)," : "")
            + "\"generator\":{\"k\":\(g.k),\"beta\":\(g.initialBeta),\"mean\":\"\(g.meanMode.rawValue)\",\"head_threshold\":\(g.headThreshold)}}"
        var notes = auto ? ["C = C*/3 = \(C); the validation rows were trained on"] : []
        if raw != nil { notes.append("two views: the blend's class-weighted regression reads the raw features (C = \(rawC)), a raw_weight head in the file") }
        return TrainOutcome(model: model, classCounts: counts, method: solverMethodName, lambda: data.lambda, record: record,
                            validationFeatures: try rawData.flatMap { try twoViewValidation(data, $0) }, notes: notes,
                            chosen: auto ? ["C": C] : [:], twoView: raw != nil)
    }

    /// `data` with its training and validation rows read again untransformed (this rank's
    /// part of the training rows, every validation row): the raw view of a two-view blend.
    func untransformed(_ data: TrainData) throws -> TrainData {
        var d = data
        d.inputs.train.features = try Job.agree { try loadFeatures(trainFiles, keys: datasets.keys, lambda: nil, part: Job.part).x }
        if !valFiles.isEmpty, d.inputs.val != nil {
            d.inputs.val!.features = try Job.agree {
                try loadFeatures(valFiles, keys: datasets.keys, numClasses: data.trainSet.numClasses, lambda: nil).x
            }
        }
        return d
    }

    /// The validation rows a two-view classifier reads, `[T(x) | x]`; nil without `--val`.
    func twoViewValidation(_ data: TrainData, _ raw: TrainData) throws -> Matrix<Float>? {
        guard let v = data.inputs.val, let r = raw.inputs.val else { return nil }
        return .horizontalJoin(v.features, r.features)
    }

    /// The generated-regression rows this process solves on: its rows of `x` then its
    /// generated rows, scaled. One process: every row. Under MPI the generator is
    /// built on every rank from the one-process rows (every rank's training rows gathered,
    /// then the validation rows), and each rank keeps its blocks of the generated epoch (the
    /// one-process rows, from their per-row streams).
    func generatedSet(_ gr: GeneratedRegression, _ x: LabeledFeatures, _ data: TrainData, auto: Bool,
                      scaler: FeatureScaler) throws -> (rows: LabeledFeatures, generated: Int) {
        guard Job.isDistributed else {
            let set = try gr.balancedSet(rawTrain: x.features, labels: x.labels, numClasses: x.numClasses, scaler: scaler, seed: seed)
            return (set, set.labels.count - x.labels.count)
        }
        let ranks = Job.ranks, t = data.inputs.train
        let gathered = try gatheredTraining(t, features: true)
        var labels = gathered.labels, all = gathered.rows!
        if auto, let v = data.inputs.val { all = .verticalJoin(all, v.features); labels += v.labels }
        let g = try FeatureGenerator(features: all, labels: labels, numClasses: x.numClasses, config: gr.generator)
        let blocks = rowRange(of: ranks.rank, size: ranks.size, rows: g.blockCount)
        let part = g.generateBlocks(blocks, seed: seed, epoch: 0)
        let mine = Matrix(rows: part.labels.count, cols: t.features.cols, data: part.features)
        return (LabeledFeatures(features: scaler.apply(.verticalJoin(x.features, mine)), labels: x.labels + part.labels,
                                numClasses: x.numClasses), g.generatedRows)
    }

    /// `glag --select-on-val` on the solver (the recommended command): `CrossValidatedSelection`
    /// over train + val. With `--tukey auto` on non-negative features the raw rows are a
    /// candidate space beside the transformed ones (the simpler one, first).
    func fitSolverSelection(_ data: TrainData, _ console: Console) throws -> TrainOutcome {
        let x = pooled(data), k = 5
        var spaces: [CrossValidatedSelection.Space] = []
        var lambdas: [Float?] = []
        var rawVal: Matrix<Float>? = nil
        if let l = data.lambda, tukey.tukey == "auto", !tukey.noTukey {
            let raw = try untransformed(data)
            rawVal = raw.inputs.val!.features
            spaces.append(.init(name: "raw features", features: pooled(raw).features)); lambdas.append(nil)
            spaces.append(.init(name: "Tukey λ = \(l)", features: x.features)); lambdas.append(l)
        } else {
            spaces.append(.init(name: data.lambda.map { "Tukey λ = \($0)" } ?? "raw features", features: x.features))
            lambdas.append(data.lambda)
        }
        console.line("selecting by \(k)-fold cross-validation on \(x.labels.count) rows (train + val); no test file is read")
        let outcome: CrossValidatedSelection.Outcome
        do {
            outcome = try CrossValidatedSelection.select(
                spaces: spaces, labels: x.labels, numClasses: x.numClasses, folds: k,
                headThreshold: generator.headThreshold, blend: solverOptions.blend, twoView: !solverOptions.singleHead,
                seed: seed, solver: regressionSolver,
                log: { console.line($0) })
        } catch { throw CLIError("\(train): \(error)") }
        let scores = outcome.candidates.map {
            GridScore(name: $0.name, recall: $0.mean, overall: .nan,
                      detail: String(format: "± %.2f, paired Δ %+.2f ± %.2f  ", 100 * $0.standardError,
                                     100 * $0.pairedDifference, 100 * $0.pairedStandardError) + $0.summary)
        }
        let pick = outcome.choice
        // The validation rows in the chosen model's input space: raw, or both views.
        let validation = rawVal.flatMap { r in
            outcome.twoView ? .horizontalJoin(data.inputs.val!.features, r) : (lambdas[pick.space] == nil ? r : nil)
        }
        let views = outcome.twoView ? [" (two views: + the class-weighted regression on \(spaces[0].name) at C = \(outcome.paths[0].chosen), a raw_weight head)"] : [""]
        return TrainOutcome(model: outcome.model, classCounts: x.classCounts, method: "glag-cv", lambda: lambdas[pick.space],
                            record: ClassifierRecord.crossValidated(outcome, spaces: spaces.map(\.name)),
                            validationFeatures: validation,
                            notes: ["chosen by \(k)-fold cross-validation on train + val: \(pick.name), C = \(pick.C)\(views[0]); the validation rows were trained on"],
                            chosen: ["C": pick.C], selected: pick.name, grid: scores, twoView: outcome.twoView)
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

    /// lbfgs `ce` / `crt` with `--C auto`: the grid's held-out scores.
    static func regressionCV(_ p: RegressionCV.Path, folds: Int, balanced: Bool) -> String {
        let rows = p.grid.indices.map { "{\"C\":\(p.grid[$0]),\"cv_mean_recall\":\(p.mean[$0]),\"se\":\(p.standardError[$0])}" }
        return "{\"solver\":\"lbfgs\",\"C\":\(p.chosen),\"C_selection\":\"\(folds)-fold cross-validation, train + val\",\"scaling\":\"centred, one pooled standard deviation\",\"class_weight\":\"\(balanced ? "balanced" : "none")\",\"grid\":[\(rows.joined(separator: ","))]}"
    }

    /// `glag --select-on-val` on the solver: the candidates, `C`, the generator and the choice.
    static func crossValidated(_ o: CrossValidatedSelection.Outcome, spaces: [String]) -> String {
        let cands = o.candidates.map {
            "{\"name\":\(quoted($0.name)),\"space\":\(quoted(spaces[$0.space])),\"C\":\($0.C),\"cv_mean_recall\":\($0.mean),\"se\":\($0.standardError),\"paired_difference\":\($0.pairedDifference),\"paired_se\":\($0.pairedStandardError)}"
        }
        let g = o.generator
        let paths = o.paths.map { regressionCV($0, folds: o.folds, balanced: true) }
        return "{\"solver\":\"lbfgs\",\"selection\":\"\(o.folds)-fold cross-validation, train + val, one-standard-error rule among the regressions, one-sided corrected resampled t-test at 5 % against the blend\",\"chosen\":\(quoted(o.choice.name)),\"C\":\(o.choice.C),\"scaling\":\"centred, one pooled standard deviation\",\"blend\":\(o.blend),"
            + (o.twoView ? "\"blend_view\":\(quoted(spaces[0])),\"raw_C\":\(o.paths[0].chosen)," : "")
            + "\"generator\":{\"k\":\(g.k),\"beta\":\(g.initialBeta),\"mean\":\"\(g.meanMode.rawValue)\",\"head_threshold\":\(g.headThreshold)},"
            + "\"candidates\":[\(cands.joined(separator: ","))],\"C_paths\":[\(paths.joined(separator: ","))]}"
    }

    static func quoted(_ s: String) -> String { (try? encodeJSON(s, pretty: false)) ?? "\"\"" }

    /// lbfgs `glag`: the settings' summary line, and the grid when chosen on validation.
    static func solver(summary: String, selection: String? = nil) -> String {
        return "{\"solver\":\"lbfgs\",\"config\":\(quoted(summary))" + (selection.map { "," + $0 } ?? "") + "}"
    }

    /// The `selection` member: `"selection":{"chosen":…,"grid":[…]}`.
    static func selection(chosen: String, _ scores: [GridScore]) -> String {
        let rows = scores.map { "{\"name\":\"\($0.name)\",\"val_mean_recall\":\($0.recall),\"val_overall\":\($0.overall)}" }
        return "\"selection\":{\"chosen\":\"\(chosen)\",\"grid\":[\(rows.joined(separator: ","))]}"
    }
}
