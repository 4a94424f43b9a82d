import AFG
import Foundation
import Linalg

/// One generated balanced set plus a converged unweighted regression (method.md,
/// "Measured on data the project never saw"; `afg train --method glag`, the converged
/// solver's default): the generator fills every class (tail classes from the calibrated
/// covariance, head classes from their own Gaussian), the real and generated rows are
/// scaled with the real rows' scaler (`FeatureScaler`), and the multinomial regression is
/// solved to convergence without class weights at `C*/cDivisor`, warm-started from the
/// class-weighted regression at `C*`. The classifier's logits blend the two (`blend`: the
/// generated model's weight); with a second view (`FitData.raw`, Tukey-transformed rows)
/// the class-weighted regression reads the raw rows, at its own cross-validated `C*`
/// (`LinearModel.twoView`: a `raw_weight` head in the file).
///
/// Every setting of the generator is honoured (`generator`: k, α, β, mean mode, head
/// threshold, target per class); `headThreshold = nil` derives it from the counts of the
/// rows each fit sees (`derivedHeadThreshold`).
///
/// Cost: with `C` cross-validated, `K × grid` solves per view, one generation, one
/// generated-set solve on `N + G` rows and one refit path per view.
public struct GeneratedRegression: Estimator {
    public enum Settings {
        public static let blend = Setting<Double>(
            "blend", "lbfgs glag: weight w of the generated-set regression in the classifier's logits, 1 − w on the class-weighted regression at C* (0: the regression alone, 1: the generated-set regression alone).",
            default: 0.5, .closed(0, 1))
        public static let cDivisor = Setting<Double>(
            "c-divisor", "lbfgs glag with C cross-validated: the generated-set regression is solved at C*/this (the generated set holds several times the real rows, and l2 = 1/(C·rows)).",
            default: 3, .above(0))
        /// The tail classes' confidence on the converged solver: the neighbours' covariance
        /// only (β = 1), the suite's choice (docs/RESULTS.md); the SGD path starts from
        /// `GeneratorConfig.Settings.initialBeta` and adapts.
        public static let initialBeta: Float = 1
    }

    /// The generator (its `headThreshold` is replaced by `headThreshold` or the derived one).
    public var generator: GeneratorConfig
    /// A class is tail when `n_c <` this; nil derives `⌈n_max/3⌉` from each fit's counts.
    public var headThreshold: Int?
    public var C: RegularizationChoice
    public var cDivisor = Settings.cDivisor.value
    public var blend = Settings.blend.value
    /// Blend with the class-weighted regression on the raw rows when they are given.
    public var twoView = true
    public var solver: LogisticRegression
    public var grid = RegressionCV.defaultGrid

    public init(generator: GeneratorConfig, headThreshold: Int?, C: RegularizationChoice, solver: LogisticRegression) {
        self.generator = generator; self.headThreshold = headThreshold; self.C = C; self.solver = solver
    }

    /// The generator the suite chose (docs/RESULTS.md): `k = 2`, `β = 1`, sample mean, no
    /// extra spread, every class filled to `n_max`.
    public static var recommendedGenerator: GeneratorConfig {
        GeneratorConfig(k: 2, alpha: 0, initialBeta: Settings.initialBeta, meanMode: .sample)
    }

    /// The data-derived head threshold `⌈n_max / 3⌉` (at least 1): a class with fewer than a
    /// third of the largest class's rows is calibrated. O(C).
    public static func derivedHeadThreshold(counts: [Int]) -> Int { max(1, ((counts.max() ?? 0) + 2) / 3) }

    /// The generator for rows with these class counts. O(C).
    public func generator(counts: [Int]) -> GeneratorConfig {
        var g = generator
        g.headThreshold = headThreshold ?? Self.derivedHeadThreshold(counts: counts)
        return g
    }

    public var name: String { "glag-lbfgs" }
    public var crossValidates: Bool { C == .crossValidated }

    /// Rows of one view, scaled by their own statistics.
    public struct View {
        public var raw: Matrix<Float>
        public var scaler: FeatureScaler
        public var scaled: Matrix<Float>
        public init(_ raw: Matrix<Float>, sumAcrossRanks: SumAcrossRanks? = nil) {
            self.raw = raw
            scaler = FeatureScaler(fitting: raw, sumAcrossRanks: sumAcrossRanks)
            scaled = scaler.apply(raw)
        }
        public init(raw: Matrix<Float>, scaler: FeatureScaler, scaled: Matrix<Float>) {
            self.raw = raw; self.scaler = scaler; self.scaled = scaled
        }
        /// The raw rows followed by `more`, scaled in place: one copy of the joined rows.
        public func scaledJoin(_ more: Matrix<Float>) -> Matrix<Float> {
            var joined = Matrix.verticalJoin(raw, more)
            scaler.apply(to: &joined)
            return joined
        }
    }

    /// The fitted parts, each reading its view's scaled rows.
    public struct Parts {
        /// The class-weighted regression at `C` on the first view (nil when not needed:
        /// `blend = 1` at a given `C`).
        public var regression: LinearModel?
        /// The generated-set regression at `C/cDivisor` (or the given `C`).
        public var generated: LinearModel
        /// The class-weighted regression on the second view.
        public var partner: LinearModel?
        /// Rows generated (every rank's).
        public var generatedRows: Int

        /// The classifier on the views' unscaled rows: the blend, or the two-view model.
        public func model(_ view: View, partner second: View?, blend: Double) -> LinearModel {
            if let p = partner, let s = second {
                return LinearModel.twoView(transformed: view.scaler.rawModel(generated), raw: s.scaler.rawModel(p), weight: blend)
            }
            return view.scaler.rawModel(LinearModel.blend(regression ?? generated, generated, weight: blend))
        }

        /// The classifier on the views' scaled rows (a fold's held-out rows read it).
        public func scaledModel(blend: Double) -> LinearModel {
            if let p = partner { return LinearModel.twoView(transformed: generated, raw: p, weight: blend) }
            return LinearModel.blend(regression ?? generated, generated, weight: blend)
        }
    }

    /// The one fit, on a fold's training rows or on every row: the class-weighted
    /// regression at `C` on `view` (along the grid path when `alongPath`, else one solve),
    /// the generated set from `view.raw`, its regression at `generatedC` warm-started from
    /// the regression, and with `partner` the class-weighted regression on the second view
    /// at `partnerC`. `stage` is told each step as it starts.
    /// - Complexity: one generation, up to three regressions (or refit paths).
    public func fitParts(_ view: View, labels: [Int32], numClasses: Int, C: Double, generatedC: Double, alongPath: Bool,
                         partner: View? = nil, partnerC: Double? = nil, seed: UInt64, job: JobShare? = nil,
                         stage: (String) -> Void = { _ in }) throws -> Parts {
        let cv = RegressionCV(grid: grid, balanced: true, solver: solver, sumAcrossRanks: job?.sum,
                              combineAcrossRanks: job?.combine)
        func regression(_ x: Matrix<Float>, _ c: Double, _ what: String) throws -> LinearModel {
            guard alongPath else { stage("\(what) at C = \(c)"); return try cv.fit(x, labels: labels, numClasses: numClasses, C: c) }
            return try cv.refit(x, labels: labels, numClasses: numClasses, C: c) { step, i, n in
                stage("\(what) at " + RegressionCV.refitStep(step, i, n, target: c))
            }
        }
        let needsStart = alongPath || blend < 1
        let start = needsStart ? try regression(view.scaled, C, "the class-weighted regression") : nil
        stage("generating the balanced set")
        let set = try balancedSet(view, labels: labels, numClasses: numClasses, seed: seed, job: job)
        var total = [Double(set.rows.labels.count)]
        job?.sum(&total)
        stage("the generated-set regression at C = \(generatedC) on \(Int(total[0])) rows")
        let generated = try solver.fit(features: set.rows.features, labels: set.rows.labels, numClasses: numClasses,
                                       l2: LogisticRegression.l2(sklearnC: generatedC, totalWeight: total[0]), init: start,
                                       combineAcrossRanks: job?.combine)
        let other = try partner.map { try regression($0.scaled, partnerC ?? C, "the class-weighted regression on the second view") }
        return Parts(regression: start, generated: generated, partner: other, generatedRows: set.generated)
    }

    /// The view's rows followed by one generated epoch (epoch 0 of `seed`), scaled by the
    /// view's scaler, and how many rows were generated (every rank's). In an MPI job the
    /// generator is built from `job.generatorRows` (the one-process rows) and this rank
    /// keeps its part of the generated blocks (`job.part`). About `C·n_max × D` floats.
    public func balancedSet(_ view: View, labels: [Int32], numClasses: Int, seed: UInt64,
                            job: JobShare? = nil) throws -> (rows: LabeledFeatures, generated: Int) {
        guard let j = job, let all = j.generatorRows else {
            let g = try FeatureGenerator(features: view.raw, labels: labels, numClasses: numClasses,
                                         config: generator(counts: LabeledFeatures.counts(of: labels, numClasses: numClasses)))
            let gen = g.generate(seed: seed, epoch: 0)
            return (LabeledFeatures(features: view.scaledJoin(gen.features), labels: labels + gen.labels,
                                    numClasses: numClasses), gen.labels.count)
        }
        let g = try FeatureGenerator(features: all.features, labels: all.labels, numClasses: numClasses,
                                     config: generator(counts: all.classCounts))
        let part = g.generateBlocks(j.part(g.blockCount), seed: seed, epoch: 0)
        let mine = Matrix(rows: part.labels.count, cols: view.raw.cols, data: part.features)
        return (LabeledFeatures(features: view.scaledJoin(mine), labels: labels + part.labels,
                                numClasses: numClasses), g.generatedRows)
    }

    /// Plain glag: `C*` cross-validated for the class-weighted regression on each view (the
    /// same folds), then `fitParts` on every row along the path; or at the given `C` on
    /// the rows as given.
    public func fit(_ data: FitData, log: @escaping (String) -> Void) throws -> Fitted {
        let x = data.rows, sum = data.sumAcrossRanks
        let second = twoView && blend < 1 ? data.raw : nil
        let counts = data.classCounts, rows = counts.reduce(0, +)
        let view = View(x.features, sumAcrossRanks: sum), partnerView = second.map { View($0, sumAcrossRanks: sum) }
        var C = 0.0, partnerC: Double? = nil, score: CrossValidationScore? = nil
        var paths: [RegressionCV.Path] = []
        switch self.C {
        case .fixed(let c): C = c; partnerC = c
        case .crossValidated:
            let folds = data.requireFolds(name), cv = RegressionCV(grid: grid, balanced: true, solver: solver, sumAcrossRanks: sum,
                                                                               combineAcrossRanks: data.combineAcrossRanks)
            let views = second == nil ? 1 : 2
            let path = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: folds,
                                   progress: data.pathProgress("C* by cross-validation", grid: cv.grid, folds: folds.count, paths: views))
            log("C* = \(path.chosen) by \(folds.count)-fold cross-validation of the class-weighted regression on \(rows) rows; the generated set uses C*/\(String(format: "%g", cDivisor))")
            for line in path.lines() { log(line) }
            C = path.chosen; paths.append(path)
            score = path.score(folds: folds.count, rows: rows)
            score?.subject = "the class-weighted regression at C* (the blend itself is not cross-validated; --select-on-val scores it)"
            if let r = second {
                let rawPath = try cv.path(r, labels: x.labels, numClasses: x.numClasses, folds: folds,
                                          progress: data.pathProgress("C* of the raw view by cross-validation", grid: cv.grid,
                                                                      folds: folds.count, paths: 2, index: 1))
                partnerC = rawPath.chosen; paths.append(rawPath)
                log("C* = \(rawPath.chosen) for the class-weighted regression on the raw features (the blend's second view), by the same folds")
                for line in rawPath.lines() { log(line) }
            }
        }
        let auto = self.C == .crossValidated, generatedC = auto ? C / cDivisor : C
        let g = generator(counts: counts)
        log("generating: k = \(g.k), α = \(g.alpha), β = \(g.initialBeta), \(g.meanMode.rawValue) mean, head threshold \(g.headThreshold)\(headThreshold == nil ? " (⌈n_max/3⌉)" : ""); solving at C = \(generatedC)"
            + (blend < 1 ? "; logits blended \(1 - blend) : \(blend) with the class-weighted regression" : ""))
        let parts = try fitParts(view, labels: x.labels, numClasses: x.numClasses, C: C, generatedC: generatedC, alongPath: auto,
                                 partner: partnerView, partnerC: partnerC, seed: data.seed, job: data.job, stage: data.stage)
        log("generated \(parts.generatedRows) rows")
        var record = FitRecord(C: generatedC)
        record.method = "one generated set + unweighted regression"
        record.cSelection = auto ? "C*/\(String(format: "%g", cDivisor)), C* by \(data.folds?.count ?? 0)-fold cross-validation on train + val" : "given"
        record.scaling = FeatureScaler.description
        record.blend = blend
        record.generator = .init(g)
        if auto { record.cDivisor = cDivisor }
        if second != nil { record.blendView = "raw"; record.rawC = partnerC }
        var notes: [String] = []
        if second != nil { notes.append("two views: the blend's class-weighted regression reads the raw features (C = \(partnerC!)), a raw_weight head in the file") }
        return Fitted(model: parts.model(view, partner: partnerView, blend: blend), twoView: second != nil, crossValidation: score,
                      chosen: auto ? ["C": generatedC] : [:], record: record, notes: notes)
    }
}
