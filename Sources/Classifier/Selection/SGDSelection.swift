import Foundation
import Linalg
import AFG

/// `afg train --method glag --select-on-val`: a small grid of runs, each trained on the
/// training split only and scored by validation mean per-class recall; the best is kept
/// (the first in grid order on ties). The test split is never seen. One runner
/// (`select(_:validation:trainCounts:fit:progress:)`) serves the grid. On the converged solver
/// the recommended command is `CrossValidatedSelection` instead.
public enum GLAGSelection {
    /// A scored setting.
    public struct Entry: Sendable {
        public var name: String
        /// The setting in one line (the lbfgs grid prints it beside the score).
        public var summary: String
        public var validationMeanRecall: Double
        public var validationAccuracy: Double
        public var seconds: Double
    }

    /// The chosen run and every setting's scores.
    public struct Outcome<Run> {
        /// The chosen run (trained on the training split only).
        public var run: Run
        /// Index of the chosen setting in `entries` / the grid.
        public var bestIndex: Int
        /// Every setting with its validation scores, in grid order.
        public var entries: [Entry]
    }

    /// What fitting one candidate gave: the run, its classifier (scored on validation)
    /// and, when the time was spent elsewhere (a shared teacher), the seconds to report.
    public struct Fitted<Run> {
        public var run: Run
        public var model: LinearModel
        public var seconds: Double?
        public init(run: Run, model: LinearModel, seconds: Double? = nil) {
            self.run = run; self.model = model; self.seconds = seconds
        }
    }

    /// Fits every candidate in order and keeps the best by validation mean per-class
    /// recall (the first on ties).
    /// - Complexity: one `fit` per candidate plus one `N_val × D × C` scoring each.
    public static func select<Candidate, Run>(_ grid: [Candidate], validation: LabeledFeatures, trainCounts: [Int],
                                              name: (Candidate) -> String, summary: (Candidate) -> String = { _ in "" },
                                              fit: (Candidate) throws -> Fitted<Run>,
                                              progress: ((Entry) -> Void)? = nil) rethrows -> Outcome<Run> {
        precondition(!grid.isEmpty, "GLAGSelection: empty grid")
        var entries: [Entry] = [], runs: [Run] = []
        for cand in grid {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let f = try fit(cand)
            let m = Metrics(model: f.model, features: validation.features, labels: validation.labels, trainCounts: trainCounts)
            let e = Entry(name: name(cand), summary: summary(cand), validationMeanRecall: m.meanPerClassRecall,
                          validationAccuracy: m.overall,
                          seconds: f.seconds ?? Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            entries.append(e)
            runs.append(f.run)
            progress?(e)
        }
        let best = ChoiceRule.best(entries.map(\.validationMeanRecall))!
        return Outcome(run: runs[best], bestIndex: best, entries: entries)
    }
}

// MARK: - The SGD grid

extension GLAGSelection {
    /// One setting of the SGD grid: the KD teacher (and start point) and the tail classes'
    /// initial confidence. The grid varies what the measurements in docs/RESULTS.md showed
    /// to matter: a CE stage-one head is biased to the head classes and can cost a point;
    /// the class-weighted regression is an unbiased teacher; or no KD at all.
    ///
    /// | name | KD teacher (and start point) | β₀ |
    /// |---|---|---|
    /// | stage-one-b0.6 (only with a stage-one head) | the stage-one head `g₁` | 0.6 |
    /// | stage-one-b1.0 (only with a stage-one head) | the stage-one head `g₁` | 1.0 |
    /// | balanced-b0.6 | class-weighted logistic regression (scikit-learn's `balanced`, `C`) | 0.6 |
    /// | balanced-b1.0 | class-weighted logistic regression | 1.0 |
    /// | no-kd-b0.6 | none (start: `g₁` when given, else zero) | 0.6 |
    /// | no-kd-b1.0 | none | 1.0 |
    public struct SGDCandidate: Equatable, Sendable {
        public var teacher: TeacherKind
        public var initialBeta: Float
        public init(teacher: TeacherKind, initialBeta: Float) { self.teacher = teacher; self.initialBeta = initialBeta }
        public var name: String { "\(teacher == .none ? "no-kd" : teacher.rawValue)-b\(initialBeta)" }
    }

    /// The documented SGD grid; the stage-one rows only when a head is given.
    public static func sgdGrid(hasStageOne: Bool) -> [SGDCandidate] {
        let teachers: [TeacherKind] = (hasStageOne ? [.stageOne] : []) + [.balanced, .none]
        return teachers.flatMap { t in [Float(0.6), 1.0].map { SGDCandidate(teacher: t, initialBeta: $0) } }
    }

    /// `base` with the candidate's fields set (method glag).
    public static func config(_ base: TrainConfig, _ c: SGDCandidate) -> TrainConfig {
        var cfg = base
        cfg.method = .glag
        cfg.useKD = c.teacher != .none
        cfg.generator.initialBeta = c.initialBeta
        return cfg
    }

    /// Runs every SGD candidate (`Trainer`) and keeps the best.
    ///
    /// - Parameters:
    ///   - base: the run's configuration (epochs, schedule, generator, seed ...).
    ///   - inputs: training and validation rows (validation required), and the optional
    ///     stage-one head with its untransformed features.
    ///   - inverseRegularization: `C` of the balanced teacher (scikit-learn's definition).
    ///   - onEpoch: passed to each run's trainer.
    /// - Complexity: one GLAG SGD run per candidate, plus one converged class-weighted
    ///   regression when a `balanced` candidate is present.
    /// - Throws: `TrainError` (data), `TrainError.generator`, the solver's errors.
    public static func selectSGD(base: TrainConfig, inputs: TrainInputs, grid: [SGDCandidate],
                                 inverseRegularization: Double = 1, progress: ((Entry) -> Void)? = nil,
                                 onEpoch: ((EpochReport) -> Void)? = nil) throws -> Outcome<(TrainResult, TrainConfig)> {
        guard let val = inputs.val else { throw TrainError.selectionNeedsValidation }
        precondition(inputs.teacher != nil || !grid.contains { $0.teacher == .stageOne },
                     "GLAGSelection: a stage-one candidate without a stage-one head")
        let train = inputs.train
        var balanced: LinearModel?
        if grid.contains(where: { $0.teacher == .balanced }) {
            balanced = try Regression.fit(train.features, labels: train.labels, numClasses: train.numClasses,
                                          C: inverseRegularization, classWeightPower: 1,
                                          solver: LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000))
        }
        return try select(grid, validation: val, trainCounts: train.classCounts, name: \.name, fit: { cand in
            let cfg = config(base, cand)
            var runInputs = inputs
            if cand.teacher == .balanced {
                // The regression works on the transformed features: no separate teacher input.
                runInputs.teacher = balanced; runInputs.rawTrain = nil; runInputs.rawVal = nil
            }
            let trainer = try Trainer(config: cfg, inputs: runInputs)
            trainer.onEpoch = onEpoch
            let result = try trainer.run()
            return Fitted(run: (result, cfg), model: result.model)
        }, progress: progress)
    }
}
