import AFG
import Foundation
import Linalg

/// The recommended command (`afg train --method glag --select-on-val` on the converged
/// solver) as an estimator: `CrossValidatedSelection` over every labelled row, with the
/// raw rows as a candidate space beside the transformed ones when `offerRawSpace` and
/// `FitData.raw` is given (the simpler space first). One process only.
public struct RecommendedSelection: Estimator {
    /// The generated candidate: its generator, head threshold, `C` divisor, blend, two views, solver and grid.
    public var generated: GeneratedRegression
    /// Offer the raw rows (`FitData.raw`) as a space of their own.
    public var offerRawSpace: Bool
    /// The name of `FitData.rows`' space in the report (e.g. "Tukey λ = 0.5").
    public var spaceName: String
    /// Offer a `MemoryHead` on the rows the written classifier's `weight` reads (its weight,
    /// 0 among the choices, and temperature chosen on the folds).
    public var memory: Bool

    public init(generated: GeneratedRegression, offerRawSpace: Bool, spaceName: String, memory: Bool = true) {
        self.generated = generated; self.offerRawSpace = offerRawSpace; self.spaceName = spaceName; self.memory = memory
    }

    public var name: String { "glag-cv" }
    public var crossValidates: Bool { true }

    /// The spaces the candidates read: the raw rows first when offered.
    public func spaces(_ data: FitData) -> [CrossValidatedSelection.Space] {
        var s: [CrossValidatedSelection.Space] = []
        if offerRawSpace, let r = data.raw { s.append(.init(name: "raw features", features: r)) }
        s.append(.init(name: spaceName, features: data.rows.features))
        return s
    }

    /// - Complexity: see `CrossValidatedSelection`.
    public func fit(_ data: FitData, log: @escaping (String) -> Void) throws -> Fitted {
        precondition(data.job == nil, "RecommendedSelection runs in one process")
        let x = data.rows, spaces = spaces(data), k = data.requireFolds(name).count
        let g = generated, standing = CrossValidatedSelection.Default.of(data.raw ?? x.features)
        let power = LogitAdjustedRegression.Settings.recommendedClassWeightPower
        let whitening = standing == .logitAdjusted ? LogitAdjustedRegression.Settings.recommendedWhiteningPower : nil
        let o = try CrossValidatedSelection.select(
            spaces: spaces, labels: x.labels, numClasses: x.numClasses, folds: k, grid: g.grid, headThreshold: g.headThreshold,
            blend: g.blend, twoView: g.twoView, seed: data.seed, solver: g.solver, generator: g.generator, cDivisor: g.cDivisor,
            logitAdjustedWeightPower: power, logitAdjustedWhitening: whitening, default: standing, withMemory: memory, log: { log($0) },
            progress: data.progress)
        let pick = o.choice
        let standingName = standing == .generated ? "the generated blend (non-negative features)" : "the logit adjustment (signed features)"
        let rule = "\(k)-fold cross-validation, train + val, one-standard-error rule among the regressions, one-sided corrected resampled t-test at 5 % against \(standingName)"
        var record = FitRecord(C: pick.C)
        record.tau = pick.tau
        if pick.tau != nil { record.classWeight = LogitAdjustedRegression.classWeight(power) }
        record.cSelection = nil
        record.selection = rule
        record.chosen = pick.name
        record.scaling = (pick.tau == nil ? nil : o.whitening).map { "\($0.description), then " + FeatureScaler.description }
            ?? FeatureScaler.description
        record.blend = o.blend
        record.generator = .init(o.generator)
        if o.twoView { record.blendView = spaces[0].name; record.rawC = o.paths[0].chosen }
        if let m = o.memoryChoice {
            record.memory = .init(weight: m.weight, temperature: m.weight == 0 ? nil : m.temperature,
                                  rows: o.memory?.labels.count ?? 0, cvMeanRecall: RegressionCV.meanAndStandardError(m.foldScores).mean,
                                  linearCVMeanRecall: RegressionCV.meanAndStandardError(m.linearFoldScores).mean)
        }
        record.candidates = o.candidates.map {
            .init(name: $0.name, space: spaces[$0.space].name, C: $0.C, cvMeanRecall: $0.mean, se: $0.standardError,
                  pairedDifference: $0.pairedDifference, pairedSE: $0.pairedStandardError)
        }
        record.cPaths = o.paths.map { FitRecord(path: $0, folds: k, classWeight: "balanced") }
        let views = o.twoView ? " (two views: + the class-weighted regression on \(spaces[0].name) at C = \(o.paths[0].chosen), a raw_weight head)" : ""
        // The score of what is written: with a memory head, the mixed scores' on the same folds.
        let mixed = o.memory.flatMap { _ in o.memoryChoice }
        let written = mixed.map { RegressionCV.meanAndStandardError($0.foldScores) } ?? (mean: pick.mean, se: pick.standardError)
        let subject = "the chosen candidate, \(pick.name)" + (mixed.map { String(format: ", with the memory head (weight %g, temperature %g)", $0.weight, $0.temperature) } ?? "")
        let score = CrossValidationScore(subject: subject, folds: k, rows: x.labels.count,
                                         meanPerClassRecall: written.mean, standardError: written.se, rule: rule)
        var chosen = ["C": pick.C]
        if let tau = pick.tau { chosen["tau"] = tau }
        var fitted = Fitted(model: o.model, twoView: o.twoView, readsRaw: !o.twoView && spaces.count > 1 && pick.space == 0,
                            crossValidation: score, chosen: chosen, record: record,
                            notes: ["chosen by \(k)-fold cross-validation: \(pick.name), C = \(pick.C)\(pick.tau.map { ", τ = \($0)" } ?? "")\(views)"])
        fitted.memory = o.memory
        if let m = o.memoryChoice {
            fitted.notes.append(m.weight == 0 ? "memory head: weight 0 chosen by \(k)-fold cross-validation (the linear model alone)"
                : String(format: "memory head: weight %g, temperature %g, over %d labelled rows, chosen by %d-fold cross-validation (held-out mean per-class recall %.2f %%, the linear model alone %.2f %%)",
                         m.weight, m.temperature, x.labels.count, k, 100 * RegressionCV.meanAndStandardError(m.foldScores).mean,
                         100 * RegressionCV.meanAndStandardError(m.linearFoldScores).mean))
        }
        fitted.selected = pick.name
        fitted.grid = o.candidates.map {
            .init(name: $0.name, score: $0.mean,
                  detail: String(format: "± %.2f, paired Δ %+.2f ± %.2f  ", 100 * $0.standardError, 100 * $0.pairedDifference,
                                 100 * $0.pairedStandardError) + $0.summary)
        }
        return fitted
    }
}
