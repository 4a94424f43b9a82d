import AFG
import Foundation
import Linalg

/// Stratified K-fold assignment, as scikit-learn's `StratifiedKFold(shuffle=True)` intends:
/// every fold holds about `1/K` of each class. The rows of each class are shuffled (own
/// Fisher–Yates on `Xoshiro256(seed:, streams: [class])`, so the folds are the same on every
/// toolchain) and dealt to the folds in turn; the deal continues from class to class, so fold
/// sizes differ by at most one. A class with fewer than `K` rows is absent from some folds.
public struct StratifiedFolds: Sendable, Equatable {
    /// `K`.
    public let count: Int
    /// The fold of each row (`N` values in `0..<K`).
    public let fold: [Int]

    /// - Precondition: `k ≥ 2`, labels in `0..<numClasses`.
    /// - Complexity: O(N).
    public init(labels: [Int32], numClasses: Int, folds k: Int, seed: UInt64) {
        precondition(k >= 2, "StratifiedFolds: need at least 2 folds")
        var byClass = [[Int]](repeating: [], count: numClasses)
        for (i, l) in labels.enumerated() {
            precondition(l >= 0 && Int(l) < numClasses, "StratifiedFolds: label \(l) outside 0..<\(numClasses)")
            byClass[Int(l)].append(i)
        }
        var fold = [Int](repeating: 0, count: labels.count)
        var next = 0
        for c in 0..<numClasses {
            var rows = byClass[c]
            var rng = Xoshiro256(seed: seed, streams: [0x5F01D, UInt64(c)])
            if rows.count > 1 {
                for i in stride(from: rows.count - 1, to: 0, by: -1) {
                    let j = Int(rng.next() % UInt64(i + 1))
                    rows.swapAt(i, j)
                }
            }
            for r in rows { fold[r] = next; next = (next + 1) % k }
        }
        count = k
        self.fold = fold
    }

    /// Given fold assignments: one rank's part of a global `StratifiedFolds` (rows spread
    /// over the processes of a job). Precondition: `k ≥ 2`, every value in `0..<k`.
    public init(count k: Int, fold: [Int]) {
        precondition(k >= 2 && fold.allSatisfy { (0..<k).contains($0) }, "StratifiedFolds: folds outside 0..<\(k)")
        count = k
        self.fold = fold
    }

    /// Rows held out in fold `f` (increasing). O(N).
    public func heldOut(_ f: Int) -> [Int] { fold.indices.filter { fold[$0] == f } }
    /// Rows trained on in fold `f` (increasing). O(N).
    public func training(_ f: Int) -> [Int] { fold.indices.filter { fold[$0] != f } }
}

/// Centring and one pooled scale, `x ↦ (x − μ)/s`: `μ` the per-feature mean, `s` one number
/// for every feature, the root of the mean per-feature (population) variance (`s = 1` for
/// constant rows). A regression solved on scaled rows is mapped back to one on the raw rows
/// by `rawModel`, so a classifier file never needs the scaler.
///
/// Dividing by one `s` makes one `C` grid fit every data set's scale while keeping the
/// features' relative scales, so the L2 penalty stays isotropic in the features' own units.
/// Per-feature standardisation (scikit-learn's `StandardScaler`) blows up near-constant
/// features (a border pixel, a rarely active unit) to the scale of informative ones; on the
/// accuracy suite it cost 0.2 points on average against this scaler (docs/RESULTS.md).
public struct FeatureScaler: Sendable, Equatable {
    /// `μ` (`D`) and `s`.
    public var mean: [Float]
    public var scale: Float

    /// Fits `μ` and `s` to the rows of `x` (accumulated in Double); with `sumAcrossRanks`,
    /// to the rows of every rank (two sums of `D + 1` and `D` doubles). O(N·D).
    public init(fitting x: Matrix<Float>, sumAcrossRanks: SumAcrossRanks? = nil) {
        let d = x.cols
        var sum = [Double](repeating: 0, count: d + 1), sq = [Double](repeating: 0, count: d)
        for i in 0..<x.rows { for j in 0..<d { sum[j] += Double(x.data[i * d + j]) } }
        sum[d] = Double(x.rows)
        sumAcrossRanks?(&sum)
        let n = Int(sum[d])
        let mu = sum.prefix(d).map { n > 0 ? $0 / Double(n) : 0 }
        for i in 0..<x.rows { for j in 0..<d { let v = Double(x.data[i * d + j]) - mu[j]; sq[j] += v * v } }
        sumAcrossRanks?(&sq)
        mean = mu.map(Float.init)
        let variance = n > 0 && d > 0 ? sq.reduce(0, +) / Double(n * d) : 0
        scale = variance > 1e-24 ? Float(variance.squareRoot()) : 1
    }

    /// `(x − μ)/s` row by row; same shape as `x`. O(N·D).
    public func apply(_ x: Matrix<Float>) -> Matrix<Float> {
        precondition(x.cols == mean.count, "FeatureScaler: \(x.cols) columns, fitted on \(mean.count)")
        var out = x
        let d = x.cols
        let inv = 1 / scale
        out.data.withUnsafeMutableBufferPointer { p in
            for i in 0..<x.rows { for j in 0..<d { p[i * d + j] = (p[i * d + j] - mean[j]) * inv } }
        }
        return out
    }

    /// The model on raw rows that gives the logits `m` gives on scaled rows:
    /// `W'_kj = W_kj / s`, `b'_k = b_k − Σ_j W'_kj μ_j` (in Double). O(C·D).
    public func rawModel(_ m: LinearModel) -> LinearModel {
        let c = m.numClasses, d = m.dim
        precondition(d == mean.count, "FeatureScaler: model reads \(d) features, fitted on \(mean.count)")
        var w = m.weight
        var b = m.bias
        for k in 0..<c {
            var shift = 0.0
            for j in 0..<d {
                let v = Double(m.weight.data[k * d + j]) / Double(scale)
                w.data[k * d + j] = Float(v)
                shift += v * Double(mean[j])
            }
            b[k] = Float(Double(m.bias[k]) - shift)
        }
        return LinearModel(weight: w, bias: b)
    }
}

/// `C` chosen by stratified K-fold cross-validation, as scikit-learn's
/// `LogisticRegressionCV(Cs=grid, cv=StratifiedKFold(K), scoring="balanced_accuracy")`
/// does: for each fold, the regression is solved along the grid (increasing `C`, each solve
/// warm-started from the previous one) on the other folds' scaled rows (`FeatureScaler`) and scored by
/// mean per-class recall on the held-out fold; the `C` with the best mean score wins (the
/// smallest on ties), and the caller refits on every row along the same path (`refit`).
public struct RegressionCV {
    /// The default grid: `10⁻⁴, 10⁻³, …, 10⁴` (9 values, scikit-learn's `Cs=10` range).
    public static let defaultGrid: [Double] = (-4...4).map { pow(10, Double($0)) }

    /// A grid's cross-validated scores.
    public struct Path: Sendable, Equatable {
        /// The grid, increasing.
        public var grid: [Double]
        /// `scores[g][f]`: held-out mean per-class recall of grid point `g` in fold `f`.
        public var scores: [[Double]]
        /// The mean over folds and its standard error (`sd/√K`), per grid point.
        public var mean: [Double]
        public var standardError: [Double]
        /// Index of the best mean (the first on ties).
        public var best: Int
        /// The chosen `C`.
        public var chosen: Double { grid[best] }
    }

    public var grid: [Double]
    /// `class_weight="balanced"` (else unweighted).
    public var balanced: Bool
    public var solver: LogisticRegression
    /// Rows spread over the processes of a job (each passing its own rows and its part of
    /// the folds): class counts, total weight, every solver evaluation, the scalers and the
    /// held-out scores are summed across ranks. nil = one process.
    public var sumAcrossRanks: SumAcrossRanks?

    public init(grid: [Double] = RegressionCV.defaultGrid, balanced: Bool,
                solver: LogisticRegression = LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000),
                sumAcrossRanks: SumAcrossRanks? = nil) {
        precondition(!grid.isEmpty && grid.allSatisfy { $0 > 0 && $0.isFinite }, "RegressionCV: grid values must be positive")
        self.grid = grid.sorted()
        self.balanced = balanced
        self.solver = solver
        self.sumAcrossRanks = sumAcrossRanks
    }

    /// The regression at `C` on `x` (already scaled), warm-started from `initial`.
    /// `l2 = 1/(C·S)`, `S` the sum of the row weights (`N` without class weights).
    /// - Complexity: one L-BFGS solve, `4·N·D·C` flops per evaluation.
    public func fit(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, C: Double,
                    initial: LinearModel? = nil) throws -> LinearModel {
        var weights: [Double]?
        if balanced {
            if let sum = sumAcrossRanks {
                var counts = LabeledFeatures.counts(of: labels, numClasses: numClasses).map(Double.init)
                sum(&counts)
                weights = LogisticRegression.balancedClassWeights(classCounts: counts)
            } else {
                weights = LogisticRegression.balancedClassWeights(labels: labels, numClasses: numClasses)
            }
        }
        var total = [weights.map { w in labels.reduce(0.0) { $0 + w[Int($1)] } } ?? Double(labels.count)]
        sumAcrossRanks?(&total)
        return try solver.fit(features: x, labels: labels, numClasses: numClasses, classWeights: weights,
                              l2: LogisticRegression.l2(sklearnC: C, totalWeight: total[0]), init: initial,
                              sumAcrossRanks: sumAcrossRanks)
    }

    /// The regression at the grid point `C` fitted as each fold of `path` fits it: along the
    /// grid from its smallest value up to `C`, each solve warm-started from the previous one.
    /// On near-separable rows a large `C` has no well-defined solution within the solver's
    /// tolerance, and a cold solve can land far from the warm-started path that
    /// cross-validation scored (digits-lt seed 10, raw features, `C* = 1000`: 87.0 % on test
    /// cold, 93.0 % along the path; docs/RESULTS.md). A `C` off the grid is solved cold.
    /// - Complexity: up to `grid.count` warm-started solves.
    public func refit(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, C: Double) throws -> LinearModel {
        guard grid.contains(C) else { return try fit(x, labels: labels, numClasses: numClasses, C: C) }
        var model: LinearModel? = nil
        for c in grid where c <= C { model = try fit(x, labels: labels, numClasses: numClasses, C: c, initial: model) }
        return model!
    }

    /// Cross-validates the grid on `x` (raw rows; each fold scales with its own
    /// training rows' statistics).
    /// - Parameter progress: called after each solve with (fold, `C`, held-out score).
    /// - Complexity: `K × grid.count` warm-started solves on `(K−1)/K` of the rows.
    public func path(_ x: Matrix<Float>, labels: [Int32], numClasses: Int, folds: StratifiedFolds,
                     progress: ((Int, Double, Double) -> Void)? = nil) throws -> Path {
        var scores = [[Double]](repeating: [Double](repeating: 0, count: folds.count), count: grid.count)
        for f in 0..<folds.count {
            let split = FoldSplit(x, labels: labels, folds: folds, fold: f, sumAcrossRanks: sumAcrossRanks)
            var model: LinearModel? = nil
            for (g, c) in grid.enumerated() {
                model = try fit(split.train, labels: split.trainLabels, numClasses: numClasses, C: c, initial: model)
                scores[g][f] = split.score(model!, numClasses: numClasses, sumAcrossRanks: sumAcrossRanks)
                progress?(f, c, scores[g][f])
            }
        }
        let stats = scores.map(RegressionCV.meanAndStandardError)
        var best = 0
        for g in grid.indices where stats[g].mean > stats[best].mean { best = g }
        return Path(grid: grid, scores: scores, mean: stats.map(\.mean), standardError: stats.map(\.se), best: best)
    }

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
