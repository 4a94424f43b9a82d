import Foundation
import Linalg
import AFG

/// Which classifier serves as GLAG's KD teacher (and, with `InitKind.teacher`, its start),
/// on either solver.
public enum TeacherKind: String, Sendable, Codable, CaseIterable {
    /// The stage-one head on the untransformed features (method.md step 10).
    case stageOne = "stage-one"
    /// The class-weighted (`balanced`) logistic regression on the transformed features,
    /// solved first by `LogisticRegression`: a teacher not biased to the head classes.
    case balanced
    /// No teacher: no KD (on the solver also: start from zero).
    case none
}

/// Where the first round's solve starts.
public enum InitKind: String, Sendable, Codable, CaseIterable { case zero, teacher }

/// Settings of GLAG on the converged solver.
public struct GLAGSolverConfig: Sendable, Equatable, Codable {
    public enum Settings {
        public static let rounds = Setting<Int>(
            "rounds", "lbfgs glag: generation rounds (each a fresh generated set; warm-started solve).", default: 10, .atLeast(1))
        public static let inverseRegularization = Setting<Double>(
            "C", "lbfgs: inverse L2 strength, as scikit-learn's C (l2 = 1/(C·Σ weights)).", default: 1, .above(0))
        public static let gradientTolerance = Setting<Double>(
            "tolerance", "lbfgs: stop when the largest gradient entry is below this.", default: 1e-4, .above(0))
    }
    /// The generator (k, initial β, mean mode, weighting, head threshold, α, M).
    public var generator: GeneratorConfig
    /// Generation rounds: each draws a fresh balanced set and solves to convergence.
    public var rounds: Int = Settings.rounds.value
    /// scikit-learn-style inverse regularisation: each round uses `l2 = 1 / (C · rows)`,
    /// `rows` the real + generated rows of the round (unit weights).
    public var inverseRegularization: Double = Settings.inverseRegularization.value
    public var teacher: TeacherKind = .balanced
    public var initialization: InitKind = .teacher
    /// KD weight schedule over rounds: round `r` (0-based) mixes its head-class real rows'
    /// targets as `(1 − w)·onehot + w·softmax(teacher/T)`, `w = kd.value(at: r+1, totalEpochs: rounds)`
    /// clamped to [0, 1] (method.md's `β_KD(t) = kd_max·s_γ(t/T)`). `maxValue = 0` turns KD off.
    public var kd = GradualSchedule(maxValue: KDSettings.Settings.maxWeight.value, gamma: KDSettings.Settings.gamma.value)
    /// Teacher temperature `T_kd`.
    public var kdTemperature = Double(KDSettings.Settings.temperature.value)
    /// Adapt β between rounds from per-class validation accuracy (method.md step 9).
    public var adaptiveBeta: Bool = true
    public var betaUpdate = BetaUpdate()
    /// Per-round solver: `‖∇f‖∞` tolerance and iteration cap.
    public var gradientTolerance: Double = Settings.gradientTolerance.value
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

/// GLAG on the converged solver: each round draws a fresh balanced set from the
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
        if let v = validation {
            if v.features.cols != d { throw GLAGSolverError.validationShape("has \(v.features.cols) columns, training has \(d)") }
            if v.numClasses != c { throw GLAGSolverError.validationShape("has \(v.numClasses) classes, training has \(c)") }
        }
        let (teacher, teacherInput) = try resolveTeacher(features: features, labels: labels, numClasses: c, stageOne: stageOne,
                                                         teacherFeatures: teacherFeatures, balancedTeacher: balancedTeacher)
        var trainCounts = [Int](repeating: 0, count: c)
        for l in labels where l >= 0 && Int(l) < c { trainCounts[Int(l)] += 1 }
        var generator = try FeatureGenerator(features: features, labels: labels, numClasses: c, config: config.generator)
        let isTail = generator.isTail
        // Teacher distributions on the real head-class rows (fixed over rounds).
        var kdRows: [Int] = []
        var teacherProbs = Matrix<Float>(rows: 0, cols: c)
        if let t = teacher, config.kd.maxValue > 0 {
            kdRows = (0..<n).filter { !isTail[Int(labels[$0])] }
            if !kdRows.isEmpty { teacherProbs = softmax(t.logits(teacherInput.gatheringRows(kdRows)), temperature: config.kdTemperature) }
        }
        var model: LinearModel? = (config.initialization == .teacher && config.teacher == .balanced) ? teacher : nil
        // A stage-one teacher reads other features (untransformed); it seeds only when the shapes agree.
        if config.initialization == .teacher, config.teacher == .stageOne, let t = teacher, t.dim == d { model = t }
        var rounds: [GLAGRound] = []
        var tracker = AdaptiveBeta(update: config.betaUpdate)
        let solver = LogisticRegression(gradientTolerance: config.gradientTolerance, maxIterations: config.maxIterations,
                                        precision: config.precision)
        for r in 0..<config.rounds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let tailBetas = (0..<c).filter { isTail[$0] }.map { Double(generator.beta[$0]) }
            let gen = generator.generate(seed: seed, epoch: r)
            let g = gen.features.rows
            // Real rows first, then the generated ones.
            let x = Matrix.verticalJoin(features, gen.features)
            let w = min(max(config.kd.value(at: Double(r + 1), totalEpochs: Double(config.rounds)), 0), 1)
            let soft = softTargets(weight: w, rows: kdRows, labels: labels, teacherProbabilities: teacherProbs, numClasses: c)
            let sol = try solver.solve(features: x, labels: labels + gen.labels, numClasses: c, softTargets: soft,
                                       l2: LogisticRegression.l2(sklearnC: config.inverseRegularization, totalWeight: Double(n + g)),
                                       init: model)
            model = sol.model
            var recall = Double.nan, accuracy = Double.nan
            if let v = validation {
                let m = Metrics(model: sol.model, features: v.features, labels: v.labels, trainCounts: trainCounts)
                recall = m.meanPerClassRecall
                accuracy = m.overall
                if config.adaptiveBeta {
                    generator.beta = tracker.next(generator.beta, isTail: isTail, accuracy: m.perClass, donorWeights: gen.donorWeights)
                }
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

    /// The teacher `config.teacher` names, and the `N × D_t` rows it reads.
    private func resolveTeacher(features: Matrix<Float>, labels: [Int32], numClasses c: Int, stageOne: LinearModel?,
                                teacherFeatures: Matrix<Float>?, balancedTeacher: LinearModel?)
        throws -> (LinearModel?, Matrix<Float>) {
        var teacher: LinearModel? = nil
        var input = features
        switch config.teacher {
        case .none: break
        case .balanced:
            teacher = try balancedTeacher ?? Regression.fit(
                features, labels: labels, numClasses: c, C: config.inverseRegularization, classWeightPower: 1,
                solver: LogisticRegression(gradientTolerance: config.gradientTolerance, maxIterations: 1000,
                                           precision: config.precision))
        case .stageOne:
            guard let s = stageOne else { throw GLAGSolverError.missingStageOneTeacher }
            teacher = s
            if let tf = teacherFeatures { input = tf }
        }
        if let t = teacher {
            guard t.numClasses == c else { throw GLAGSolverError.teacherShape("has \(t.numClasses) classes, data have \(c)") }
            guard t.dim == input.cols && input.rows == features.rows else {
                throw GLAGSolverError.teacherShape("reads \(t.dim)-d features, got \(input.rows) × \(input.cols)")
            }
        }
        return (teacher, input)
    }

    /// KD soft targets of one round: `(1 − w)·onehot + w·p_teacher` on the `rows` (nil when
    /// `w = 0` or there are none). `teacherProbabilities` is `rows.count × C`. O(rows·C).
    private func softTargets(weight w: Double, rows: [Int], labels: [Int32], teacherProbabilities p: Matrix<Float>,
                             numClasses c: Int) -> SoftTargets? {
        guard w > 0 && !rows.isEmpty else { return nil }
        var probs = Matrix<Float>(rows: rows.count, cols: c)
        for (q, i) in rows.enumerated() {
            for k in 0..<c { probs.data[q * c + k] = Float(w) * p.data[q * c + k] }
            probs.data[q * c + Int(labels[i])] += Float(1 - w)
        }
        return SoftTargets(rows: rows, probabilities: probs)
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

/// GLAG on the converged solver as an estimator (`--method glag --solver lbfgs --rounds N`):
/// `GLAGSolver` on the training rows, the validation rows held out for the adaptive β
/// (never trained on). With `C` cross-validated, `C` is the class-weighted regression's
/// best on the training rows' folds, and the rounds run on scaled rows (the model is
/// mapped back to the unscaled rows).
public struct GLAGRounds: Estimator {
    public var config: GLAGSolverConfig
    public var C: RegularizationChoice
    /// The solver of the cross-validated `C`.
    public var solver: LogisticRegression

    public init(config: GLAGSolverConfig, C: RegularizationChoice, solver: LogisticRegression) {
        self.config = config; self.C = C; self.solver = solver
    }

    public var name: String { "glag-lbfgs" }
    public var crossValidates: Bool { false }

    public func fit(_ data: FitData, log: @escaping (String) -> Void) throws -> Fitted {
        var config = self.config
        var x = data.rows, validation = data.validation
        var scaler: FeatureScaler? = nil
        if case .fixed(let c) = C { config.inverseRegularization = c } else {
            let folds = data.requireFolds(name)
            let cv = RegressionCV(balanced: true, solver: solver)
            let path = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: folds,
                                   progress: data.pathProgress("C by cross-validation", grid: cv.grid, folds: folds.count))
            config.inverseRegularization = path.chosen
            log("C = \(path.chosen) by \(folds.count)-fold cross-validation of the class-weighted regression on the training rows")
            let s = FeatureScaler(fitting: x.features)
            x.features = s.apply(x.features)
            if let v = validation { validation!.features = s.apply(v.features) }
            scaler = s
        }
        let rounds = config.rounds
        let fit = try GLAGSolver(config: config).fit(
            features: x.features, labels: x.labels, numClasses: x.numClasses, validation: validation,
            stageOne: data.stageOne?.model, teacherFeatures: data.stageOne?.rows, seed: data.seed, progress: { r in
                log("round \(r.round + 1)/\(rounds)  objective \(String(format: "%.5f", r.objective))  \(r.iterations) it  val \(percent(r.validationAccuracy))  recall \(percent(r.validationMeanRecall))  mean tail β \(String(format: "%.3f", r.meanTailBeta))")
            })
        var record = FitRecord(C: config.inverseRegularization)
        record.cSelection = scaler == nil ? "given" : "\(data.folds?.count ?? 0)-fold cross-validation of the class-weighted regression, train"
        record.config = config.summary
        record.generator = .init(config.generator)
        return Fitted(model: scaler.map { $0.rawModel(fit.model) } ?? fit.model, chosen: scaler == nil ? [:] : ["C": config.inverseRegularization],
                      record: record)
    }
}

/// `12.34%`, or `-` for NaN (no validation rows).
func percent(_ v: Double) -> String { v.isNaN ? "-" : String(format: "%.2f%%", 100 * v) }
