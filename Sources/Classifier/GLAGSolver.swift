import Foundation
import Linalg
import AFG

/// Which classifier serves as the KD teacher (and, with `init = .teacher`, the start).
public enum TeacherKind: String, Sendable, Codable, CaseIterable {
    /// The stage-one head on the untransformed features (method.md step 10).
    case stageOne = "stage-one"
    /// The class-weighted (`balanced`) logistic regression on the transformed features,
    /// solved first by `LogisticRegression`: a teacher not biased to the head classes.
    case balanced
    /// No teacher: no KD, start from zero.
    case none
}

/// Where the first round's solve starts.
public enum InitKind: String, Sendable, Codable, CaseIterable { case zero, teacher }

/// Settings of GLAG on the converged solver.
public struct GLAGSolverConfig: Sendable, Equatable, Codable {
    /// The generator (k, initial β, mean mode, weighting, head threshold, α, M).
    public var generator: GeneratorConfig
    /// Generation rounds: each draws a fresh balanced set and solves to convergence.
    public var rounds: Int = 10
    /// scikit-learn-style inverse regularisation: each round uses `l2 = 1 / (C · rows)`,
    /// `rows` the real + generated rows of the round (unit weights).
    public var inverseRegularization: Double = 1.0
    public var teacher: TeacherKind = .balanced
    public var initialization: InitKind = .teacher
    /// KD weight schedule over rounds: round `r` (0-based) mixes its head-class real rows'
    /// targets as `(1 − w)·onehot + w·softmax(teacher/T)`, `w = kd.value(at: r+1, totalEpochs: rounds)`
    /// clamped to [0, 1] (method.md's `β_KD(t) = kd_max·s_γ(t/T)`). `maxValue = 0` turns KD off.
    public var kd: GradualSchedule = GradualSchedule(maxValue: 0.5, gamma: 3)
    /// Teacher temperature `T_kd`.
    public var kdTemperature: Double = 2
    /// Adapt β between rounds from per-class validation accuracy (method.md step 9).
    public var adaptiveBeta: Bool = true
    public var betaRule: BetaRule = .net
    public var betaStep: Float = 0.05
    /// Per-round solver: `‖∇f‖∞` tolerance and iteration cap.
    public var gradientTolerance: Double = 1e-4
    public var maxIterations: Int = 500
    public var precision: LogisticRegression.Precision = .single

    public init(generator: GeneratorConfig = GeneratorConfig()) {
        self.generator = generator
    }

    /// One line naming the settings that the selection grid varies.
    public var summary: String {
        let mode = generator.meanMode == .pull ? "pull" : "sample"
        let kdText = teacher == .none ? "none" : String(format: "%.2g", kd.maxValue)
        return "mean=\(mode) beta0=\(generator.initialBeta) k=\(generator.k) kd=\(kdText) teacher=\(teacher.rawValue) init=\(initialization.rawValue) rounds=\(rounds)"
    }
}

/// Errors of GLAG on the converged solver (data or configuration the user gave).
public enum GLAGSolverError: Error, Equatable, CustomStringConvertible {
    case missingStageOneTeacher
    case teacherShape(String)
    case validationShape(String)

    public var description: String {
        switch self {
        case .missingStageOneTeacher: return "glag: --teacher stage-one needs a stage-one classifier"
        case .teacherShape(let s): return "glag: teacher \(s)"
        case .validationShape(let s): return "glag: validation split \(s)"
        }
    }
}

/// One generation round, for progress reports and the run's record.
public struct GLAGRound: Sendable {
    public var round: Int
    public var generatedRows: Int
    public var kdWeight: Double
    public var objective: Double
    public var iterations: Int
    /// Validation mean per-class recall and overall accuracy after the round (NaN without validation).
    public var validationMeanRecall: Double
    public var validationAccuracy: Double
    /// Mean β over tail classes used for this round's draw.
    public var meanTailBeta: Double
    public var seconds: Double
}

/// The result of `GLAGSolver.fit`.
public struct GLAGFit: Sendable {
    /// The final round's classifier (on transformed features).
    public var model: LinearModel
    /// The teacher used (nil for `.none`).
    public var teacher: LinearModel?
    /// β after the last update (`C`).
    public var beta: [Float]
    public var rounds: [GLAGRound]
}

/// GLAG on the converged solver (issue 8): each round draws a fresh balanced set from the
/// AFG generator, appends it to the real transformed rows, and solves the multinomial
/// logistic regression to convergence, warm-started from the previous round. Between
/// rounds β adapts from per-class validation accuracy (`updateBeta`); KD enters as soft
/// targets on the real rows of head classes.
///
/// Cost per round: one generation (see `FeatureGenerator`) plus one L-BFGS solve on
/// `N + G` rows (`4·(N+G)·D·C` flops per evaluation; warm starts need few iterations).
public struct GLAGSolver: Sendable {
    public var config: GLAGSolverConfig

    public init(config: GLAGSolverConfig = GLAGSolverConfig()) {
        precondition(config.rounds >= 1, "GLAGSolver: rounds must be ≥ 1")
        precondition(config.inverseRegularization > 0, "GLAGSolver: C must be positive")
        self.config = config
    }

    /// The class-weighted (`balanced`) regression on `features`: the `balanced` teacher
    /// and the baseline GLAG must beat. `l2 = 1/(C·N)` (balanced weights sum to `N`).
    public static func balancedRegression(features: Matrix<Float>, labels: [Int32], numClasses: Int,
                                          inverseRegularization: Double = 1, gradientTolerance: Double = 1e-4,
                                          maxIterations: Int = 1000,
                                          precision: LogisticRegression.Precision = .single) throws -> LinearModel {
        let cw = LogisticRegression.balancedClassWeights(labels: labels, numClasses: numClasses)
        var total = 0.0
        for l in labels { total += cw[Int(l)] }
        let solver = LogisticRegression(gradientTolerance: gradientTolerance, maxIterations: maxIterations, precision: precision)
        return try solver.fit(features: features, labels: labels, numClasses: numClasses, classWeights: cw,
                              l2: LogisticRegression.l2(sklearnC: inverseRegularization, totalWeight: total))
    }

    /// Runs GLAG.
    ///
    /// - Parameters:
    ///   - features: `N × D` real training features, already Tukey-transformed.
    ///   - labels: `N` labels in `0..<numClasses`.
    ///   - validation: the validation split (transformed); nil keeps β fixed (reported in the rounds as NaN).
    ///   - stageOne: the stage-one head (`C × D_t`), needed for `teacher = .stageOne`.
    ///   - teacherFeatures: `N × D_t` untransformed features the stage-one head reads (default `features`).
    ///   - balancedTeacher: a precomputed `balanced` teacher (the selection grid shares one).
    ///   - seed: the generator seed (round `r` draws epoch `r`).
    /// - Throws: generator errors, `LogisticRegressionError`, `GLAGSolverError`.
    public func fit(features: Matrix<Float>, labels: [Int32], numClasses: Int,
                    validation: LabeledFeatures?, stageOne: LinearModel? = nil,
                    teacherFeatures: Matrix<Float>? = nil, balancedTeacher: LinearModel? = nil,
                    seed: UInt64, progress: ((GLAGRound) -> Void)? = nil) throws -> GLAGFit {
        let n = features.rows, d = features.cols, c = numClasses
        if let v = validation, v.features.cols != d {
            throw GLAGSolverError.validationShape("has \(v.features.cols) columns, training has \(d)")
        }
        // Teacher.
        var teacher: LinearModel? = nil
        var teacherInput = features
        switch config.teacher {
        case .none: break
        case .balanced:
            teacher = try balancedTeacher ?? GLAGSolver.balancedRegression(
                features: features, labels: labels, numClasses: c, inverseRegularization: config.inverseRegularization,
                gradientTolerance: config.gradientTolerance, precision: config.precision)
        case .stageOne:
            guard let s = stageOne else { throw GLAGSolverError.missingStageOneTeacher }
            teacher = s
            if let tf = teacherFeatures { teacherInput = tf }
        }
        if let t = teacher {
            guard t.numClasses == c else { throw GLAGSolverError.teacherShape("has \(t.numClasses) classes, data have \(c)") }
            guard t.dim == teacherInput.cols && teacherInput.rows == n else {
                throw GLAGSolverError.teacherShape("reads \(t.dim)-d features, got \(teacherInput.rows) × \(teacherInput.cols)")
            }
        }

        if let v = validation, v.numClasses != c {
            throw GLAGSolverError.validationShape("has \(v.numClasses) classes, training has \(c)")
        }
        var trainCounts = [Int](repeating: 0, count: c)
        for l in labels where l >= 0 && Int(l) < c { trainCounts[Int(l)] += 1 }
        var generator = try FeatureGenerator(features: features, labels: labels, numClasses: c, config: config.generator)
        let isTail = generator.isTail

        // Teacher distributions on the real head-class rows (fixed over rounds).
        var kdRows: [Int] = []
        var teacherProbs = Matrix<Float>(rows: 0, cols: c)
        if let t = teacher, config.kd.maxValue > 0 {
            kdRows = (0..<n).filter { !isTail[Int(labels[$0])] }
            if !kdRows.isEmpty {
                var sub = Matrix<Float>(rows: kdRows.count, cols: teacherInput.cols)
                let dt = teacherInput.cols
                for (r, i) in kdRows.enumerated() {
                    for j in 0..<dt { sub.data[r * dt + j] = teacherInput.data[i * dt + j] }
                }
                teacherProbs = softmax(t.logits(sub), temperature: config.kdTemperature)
            }
        }

        var model: LinearModel? = (config.initialization == .teacher && config.teacher == .balanced) ? teacher : nil
        // A stage-one teacher reads other features (untransformed); it seeds only when the shapes agree.
        if config.initialization == .teacher, config.teacher == .stageOne, let t = teacher, t.dim == d { model = t }
        var rounds: [GLAGRound] = []
        var previousAccuracy: [Double]? = nil
        let solver = LogisticRegression(gradientTolerance: config.gradientTolerance, maxIterations: config.maxIterations,
                                        precision: config.precision)
        for r in 0..<config.rounds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let tailBetas = (0..<c).filter { isTail[$0] }.map { Double(generator.beta[$0]) }
            let gen = generator.generate(seed: seed, epoch: r)
            let g = gen.features.rows
            // Real rows first, then the generated ones.
            var x = Matrix<Float>(rows: n + g, cols: d)
            x.data.withUnsafeMutableBufferPointer { px in
                features.data.withUnsafeBufferPointer { pf in
                    px.baseAddress!.update(from: pf.baseAddress!, count: n * d)
                }
                gen.features.data.withUnsafeBufferPointer { pg in
                    if g > 0 { (px.baseAddress! + n * d).update(from: pg.baseAddress!, count: g * d) }
                }
            }
            let y = labels + gen.labels
            // KD soft targets.
            let w = min(max(config.kd.value(at: Double(r + 1), totalEpochs: Double(config.rounds)), 0), 1)
            var soft: SoftTargets? = nil
            if w > 0 && !kdRows.isEmpty {
                var probs = Matrix<Float>(rows: kdRows.count, cols: c)
                for (q, i) in kdRows.enumerated() {
                    for k in 0..<c { probs.data[q * c + k] = Float(w) * teacherProbs.data[q * c + k] }
                    probs.data[q * c + Int(labels[i])] += Float(1 - w)
                }
                soft = SoftTargets(rows: kdRows, probabilities: probs)
            }
            let sol = try solver.solve(features: x, labels: y, numClasses: c, softTargets: soft,
                                       l2: LogisticRegression.l2(sklearnC: config.inverseRegularization, totalWeight: Double(n + g)),
                                       init: model)
            model = sol.model
            var recall = Double.nan, accuracy = Double.nan
            if let v = validation {
                let m = Metrics(model: sol.model, features: v.features, labels: v.labels, trainCounts: trainCounts)
                recall = m.meanPerClassRecall
                accuracy = m.overall
                let acc = m.perClass.map { $0 ?? .nan }  // NaN for a class absent from validation: updateBeta skips it
                if config.adaptiveBeta, let prev = previousAccuracy {
                    let delta = zip(acc, prev).map { $0.0 - $0.1 }
                    generator.beta = updateBeta(generator.beta, isTail: isTail, accuracyDelta: delta,
                                                donorWeights: gen.donorWeights, rule: config.betaRule, step: config.betaStep)
                }
                previousAccuracy = acc
            }
            let info = GLAGRound(round: r, generatedRows: g, kdWeight: soft == nil ? 0 : w, objective: sol.objective,
                                 iterations: sol.iterations, validationMeanRecall: recall, validationAccuracy: accuracy,
                                 meanTailBeta: tailBetas.isEmpty ? .nan : tailBetas.reduce(0, +) / Double(tailBetas.count),
                                 seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            rounds.append(info)
            progress?(info)
        }
        return GLAGFit(model: model!, teacher: teacher, beta: generator.beta, rounds: rounds)
    }
}

// MARK: - Selection on validation

/// Selection of GLAG's settings on the validation split (issue 8): a small grid, each
/// setting fitted on the training split and scored by validation mean per-class recall;
/// the best one is kept (the first on ties). Only training and validation data enter.
public enum GLAGSelection {
    /// One setting of the grid. `config == nil` is the class-weighted regression alone
    /// (no generation), listed so the grid shows what GLAG is measured against.
    public struct Candidate: Sendable {
        public var name: String
        public var config: GLAGSolverConfig?
        public init(name: String, config: GLAGSolverConfig?) { self.name = name; self.config = config }
    }

    /// A scored setting.
    public struct Entry: Sendable {
        public var name: String
        public var summary: String
        public var validationMeanRecall: Double
        public var validationAccuracy: Double
        public var seconds: Double
    }

    public struct Outcome: Sendable {
        /// The chosen model (trained on the training split only).
        public var model: LinearModel
        /// Index of the chosen setting in `entries`.
        public var bestIndex: Int
        /// Every setting with its validation scores, in grid order.
        public var entries: [Entry]
        /// The chosen GLAG run (nil when the class-weighted regression won).
        public var fit: GLAGFit?
    }

    /// The default grid around `base` (its generator, rounds, C, KD schedule shape and
    /// solver settings are kept; the grid overrides the fields listed):
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
    public static func defaultGrid(base: GLAGSolverConfig = GLAGSolverConfig(), hasStageOne: Bool = false) -> [Candidate] {
        func make(_ name: String, mean: MeanMode = .sample, beta: Float, k: Int = 2, kd: Double = 0.5,
                  teacher: TeacherKind = .balanced, initial: InitKind = .teacher) -> Candidate {
            var c = base
            c.generator.meanMode = mean
            c.generator.initialBeta = beta
            c.generator.k = k
            c.kd.maxValue = kd
            c.teacher = teacher
            c.initialization = initial
            return Candidate(name: name, config: c)
        }
        var grid = [Candidate(name: "balanced-lr", config: nil),
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

    /// Fits every setting of `grid` on the training split and keeps the best by validation
    /// mean per-class recall. The `balanced` teacher is solved once and shared.
    /// - Complexity: one GLAG run per setting.
    public static func select(grid: [Candidate], features: Matrix<Float>, labels: [Int32], numClasses: Int,
                              validation: LabeledFeatures, stageOne: LinearModel? = nil,
                              teacherFeatures: Matrix<Float>? = nil, seed: UInt64,
                              inverseRegularization: Double = 1, precision: LogisticRegression.Precision = .single,
                              progress: ((Entry) -> Void)? = nil) throws -> Outcome {
        precondition(!grid.isEmpty, "GLAGSelection: empty grid")
        let c = numClasses
        let t0 = DispatchTime.now().uptimeNanoseconds
        let balanced = try GLAGSolver.balancedRegression(features: features, labels: labels, numClasses: c,
                                                         inverseRegularization: inverseRegularization, precision: precision)
        let balancedSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var trainCounts = [Int](repeating: 0, count: c)
        for l in labels where l >= 0 && Int(l) < c { trainCounts[Int(l)] += 1 }
        func score(_ m: LinearModel) -> (Double, Double) {
            let metrics = Metrics(model: m, features: validation.features, labels: validation.labels, trainCounts: trainCounts)
            return (metrics.meanPerClassRecall, metrics.overall)
        }
        var entries: [Entry] = []
        var best: (index: Int, recall: Double, model: LinearModel, fit: GLAGFit?)? = nil
        for (i, cand) in grid.enumerated() {
            let s0 = DispatchTime.now().uptimeNanoseconds
            let model: LinearModel, fit: GLAGFit?
            if let cfg = cand.config {
                fit = try GLAGSolver(config: cfg).fit(features: features, labels: labels, numClasses: c, validation: validation,
                                                      stageOne: stageOne, teacherFeatures: teacherFeatures,
                                                      balancedTeacher: cfg.teacher == .balanced ? balanced : nil, seed: seed)
                model = fit!.model
            } else {
                model = balanced; fit = nil
            }
            let (recall, acc) = score(model)
            let seconds = cand.config == nil ? balancedSeconds : Double(DispatchTime.now().uptimeNanoseconds - s0) / 1e9
            let e = Entry(name: cand.name, summary: cand.config?.summary ?? "class-weighted logistic regression (balanced), no generation",
                          validationMeanRecall: recall, validationAccuracy: acc, seconds: seconds)
            entries.append(e)
            progress?(e)
            if best == nil || recall > best!.recall { best = (i, recall, model, fit) }
        }
        return Outcome(model: best!.model, bestIndex: best!.index, entries: entries, fit: best!.fit)
    }
}

// MARK: - Helpers

/// Row-wise `softmax(z / T)`. Shapes: `N × C` in and out. O(N·C).
func softmax(_ z: Matrix<Float>, temperature: Double) -> Matrix<Float> {
    var out = z
    let c = z.cols
    let invT = Float(1 / temperature)
    for i in 0..<z.rows {
        var m = -Float.infinity
        for k in 0..<c { m = max(m, z.data[i * c + k] * invT) }
        var s: Float = 0
        for k in 0..<c { let e = Foundation.exp(z.data[i * c + k] * invT - m); out.data[i * c + k] = e; s += e }
        for k in 0..<c { out.data[i * c + k] /= s }
    }
    return out
}
