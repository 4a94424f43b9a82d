import AFG
import Foundation
import Linalg

/// A stage-two method on the converged solver, as one value: its settings are stored
/// properties (each declared once as a `Setting` where it is numeric), and `fit` turns
/// labelled rows into a linear (or two-view) classifier. The command line maps its options
/// to one estimator and calls `fit`; cross-validation, scaling, generation and the record
/// of what was chosen happen inside.
public protocol Estimator {
    /// The method name recorded in the classifier file (`crt-lbfgs-balanced`, `glag-cv`, …).
    var name: String { get }
    /// Whether `fit` cross-validates on its rows and refits on all of them: the caller then
    /// passes every labelled row (train + validation) and folds over them, and no held-out
    /// row is left to report on.
    var crossValidates: Bool { get }
    /// Fits the classifier.
    /// - Throws: `LogisticRegressionError`, `GeneratorError`, `GLAGSolverError` for data the
    ///   method cannot fit.
    func fit(_ data: FitData, log: @escaping (String) -> Void) throws -> Fitted
}

/// What an estimator fits on.
public struct FitData {
    /// The labelled rows, in the classifier's input space (Tukey-transformed when the run
    /// uses λ); this process's rows in an MPI job. With an estimator that cross-validates,
    /// every labelled row (train + validation).
    public var rows: LabeledFeatures
    /// The same rows untransformed (`N × D_raw`), for an estimator that may read a second
    /// view; nil when the rows are not transformed.
    public var raw: Matrix<Float>?
    /// Held-out rows in the same space (an estimator that does not cross-validate may use
    /// them during the fit: adaptive β); nil when none.
    public var validation: LabeledFeatures?
    /// The stage-one head and the `N × D_t` rows it reads (a KD teacher); nil when none.
    public var stageOne: (model: LinearModel, rows: Matrix<Float>)?
    /// The K-fold assignment of `rows` (this rank's part of the one-process folds in an
    /// MPI job); required by an estimator that cross-validates.
    public var folds: StratifiedFolds?
    /// Further K-fold assignments of the same rows (other shuffles, `StratifiedFolds.repeated`;
    /// this rank's part of each under MPI) for a choice on repeated cross-validation
    /// (`LogitAdjustedRegression`); empty: `folds` alone.
    public var repeatedFolds: [StratifiedFolds]
    public var seed: UInt64
    /// The job's other processes; nil in one process.
    public var job: JobShare?
    /// Where a long fit reports its steps (`FitProgress`; a sink, not a setting).
    public var progress: ((FitProgress) -> Void)? = nil

    public init(rows: LabeledFeatures, raw: Matrix<Float>? = nil, validation: LabeledFeatures? = nil,
                stageOne: (model: LinearModel, rows: Matrix<Float>)? = nil, folds: StratifiedFolds? = nil,
                repeatedFolds: [StratifiedFolds] = [], seed: UInt64, job: JobShare? = nil) {
        precondition(raw.map { $0.rows == rows.labels.count } ?? true, "FitData: raw view has other rows")
        precondition(([folds].compactMap { $0 } + repeatedFolds).allSatisfy { $0.fold.count == rows.labels.count },
                     "FitData: folds of other rows")
        precondition(repeatedFolds.isEmpty || repeatedFolds.allSatisfy { $0.count == folds?.count }, "FitData: repetitions of another K")
        self.rows = rows; self.raw = raw; self.validation = validation; self.stageOne = stageOne
        self.folds = folds; self.repeatedFolds = repeatedFolds; self.seed = seed; self.job = job
    }

    /// Sums across the job's ranks; nil in one process.
    public var sumAcrossRanks: SumAcrossRanks? { job?.sum }
    /// The solver's sums across ranks (`CompensatedSum`), nil in one process.
    public var combineAcrossRanks: CombineAcrossRanks? { job?.combine }

    /// Every rank's rows per class (`C` values).
    public var classCounts: [Int] {
        var counts = rows.classCounts.map(Double.init)
        job?.sum(&counts)
        return counts.map { Int($0) }
    }

    /// A `RegressionCV.path` progress sink that reports to `progress`: path `index` of
    /// `paths` over `grid` (sorted, as the path runs it) and `folds` folds; nil without a sink.
    /// Reports the path's first solve at once, then after each solve the next one.
    func pathProgress(_ name: String, grid: [Double], folds: Int, paths: Int = 1, index: Int = 0) -> ((Int, Double) -> Void)? {
        guard let report = progress else { return nil }
        let perPath = folds * grid.count, total = paths * perPath
        func step(_ done: Int) -> FitProgress {
            let next = min(done, perPath - 1)
            return FitProgress(done: index * perPath + done, total: total,
                               step: "\(name): fold \(next / grid.count + 1)/\(folds), C = \(grid[next % grid.count])")
        }
        report(step(0))
        return { f, c in report(step(f * grid.count + (grid.firstIndex(of: c) ?? 0) + 1)) }
    }

    /// Reports the start of a step that is not one solve of a path (a refit, a generation,
    /// a fit at a given `C`) to `progress`.
    func stage(_ step: String) { progress?(FitProgress(done: 0, total: 0, step: step)) }

    /// The folds, or a programmer error for an estimator that cross-validates without them.
    func requireFolds(_ who: String) -> StratifiedFolds {
        guard let f = folds else { preconditionFailure("\(who): cross-validation needs folds") }
        return f
    }
}

/// The processes of an MPI job as an estimator sees them.
public struct JobShare {
    /// This rank and the number of ranks.
    public var rank: Int, size: Int
    /// Sums a buffer across ranks (the same bits on every rank).
    public var sum: SumAcrossRanks
    /// Combines double-double sums across ranks in rank order (the same bits on every rank).
    public var combine: CombineAcrossRanks
    /// The one-process rows (every rank's, in one-process order) that a generator is built
    /// from: the generated set is then the one-process set, and each rank keeps its blocks.
    /// nil for an estimator that generates nothing.
    public var generatorRows: LabeledFeatures?
    /// This rank's contiguous part of `n` items (the same split on every rank).
    public var part: (Int) -> Range<Int>

    public init(rank: Int, size: Int, sum: @escaping SumAcrossRanks, combine: @escaping CombineAcrossRanks,
                generatorRows: LabeledFeatures? = nil, part: @escaping (Int) -> Range<Int>) {
        self.rank = rank; self.size = size; self.sum = sum; self.combine = combine; self.generatorRows = generatorRows; self.part = part
    }
}

/// A fitted classifier and what the fit chose.
public struct Fitted {
    /// Reads `rows` (or `[rows | raw]` when `twoView`).
    public var model: LinearModel
    /// `model` reads `[T(x) | x]` (`LinearModel.twoView`): a `raw_weight` head in the file.
    public var twoView: Bool
    /// Whether `model` reads the raw rows only (the selection chose the raw space).
    public var readsRaw: Bool
    /// The cross-validated score of what was chosen; nil when nothing was cross-validated.
    public var crossValidation: CrossValidationScore?
    /// The values chosen by the fit (`C`, `τ`).
    public var chosen: [String: Double]
    /// The record written as the classifier file's `config` (docs/FORMAT.md).
    public var record: FitRecord
    /// Lines for the run's summary.
    public var notes: [String]
    /// A memory head mixed into `model`'s scores (`MemoryHead`, reading `rows`); nil: none.
    public var memory: MemoryHead? = nil
    /// A selection's candidates with their scores, and the chosen one's name.
    public var grid: [GridEntry]?
    public var selected: String?

    /// One scored candidate of a selection.
    public struct GridEntry: Sendable {
        public var name: String
        /// Held-out mean per-class recall.
        public var score: Double
        /// Printed after the score.
        public var detail: String
        public init(name: String, score: Double, detail: String) { self.name = name; self.score = score; self.detail = detail }
    }

    public init(model: LinearModel, twoView: Bool = false, readsRaw: Bool = false,
                crossValidation: CrossValidationScore? = nil, chosen: [String: Double] = [:], record: FitRecord,
                notes: [String] = []) {
        self.model = model; self.twoView = twoView; self.readsRaw = readsRaw; self.crossValidation = crossValidation
        self.chosen = chosen; self.record = record; self.notes = notes
    }
}

/// The held-out score of a cross-validated choice: mean per-class recall over `folds`
/// folds of `rows` labelled rows, its standard error, the rule that chose, and what was
/// scored (the fitted classifier, or the part of it that was cross-validated).
public struct CrossValidationScore: Sendable, Equatable, Codable {
    /// What the score is of, e.g. "the class-weighted regression at C*".
    public var subject: String?
    public var folds: Int
    /// How many `folds`-fold assignments the score averages over, when more than one.
    public var repetitions: Int?
    public var rows: Int
    public var meanPerClassRecall: Double
    public var standardError: Double
    /// The choice rule, in words.
    public var rule: String
    public init(subject: String? = nil, folds: Int, repetitions: Int? = nil, rows: Int, meanPerClassRecall: Double,
                standardError: Double, rule: String) {
        self.subject = subject; self.folds = folds; self.repetitions = repetitions; self.rows = rows
        self.meanPerClassRecall = meanPerClassRecall
        self.standardError = standardError; self.rule = rule
    }
}

/// Where a long fit is: `done` of `total` solves of a cross-validation path finished and
/// `step` the one running, or (`total` 0) a step outside a path. The caller draws it with
/// its own clock (an ETA), beside the running solve's iterations (`LogisticRegression.iterations`).
public struct FitProgress: Sendable {
    public var done: Int
    public var total: Int
    public var step: String
    public init(done: Int, total: Int, step: String) { self.done = done; self.total = total; self.step = step }
}

/// How `C` is set: a given value, or stratified K-fold cross-validation on the grid.
public enum RegularizationChoice: Sendable, Equatable {
    case fixed(Double)
    case crossValidated
}
