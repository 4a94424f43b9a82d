import AFG
import Classifier
import Distributed
import FeatureIO
import Foundation
import Linalg

/// `afg train --solver lbfgs`: the options mapped to one `Estimator` of the Classifier
/// module (`Regression`, `LogitAdjustedRegression`, `GeneratedRegression`, `GLAGRounds`,
/// `RecommendedSelection`), the rows it fits laid out (train, or train + val when it
/// cross-validates; this rank's part under MPI), and its `Fitted` turned into the outcome
/// the write and report steps take.
extension Train {
    /// The converged solver every lbfgs path uses, reporting its iterations to `iterations`.
    func regressionSolver(iterations: (@Sendable (LBFGS.Iteration) -> Void)? = nil) -> LogisticRegression {
        var s = LogisticRegression(gradientTolerance: solverOptions.tolerance, maxIterations: LogisticRegression.convergedIterations)
        s.iterations = iterations
        return s
    }

    /// `--C`: given, or cross-validated (`auto`, the default with `--val`; always for
    /// logit-adjust and balanced-softmax, which cross-validate anyway).
    var regularization: RegularizationChoice {
        let choice = solverOptions.cChoice(hasValidation: val != nil || [.logitAdjust, .balancedSoftmax].contains(method))
        if case .value(let v) = choice { return .fixed(v) }
        return .crossValidated
    }

    /// GLAG-on-the-solver settings from the shared flags (`--rounds`).
    var solverConfig: GLAGSolverConfig {
        let o = solverOptions
        var base = GLAGSolverConfig(generator: generator.config)
        base.rounds = o.rounds ?? GLAGSolverConfig.Settings.rounds.value
        base.inverseRegularization = o.inverseRegularization
        base.teacher = glag.noKd ? .none : o.kdTeacher ?? base.teacher
        base.initialization = o.initialization ?? base.initialization
        base.kd = GradualSchedule(maxValue: glag.noKd ? 0 : glag.kd.schedule.maxValue, gamma: glag.kd.schedule.gamma)
        base.kdTemperature = Double(glag.kd.temperature)
        base.adaptiveBeta = !glag.noAdaptive
        base.betaUpdate = glag.betaUpdate
        base.gradientTolerance = o.tolerance
        return base
    }

    /// The generated-set regression the flags describe (plain glag, and the generated
    /// candidate of `--select-on-val`).
    func generatedRegression(solver: LogisticRegression) -> GeneratedRegression {
        var g = GeneratedRegression(generator: generator.config(initialBeta: GeneratedRegression.Settings.initialBeta),
                                    headThreshold: generator.headThreshold, C: regularization, solver: solver)
        g.blend = solverOptions.blend
        g.cDivisor = solverOptions.cDivisor
        g.twoView = !solverOptions.singleHead
        return g
    }

    /// Whether the run may read the untransformed rows beside the transformed ones (the
    /// two-view blend, and the raw space of `--select-on-val` with `--tukey auto`).
    var readsRawView: Bool {
        guard solverKind == .lbfgs, method == .glag, solverOptions.rounds == nil || solverOptions.selectOnVal, !tukey.noTukey else {
            return false
        }
        if solverOptions.selectOnVal { return (!solverOptions.singleHead && solverOptions.blend < 1) || tukey.tukey == "auto" }
        return !solverOptions.singleHead && solverOptions.blend < 1
    }

    /// The estimator of this run's lbfgs path; its solves report their iterations to `iterations`.
    func estimator(lambda: Float?, iterations: (@Sendable (LBFGS.Iteration) -> Void)? = nil) -> any Estimator {
        let solver = regressionSolver(iterations: iterations)
        let generated = generatedRegression(solver: solver)
        switch method {
        case .ce, .crt: return Regression(balanced: method == .crt, C: regularization, solver: solver)
        case .logitAdjust: return LogitAdjustedRegression(C: regularization, solver: solver)
        case .balancedSoftmax: return LogitAdjustedRegression.balancedSoftmax(C: regularization, solver: solver)
        default:
            if solverOptions.selectOnVal {
                return RecommendedSelection(generated: generated, offerRawSpace: tukey.tukey == "auto",
                                            spaceName: lambda.map { "Tukey λ = \($0)" } ?? "raw features",
                                            memory: !solverOptions.noMemoryHead)
            }
            if solverOptions.rounds != nil { return GLAGRounds(config: solverConfig, C: regularization, solver: solver) }
            return generated
        }
    }

    /// The lbfgs fit: the estimator on its rows, the classifier's counts and record.
    func fitEstimator(_ data: TrainData, _ console: Console) throws -> TrainOutcome {
        let progress = FitProgressLine(quiet: console.quiet)
        let estimator = self.estimator(lambda: data.lambda, iterations: { progress.iteration($0) })
        let pool = estimator.crossValidates
        var fitData = try self.fitData(data, pooled: pool, generates: method == .glag)
        if pool {
            console.line("cross-validating on \(Job.totalCounts(fitData.rows.classCounts).reduce(0, +)) rows (train\(val == nil ? "" : " + val")); no test file is read")
        }
        fitData.progress = { progress.report($0) }
        let fitted: Fitted
        do {
            fitted = try estimator.fit(fitData, log: { progress.clear(); console.line($0) })
            progress.clear()
        } catch { progress.clear(); throw CLIError("\(train): \(error)") }
        var record = fitted.record
        let trainCounts = data.trainCounts
        if pool && val != nil { record.fittedClassCounts = Job.totalCounts(fitData.rows.classCounts) }
        let lambda = fitted.readsRaw ? nil : data.lambda
        let validation: Matrix<Float>? = data.inputs.val.flatMap { v in
            guard let r = data.untransformedVal else { return nil }
            return fitted.twoView ? .horizontalJoin(v.features, r) : fitted.readsRaw ? r : nil
        }
        var notes = fitted.notes
        if pool && val != nil { notes.append("the validation rows were trained on") }
        return TrainOutcome(model: fitted.model, classCounts: trainCounts, method: estimator.name == "glag-lbfgs" ? solverMethodName : estimator.name,
                            lambda: lambda, record: record.json, validationFeatures: validation, notes: notes,
                            chosen: fitted.chosen, selected: fitted.selected, grid: fitted.grid?.map(GridScore.init),
                            twoView: fitted.twoView, crossValidation: fitted.crossValidation, trainedOnValidation: pool && val != nil,
                            memory: fitted.memory)
    }

    /// The recorded method name of glag on the solver, with its ablations (`glag-no-kd-lbfgs`).
    var solverMethodName: String { methodName + "-lbfgs" }

    /// The rows the estimator fits: the training rows, or with `pooled` every labelled row
    /// (train, then val), the untransformed view when kept, the folds (seeded by `--seed`),
    /// the validation rows held out when not pooled, the stage-one head with its rows;
    /// under MPI this rank's part, the one-process folds, and for a generator the
    /// one-process rows it is built from.
    func fitData(_ data: TrainData, pooled pool: Bool, generates: Bool) throws -> FitData {
        let k = StratifiedFolds.defaultCount
        let stageOne = data.inputs.teacher.map { ($0, data.inputs.rawTrain ?? data.inputs.train.features) }
        guard Job.isDistributed else {
            let x = pool ? pooled(data.inputs.train, data.inputs.val) : data.inputs.train
            let raw = data.untransformedTrain.map { r in pool ? data.untransformedVal.map { .verticalJoin(r, $0) } ?? r : r }
            return FitData(rows: x, raw: raw, validation: pool ? nil : data.inputs.val, stageOne: stageOne,
                           folds: StratifiedFolds(labels: x.labels, numClasses: x.numClasses, folds: k, seed: seed),
                           repeatedFolds: StratifiedFolds.repeated(labels: x.labels, numClasses: x.numClasses, folds: k, seed: seed),
                           seed: seed)
        }
        var (x, assignments, mine) = try distributedPool(data, folds: k, withValidation: pool)
        // A fit on the training rows alone, with nothing row-aligned beside them: the rows
        // move to block boundaries, so the solve is the one-process solve (`blockAligned`).
        var aligned = false
        if !pool && !generates && data.untransformedTrain == nil && stageOne == nil {
            x = try blockAligned(x, blockRows: regressionSolver().blockRows)
            aligned = true
        }
        var raw: Matrix<Float>? = nil
        if let r = data.untransformedTrain {
            raw = pool ? data.untransformedVal.map { .verticalJoin(r, $0.gatheringRows(mine)) } ?? r : r
        }
        var generatorRows: LabeledFeatures? = nil
        if generates {
            let gathered = try gatheredTraining(data.inputs.train, features: true)
            var all = LabeledFeatures(features: gathered.rows!, labels: gathered.labels, numClasses: x.numClasses)
            if pool, let v = data.inputs.val { all = pooled(all, v) }
            generatorRows = all
        }
        let ranks = Job.ranks
        let job = JobShare(rank: ranks.rank, size: ranks.size, sum: Job.sum, combine: Job.combine, generatorRows: generatorRows,
                           part: { rowRange(of: ranks.rank, size: ranks.size, rows: $0) })
        return FitData(rows: x, raw: raw, validation: pool ? nil : data.inputs.val, stageOne: stageOne,
                       folds: aligned ? nil : assignments[0], repeatedFolds: aligned ? [] : Array(assignments.dropFirst()),
                       seed: seed, job: job)
    }

    /// `a`'s rows then `b`'s.
    func pooled(_ a: LabeledFeatures, _ b: LabeledFeatures?) -> LabeledFeatures {
        guard let b else { return a }
        return LabeledFeatures(features: .verticalJoin(a.features, b.features), labels: a.labels + b.labels, numClasses: a.numClasses)
    }

    /// Under MPI, the rows a cross-validated fit uses on this rank: its training rows, then
    /// its contiguous part of the validation rows (every rank reads the whole validation
    /// file; `mine`, their indices); and their folds, cut from the one-process folds of
    /// train + val (the labels of every rank gathered), so the grid's scores are the
    /// one-process scores: the one-process assignment, then its further repetitions.
    func distributedPool(_ data: TrainData, folds k: Int, withValidation: Bool) throws
        -> (LabeledFeatures, [StratifiedFolds], [Int]) {
        let ranks = Job.ranks, t = data.inputs.train
        let gathered = try gatheredTraining(t, features: false)
        let first = gathered.first, trainRows = gathered.labels.count
        var labels = gathered.labels
        var x = t, mine = Array(first..<(first + t.labels.count)), part: [Int] = []
        if withValidation, let v = data.inputs.val {
            part = Array(rowRange(of: ranks.rank, size: ranks.size, rows: v.labels.count))
            labels += v.labels
            x = LabeledFeatures(features: .verticalJoin(t.features, v.features.gatheringRows(part)),
                                labels: t.labels + part.map { v.labels[$0] }, numClasses: t.numClasses)
            mine += part.map { trainRows + $0 }
        }
        let all = [StratifiedFolds(labels: labels, numClasses: t.numClasses, folds: k, seed: seed)]
            + StratifiedFolds.repeated(labels: labels, numClasses: t.numClasses, folds: k, seed: seed)
        return (x, all.map { a in StratifiedFolds(count: k, fold: mine.map { a.fold[$0] }) }, part)
    }
}
