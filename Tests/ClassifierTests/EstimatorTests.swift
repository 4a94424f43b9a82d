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
    /// moved by `−τ·log π` (π the fitted rows' frequencies), and the chosen (C, τ) is the
    /// path's best.
    func testLogitAdjustedRegressionIsTheShiftedUnweightedRegression() throws {
        let x = data.train, f = folds(x)
        let la = LogitAdjustedRegression(C: .crossValidated, solver: LogisticRegression(gradientTolerance: 1e-5))
        let fitted = try la.fit(FitData(rows: x, folds: f, seed: 4), log: { _ in })
        let C = try XCTUnwrap(fitted.chosen["C"]), tau = try XCTUnwrap(fitted.chosen["tau"])
        XCTAssertTrue(LogitAdjustedRegression.Settings.tauGrid.contains(tau))
        let cv = RegressionCV(balanced: false, solver: la.solver)
        let path = try cv.path(x.features, labels: x.labels, numClasses: x.numClasses, folds: f, shifts: la.shifts)
        XCTAssertEqual(path.chosen, C)
        XCTAssertEqual(path.chosenShift, tau)
        let scaler = FeatureScaler(fitting: x.features)
        let plain = scaler.rawModel(try cv.refit(scaler.apply(x.features), labels: x.labels, numClasses: x.numClasses, C: C))
        XCTAssertEqual(fitted.model.weight, plain.weight, "only the bias moves")
        let n = Double(x.labels.count)
        for c in 0..<x.numClasses {
            let expected = Double(plain.bias[c]) - tau * log(Double(data.trainCounts[c]) / n)
            XCTAssertEqual(Double(fitted.model.bias[c]), expected, accuracy: 1e-5, "class \(c)")
        }
        XCTAssertEqual(fitted.crossValidation?.meanPerClassRecall, path.mean[path.best])
    }

    /// On long-tailed rows the chosen shift is positive and lifts the tail classes' recall
    /// over the same regression unadjusted.
    func testLogitAdjustmentLiftsTailRecall() throws {
        let x = data.train
        let fitted = try LogitAdjustedRegression(C: .fixed(1), solver: LogisticRegression(gradientTolerance: 1e-5))
            .fit(FitData(rows: x, folds: folds(x), seed: 4), log: { _ in })
        let tau = try XCTUnwrap(fitted.chosen["tau"])
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
