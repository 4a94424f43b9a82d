import AFG
import Linalg
import XCTest
@testable import Classifier

/// The converged-solver estimators: logit adjustment's arithmetic and choice, and the
/// generated-set regression's settings, each of which must reach the fitted model.
final class EstimatorTests: XCTestCase {
    let data = LongTailedGaussians(seed: 11)

    func folds(_ x: LabeledFeatures, seed: UInt64 = 4) -> StratifiedFolds {
        StratifiedFolds(labels: x.labels, numClasses: x.numClasses, folds: 5, seed: seed)
    }

    /// At `τ = 0` the shifted fold score is the plain one; a path with shifts holds the
    /// plain path's scores at `τ = 0`.
    func testZeroShiftScoresAreThePlainScores() throws {
        let x = data.train, f = folds(x)
        let cv = RegressionCV(grid: [0.1, 1, 10], balanced: false)
        let plain = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: f)
        let shifted = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: f, shifts: [0, 0.5, 1])
        for g in 0..<3 { XCTAssertEqual(shifted.scores[g * 3], plain.scores[g], "C = \(plain.grid[g])") }
        XCTAssertNotEqual(shifted.scores[3 * 1 + 2], plain.scores[1], "τ = 1 moves the scores on long-tailed rows")
        XCTAssertEqual(shifted.mean[shifted.best], shifted.mean.max())
    }

    /// The fitted classifier is the unweighted regression refitted at the chosen C, its bias
    /// moved by `−τ·log π` (π the fitted rows' frequencies); C is the grid value with the
    /// least held-out log-loss over every assignment's folds, τ the best mean recall there.
    func testLogitAdjustedRegressionIsTheShiftedUnweightedRegression() throws {
        let x = data.train, f = folds(x)
        let repeated = StratifiedFolds.repeated(labels: x.labels, numClasses: x.numClasses, folds: 5, seed: 4)
        XCTAssertEqual(repeated.count, StratifiedFolds.defaultRepetitions - 1)
        let la = LogitAdjustedRegression(C: .crossValidated, solver: LogisticRegression(gradientTolerance: 1e-5))
        let fitted = try la.fit(FitData(rows: x, folds: f, repeatedFolds: repeated, seed: 4), log: { _ in })
        let C = try XCTUnwrap(fitted.chosen["C"]), tau = try XCTUnwrap(fitted.chosen["tau"])
        XCTAssertTrue(LogitAdjustedRegression.Settings.tauGrid.contains(tau))
        // The rule from each assignment's own path, averaged here.
        let cv = RegressionCV(balanced: false, solver: la.solver)
        let paths = try ([f] + repeated).map {
            try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: $0, shifts: la.shifts)
        }
        let s = la.shifts.count
        let loss = cv.grid.indices.map { g in paths.map { $0.logLoss[g].reduce(0, +) }.reduce(0, +) / Double(5 * paths.count) }
        let g = loss.indices.min { loss[$0] < loss[$1] }!
        let recall = (0..<s).map { q in paths.map { $0.scores[g * s + q].reduce(0, +) }.reduce(0, +) / Double(5 * paths.count) }
        let q = recall.indices.max { recall[$0] < recall[$1] || (recall[$0] == recall[$1] && $0 > $1) }!
        XCTAssertEqual(C, cv.grid[g])
        XCTAssertEqual(tau, la.shifts[q])
        let scaler = FeatureScaler(fitting: x.features)
        let plain = scaler.rawModel(try cv.refit(scaler.apply(x.features), labels: x.labels, numClasses: x.numClasses, C: C))
        XCTAssertEqual(fitted.model.weight, plain.weight, "only the bias moves")
        let n = Double(x.labels.count)
        for c in 0..<x.numClasses {
            let expected = Double(plain.bias[c]) - tau * log(Double(data.trainCounts[c]) / n)
            XCTAssertEqual(Double(fitted.model.bias[c]), expected, accuracy: 1e-5, "class \(c)")
        }
        XCTAssertEqual(try XCTUnwrap(fitted.crossValidation?.meanPerClassRecall), recall[q], accuracy: 1e-12)
        XCTAssertEqual(fitted.crossValidation?.repetitions, StratifiedFolds.defaultRepetitions, "the score is over every assignment")
    }

    /// The two-step rule on a constructed path: `C` where the mean log-loss is least (the
    /// smallest such `C` on ties), then the best recall at that `C`, not the best recall
    /// over the grid; joining repetitions pools their folds.
    func testChoosingCByLogLossThenTau() {
        // Two folds, grid [0.1, 1, 10], shifts [0, 1]; the best recall (0.9) is at C = 10.
        let a = RegressionCV.Path(grid: [0.1, 1, 10], shifts: [0, 1],
                                  scores: [[0.5, 0.5], [0.6, 0.6], [0.7, 0.7], [0.8, 0.6], [0.8, 0.8], [0.9, 0.9]],
                                  logLoss: [[1.2, 1.2], [0.9, 1.1], [1.5, 1.5]])
        XCTAssertEqual(a.best, 5, "the joint choice")
        let chosen = a.choosingCByLogLoss()
        XCTAssertEqual(chosen.chosen, 1)
        XCTAssertEqual(chosen.chosenShift, 0, "recall 0.7 at both shifts of C = 1: the tie goes to τ = 0")
        XCTAssertTrue(chosen.cByLogLoss)
        XCTAssertTrue(chosen.lines()[1].hasPrefix("  * C = 1 "), chosen.lines()[1])
        // A second repetition whose loss favours C = 0.1 moves the pooled choice there.
        let b = RegressionCV.Path(grid: [0.1, 1, 10], shifts: [0, 1],
                                  scores: [[0.5, 0.5], [0.9, 0.9], [0.6, 0.6], [0.6, 0.6], [0.6, 0.6], [0.6, 0.6]],
                                  logLoss: [[0.2, 0.2], [1.0, 1.0], [1.5, 1.5]])
        let joined = RegressionCV.Path.joined([a, b])
        XCTAssertEqual(joined.repetitions, 2)
        XCTAssertEqual(joined.scores[0], [0.5, 0.5, 0.5, 0.5])
        XCTAssertEqual(joined.meanLogLoss[0], 0.7, accuracy: 1e-12)
        let pooled = joined.choosingCByLogLoss()
        XCTAssertEqual(pooled.chosen, 0.1)
        XCTAssertEqual(pooled.chosenShift, 1, "recall 0.75 at τ = 1 against 0.5 at τ = 0")
        XCTAssertTrue(pooled.rule.contains("the folds of 2 assignments"), pooled.rule)
    }

    /// The held-out log-loss is `−mean log softmax(z)_y`, finite for large logits, and the
    /// same mean when its sums are taken across ranks.
    func testHeldOutLogLoss() throws {
        let x = data.train, split = FoldSplit(x.features, labels: x.labels, folds: folds(x), fold: 0)
        let n = split.heldOutLabels.count, c = x.numClasses
        // Row i: 0 everywhere and `a` at the true class, so its loss is log(e^a + c − 1) − a.
        var logits = Matrix<Float>(rows: n, cols: c)
        var direct = 0.0
        for i in 0..<n {
            let y = Int(split.heldOutLabels[i])
            let a = Double(i % 7) - 3 + (i % 11 == 0 ? 900 : 0)
            logits.data[i * c + y] = Float(a)
            direct += a > 50 ? Double(c - 1) * exp(-a) : log(exp(a) + Double(c - 1)) - a
        }
        direct /= Double(n)
        XCTAssertEqual(split.logLoss(logits: logits), direct, accuracy: 1e-9)
        // Two "ranks" holding the same rows: the sums double, the mean stays.
        XCTAssertEqual(split.logLoss(logits: logits, sumAcrossRanks: { v in for i in v.indices { v[i] *= 2 } }),
                       split.logLoss(logits: logits), accuracy: 1e-12)
    }

    /// Repetition 0 is the plain assignment; the others are other stratified assignments.
    func testRepeatedFoldsAreOtherStratifiedAssignments() {
        let x = data.train
        let plain = folds(x, seed: 7)
        XCTAssertEqual(StratifiedFolds(labels: x.labels, numClasses: x.numClasses, folds: 5, seed: 7, repetition: 0), plain)
        let more = StratifiedFolds.repeated(labels: x.labels, numClasses: x.numClasses, folds: 5, seed: 7, repetitions: 3)
        XCTAssertEqual(more.count, 2)
        XCTAssertNotEqual(more[0], plain); XCTAssertNotEqual(more[1], plain); XCTAssertNotEqual(more[0], more[1])
        XCTAssertEqual(StratifiedFolds.repeated(labels: x.labels, numClasses: x.numClasses, folds: 5, seed: 7, repetitions: 1), [])
        for a in more {
            for k in 0..<x.numClasses {
                let perFold = (0..<5).map { f in x.labels.indices.filter { x.labels[$0] == Int32(k) && a.fold[$0] == f }.count }
                XCTAssertLessThanOrEqual(perFold.max()! - perFold.min()!, 1, "class \(k)")
            }
        }
    }

    /// On long-tailed rows the chosen shift is positive and lifts the tail classes' recall
    /// over the same regression unadjusted.
    func testLogitAdjustmentLiftsTailRecall() throws {
        let x = data.train
        let fitted = try LogitAdjustedRegression(C: .fixed(1), solver: LogisticRegression(gradientTolerance: 1e-5))
            .fit(FitData(rows: x, folds: folds(x), seed: 4), log: { _ in })
        let tau = try XCTUnwrap(fitted.chosen["tau"])
        XCTAssertNil(fitted.chosen["C"], "a given C is not reported as chosen")
        XCTAssertGreaterThan(tau, 0)
        let unadjusted = fitted.model.logitAdjusted(tau: -tau, classCounts: data.trainCounts)
        func few(_ m: LinearModel) -> Double {
            let met = Metrics(model: m, features: data.test.features, labels: data.test.labels, trainCounts: data.trainCounts)
            return (6..<9).map { met.perClass[$0]! }.reduce(0, +) / 3
        }
        XCTAssertGreaterThan(few(fitted.model), few(unadjusted))
    }

    /// Every setting of the generated-set regression reaches the classifier: changing any one
    /// of them changes the fitted weights.
    func testGeneratedRegressionHonoursEverySetting() throws {
        let x = data.train
        let base = GeneratedRegression(generator: GeneratedRegression.recommendedGenerator, headThreshold: nil, C: .crossValidated,
                                       solver: LogisticRegression(gradientTolerance: 1e-4))
        func fit(_ g: GeneratedRegression) throws -> LinearModel {
            try g.fit(FitData(rows: x, folds: folds(x), seed: 9), log: { _ in }).model
        }
        let reference = try fit(base)
        XCTAssertEqual(try fit(base), reference, "same settings, same model")
        var changes: [(String, GeneratedRegression)] = []
        var g = base; g.generator.k = 4; changes.append(("k", g))
        g = base; g.generator.alpha = 0.5; changes.append(("alpha", g))
        g = base; g.generator.initialBeta = 0.3; changes.append(("initial beta", g))
        g = base; g.generator.meanMode = .pull; changes.append(("mean mode", g))
        g = base; g.generator.targetPerClass = 600; changes.append(("target per class", g))
        g = base; g.headThreshold = 300; changes.append(("head threshold", g))
        g = base; g.cDivisor = 1; changes.append(("C divisor", g))
        g = base; g.blend = 0.8; changes.append(("blend", g))
        for (name, changed) in changes {
            XCTAssertNotEqual(try fit(changed), reference, "\(name) changes nothing")
        }
    }

    /// A second view is read only when given, and then the classifier reads both views.
    func testTwoViewsNeedTheRawRows() throws {
        var x = data.train
        let raw = x.features
        x.features.data = x.features.data.map { $0 * $0 }
        let g = GeneratedRegression(generator: GeneratedRegression.recommendedGenerator, headThreshold: nil, C: .fixed(1),
                                    solver: LogisticRegression(gradientTolerance: 1e-4))
        let one = try g.fit(FitData(rows: x, seed: 1), log: { _ in })
        XCTAssertFalse(one.twoView)
        XCTAssertEqual(one.model.dim, x.features.cols)
        let two = try g.fit(FitData(rows: x, raw: raw, seed: 1), log: { _ in })
        XCTAssertTrue(two.twoView)
        XCTAssertEqual(two.model.dim, 2 * x.features.cols)
    }
}
