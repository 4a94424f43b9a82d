import Foundation
import Linalg
import AFG

/// `afg train --method glag --select-on-val`: a small grid of runs, each trained on the
/// training split only and scored by validation mean per-class recall; the best is kept
/// (the first in grid order on ties). The test split is never seen. One runner
/// (`select(_:validation:trainCounts:fit:progress:)`) serves both solvers' grids.
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
        var entries: [Entry] = []
        var best: (index: Int, recall: Double, run: Run)?
        for (i, cand) in grid.enumerated() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let f = try fit(cand)
            let m = Metrics(model: f.model, features: validation.features, labels: validation.labels, trainCounts: trainCounts)
            let e = Entry(name: name(cand), summary: summary(cand), validationMeanRecall: m.meanPerClassRecall,
                          validationAccuracy: m.overall,
                          seconds: f.seconds ?? Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            entries.append(e)
            progress?(e)
            if best == nil || e.validationMeanRecall > best!.recall { best = (i, e.validationMeanRecall, f.run) }
        }
        return Outcome(run: best!.run, bestIndex: best!.index, entries: entries)
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
            balanced = try GLAGSolver.balancedRegression(features: train.features, labels: train.labels,
                                                         numClasses: train.numClasses,
                                                         inverseRegularization: inverseRegularization)
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

// MARK: - The lbfgs grid

extension GLAGSelection {
    /// One setting of the lbfgs grid. `config == nil` is the class-weighted regression
    /// alone (no generation), listed so the grid shows what GLAG is measured against.
    public struct SolverCandidate: Sendable {
        public var name: String
        public var config: GLAGSolverConfig?
        public init(name: String, config: GLAGSolverConfig?) { self.name = name; self.config = config }
        public var summary: String { config?.summary ?? "class-weighted logistic regression (balanced), no generation" }
    }

    /// The default lbfgs grid around `base` (its generator, rounds, C, KD schedule shape
    /// and solver settings are kept; the grid overrides the fields listed):
    ///
    /// | name | mean | β₀ | k | KD max | teacher | init |
    /// |---|---|---|---|---|---|---|
    /// | balanced-lr | (class-weighted regression alone) |||||
    /// | sample-b0.2 | sample | 0.2 | 2 | 0.5 | balanced | teacher |
    /// | sample-b0.6 | sample | 0.6 | 2 | 0.5 | balanced | teacher |
    /// | sample-b1.0 | sample | 1.0 | 2 | 0.5 | balanced | teacher |
    /// | sample-b0.6-nokd | sample | 0.6 | 2 | 0 | balanced | teacher |
    /// | sample-b0.6-k3 | sample | 0.6 | 3 | 0.5 | balanced | teacher |
    /// | sample-b0.6-noteacher | sample | 0.6 | 2 | — | none | zero |
    /// | pull-b0.2 | pull | 0.2 | 2 | 0.5 | balanced | teacher |
    /// | sample-b0.6-stageone (only with a stage-one head) | sample | 0.6 | 2 | 0.5 | stage-one | teacher |
    public static func solverGrid(base: GLAGSolverConfig = GLAGSolverConfig(), hasStageOne: Bool = false) -> [SolverCandidate] {
        func make(_ name: String, mean: MeanMode = .sample, beta: Float, k: Int = 2, kd: Double = 0.5,
                  teacher: TeacherKind = .balanced, initial: InitKind = .teacher) -> SolverCandidate {
            var c = base
            c.generator.meanMode = mean
            c.generator.initialBeta = beta
            c.generator.k = k
            c.kd.maxValue = kd
            c.teacher = teacher
            c.initialization = initial
            return SolverCandidate(name: name, config: c)
        }
        var grid = [SolverCandidate(name: "balanced-lr", config: nil),
                    make("sample-b0.2", beta: 0.2),
                    make("sample-b0.6", beta: 0.6),
                    make("sample-b1.0", beta: 1.0),
                    make("sample-b0.6-nokd", beta: 0.6, kd: 0),
                    make("sample-b0.6-k3", beta: 0.6, k: 3),
                    make("sample-b0.6-noteacher", beta: 0.6, kd: 0, teacher: .none, initial: .zero),
                    make("pull-b0.2", mean: .pull, beta: 0.2)]
        if hasStageOne { grid.append(make("sample-b0.6-stageone", beta: 0.6, teacher: .stageOne)) }
        return grid
    }

    /// Fits every lbfgs candidate (`GLAGSolver`) and keeps the best. The `balanced`
    /// teacher is solved once and shared. The run is the chosen model and its GLAG fit
    /// (nil when the class-weighted regression won).
    /// - Complexity: one GLAG run per setting.
    public static func selectSolver(grid: [SolverCandidate], features: Matrix<Float>, labels: [Int32], numClasses: Int,
                                    validation: LabeledFeatures, stageOne: LinearModel? = nil,
                                    teacherFeatures: Matrix<Float>? = nil, seed: UInt64,
                                    inverseRegularization: Double = 1, precision: LogisticRegression.Precision = .single,
                                    progress: ((Entry) -> Void)? = nil) throws -> Outcome<(LinearModel, GLAGFit?)> {
        let c = numClasses
        let t0 = DispatchTime.now().uptimeNanoseconds
        let balanced = try GLAGSolver.balancedRegression(features: features, labels: labels, numClasses: c,
                                                         inverseRegularization: inverseRegularization, precision: precision)
        let balancedSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var trainCounts = [Int](repeating: 0, count: c)
        for l in labels where l >= 0 && Int(l) < c { trainCounts[Int(l)] += 1 }
        return try select(grid, validation: validation, trainCounts: trainCounts, name: \.name, summary: \.summary,
                          fit: { cand in
            guard let cfg = cand.config else { return Fitted(run: (balanced, nil), model: balanced, seconds: balancedSeconds) }
            let fit = try GLAGSolver(config: cfg).fit(features: features, labels: labels, numClasses: c, validation: validation,
                                                      stageOne: stageOne, teacherFeatures: teacherFeatures,
                                                      balancedTeacher: cfg.teacher == .balanced ? balanced : nil, seed: seed)
            return Fitted(run: (fit.model, fit), model: fit.model)
        }, progress: progress)
    }
}
