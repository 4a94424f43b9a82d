import AFG
import Foundation
import Linalg

/// Soft targets for a subset of rows (knowledge distillation): row `rows[r]` of the
/// training set is fitted to the distribution `probabilities[r, ·]` instead of its one-hot
/// label. Rows not listed keep their one-hot label.
public struct SoftTargets: Sendable, Equatable {
    /// `R` distinct row indices into the training set.
    public var rows: [Int]
    /// `R × C`, row-major; every row non-negative and summing to 1 (±1e-3).
    public var probabilities: Matrix<Float>

    public init(rows: [Int], probabilities: Matrix<Float>) {
        precondition(rows.count == probabilities.rows, "SoftTargets: \(rows.count) rows, \(probabilities.rows) distributions")
        self.rows = rows
        self.probabilities = probabilities
    }
}

/// Data errors of the converged solver: one line naming the row or class at fault.
public enum LogisticRegressionError: Error, Equatable, CustomStringConvertible {
    case empty
    case shapeMismatch(String)
    case labelOutOfRange(row: Int, label: Int32, numClasses: Int)
    case nonFiniteFeature(row: Int, column: Int)
    case badSampleWeight(row: Int, value: Double)
    case badClassWeight(classIndex: Int, value: Double)
    case zeroTotalWeight
    case badSoftTarget(row: Int, reason: String)

    public var description: String {
        switch self {
        case .empty: return "logistic regression: no training rows"
        case .shapeMismatch(let s): return "logistic regression: \(s)"
        case let .labelOutOfRange(r, l, c): return "logistic regression: row \(r) has label \(l), outside 0..<\(c)"
        case let .nonFiniteFeature(r, c): return "logistic regression: feature row \(r) column \(c) is not finite"
        case let .badSampleWeight(r, v): return "logistic regression: sample weight of row \(r) is \(v) (must be finite and ≥ 0)"
        case let .badClassWeight(c, v): return "logistic regression: weight of class \(c) is \(v) (must be finite and ≥ 0)"
        case .zeroTotalWeight: return "logistic regression: the sample weights sum to zero"
        case let .badSoftTarget(r, why): return "logistic regression: soft target for row \(r): \(why)"
        }
    }
}

/// Full-batch multinomial logistic regression with L2, solved to convergence by L-BFGS.
///
/// ## Objective
/// With per-row weight `s_i = sampleWeight_i · classWeight[y_i]`, `S = Σ_i s_i`, logits
/// `z_i = W x_i + b` and target distribution `t_i` (one-hot of `y_i`, or the row's soft
/// target):
///
///     f(W, b) = (1/S) Σ_i s_i · [ logsumexp(z_i) − t_iᵀ z_i ]  +  (l2/2)·‖W‖²_F
///
/// The bias is not penalised. This is exactly scikit-learn's (≥ 1.2, checked against
/// 1.9.1 `_logistic.py` / `_linear_loss.py`) `LogisticRegression(C=C, solver="lbfgs")`
/// multinomial objective, whose `LinearModelLoss` minimises the *weighted mean* loss plus
/// `½·l2_reg_strength·‖W‖²` with `l2_reg_strength = 1 / (C · Σ_i s_i)`, where
/// `class_weight` is folded into `s_i`. Hence **`l2 = 1 / (C · S)`**
/// (`LogisticRegression.l2(sklearnC:totalWeight:)`); with no weights `S = N`, with
/// `class_weight="balanced"` and unit sample weights `S = N` as well (Σ_c n_c·N/(C·n_c) = N
/// when every class is present).
///
/// ## Computation
/// `X` is read in blocks of `blockRows` rows: logits by one gemm per block, softmax and
/// residuals `R_i = (s_i/S)(p_i − t_i)` in parallel over row chunks (fixed chunks, so the
/// result does not depend on the thread count), gradient `Rᵀ X` by a second gemm. The
/// objective and gradient are accumulated in `Double`; the gemms run in `Float`
/// (`precision = .single`, the fast default) or `Double` (`.double`, for tight agreement
/// with a float64 reference). Cost per evaluation: `4·N·D·C` flops plus `O(N·C)` exp.
///
/// The L-BFGS is preconditioned (option `preconditioner`) by the weighted second-moment
/// matrix of the features augmented with a 1, `P = (Σ_i (s_i/S) x̃_i x̃_iᵀ)/C + l2·I_W`,
/// the Hessian at `W = 0` restricted to sum-zero directions; it costs one `syrk` per solve
/// and `2·C·(D+1)²` flops per iteration, and removes most of the ill-conditioning that
/// non-centred features (post-ReLU, Tukey-transformed) cause.
public struct LogisticRegression: Sendable {
    /// Arithmetic of the gemms and softmax (accumulation is always `Double`).
    public enum Precision: String, Sendable, Codable { case single, double }
    /// The iteration cap of a fit meant to converge (the command line's lbfgs paths); a
    /// GLAG round caps lower (`GLAGSolverConfig.maxIterations`), being warm-started.
    public static let convergedIterations = 2000

    /// Peak bytes of the preconditioner of a fit on `dim` features: three `(D+1)²` Double
    /// matrices (the moments, kept for a path's later solves, the matrix at one `l2` and its
    /// Cholesky factor). O(1).
    public static func preconditionerBytes(dim: Int) -> Double { 24 * Double(dim + 1) * Double(dim + 1) }
    /// The L-BFGS initial inverse Hessian.
    public enum Preconditioner: String, Sendable, Codable {
        /// `H₀ = γ·I` (plain L-BFGS, as scipy).
        case none
        /// `H₀ = γ·P⁻¹`, `P` the weighted feature second moment (see the type's notes).
        case featureSecondMoment
    }

    /// Stop when `‖∇f‖∞ ≤ gradientTolerance` (scikit-learn's `tol`, scipy's `pgtol`).
    public var gradientTolerance: Double
    /// L-BFGS iteration cap (scikit-learn's `max_iter`).
    public var maxIterations: Int
    /// L-BFGS memory `m`.
    public var memory: Int
    public var precision: Precision
    public var preconditioner: Preconditioner
    /// Rows per gemm block (bounds the `blockRows × C` logits buffer).
    public var blockRows: Int
    /// Where every solve made with this value reports its accepted iterations, unless the
    /// call passes its own `progress` (a sink, not a setting: it changes no result).
    public var iterations: (@Sendable (LBFGS.Iteration) -> Void)? = nil

    public init(gradientTolerance: Double = 1e-6, maxIterations: Int = 1000, memory: Int = 10,
                precision: Precision = .single, preconditioner: Preconditioner = .featureSecondMoment,
                blockRows: Int = 8192) {
        precondition(gradientTolerance >= 0 && maxIterations >= 0 && memory >= 1 && blockRows >= 1,
                     "LogisticRegression: bad options")
        self.gradientTolerance = gradientTolerance
        self.maxIterations = maxIterations
        self.memory = memory
        self.precision = precision
        self.preconditioner = preconditioner
        self.blockRows = blockRows
    }

    /// The `l2` equivalent to scikit-learn's `C`: `1 / (C · S)`, `S` the sum of the
    /// per-row weights (sample weight × class weight; `N` without weights).
    public static func l2(sklearnC c: Double, totalWeight: Double) -> Double {
        precondition(c > 0 && totalWeight > 0, "l2(sklearnC:): C and the total weight must be positive")
        return 1 / (c * totalWeight)
    }

    /// scikit-learn's `class_weight="balanced"`: `N / (C_present · n_c)` for every class
    /// present, 0 for a class with no rows (it has no rows to weight). `C_present` is the
    /// number of classes present, as scikit-learn counts `np.unique(y)`. With sample
    /// weights, counts are weighted (`Σ_i sw_i / (C_present · Σ_{y_i = c} sw_i)`), as
    /// scikit-learn 1.9 does (`compute_class_weight` with `sample_weight`).
    /// - Precondition: labels in `0..<numClasses`; `sampleWeights` has one entry per label.
    /// - Complexity: O(N + C).
    public static func balancedClassWeights(labels: [Int32], numClasses: Int, sampleWeights: [Double]? = nil) -> [Double] {
        precondition(sampleWeights == nil || sampleWeights!.count == labels.count, "balancedClassWeights: weight count")
        var counts = [Double](repeating: 0, count: numClasses)
        for (i, l) in labels.enumerated() {
            precondition(l >= 0 && Int(l) < numClasses, "balancedClassWeights: label \(l) outside 0..<\(numClasses)")
            counts[Int(l)] += sampleWeights?[i] ?? 1
        }
        return balancedClassWeights(classCounts: counts)
    }

    /// `balancedClassWeights` from the (weighted) rows per class, e.g. summed across the
    /// processes of a job: `Σ n / (C_present · n_c)`, 0 for an empty class. O(C).
    public static func balancedClassWeights(classCounts counts: [Double]) -> [Double] {
        let present = Double(counts.filter { $0 > 0 }.count)
        let total = counts.reduce(0, +)
        return counts.map { $0 > 0 ? total / (present * $0) : 0 }
    }

    /// Class weights `∝ n_c^(−power)` for the classes present, scaled so that the rows'
    /// total weight stays `Σ n` (0 for a class with no rows): `power = 1` is
    /// `balancedClassWeights`, bit for bit; `0` weighs every row 1; `1/2` (square-root
    /// weighting) sits between. O(C).
    public static func classWeights(classCounts counts: [Double], power: Double) -> [Double] {
        if power == 1 { return balancedClassWeights(classCounts: counts) }
        let total = counts.reduce(0, +)
        let mass = counts.reduce(0) { $1 > 0 ? $0 + pow($1, 1 - power) : $0 }
        return counts.map { $0 > 0 ? total * pow($0, -power) / mass : 0 }
    }

    /// A solved regression and how the solver got there.
    public struct Solution: Sendable {
        public var model: LinearModel
        /// `f` at the solution (see the type's notes).
        public var objective: Double
        /// `‖∇f‖∞` at the solution.
        public var gradientMaxNorm: Double
        public var iterations: Int
        /// Objective + gradient evaluations (each a pass over the data).
        public var evaluations: Int
        public var stopReason: LBFGS.StopReason
        public var converged: Bool { stopReason == .gradientTolerance }
    }

    /// Fits the regression (contract entry point); see `solve` for the details.
    public func fit(features: Matrix<Float>, labels: [Int32], numClasses: Int? = nil,
                    classWeights: [Double]? = nil, sampleWeights: [Double]? = nil,
                    softTargets: SoftTargets? = nil, l2: Double,
                    init initial: LinearModel? = nil, combineAcrossRanks: CombineAcrossRanks? = nil) throws -> LinearModel {
        try solve(features: features, labels: labels, numClasses: numClasses, classWeights: classWeights,
                  sampleWeights: sampleWeights, softTargets: softTargets, l2: l2, init: initial,
                  combineAcrossRanks: combineAcrossRanks).model
    }

    /// Minimises the objective from `initial` (warm start) or from zero.
    ///
    /// - Parameters:
    ///   - features: `N × D`, row-major.
    ///   - labels: `N` labels in `0..<C`.
    ///   - numClasses: `C`; defaults to the class-weight count, the initial model's, the
    ///     soft targets' width, or `max(label) + 1`, in that order.
    ///   - classWeights: `C` weights (nil: all 1); see `balancedClassWeights`.
    ///   - sampleWeights: `N` weights (nil: all 1).
    ///   - softTargets: distributions replacing the one-hot target of some rows.
    ///   - l2: the penalty `l2/2·‖W‖²` (≥ 0); `l2(sklearnC:totalWeight:)` maps scikit-learn's `C`.
    ///   - initial: a `C × D` model to start from.
    ///   - progress: called after every L-BFGS iteration.
    ///   - combineAcrossRanks: for rows spread over the processes of a job (each passing
    ///     its own rows; nil = one process): the total row weight `S`, the preconditioner's
    ///     moments and, at every evaluation, the data term of `f` and `∇f` are combined
    ///     across ranks (the penalty is added once, after), as Spark MLlib's
    ///     LogisticRegression does; every rank then takes the same L-BFGS steps. Every sum
    ///     is kept in double-double (`CompensatedSum`) over row blocks of `blockRows`
    ///     counted from the rank's first row: when each rank's rows start at a multiple
    ///     of `blockRows` of the one-process order, every block's partial is the
    ///     one-process block's, bit for bit, and the solve is the one-process solve
    ///     (the rounded sums agree unless one lies within ~2⁻¹⁰⁰ of a rounding boundary).
    ///     `C` should be passed (`numClasses`), as a rank may not see every label.
    /// - Throws: `LogisticRegressionError` on bad data (label out of range, NaN feature,
    ///   negative weight, a soft target that is not a distribution, shapes that disagree).
    /// - Complexity: `4·N·D·C` flops per evaluation, about one evaluation per iteration.
    public func solve(features: Matrix<Float>, labels: [Int32], numClasses: Int? = nil,
                      classWeights: [Double]? = nil, sampleWeights: [Double]? = nil,
                      softTargets: SoftTargets? = nil, l2: Double,
                      init initial: LinearModel? = nil,
                      progress: ((LBFGS.Iteration) -> Void)? = nil,
                      combineAcrossRanks: CombineAcrossRanks? = nil) throws -> Solution {
        var solution: Solution? = nil
        try solvePath(features: features, labels: labels, numClasses: numClasses, classWeights: classWeights,
                      sampleWeights: sampleWeights, softTargets: softTargets, l2s: [l2], init: initial, progress: progress,
                      combineAcrossRanks: combineAcrossRanks) { _, s in solution = s }
        return solution!
    }

    /// Solves at each penalty of `l2s` in turn (a regularisation path: decreasing `l2`,
    /// i.e. increasing `C`), the first from `initial` (or zero), each later one from the
    /// exact point (in `Double`) where the one before stopped. The data term of `f` does not
    /// depend on `l2`, so a later solve's first evaluation is the previous solve's last one
    /// with the new penalty (no pass over the rows), and the preconditioner's moments are
    /// computed once. The solutions are those of `solve` started there: the same bits on any
    /// thread count and, under MPI, on any split of the rows (see `solve`).
    /// - Parameters:
    ///   - l2s: one or more penalties `≥ 0`.
    ///   - each: called with the index into `l2s` and the solution, as each solve finishes.
    /// - Throws: what `solve` throws, and what `each` throws.
    /// - Complexity: the solves' evaluations (`4·N·D·C` flops each), less one per later
    ///   solve whose start is the previous solve's last evaluated point, plus one `N·D²`
    ///   moment pass.
    public func solvePath(features: Matrix<Float>, labels: [Int32], numClasses: Int? = nil,
                          classWeights: [Double]? = nil, sampleWeights: [Double]? = nil,
                          softTargets: SoftTargets? = nil, l2s: [Double],
                          init initial: LinearModel? = nil,
                          progress: ((LBFGS.Iteration) -> Void)? = nil,
                          combineAcrossRanks: CombineAcrossRanks? = nil,
                          each: (Int, Solution) throws -> Void) throws {
        precondition(!l2s.isEmpty, "LogisticRegression.solvePath: no penalty")
        let problem = try Problem(features: features, labels: labels, numClasses: numClasses,
                                  classWeights: classWeights, sampleWeights: sampleWeights,
                                  softTargets: softTargets, l2: l2s[0], initial: initial, combine: combineAcrossRanks)
        let x0 = initial.map { problem.pack($0) } ?? [Double](repeating: 0, count: problem.numClasses * (problem.dim + 1))
        var opts = LBFGS.Options(gradientTolerance: gradientTolerance, maxIterations: maxIterations, memory: memory)
        // In single precision the objective carries ~1e-7 relative round-off: stopping on a
        // relative decrease below that would stop on noise, so the gradient decides.
        opts.relativeDecreaseTolerance = precision == .single ? 0 : 64 * Double.ulpOfOne
        let solver = LBFGS(options: opts)
        let preconditioner = self.preconditioner
        func go<T>(_ o: Objective<T>) throws {
            var x = x0
            for (i, l2) in l2s.enumerated() {
                precondition(l2 >= 0 && l2.isFinite, "LogisticRegression: l2 must be finite and ≥ 0")
                o.l2 = l2
                let factor = preconditioner == .featureSecondMoment ? o.preconditionerFactor() : nil
                let pre = factor.map { LogisticRegression.solveWith($0, classes: problem.numClasses) }
                let r = solver.minimize(x0: x, evaluate: { o.evaluate($0, &$1) }, start: o.evaluation(at: x), preconditioner: pre,
                                        progress: progress ?? iterations)
                x = r.x
                try each(i, Solution(model: problem.unpack(LogisticRegression.zeroMeanBias(r.x, classes: problem.numClasses)),
                                     objective: r.objective, gradientMaxNorm: r.gradientMaxNorm, iterations: r.iterations,
                                     evaluations: r.evaluations, stopReason: r.stopReason))
            }
        }
        switch precision {
        case .single: try go(Objective<Float>(problem, blockRows: blockRows, combine: combineAcrossRanks))
        case .double: try go(Objective<Double>(problem, blockRows: blockRows, combine: combineAcrossRanks))
        }
    }

    /// `v ← v·P⁻¹` for `v` in θ layout (`C × (D+1)`), `P = L·Lᵀ` from its lower Cholesky
    /// factor `L`: two triangular solves, `2·C·(D+1)²` flops.
    static func solveWith(_ factor: Matrix<Double>, classes c: Int) -> (inout [Double]) -> Void {
        let d1 = factor.rows
        return { v in
            v.withUnsafeMutableBufferPointer { pv in
                factor.data.withUnsafeBufferPointer { pl in
                    // V ← V·L⁻ᵀ·L⁻¹ = V·P⁻¹ (V is C × (D+1)).
                    Double._trsm(false, true, true, c, d1, 1, pl.baseAddress!, d1, pv.baseAddress!, d1)
                    Double._trsm(false, true, false, c, d1, 1, pl.baseAddress!, d1, pv.baseAddress!, d1)
                }
            }
        }
    }

    /// The softmax is unchanged by a constant added to every bias and the bias carries no
    /// penalty, so the solution's biases are fixed up to that constant: round-off (the
    /// thread count, the BLAS kernel) can move it. The returned biases sum to zero, as
    /// scikit-learn's do. `theta` is `C × (D+1)` (the bias last in each row). O(C).
    static func zeroMeanBias(_ theta: [Double], classes c: Int) -> [Double] {
        guard c > 0 else { return theta }
        let d1 = theta.count / c
        var x = theta
        var mean = 0.0
        for k in 0..<c { mean += x[k * d1 + d1 - 1] }
        mean /= Double(c)
        for k in 0..<c { x[k * d1 + d1 - 1] -= mean }
        return x
    }

    /// The objective and its gradient at `model` (for tests and diagnostics).
    /// - Returns: `f`, `∂f/∂W` (`C × D`) and `∂f/∂b` (`C`), in `Double`.
    public func evaluate(model: LinearModel, features: Matrix<Float>, labels: [Int32],
                         classWeights: [Double]? = nil, sampleWeights: [Double]? = nil,
                         softTargets: SoftTargets? = nil, l2: Double) throws
        -> (objective: Double, weightGradient: Matrix<Double>, biasGradient: [Double]) {
        let p = try Problem(features: features, labels: labels, numClasses: model.numClasses,
                            classWeights: classWeights, sampleWeights: sampleWeights,
                            softTargets: softTargets, l2: l2, initial: model)
        let theta = p.pack(model)
        var g = [Double](repeating: 0, count: theta.count)
        let f: Double
        switch precision {
        case .single: f = Objective<Float>(p, blockRows: blockRows).evaluate(theta, &g)
        case .double: f = Objective<Double>(p, blockRows: blockRows).evaluate(theta, &g)
        }
        let c = p.numClasses, d = p.dim
        var gw = Matrix<Double>(rows: c, cols: d)
        var gb = [Double](repeating: 0, count: c)
        for k in 0..<c {
            for j in 0..<d { gw.data[k * d + j] = g[k * (d + 1) + j] }
            gb[k] = g[k * (d + 1) + d]
        }
        return (f, gw, gb)
    }

}

// MARK: - Validated problem

/// The validated inputs: row weights normalised by `S`, soft-target lookup per row.
struct Problem {
    let features: Matrix<Float>
    let labels: [Int32]
    let numClasses: Int
    let dim: Int
    /// `s_i / S` per row.
    let rowWeight: [Double]
    /// Index into `soft.probabilities` per row, −1 for one-hot rows.
    let softIndex: [Int32]
    let soft: Matrix<Float>?
    let l2: Double

    init(features: Matrix<Float>, labels: [Int32], numClasses: Int?, classWeights: [Double]?,
         sampleWeights: [Double]?, softTargets: SoftTargets?, l2: Double, initial: LinearModel?,
         combine: CombineAcrossRanks? = nil) throws {
        let n = features.rows, d = features.cols
        // Across ranks a rank may hold no rows; the total weight below must still be > 0.
        guard n > 0 || combine != nil else { throw LogisticRegressionError.empty }
        guard labels.count == n else { throw LogisticRegressionError.shapeMismatch("\(n) feature rows but \(labels.count) labels") }
        precondition(l2 >= 0 && l2.isFinite, "LogisticRegression: l2 must be finite and ≥ 0")
        let c = numClasses ?? classWeights?.count ?? initial?.numClasses ?? softTargets?.probabilities.cols
            ?? (Int(labels.max() ?? 0) + 1)
        guard c >= 1 else { throw LogisticRegressionError.shapeMismatch("no classes") }
        if let cw = classWeights, cw.count != c { throw LogisticRegressionError.shapeMismatch("\(cw.count) class weights for \(c) classes") }
        if let m = initial, m.numClasses != c || m.dim != d {
            throw LogisticRegressionError.shapeMismatch("initial model is \(m.numClasses)×\(m.dim), data need \(c)×\(d)")
        }
        if let sw = sampleWeights, sw.count != n { throw LogisticRegressionError.shapeMismatch("\(sw.count) sample weights for \(n) rows") }
        for (i, l) in labels.enumerated() where l < 0 || Int(l) >= c {
            throw LogisticRegressionError.labelOutOfRange(row: i, label: l, numClasses: c)
        }
        for (k, w) in (classWeights ?? []).enumerated() where !(w.isFinite && w >= 0) {
            throw LogisticRegressionError.badClassWeight(classIndex: k, value: w)
        }
        try features.data.withUnsafeBufferPointer { px in
            for i in 0..<(n * d) where !px[i].isFinite {
                throw LogisticRegressionError.nonFiniteFeature(row: i / d, column: i % d)
            }
        }
        var w = [Double](repeating: 1, count: n)
        if let sw = sampleWeights {
            for i in 0..<n {
                guard sw[i].isFinite && sw[i] >= 0 else { throw LogisticRegressionError.badSampleWeight(row: i, value: sw[i]) }
                w[i] = sw[i]
            }
        }
        if let cw = classWeights { for i in 0..<n { w[i] *= cw[Int(labels[i])] } }
        var sumOfWeights = CompensatedSum(count: 1)
        for x in w { sumOfWeights.add(x, at: 0) }
        combine?(&sumOfWeights)
        let total = sumOfWeights.rounded()[0]
        guard total > 0 else { throw LogisticRegressionError.zeroTotalWeight }
        for i in 0..<n { w[i] /= total }

        var softIndex = [Int32](repeating: -1, count: n)
        var normalised = softTargets?.probabilities
        if let st = softTargets {
            guard st.probabilities.cols == c else {
                throw LogisticRegressionError.shapeMismatch("soft targets have \(st.probabilities.cols) classes, need \(c)")
            }
            for (r, row) in st.rows.enumerated() {
                guard row >= 0 && row < n else { throw LogisticRegressionError.badSoftTarget(row: row, reason: "row outside 0..<\(n)") }
                guard softIndex[row] < 0 else { throw LogisticRegressionError.badSoftTarget(row: row, reason: "row listed twice") }
                var sum = 0.0
                for k in 0..<c {
                    let p = st.probabilities.data[r * c + k]
                    guard p.isFinite && p >= 0 else { throw LogisticRegressionError.badSoftTarget(row: row, reason: "probability \(p) for class \(k)") }
                    sum += Double(p)
                }
                guard abs(sum - 1) <= 1e-3 else { throw LogisticRegressionError.badSoftTarget(row: row, reason: "probabilities sum to \(sum), not 1") }
                // Renormalise exactly: the loss formula relies on Σ_k t_k = 1.
                for k in 0..<c { normalised!.data[r * c + k] = Float(Double(st.probabilities.data[r * c + k]) / sum) }
                softIndex[row] = Int32(r)
            }
        }
        self.features = features
        self.labels = labels
        self.numClasses = c
        self.dim = d
        self.rowWeight = w
        self.softIndex = softIndex
        self.soft = normalised
        self.l2 = l2
    }

    /// θ layout: `C × (D+1)` row-major, row `c` = `[W_c, b_c]`.
    func pack(_ m: LinearModel) -> [Double] {
        let c = numClasses, d = dim
        var t = [Double](repeating: 0, count: c * (d + 1))
        for k in 0..<c {
            for j in 0..<d { t[k * (d + 1) + j] = Double(m.weight.data[k * d + j]) }
            t[k * (d + 1) + d] = Double(m.bias[k])
        }
        return t
    }

    func unpack(_ t: [Double]) -> LinearModel {
        let c = numClasses, d = dim
        var m = LinearModel(numClasses: c, dim: d)
        for k in 0..<c {
            for j in 0..<d { m.weight.data[k * d + j] = Float(t[k * (d + 1) + j]) }
            m.bias[k] = Float(t[k * (d + 1) + d])
        }
        return m
    }
}

// MARK: - Objective kernel

/// Scalars the softmax kernel runs in.
protocol SoftmaxScalar: BLASScalar {
    /// `row[k] ← exp(row[k] − shift)` for `k < n`; returns the sum.
    static func _expShiftedInPlace(_ row: UnsafeMutablePointer<Self>, _ n: Int, shift: Self) -> Self
}
extension Float: SoftmaxScalar {
    /// The vectorised exp of `FastExp` (about 2 ulp).
    @inline(__always) static func _expShiftedInPlace(_ row: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        FastExp.expShifted(row, nil, scale: 1, shift: shift, row, n)
    }
}
extension Double: SoftmaxScalar {
    @inline(__always) static func _expShiftedInPlace(_ row: UnsafeMutablePointer<Double>, _ n: Int, shift: Double) -> Double {
        var s = 0.0
        for k in 0..<n { let e = Foundation.exp(row[k] - shift); row[k] = e; s += e }
        return s
    }
}

/// Objective + gradient on reused buffers. A class (reference) because its buffers are
/// scratch space mutated by every evaluation.
final class Objective<T: SoftmaxScalar> {
    let p: Problem
    let blockRows: Int
    /// Combines the data term across ranks (nil: one process).
    let combine: CombineAcrossRanks?
    /// `X` in `T` (a copy only when `T` is not `Float`).
    let x: [T]
    let rowWeight: [T]
    var w: [T]          // C × D
    var b: [T]          // C
    var logits: [T]     // blockRows × C
    var gBlock: [T]     // C × D
    /// Per-chunk partial sums: loss, and bias gradient (C each).
    var chunkLoss: [Double]
    var chunkBias: [Double]
    /// The data term: `∇f` (θ layout) then `f`, summed block by block.
    var total: CompensatedSum
    /// The penalty `l2/2·‖W‖²` of the next evaluations (a path changes it between solves).
    var l2: Double
    /// The last evaluated point and its data term (`∇f` then `f`, before the penalty).
    var lastTheta: [Double] = []
    var lastData: [Double] = []
    /// The preconditioner's `M/C` (`(D+1) × (D+1)`, lower triangle) and its `ε`, computed once.
    var moments: (matrix: Matrix<Double>, eps: Double)?
    static var chunkRows: Int { 256 }

    init(_ p: Problem, blockRows: Int, combine: CombineAcrossRanks? = nil) {
        self.p = p
        self.l2 = p.l2
        self.combine = combine
        let n = p.features.rows, c = p.numClasses, d = p.dim
        self.blockRows = min(blockRows, n)
        // T == Float shares the rows' buffer (`as!` would copy them element by element).
        if T.self == Float.self { x = unsafeBitCast(p.features.data, to: [T].self) } else { x = p.features.data.map { T($0) } }
        rowWeight = p.rowWeight.map { T($0) }
        w = [T](repeating: 0, count: c * d)
        b = [T](repeating: 0, count: c)
        logits = [T](repeating: 0, count: self.blockRows * c)
        gBlock = [T](repeating: 0, count: c * d)
        let chunks = (self.blockRows + Objective.chunkRows - 1) / Objective.chunkRows
        chunkLoss = [Double](repeating: 0, count: chunks)
        chunkBias = [Double](repeating: 0, count: chunks * c)
        total = CompensatedSum(count: c * (d + 1) + 1)
    }

    /// `f(θ)`; writes `∇f(θ)` (θ layout `C × (D+1)`).
    func evaluate(_ theta: [Double], _ grad: inout [Double]) -> Double {
        let n = p.features.rows, c = p.numClasses, d = p.dim, d1 = d + 1
        for k in 0..<c {
            for j in 0..<d { w[k * d + j] = T(theta[k * d1 + j]) }
            b[k] = T(theta[k * d1 + d])
        }
        total = CompensatedSum(count: c * d1 + 1)
        let labels = p.labels, softIndex = p.softIndex
        let softData: [Float] = p.soft?.data ?? []
        var start = 0
        while start < n {
            let rows = min(blockRows, n - start)
            let chunks = (rows + Objective.chunkRows - 1) / Objective.chunkRows
            x.withUnsafeBufferPointer { px in
            w.withUnsafeBufferPointer { pw in
            b.withUnsafeBufferPointer { pb in
            logits.withUnsafeMutableBufferPointer { pz in
            rowWeight.withUnsafeBufferPointer { pa in
            labels.withUnsafeBufferPointer { py in
            softIndex.withUnsafeBufferPointer { psi in
            softData.withUnsafeBufferPointer { pst in
            chunkLoss.withUnsafeMutableBufferPointer { pcl in
            chunkBias.withUnsafeMutableBufferPointer { pcb in
            gBlock.withUnsafeMutableBufferPointer { pg in
                let xb = px.baseAddress! + start * d
                let z = pz.baseAddress!
                for i in 0..<rows { for k in 0..<c { z[i * c + k] = pb[k] } }
                if d > 0 { T._gemm(false, true, rows, c, d, 1, xb, d, pw.baseAddress!, d, 1, z, c) }
                parallelFor(chunks) { ch, _ in
                    let lo = ch * Objective.chunkRows, hi = min(rows, lo + Objective.chunkRows)
                    pcl[ch] = Objective.residuals(rows: lo..<hi, start: start, classes: c, logits: z, labels: py,
                                                  softIndex: psi, soft: pst, rowWeight: pa, bias: pcb.baseAddress! + ch * c)
                }
                if d > 0 { T._gemm(true, false, c, d, rows, 1, z, c, xb, d, 0, pg.baseAddress!, d) }
            } } } } } } } } } } }
            // The block's partial, added whole: a block's bits do not depend on the split.
            for ch in 0..<chunks {
                total.add(chunkLoss[ch], at: c * d1)
                for k in 0..<c { total.add(chunkBias[ch * c + k], at: k * d1 + d) }
            }
            gBlock.withUnsafeBufferPointer { pg in
                for k in 0..<c where d > 0 { total.add(UnsafeBufferPointer(rebasing: pg[(k * d)..<((k + 1) * d)]), at: k * d1) }
            }
            start += rows
        }
        // One combination per evaluation: ∇f's data term and f's, `C·(D+1) + 1` sums.
        combine?(&total)
        lastData = total.rounded()
        lastTheta = theta
        return penalised(theta, &grad)
    }

    /// `f(θ)` and `∇f(θ)` (into `grad`) from the data term of the last evaluation, which
    /// must be at `θ`: the data term plus the penalty on `W` (the bias is not penalised). O(C·D).
    func penalised(_ theta: [Double], _ grad: inout [Double]) -> Double {
        let c = p.numClasses, d = p.dim, d1 = d + 1
        grad = lastData
        let f = grad.removeLast()
        var pen = 0.0
        for k in 0..<c {
            for j in 0..<d {
                let v = theta[k * d1 + j]
                pen += v * v
                grad[k * d1 + j] += l2 * v
            }
        }
        return f + 0.5 * l2 * pen
    }

    /// `f(θ)` and `∇f(θ)` at the current `l2` without a pass over the rows when `θ` is the
    /// last evaluated point (the same bits `evaluate` would give); nil otherwise. O(C·D).
    func evaluation(at theta: [Double]) -> (f: Double, gradient: [Double])? {
        guard !lastTheta.isEmpty, theta == lastTheta else { return nil }
        var g: [Double] = []
        let f = penalised(theta, &g)
        return (f, g)
    }

    /// One chunk of the residual pass: turns the logits of `rows` (block-relative; global
    /// row = `start + i`) into the residuals `a·(p − t)` in place, adds them to `bias`
    /// (`C` sums) and returns the chunk's weighted loss `Σ a·(lse − tᵀz)`. O(rows·C).
    static func residuals(rows: Range<Int>, start: Int, classes c: Int, logits z: UnsafeMutablePointer<T>,
                          labels py: UnsafeBufferPointer<Int32>, softIndex psi: UnsafeBufferPointer<Int32>,
                          soft pst: UnsafeBufferPointer<Float>, rowWeight pa: UnsafeBufferPointer<T>,
                          bias: UnsafeMutablePointer<Double>) -> Double {
        var loss = 0.0
        for k in 0..<c { bias[k] = 0 }
        for i in rows {
            let gi = start + i
            let row = z + i * c
            var m = row[0]
            for k in 1..<max(c, 1) where row[k] > m { m = row[k] }
            // loss = lse − tᵀz = log Σ exp(z_k − m) − tᵀ(z − m), with Σ t = 1.
            let si = Int(psi[gi])
            let y = Int(py[gi])
            var tz = 0.0
            if si < 0 {
                tz = Double(row[y] - m)
            } else {
                let t = pst.baseAddress! + si * c
                for k in 0..<c where t[k] != 0 { tz += Double(t[k]) * Double(row[k] - m) }
            }
            let s = T._expShiftedInPlace(row, c, shift: m)
            let a = pa[gi]
            loss += Double(a) * (Foundation.log(Double(s)) - tz)
            // Residual a·(p − t), p = exp(z − m)/s.
            let scale = a / s
            if si < 0 {
                for k in 0..<c { row[k] *= scale }
                row[y] -= a
            } else {
                let t = pst.baseAddress! + si * c
                for k in 0..<c { row[k] = row[k] * scale - a * T(t[k]) }
            }
            for k in 0..<c { bias[k] += Double(row[k]) }
        }
        return loss
    }

    /// Lower Cholesky factor of `P = M/C + l2·I_W + ε·I` at the current `l2`,
    /// `M = Σ_i (s_i/S) x̃_i x̃_iᵀ` (`(D+1) × (D+1)`), or nil when it cannot be factored.
    /// `M/C` and `ε` do not depend on `l2`: computed once (`secondMoments`) and kept for the
    /// later solves of a path.
    /// - Memory: at most three `(D+1)²` Double matrices at once (`preconditionerBytes`): the
    ///   kept moments, the shifted copy and its factor.
    /// - Complexity: `N·D²` flops the first time, then `(D+1)³/3` per call.
    func preconditionerFactor() -> Matrix<Double>? {
        let d1 = p.dim + 1
        if moments == nil { moments = secondMoments() }
        var m = moments!.matrix
        for i in 0..<(d1 - 1) { m.data[i * d1 + i] += l2 + moments!.eps }
        m.data[(d1 - 1) * d1 + d1 - 1] += moments!.eps
        return try? BLAS.choleskyWithJitter(m, initialJitter: 1e-6).factor
    }

    /// `M/C` of `preconditionerFactor` (lower triangle) and `ε = 1e-8·tr(M/C)/(D+1)`.
    /// The block partials (one syrk each) and the weighted mean are summed in double-double
    /// (lower triangle only) and combined across ranks as `evaluate`'s sums are.
    /// - Memory: at most two `(D+1)²` Double matrices at once.
    /// - Complexity: `N·D²` flops (one syrk per block).
    func secondMoments() -> (matrix: Matrix<Double>, eps: Double) {
        let n = p.features.rows, d = p.dim, d1 = d + 1, c = p.numClasses
        var kxx = [T](repeating: 0, count: d * d)
        let lower = d * (d + 1) / 2
        // The packed lower triangle of Σ a·xxᵀ, then Σ a·x.
        var moments = CompensatedSum(count: lower + d)
        var scaled = [T](repeating: 0, count: blockRows * d)
        var start = 0
        while start < n {
            let rows = min(blockRows, n - start)
            for i in 0..<rows {
                let a = p.rowWeight[start + i]
                let sa = T(a.squareRoot())
                for j in 0..<d {
                    let v = x[(start + i) * d + j]
                    scaled[i * d + j] = sa * v
                    moments.add(a * Double(v), at: lower + j)
                }
            }
            if d > 0 {
                scaled.withUnsafeBufferPointer { ps in kxx.withUnsafeMutableBufferPointer { pk in
                    T._syrk(true, true, d, rows, 1, ps.baseAddress!, d, 0, pk.baseAddress!, d)
                    for i in 0..<d {
                        moments.add(UnsafeBufferPointer(rebasing: UnsafeBufferPointer(pk)[(i * d)..<(i * d + i + 1)]), at: i * (i + 1) / 2)
                    }
                } }
            }
            start += rows
        }
        // Released before the (D+1)² matrices below: at most two of that size live at once
        // (the packed sums are two halves of one).
        kxx = []; scaled = []
        combine?(&moments)
        var packed = moments.rounded()
        moments = CompensatedSum(count: 0)
        var m = Matrix<Double>(rows: d1, cols: d1)
        let invC = 1 / Double(c)
        for i in 0..<d {
            for j in 0...i { m.data[i * d1 + j] = packed[i * (i + 1) / 2 + j] * invC }
            m.data[d * d1 + i] = packed[lower + i] * invC
        }
        m.data[d * d1 + d] = invC
        packed = []
        var trace = 0.0
        for i in 0..<d1 { trace += m.data[i * d1 + i] }
        return (m, 1e-8 * trace / Double(d1))
    }
}
