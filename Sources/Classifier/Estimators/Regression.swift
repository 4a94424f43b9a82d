import AFG
import Foundation
import Linalg

/// The converged multinomial logistic regression (`--method ce|crt --solver lbfgs`): one
/// fit of `LogisticRegression` on the rows, unweighted or class-weighted (scikit-learn's
/// `class_weight="balanced"`), at a given `C` on the rows as they are, or with `C` chosen
/// by `RegressionCV` (rows centred and divided by one pooled scale, `FeatureScaler`) and
/// refitted along the grid path on every row. Under MPI every sum is across ranks.
public struct Regression: Estimator {
    /// Class weights `n / (C_present·n_c)` (else every row weighs 1).
    public var balanced: Bool
    public var C: RegularizationChoice
    public var solver: LogisticRegression
    public var grid: [Double] = RegressionCV.defaultGrid

    public init(balanced: Bool, C: RegularizationChoice, solver: LogisticRegression) {
        self.balanced = balanced; self.C = C; self.solver = solver
    }

    public var name: String { balanced ? "crt-lbfgs-balanced" : "ce-lbfgs" }
    public var crossValidates: Bool { C == .crossValidated }

    /// - Complexity: one L-BFGS solve; with `C` cross-validated, `K × grid` warm-started
    ///   solves on `(K−1)/K` of the rows and one refit path.
    public func fit(_ data: FitData, log: @escaping (String) -> Void) throws -> Fitted {
        let x = data.rows
        let cv = RegressionCV(grid: grid, classWeightPower: balanced ? 1 : 0, solver: solver, sumAcrossRanks: data.sumAcrossRanks,
                              combineAcrossRanks: data.combineAcrossRanks)
        let weighting = balanced ? "balanced" : "none"
        guard C == .crossValidated else {
            guard case .fixed(let c) = C else { preconditionFailure() }
            data.stage("the regression at C = \(c)")
            let model = try cv.fit(x.features, labels: x.labels, numClasses: x.numClasses, C: c)
            return Fitted(model: model, chosen: [:], record: FitRecord(C: c, classWeight: weighting))
        }
        let folds = data.requireFolds(name)
        let path = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: folds,
                               progress: data.pathProgress("C by cross-validation", grid: cv.grid, folds: folds.count))
        let scaler = FeatureScaler(fitting: x.features, sumAcrossRanks: data.sumAcrossRanks)
        let model = scaler.rawModel(try cv.refit(scaler.apply(x.features), labels: x.labels, numClasses: x.numClasses,
                                                 C: path.chosen) { c, i, n in
            data.stage("refitting on every row: " + RegressionCV.refitStep(c, i, n, target: path.chosen))
        })
        let rows = data.classCounts.reduce(0, +)
        log("C = \(path.chosen) by \(folds.count)-fold cross-validation on \(rows) rows, refitted on them")
        for line in path.lines() { log(line) }
        var record = FitRecord(path: path, folds: folds.count, classWeight: weighting)
        record.scaling = FeatureScaler.description
        return Fitted(model: model, crossValidation: path.score(folds: folds.count, rows: rows), chosen: ["C": path.chosen],
                      record: record)
    }
}

extension Regression {
    /// The one regression at a given `C`: `LogisticRegression` on `x` (as given: scaled or
    /// not), with class weights `∝ n_c^(−classWeightPower)` (`LogisticRegression.classWeights`;
    /// 1: `n / (C_present·n_c)`, scikit-learn's "balanced"; 0: none; from every rank's
    /// counts under MPI), `l2 = 1/(C·S)`, `S` the sum of the row weights (`N` unweighted),
    /// warm-started from `initial`. Under MPI every sum is combined as the solver's are.
    /// - Complexity: one L-BFGS solve, `4·N·D·C` flops per evaluation.
    public static func fit(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, C: Double, classWeightPower: Double,
                           solver: LogisticRegression, initial: LinearModel? = nil,
                           combineAcrossRanks: CombineAcrossRanks? = nil) throws -> LinearModel {
        var model: LinearModel? = nil
        try fitPath(x, labels: labels, numClasses: numClasses, Cs: [C], classWeightPower: classWeightPower, solver: solver, initial: initial,
                    combineAcrossRanks: combineAcrossRanks) { _, m in model = m }
        return model!
    }

    /// The regression at each `C` of `Cs` in turn (`LogisticRegression.solvePath`: each
    /// solve from the exact point where the one before stopped, its first evaluation
    /// reused), the first from `initial`; `each` gets the index into `Cs` and the model.
    /// - Complexity: one L-BFGS solve per `C`, `4·N·D·C` flops per evaluation.
    public static func fitPath(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, Cs: [Double], classWeightPower: Double,
                               solver: LogisticRegression, initial: LinearModel? = nil,
                               combineAcrossRanks: CombineAcrossRanks? = nil,
                               each: (Int, LinearModel) throws -> Void) throws {
        var weights: [Double]?
        if classWeightPower != 0 {
            var counts = CompensatedSum(count: numClasses)
            for (k, n) in LabeledFeatures.counts(of: labels, numClasses: numClasses).enumerated() { counts.add(Double(n), at: k) }
            combineAcrossRanks?(&counts)
            weights = LogisticRegression.classWeights(classCounts: counts.rounded(), power: classWeightPower)
        }
        var total = CompensatedSum(count: 1)
        for y in labels { total.add(weights?[Int(y)] ?? 1, at: 0) }
        combineAcrossRanks?(&total)
        let totalWeight = total.rounded()[0]
        try solver.solvePath(features: x, labels: labels, numClasses: numClasses, classWeights: weights,
                             l2s: Cs.map { LogisticRegression.l2(sklearnC: $0, totalWeight: totalWeight) }, init: initial,
                             combineAcrossRanks: combineAcrossRanks) { i, s in try each(i, s.model) }
    }
}

/// Logit adjustment over the converged unweighted regression (Menon et al., ICLR 2021,
/// post hoc; `--method logit-adjust --solver lbfgs`): the regression is fitted without
/// class weights and the classifier predicts `argmax_c f_c(x) − τ·log π_c`, `π` the class
/// frequencies of the rows it was fitted on (`LossKind.offsets`; the shift is folded into
/// the bias, so the classifier stays one linear head). `τ = 1` is the Bayes-optimal shift
/// for a balanced test set when the probabilities are calibrated. `C` and `τ` are chosen by
/// repeated stratified K-fold cross-validation (`path`): `C` by the least held-out log-loss,
/// then `τ` by held-out mean per-class recall at that `C`, from the folds' own fits (no
/// extra solve per `τ`); with a given `C`, `τ` alone. With one or two held-out rows per Few
/// class the recall of one split moves a joint choice over `C × τ` from seed to seed and
/// into the grid's corners; the log-loss scores every held-out row (docs/RESULTS.md).
public struct LogitAdjustedRegression: Estimator {
    public enum Settings {
        public static let tauGrid: [Double] = stride(from: 0.0, through: 2.0, by: 0.25).map { $0 }
        /// The class-weight power of the recommended command's logit-adjusted candidate
        /// (`CrossValidatedSelection`): rows weighted `∝ n_c^(−1/2)`, then shifted by
        /// `−τ·log π` (ours; docs/RESULTS.md). `--method logit-adjust` itself is Menon et
        /// al.'s, over the unweighted regression.
        public static let recommendedClassWeightPower = 0.5
        /// The power `p` of the `PartialWhitening`, `x ↦ (x − μ)·Σ^(−p)`, that the recommended
        /// command's logit-adjusted candidate may read signed rows through (ours; halfway to
        /// whitening): it is fitted on the rows as they are and through the transform, and the
        /// one with the higher held-out recall kept (docs/RESULTS.md). Non-negative rows are
        /// read as they are.
        public static let recommendedWhiteningPower = 0.25
    }

    /// A class-weight power as a record names it (`FitRecord.classWeight`): "none",
    /// "balanced" or "n_c^-0.5".
    public static func classWeight(_ power: Double) -> String {
        power == 0 ? "none" : power == 1 ? "balanced" : "n_c^-\(power)"
    }
    public var C: RegularizationChoice
    public var solver: LogisticRegression
    public var grid: [Double] = RegressionCV.defaultGrid
    /// The `τ` values scored at every `C`.
    public var shifts: [Double] = Settings.tauGrid

    public init(C: RegularizationChoice, solver: LogisticRegression) {
        self.C = C; self.solver = solver
    }

    /// Balanced softmax on the converged solver (Ren et al.): the loss with the logits
    /// shifted by `+log π` in training. The bias carries no penalty, so the shift is
    /// absorbed by it exactly: the trained model is the unweighted regression with its bias
    /// moved by `−log π`, logit adjustment at `τ = 1`.
    public static func balancedSoftmax(C: RegularizationChoice, solver: LogisticRegression) -> LogitAdjustedRegression {
        var r = LogitAdjustedRegression(C: C, solver: solver)
        r.shifts = [1]
        return r
    }

    public var name: String { shifts == [1] ? "balanced-softmax-lbfgs" : "logit-adjust-lbfgs" }
    /// `τ` is always cross-validated, so the fit always refits on every labelled row.
    public var crossValidates: Bool { true }

    /// - Complexity: `K × grid` warm-started solves (one grid point with a given `C`) and
    ///   one refit path; scoring every `τ` costs `O(N·C·|τ|)` per grid point.
    public func fit(_ data: FitData, log: @escaping (String) -> Void) throws -> Fitted {
        let x = data.rows, folds = data.requireFolds(name)
        var cvGrid = grid
        if case .fixed(let c) = C { cvGrid = [c] }
        let cv = RegressionCV(grid: cvGrid, balanced: false, solver: solver, sumAcrossRanks: data.sumAcrossRanks,
                              combineAcrossRanks: data.combineAcrossRanks)
        let assignments = Self.assignments(folds, data.repeatedFolds, shifts: shifts)
        let path = try Self.path(cv, x.features, labels: x.labels, numClasses: x.numClasses, folds: assignments, shifts: shifts,
                                 progress: data.pathProgress("C and τ by cross-validation", grid: cv.grid,
                                                             folds: folds.count * assignments.count))
        let scaler = FeatureScaler(fitting: x.features, sumAcrossRanks: data.sumAcrossRanks)
        let fitted = scaler.rawModel(try cv.refit(scaler.apply(x.features), labels: x.labels, numClasses: x.numClasses,
                                                  C: path.chosen) { c, i, n in
            data.stage("refitting on every row: " + RegressionCV.refitStep(c, i, n, target: path.chosen))
        })
        let counts = data.classCounts, rows = counts.reduce(0, +)
        let model = fitted.logitAdjusted(tau: path.chosenShift, classCounts: counts)
        log("C = \(path.chosen), τ = \(path.chosenShift) by \(path.design(folds: folds.count)) on \(rows) rows, refitted on them")
        for line in path.lines() { log(line) }
        var record = FitRecord(path: path, folds: folds.count, classWeight: "none")
        record.scaling = FeatureScaler.description
        record.tau = path.chosenShift
        record.method = "post-hoc logit adjustment: logits − τ·log π, π the class frequencies of the fitted rows"
        var chosen = ["C": path.chosen, "tau": path.chosenShift]
        if case .fixed = C { record.cSelection = "given"; chosen["C"] = nil }
        return Fitted(model: model, crossValidation: path.score(folds: folds.count, rows: rows), chosen: chosen, record: record)
    }
}

extension LogitAdjustedRegression {
    /// The fold assignments the choice reads: every one of `primary` and `repeated` when `τ`
    /// is chosen (more than one shift), else `primary` alone.
    static func assignments(_ primary: StratifiedFolds, _ repeated: [StratifiedFolds], shifts: [Double]) -> [StratifiedFolds] {
        shifts.count > 1 ? [primary] + repeated : [primary]
    }

    /// The cross-validated path of `C` and `τ`: `cv.paths` over the assignments of `folds`
    /// (the first's folds first), joined, with `C` by log-loss then `τ` when both are chosen
    /// (`RegressionCV.Path.choosingCByLogLoss`), else the best recall (`τ` at a given `C`,
    /// or `C` at a given `τ`). Where `C` is chosen by log-loss, each fold's path stops once
    /// its held-out log-loss has risen at `RegressionCV.logLossRisesBeforeStop` consecutive
    /// `C`, and the choice reads the grid values every fold reached. `progress` numbers the
    /// folds of every assignment in turn.
    /// - Complexity: up to `folds.count × K × grid` warm-started solves.
    static func path(_ cv: RegressionCV, _ x: Matrix<Float>, labels: [Int32], numClasses: Int, folds: [StratifiedFolds],
                     shifts: [Double], progress: ((Int, Double) -> Void)?) throws -> RegressionCV.Path {
        let choosesCByLogLoss = shifts.count > 1 && cv.grid.count > 1
        let paths = try cv.paths(x, labels: labels, numClasses: numClasses, assignments: folds, shifts: shifts,
                                 stopWhenLogLossRises: choosesCByLogLoss, progress: progress)
        let joined = RegressionCV.Path.joined(paths)
        return choosesCByLogLoss ? joined.choosingCByLogLoss() : joined
    }
}
