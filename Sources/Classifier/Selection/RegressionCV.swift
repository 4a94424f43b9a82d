import AFG
import Foundation
import Linalg

/// `C` chosen by stratified K-fold cross-validation, as scikit-learn's
/// `LogisticRegressionCV(Cs=grid, cv=StratifiedKFold(K), scoring="balanced_accuracy")`
/// does: for each fold, the regression is solved along the grid (increasing `C`, each solve
/// warm-started from the previous one) on the other folds' scaled rows (`FeatureScaler`) and scored by
/// mean per-class recall on the held-out fold; the `C` with the best mean score wins (the
/// smallest on ties), and the caller refits on every row along the same path (`refit`).
public struct RegressionCV {
    /// The default grid: `10⁻⁴, 10⁻³, …, 10⁴` (9 values, scikit-learn's `Cs=10` range).
    public static let defaultGrid: [Double] = (-4...4).map { pow(10, Double($0)) }

    /// A grid's cross-validated scores: every `C`, and at each `C` every post-hoc logit
    /// shift `τ` (`shifts`; `[0]` when the logits are not adjusted).
    public struct Path: Sendable, Equatable {
        /// The grid, increasing.
        public var grid: [Double]
        /// The shifts `τ` scored at every `C`: predictions `argmax_c f_c − τ·log π_c`.
        public var shifts: [Double]
        /// `scores[p][f]`: held-out mean per-class recall of point `p = g·shifts.count + s`
        /// (grid value `g`, shift `s`) in fold `f` (the folds of every repetition in turn).
        public var scores: [[Double]]
        /// `logLoss[g][f]`: held-out mean log-loss of grid value `g`'s unshifted model in fold `f`.
        public var logLoss: [[Double]]
        /// The mean over folds and its standard error (`sd/√K`), per point.
        public var mean: [Double]
        public var standardError: [Double]
        /// The mean held-out log-loss over folds, per grid value.
        public var meanLogLoss: [Double]
        /// The K-fold assignments the folds come from (`K·repetitions` folds in all).
        public var repetitions = 1
        /// The requested grid values past `grid` that some fold's path did not reach
        /// (`RegressionCV.path`'s `stopWhenLogLossRises`); empty for a whole path.
        public var unreached: [Double] = []
        /// Whether `best` is `LogitAdjustedRegression`'s two-step choice (`C` by the least
        /// mean log-loss, then `τ` by recall at that `C`) rather than the best recall over every point.
        public var cByLogLoss = false
        /// Index of the chosen point: the best mean recall (the first on ties: the smallest
        /// `C`, then the smallest `τ`), or the two-step choice (`cByLogLoss`).
        public var best: Int
        /// The chosen `C`.
        public var chosen: Double { grid[best / shifts.count] }
        /// The chosen shift `τ`.
        public var chosenShift: Double { shifts[best % shifts.count] }

        init(grid: [Double], shifts: [Double], scores: [[Double]], logLoss: [[Double]], repetitions: Int = 1,
             unreached: [Double] = []) {
            let stats = scores.map(RegressionCV.meanAndStandardError)
            self.grid = grid; self.shifts = shifts; self.scores = scores; self.logLoss = logLoss; self.unreached = unreached
            mean = stats.map(\.mean); standardError = stats.map(\.se)
            meanLogLoss = logLoss.map { RegressionCV.meanAndStandardError($0).mean }
            self.repetitions = repetitions
            best = ChoiceRule.best(mean) ?? 0
        }

        /// Repetitions of one cross-validation (the same grid and shifts over other fold
        /// assignments) as one path over all their folds, the first repetition's first; on
        /// the grid values every repetition reached (`unreached`).
        public static func joined(_ paths: [Path]) -> Path {
            precondition(!paths.isEmpty && paths.allSatisfy { $0.grid + $0.unreached == paths[0].grid + paths[0].unreached
                                                               && $0.shifts == paths[0].shifts },
                         "RegressionCV.Path.joined: paths of different grids")
            let n = paths.map(\.grid.count).min()!, s = paths[0].shifts.count, all = paths[0].grid + paths[0].unreached
            return Path(grid: Array(all.prefix(n)), shifts: paths[0].shifts,
                        scores: (0..<(n * s)).map { p in paths.flatMap { $0.scores[p] } },
                        logLoss: (0..<n).map { g in paths.flatMap { $0.logLoss[g] } },
                        repetitions: paths.reduce(0) { $0 + $1.repetitions }, unreached: Array(all.dropFirst(n)))
        }

        /// The path with `best` chosen in two steps: `C` by the least mean held-out log-loss
        /// (a proper score of every held-out row's probabilities, steadier than the recall
        /// of one or two held-out rows per Few class), then `τ` by the best mean recall at
        /// that `C`; each the first in grid order on ties (`ChoiceRule`).
        public func choosingCByLogLoss() -> Path {
            var p = self
            let s = shifts.count
            let g = ChoiceRule.best(meanLogLoss.map { -$0 }) ?? 0
            p.best = g * s + (ChoiceRule.best(Array(mean[(g * s)..<(g * s + s)])) ?? 0)
            p.cByLogLoss = true
            return p
        }

        /// How the chosen point was chosen, in words.
        public var rule: String {
            (cByLogLoss ? "C by the least held-out log-loss, then τ by " + ChoiceRule.description
                : ChoiceRule.description + (shifts.count == 1 ? ", over C" : grid.count > 1 ? ", over C × τ" : ", over τ"))
                + (repetitions > 1 ? ", the folds of \(repetitions) assignments" : "")
        }

        /// The cross-validation in words: `5-fold cross-validation` or
        /// `5-fold cross-validation repeated 3 times` (`folds` per assignment).
        public func design(folds: Int) -> String {
            "\(folds)-fold cross-validation" + (repetitions > 1 ? " repeated \(repetitions) times" : "")
        }

        /// The printed grid: one line per `C` (its best shift when several are scored, and
        /// the held-out log-loss when it chose `C`), the chosen one starred.
        public func lines() -> [String] {
            let s = shifts.count
            return grid.indices.map { g in
                var p = g * s
                for q in (g * s)..<(g * s + s) where mean[q] > mean[p] { p = q }
                let tau = s > 1 ? String(format: "   τ = %g", shifts[p % s]) : ""
                let loss = cByLogLoss ? String(format: "   log-loss %.4f", meanLogLoss[g]) : ""
                return "  \(p == best ? "*" : " ") C = " + String(format: "%-8g %6.2f ± %.2f", grid[g], 100 * mean[p],
                                                                   100 * standardError[p]) + tau + loss
            } + (unreached.isEmpty ? [] : [String(format: "    C ≥ %g: not reached by every fold (a fold's path stops once its held-out log-loss has risen at %d consecutive C)",
                                                  unreached[0], RegressionCV.logLossRisesBeforeStop)])
        }

        /// The chosen point's held-out score, for the run's report.
        public func score(folds: Int, rows: Int) -> CrossValidationScore {
            CrossValidationScore(folds: folds, repetitions: repetitions > 1 ? repetitions : nil, rows: rows,
                                 meanPerClassRecall: mean[best], standardError: standardError[best], rule: rule)
        }
    }

    public var grid: [Double]
    /// Class weights `∝ n_c^(−classWeightPower)` (`LogisticRegression.classWeights`): 1 is
    /// scikit-learn's `class_weight="balanced"`, 0 unweighted.
    public var classWeightPower: Double
    public var solver: LogisticRegression
    /// Rows spread over the processes of a job (each passing its own rows and its part of
    /// the folds): class counts, total weight, every solver evaluation, the scalers and the
    /// held-out scores are summed across ranks. nil = one process.
    public var sumAcrossRanks: SumAcrossRanks?
    /// The solver's sums across ranks (`LogisticRegression.solve`); with `sumAcrossRanks`.
    public var combineAcrossRanks: CombineAcrossRanks?
    /// The largest multiple of `solver`'s gradient tolerance at which `path`'s fold solves
    /// stop (`foldSolver(rows:)`); `refit` solves to `solver`'s own.
    public var maxFoldToleranceFactor: Double
    /// `maxFoldToleranceFactor`'s default.
    public static let defaultMaxFoldToleranceFactor: Double = 10
    /// Fold rows per unit of the fold tolerance factor (`foldSolver(rows:)`).
    public static let foldToleranceRows = 20_000
    /// The consecutive rises of a fold's held-out log-loss after which `path` stops it
    /// (`stopWhenLogLossRises`).
    public static let logLossRisesBeforeStop = 2

    /// `init(grid:classWeightPower:…)` with power 1 (`balanced`) or 0.
    public init(grid: [Double] = RegressionCV.defaultGrid, balanced: Bool,
                solver: LogisticRegression = LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000),
                maxFoldToleranceFactor: Double = RegressionCV.defaultMaxFoldToleranceFactor,
                sumAcrossRanks: SumAcrossRanks? = nil, combineAcrossRanks: CombineAcrossRanks? = nil) {
        self.init(grid: grid, classWeightPower: balanced ? 1 : 0, solver: solver, maxFoldToleranceFactor: maxFoldToleranceFactor,
                  sumAcrossRanks: sumAcrossRanks, combineAcrossRanks: combineAcrossRanks)
    }

    /// - Precondition: a non-empty grid of positive values, `classWeightPower` in `0...1`,
    ///   both sums across ranks or neither.
    public init(grid: [Double] = RegressionCV.defaultGrid, classWeightPower: Double,
                solver: LogisticRegression = LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000),
                maxFoldToleranceFactor: Double = RegressionCV.defaultMaxFoldToleranceFactor,
                sumAcrossRanks: SumAcrossRanks? = nil, combineAcrossRanks: CombineAcrossRanks? = nil) {
        precondition((sumAcrossRanks == nil) == (combineAcrossRanks == nil), "RegressionCV: both sums across ranks or neither")
        precondition(!grid.isEmpty && grid.allSatisfy { $0 > 0 && $0.isFinite }, "RegressionCV: grid values must be positive")
        precondition(maxFoldToleranceFactor >= 1 && maxFoldToleranceFactor.isFinite, "RegressionCV: fold tolerance factor must be ≥ 1")
        self.grid = grid.sorted()
        precondition((0...1).contains(classWeightPower), "RegressionCV: class weight power outside 0...1")
        self.classWeightPower = classWeightPower
        self.solver = solver
        self.maxFoldToleranceFactor = maxFoldToleranceFactor
        self.sumAcrossRanks = sumAcrossRanks
        self.combineAcrossRanks = combineAcrossRanks
    }

    /// The solver of `path`'s fold solves on `rows` training rows (every rank's): `solver`
    /// stopping at `min(maxFoldToleranceFactor, max(1, rows / foldToleranceRows))` times its
    /// gradient tolerance. A fold's model serves only its held-out argmax. On large folds a
    /// solve costs seconds and the last digits of a converged one rarely move a held-out
    /// prediction (factor 10 took about a quarter of the fold evaluations at 200 classes and
    /// 40,000 rows per fold, same chosen `C` and test accuracy; docs/SCALE.md). On small sets
    /// solves are cheap and a near tie between grid points can turn on those digits, so they
    /// keep the solver's tolerance (factor 1 up to 20,000 rows). O(1).
    public func foldSolver(rows: Int) -> LogisticRegression {
        var s = solver
        s.gradientTolerance *= min(maxFoldToleranceFactor, max(1, Double(rows) / Double(RegressionCV.foldToleranceRows)))
        return s
    }

    /// The regression at `C` on `x` (already scaled), warm-started from `initial`.
    /// `l2 = 1/(C·S)`, `S` the sum of the row weights (`N` without class weights).
    /// - Complexity: one L-BFGS solve, `4·N·D·C` flops per evaluation.
    public func fit(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, C: Double,
                    initial: LinearModel? = nil) throws -> LinearModel {
        try Regression.fit(x, labels: labels, numClasses: numClasses, C: C, classWeightPower: classWeightPower, solver: solver, initial: initial,
                           combineAcrossRanks: combineAcrossRanks)
    }

    /// The regression at the grid point `C` fitted as each fold of `path` fits it, to
    /// `solver`'s tolerance: along the grid from its smallest value up to `C`, each solve
    /// warm-started where the previous one stopped (`Regression.fitPath`). On near-separable
    /// rows a large `C` has no well-defined solution within the solver's tolerance, and a
    /// cold solve can land far from the warm-started path that cross-validation scored
    /// (digits-lt seed 10, raw features, `C* = 1000`: 87.0 % on test cold, 93.0 % along the
    /// path; docs/RESULTS.md). A `C` off the grid is solved cold.
    /// `step(c, i, n)` is told each solve as it starts: the `i`-th of `n`, at `c`.
    /// - Complexity: up to `grid.count` warm-started solves.
    public func refit(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, C: Double,
                      step: (_ c: Double, _ i: Int, _ n: Int) -> Void = { _, _, _ in }) throws -> LinearModel {
        guard grid.contains(C) else { step(C, 1, 1); return try fit(x, labels: labels, numClasses: numClasses, C: C) }
        let path = grid.filter { $0 <= C }
        var model: LinearModel? = nil
        step(path[0], 1, path.count)
        try Regression.fitPath(x, labels: labels, numClasses: numClasses, Cs: path, classWeightPower: classWeightPower,
                               solver: solver, combineAcrossRanks: combineAcrossRanks) { g, m in
            model = m
            if g + 1 < path.count { step(path[g + 1], g + 2, path.count) }
        }
        return model!
    }

    /// The text of a refit's step for progress lines: `C = 0.01, step 3/5 of the path to C = 1`.
    public static func refitStep(_ c: Double, _ i: Int, _ n: Int, target: Double) -> String {
        n == 1 ? "C = \(c)" : "C = \(c), step \(i)/\(n) of the path to C = \(target)"
    }

    /// Cross-validates the grid on `x` (raw rows; each fold scales with its own
    /// training rows' statistics): per fold, one `Regression.fitPath` along the grid by
    /// `foldSolver(rows:)`. `paths(_:labels:numClasses:assignments:)` with one assignment.
    /// - Complexity: up to `K × grid.count` warm-started solves on `(K−1)/K` of the rows.
    public func path(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, folds: StratifiedFolds, shifts: [Double] = [0],
                     stopWhenLogLossRises: Bool = false, progress: ((Int, Double) -> Void)? = nil) throws -> Path {
        try paths(x, labels: labels, numClasses: numClasses, assignments: [folds], shifts: shifts,
                  stopWhenLogLossRises: stopWhenLogLossRises, progress: progress)[0]
    }

    /// `path` for each fold assignment of `assignments` (the repetitions of one
    /// cross-validation), one `Path` per assignment. The folds' paths are independent, so
    /// in one process those of every assignment run on up to `foldThreads(rows:dimension:)`
    /// threads at once, each fold's results in its own slot and joined in fold order: the
    /// paths are bit for bit the same on any thread count. Under MPI (`sumAcrossRanks`)
    /// every solve sums across ranks, and the folds run one after another so that every
    /// rank makes the same collective calls in the same order.
    /// - Parameters:
    ///   - stopWhenLogLossRises: false solves every grid value; true stops a fold's path once
    ///     its held-out log-loss has risen at `logLossRisesBeforeStop` consecutive grid
    ///     values (where `C` is chosen by that log-loss). Past the least
    ///     log-loss a larger `C` fits the training rows ever closer and the held-out ones
    ///     worse, and on near-separable rows those are the costliest solves (70 % of a
    ///     logit-adjusted path's time on the suite's fortune-cookie embeddings). Each path
    ///     keeps the grid values every fold of its assignment reached, the rest in
    ///     `Path.unreached`; what it keeps is bit for bit what the whole path computes there
    ///     (the same warm starts).
    ///   - progress: called after each solve with (fold, `C`), one call at a time, the folds
    ///     of every assignment numbered in turn. With folds running at once,
    ///     the `n`-th call names the `n`-th solve in fold-major order (a fold that stops early
    ///     counts its skipped solves as done), so the steps it reports stay in order.
    /// - Complexity: up to `assignments × K × grid.count` warm-started solves on `(K−1)/K`
    ///   of the rows; memory for one fold's rows per thread.
    public func paths(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, assignments: [StratifiedFolds],
                      shifts: [Double] = [0], stopWhenLogLossRises: Bool = false,
                      progress: ((Int, Double) -> Void)? = nil) throws -> [Path] {
        precondition(!shifts.isEmpty, "RegressionCV.path: no shift")
        struct Stop: Error {}
        /// One fold's path: `scores[p]` and `logLoss[g]` as `Path`'s, for the grid values it reached.
        struct FoldPath { var scores: [Double], logLoss: [Double], reached: Int }
        let s = shifts.count, n = grid.count
        let jobs = assignments.indices.flatMap { a in (0..<assignments[a].count).map { (a, $0) } }
        let threads = sumAcrossRanks == nil ? RegressionCV.foldThreads(rows: x.rows, dimension: x.cols) : 1
        let lock = NSLock()
        var solved = 0
        // Counts `count` solves as done; reports the last unless they were skipped.
        func done(_ count: Int, skipped: Bool = false) {
            guard let progress else { return }
            lock.lock(); defer { lock.unlock() }
            solved += count
            if !skipped { progress((solved - 1) / n, grid[(solved - 1) % n]) }
        }
        let perFold = try parallelMap(jobs.count, threads: threads) { j -> FoldPath in
            let (a, f) = jobs[j]
            let split = FoldSplit(x, labels: labels, folds: assignments[a], fold: f, sumAcrossRanks: sumAcrossRanks)
            var rows = [Double(split.trainLabels.count)]
            sumAcrossRanks?(&rows)
            var out = FoldPath(scores: [Double](repeating: 0, count: n * s), logLoss: [Double](repeating: 0, count: n), reached: n)
            var rises = 0
            do {
                try Regression.fitPath(split.train, labels: split.trainLabels, numClasses: numClasses, Cs: grid,
                                       classWeightPower: classWeightPower,
                                       solver: foldSolver(rows: Int(rows[0])), combineAcrossRanks: combineAcrossRanks) { g, model in
                    let logits = model.logits(split.heldOut)
                    if s == 1 && shifts[0] == 0 {
                        out.scores[g] = split.score(model, numClasses: numClasses, sumAcrossRanks: sumAcrossRanks)
                    } else {
                        let byShift = split.scores(logits: logits, numClasses: numClasses, shifts: shifts, sumAcrossRanks: sumAcrossRanks)
                        for q in 0..<s { out.scores[g * s + q] = byShift[q] }
                    }
                    out.logLoss[g] = split.logLoss(logits: logits, sumAcrossRanks: sumAcrossRanks)
                    done(1)
                    // The summed log-loss is the same on every rank, so every rank stops here.
                    rises = g > 0 && out.logLoss[g] > out.logLoss[g - 1] ? rises + 1 : 0
                    if stopWhenLogLossRises, rises >= RegressionCV.logLossRisesBeforeStop, g + 1 < n {
                        out.reached = g + 1
                        done(n - out.reached, skipped: true)
                        throw Stop()
                    }
                }
            } catch is Stop {}
            return out
        }
        var first = 0
        return assignments.map { folds in
            let mine = perFold[first..<(first + folds.count)]
            first += folds.count
            let reached = mine.map(\.reached).min() ?? n
            return Path(grid: Array(grid.prefix(reached)), shifts: shifts,
                        scores: (0..<(reached * s)).map { p in mine.map { $0.scores[p] } },
                        logLoss: (0..<reached).map { g in mine.map { $0.logLoss[g] } }, unreached: Array(grid.dropFirst(reached)))
        }
    }

    /// The threads `paths` solves folds on at once: the matrix products' threads
    /// (`blasThreadCount`) while a fold's rows (`rows × dimension` floats, held scaled and
    /// raw) stay within `concurrentFoldBytes`, else one. A small fold's products are too
    /// short to keep several threads busy, so its folds gain from running side by side; a
    /// large fold's products fill the threads on their own, and running its folds at once
    /// only multiplies the copies (docs/SCALE.md, "Folds at once").
    public static func foldThreads(rows: Int, dimension: Int) -> Int {
        let bytes = rows.multipliedReportingOverflow(by: dimension * 2 * MemoryLayout<Float>.size)
        return !bytes.overflow && bytes.partialValue <= concurrentFoldBytes ? blasThreadCount : 1
    }

    /// The largest copy of a fold's rows (bytes) for which `paths` solves folds at once.
    public static let concurrentFoldBytes = 32 << 20

    /// Mean and standard error `sd/√K` (sample sd) of `values`. O(K).
    public static func meanAndStandardError(_ values: [Double]) -> (mean: Double, se: Double) {
        let k = Double(values.count)
        guard k > 0 else { return (.nan, .nan) }
        let m = values.reduce(0, +) / k
        guard k > 1 else { return (m, 0) }
        let v = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (k - 1)
        return (m, (v / k).squareRoot())
    }
}

/// One fold of a stratified split: the training rows scaled by their own statistics,
/// the held-out rows by the same scaler.
public struct FoldSplit {
    public var train: Matrix<Float>
    public var trainLabels: [Int32]
    /// The training rows before scaling (the generator reads these).
    public var rawTrain: Matrix<Float>
    public var heldOut: Matrix<Float>
    public var heldOutLabels: [Int32]
    public var scaler: FeatureScaler

    /// - Parameter sumAcrossRanks: the scaler fitted to every rank's training rows of the fold.
    /// - Complexity: O(N·D) (two gathers and two scalings).
    public init(_ x: Matrix<Float>, labels: [Int32], folds: StratifiedFolds, fold f: Int,
                sumAcrossRanks: SumAcrossRanks? = nil) {
        let tr = folds.training(f), te = folds.heldOut(f)
        rawTrain = x.gatheringRows(tr)
        trainLabels = tr.map { labels[$0] }
        heldOutLabels = te.map { labels[$0] }
        scaler = FeatureScaler(fitting: rawTrain, sumAcrossRanks: sumAcrossRanks)
        train = scaler.apply(rawTrain)
        heldOut = scaler.apply(x.gatheringRows(te))
    }

    /// The fold's training rows as one view of the generated-set regression.
    public var view: GeneratedRegression.View { GeneratedRegression.View(raw: rawTrain, scaler: scaler, scaled: train) }

    /// Held-out mean per-class recall of `model` with its logits shifted by `−τ·log π`
    /// (`LossKind.offsets`, `π` the fold's training class frequencies, every rank's), for
    /// each `τ` of `shifts`; with `sumAcrossRanks`, over every rank's held-out rows (one sum
    /// of `2·C·|shifts|` doubles). O(N_f·(D + |shifts|)·C).
    public func scores(_ model: LinearModel, numClasses c: Int, shifts: [Double], sumAcrossRanks: SumAcrossRanks? = nil) -> [Double] {
        scores(logits: model.logits(heldOut), numClasses: c, shifts: shifts, sumAcrossRanks: sumAcrossRanks)
    }

    /// `scores` from the held-out rows' logits (`N_f × C`). O(N_f·|shifts|·C).
    func scores(logits: Matrix<Float>, numClasses c: Int, shifts: [Double], sumAcrossRanks: SumAcrossRanks? = nil) -> [Double] {
        var prior = LabeledFeatures.counts(of: trainLabels, numClasses: c).map(Double.init)
        sumAcrossRanks?(&prior)
        let s = shifts.count
        var counts = [Double](repeating: 0, count: 2 * c * s)   // per shift: correct, then rows, per class
        for (q, tau) in shifts.enumerated() {
            let offsets = LossKind.offsets(tau: tau, classCounts: prior.map { Int($0) })
            let base = 2 * c * q
            for (i, y) in heldOutLabels.enumerated() {
                var best = 0, bestValue = -Float.infinity
                for k in 0..<c {
                    let v = logits.data[i * c + k] - offsets[k]
                    if v > bestValue { best = k; bestValue = v }
                }
                counts[base + c + Int(y)] += 1
                if best == Int(y) { counts[base + Int(y)] += 1 }
            }
        }
        sumAcrossRanks?(&counts)
        return (0..<s).map { q in
            let base = 2 * c * q
            let present = (0..<c).filter { counts[base + c + $0] > 0 }
            return present.isEmpty ? 0 : present.reduce(0.0) { $0 + counts[base + $1] / counts[base + c + $1] } / Double(present.count)
        }
    }

    /// Held-out mean log-loss `−(1/N_f)·Σ log softmax(z_i)_{y_i}` of the logits `z`
    /// (`N_f × C`), in Double (scikit-learn's `neg_log_loss`, negated); with
    /// `sumAcrossRanks`, over every rank's held-out rows (one sum of 2 doubles). O(N_f·C).
    func logLoss(logits: Matrix<Float>, sumAcrossRanks: SumAcrossRanks? = nil) -> Double {
        let c = logits.cols
        var sums = [0.0, Double(heldOutLabels.count)]
        for (i, y) in heldOutLabels.enumerated() {
            let row = i * c
            var top = -Double.infinity
            for k in 0..<c { top = max(top, Double(logits.data[row + k])) }
            var total = 0.0
            for k in 0..<c { total += exp(Double(logits.data[row + k]) - top) }
            sums[0] += top + log(total) - Double(logits.data[row + Int(y)])
        }
        sumAcrossRanks?(&sums)
        return sums[1] > 0 ? sums[0] / sums[1] : 0
    }

    /// Held-out mean per-class recall of `model` (over the classes present in the fold); with
    /// `sumAcrossRanks`, over every rank's held-out rows (one sum of `2·C` doubles); with
    /// `other` (the same fold of another view of the rows), `model` reads the joined rows
    /// `[heldOut | other.heldOut]` (`LinearModel.twoView`). O(N_f·D·C).
    public func score(_ model: LinearModel, numClasses: Int, sumAcrossRanks: SumAcrossRanks? = nil,
                      beside other: FoldSplit? = nil) -> Double {
        let predictions = model.predict(other.map { Matrix.horizontalJoin(heldOut, $0.heldOut) } ?? heldOut)
        guard let sum = sumAcrossRanks else {
            return Metrics(predictions: predictions, labels: heldOutLabels, numClasses: numClasses,
                           trainCounts: [Int](repeating: 0, count: numClasses)).meanPerClassRecall
        }
        var counts = [Double](repeating: 0, count: 2 * numClasses)   // correct, then rows, per class
        for (p, y) in zip(predictions, heldOutLabels) {
            counts[numClasses + Int(y)] += 1
            if p == y { counts[Int(y)] += 1 }
        }
        sum(&counts)
        let present = (0..<numClasses).filter { counts[numClasses + $0] > 0 }
        return present.isEmpty ? 0 : present.reduce(0.0) { $0 + counts[$1] / counts[numClasses + $1] } / Double(present.count)
    }
}
