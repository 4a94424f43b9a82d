import Foundation
import Linalg

/// `afg train --method glag --select-on-val` on the SGD path: a small grid of GLAG runs,
/// each trained on the training split only, scored by validation mean per-class recall;
/// the best is kept (the first in grid order on ties). The test split is never seen.
///
/// The grid varies what the measurements in docs/RESULTS.md showed to matter: the KD
/// teacher (a CE stage-one head is biased to the head classes and can cost a point; the
/// class-weighted regression is an unbiased teacher; or no KD at all) and the initial
/// confidence `β₀` of the tail classes. Everything else is `base`'s.
///
/// | name | KD teacher (and start point) | β₀ |
/// |---|---|---|
/// | stage-one-b0.6 (only with a stage-one head) | the stage-one head `g₁` | 0.6 |
/// | stage-one-b1.0 (only with a stage-one head) | the stage-one head `g₁` | 1.0 |
/// | balanced-b0.6 | class-weighted logistic regression (scikit-learn's `balanced`, `C`) | 0.6 |
/// | balanced-b1.0 | class-weighted logistic regression | 1.0 |
/// | no-kd-b0.6 | none (start: `g₁` when given, else zero) | 0.6 |
/// | no-kd-b1.0 | none | 1.0 |
public enum GLAGSGDSelection {
    /// Where the KD targets (and the start point) come from.
    public enum Teacher: String, Codable, Sendable {
        /// The stage-one head passed in `TrainInputs.teacher`.
        case stageOne = "stage-one"
        /// The class-weighted multinomial logistic regression, solved once on the training split.
        case balanced
        /// No KD term.
        case none = "no-kd"
    }

    /// One setting of the grid.
    public struct Candidate: Equatable, Sendable {
        public var teacher: Teacher
        public var initialBeta: Float
        public init(teacher: Teacher, initialBeta: Float) { self.teacher = teacher; self.initialBeta = initialBeta }
        public var name: String { "\(teacher.rawValue)-b\(initialBeta)" }
    }

    /// A scored setting.
    public struct Entry: Sendable {
        public var name: String
        public var validationMeanRecall: Double
        public var validationAccuracy: Double
        public var seconds: Double
    }

    public struct Outcome {
        /// The chosen run (trained on the training split only).
        public var result: TrainResult
        /// Its configuration (`base` with the grid's fields set).
        public var config: TrainConfig
        /// Index of the chosen setting in `entries` / the grid.
        public var bestIndex: Int
        /// Every setting with its validation scores, in grid order.
        public var entries: [Entry]
    }

    /// The documented grid (see the type's table); the stage-one rows only when a head is given.
    public static func defaultGrid(hasStageOne: Bool) -> [Candidate] {
        let teachers: [Teacher] = (hasStageOne ? [.stageOne] : []) + [.balanced, .none]
        return teachers.flatMap { t in [Float(0.6), 1.0].map { Candidate(teacher: t, initialBeta: $0) } }
    }

    /// `base` with the candidate's fields set (method glag).
    public static func config(_ base: TrainConfig, _ c: Candidate) -> TrainConfig {
        var cfg = base
        cfg.method = .glag
        cfg.useKD = c.teacher != .none
        cfg.generation.initialBeta = c.initialBeta
        return cfg
    }

    /// Runs every candidate and keeps the best by validation mean per-class recall.
    ///
    /// - Parameters:
    ///   - base: the run's configuration (epochs, schedule, generator, seed ...).
    ///   - inputs: training and validation rows (validation required), and the optional
    ///     stage-one head with its untransformed features.
    ///   - inverseRegularization: `C` of the balanced teacher (scikit-learn's definition).
    ///   - progress: called after each candidate; `onEpoch` is passed to each run's trainer.
    /// - Complexity: one GLAG SGD run per candidate, plus one converged class-weighted
    ///   regression when a `balanced` candidate is present.
    /// - Throws: `TrainError` (data), `TrainError.generator`, the solver's errors.
    public static func select(base: TrainConfig, inputs: TrainInputs, grid: [Candidate],
                              inverseRegularization: Double = 1,
                              progress: ((Entry) -> Void)? = nil,
                              onEpoch: ((EpochReport) -> Void)? = nil) throws -> Outcome {
        precondition(!grid.isEmpty, "GLAGSGDSelection: empty grid")
        guard let val = inputs.val else { throw TrainError.selectionNeedsValidation }
        precondition(inputs.teacher != nil || !grid.contains { $0.teacher == .stageOne },
                     "GLAGSGDSelection: a stage-one candidate without a stage-one head")
        let train = inputs.train
        var balanced: LinearModel?
        if grid.contains(where: { $0.teacher == .balanced }) {
            balanced = try GLAGSolver.balancedRegression(features: train.features, labels: train.labels,
                                                         numClasses: train.numClasses,
                                                         inverseRegularization: inverseRegularization)
        }
        let counts = train.classCounts
        var entries: [Entry] = []
        var best: (index: Int, recall: Double, result: TrainResult, config: TrainConfig)?
        for (i, cand) in grid.enumerated() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let cfg = config(base, cand)
            var runInputs = inputs
            if cand.teacher == .balanced {
                // The regression works on the transformed features: no separate teacher input.
                runInputs.teacher = balanced; runInputs.rawTrain = nil; runInputs.rawVal = nil
            }
            let trainer = try Trainer(config: cfg, inputs: runInputs)
            trainer.onEpoch = onEpoch
            let result = try trainer.run()
            let m = Metrics(model: result.model, features: val.features, labels: val.labels, trainCounts: counts,
                            thresholds: cfg.thresholds)
            let e = Entry(name: cand.name, validationMeanRecall: m.meanPerClassRecall, validationAccuracy: m.overall,
                          seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            entries.append(e)
            progress?(e)
            if best == nil || e.validationMeanRecall > best!.recall { best = (i, e.validationMeanRecall, result, cfg) }
        }
        return Outcome(result: best!.result, config: best!.config, bestIndex: best!.index, entries: entries)
    }
}
