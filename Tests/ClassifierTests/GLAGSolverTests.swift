import Foundation
import XCTest
import Linalg
import AFG
@testable import Classifier

/// Long-tailed Gaussian classes sharing one anisotropic covariance (the setting where
/// borrowing a neighbour's covariance is right): train long-tailed, validation and test balanced.
struct LongTailedGaussians {
    let numClasses: Int
    let dim: Int
    let trainCounts: [Int]
    var train: LabeledFeatures
    var validation: LabeledFeatures
    var test: LabeledFeatures

    init(seed: UInt64, counts: [Int] = [400, 260, 160, 100, 60, 30, 14, 8, 5], dim: Int = 12,
         validationPerClass: Int = 40, testPerClass: Int = 300) {
        var rng = Xoshiro256(seed: seed)
        let c = counts.count, d = dim
        numClasses = c; self.dim = d; trainCounts = counts
        let means = Matrix<Float>(rows: c, cols: d, data: (standardNormals(c * d, using: &rng) as [Float]).map { $0 * 1.1 })
        // Shared covariance A·Aᵀ with a few strong directions.
        var a = Matrix<Float>(rows: d, cols: d, data: standardNormals(d * d, using: &rng))
        for i in 0..<d { for j in 0..<d { a[i, j] *= (j < 3 ? 0.9 : 0.25) } }
        func draw(_ perClass: [Int], _ rng: inout Xoshiro256) -> LabeledFeatures {
            let n = perClass.reduce(0, +)
            let e = Matrix<Float>(rows: n, cols: d, data: standardNormals(n * d, using: &rng))
            var x = BLAS.matmul(e, a, transposeB: true)
            var y = [Int32](repeating: 0, count: n)
            var r = 0
            for k in 0..<c { for _ in 0..<perClass[k] {
                for j in 0..<d { x[r, j] += means[k, j] }
                y[r] = Int32(k); r += 1
            } }
            return LabeledFeatures(features: x, labels: y, numClasses: c)
        }
        train = draw(counts, &rng)
        validation = draw([Int](repeating: validationPerClass, count: c), &rng)
        test = draw([Int](repeating: testPerClass, count: c), &rng)
    }

    /// Accuracy on the test classes with fewer than 20 training rows, and mean per-class recall.
    func evaluate(_ m: LinearModel) -> (few: Double, meanRecall: Double) {
        // Few = fewer than 20 training rows (the default thresholds).
        let metrics = Metrics(model: m, features: test.features, labels: test.labels, trainCounts: trainCounts)
        return (metrics.few!, metrics.meanPerClassRecall)
    }
}

final class GLAGSolverTests: XCTestCase {

    private func config(rounds: Int = 4) -> GLAGSolverConfig {
        var c = GLAGSolverConfig()
        c.rounds = rounds
        c.generator.headThreshold = 100
        c.gradientTolerance = 1e-5
        c.kd = GradualSchedule(maxValue: 0.5, gamma: 3)
        return c
    }

    func testBeatsPlainRegressionOnFewClasses() throws {
        // Three data seeds: the claim must hold on each, not on average.
        for seed: UInt64 in [11, 12, 13] {
            let data = LongTailedGaussians(seed: seed)
            let n = data.train.labels.count
            let plain = try LogisticRegression(gradientTolerance: 1e-5).fit(
                features: data.train.features, labels: data.train.labels, numClasses: data.numClasses,
                l2: LogisticRegression.l2(sklearnC: 1, totalWeight: Double(n)))
            let glag = try GLAGSolver(config: config()).fit(
                features: data.train.features, labels: data.train.labels, numClasses: data.numClasses,
                validation: data.validation, seed: seed)
            let p = data.evaluate(plain), g = data.evaluate(glag.model)
            // Few test rows: 3 classes × 300; a binomial standard error is at most 0.5/√900 ≈ 0.017.
            XCTAssertGreaterThan(g.few, p.few + 0.05, "seed \(seed): GLAG Few \(g.few) vs plain \(p.few)")
            XCTAssertGreaterThan(g.meanRecall, p.meanRecall, "seed \(seed): GLAG mean recall \(g.meanRecall) vs plain \(p.meanRecall)")
            XCTAssertEqual(glag.rounds.count, 4)
            XCTAssertTrue(glag.rounds.allSatisfy { $0.generatedRows > 0 && $0.validationMeanRecall.isFinite })
            // KD weight follows the gradual schedule: rising, reaching kd_max at the last round.
            XCTAssertEqual(glag.rounds.last!.kdWeight, 0.5, accuracy: 1e-12)
            XCTAssertTrue(zip(glag.rounds, glag.rounds.dropFirst()).allSatisfy { $0.kdWeight <= $1.kdWeight })
        }
    }

    func testSameSeedSameModelAndWarmStartsAreCheap() throws {
        let data = LongTailedGaussians(seed: 21)
        let solver = GLAGSolver(config: config(rounds: 3))
        let a = try solver.fit(features: data.train.features, labels: data.train.labels, numClasses: data.numClasses,
                               validation: data.validation, seed: 5)
        let b = try solver.fit(features: data.train.features, labels: data.train.labels, numClasses: data.numClasses,
                               validation: data.validation, seed: 5)
        XCTAssertEqual(a.model, b.model)
        XCTAssertEqual(a.beta, b.beta)
        let other = try solver.fit(features: data.train.features, labels: data.train.labels, numClasses: data.numClasses,
                                   validation: data.validation, seed: 6)
        XCTAssertNotEqual(a.model, other.model)
        // β moved from its initial value on some tail class (adaptive), stayed in [0, 1].
        XCTAssertTrue(a.beta.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testFixedBetaWithoutValidation() throws {
        let data = LongTailedGaussians(seed: 22)
        var cfg = config(rounds: 2)
        cfg.teacher = .none
        cfg.initialization = .zero
        let fit = try GLAGSolver(config: cfg).fit(features: data.train.features, labels: data.train.labels,
                                                  numClasses: data.numClasses, validation: nil, seed: 1)
        XCTAssertNil(fit.teacher)
        XCTAssertTrue(fit.rounds.allSatisfy { $0.validationMeanRecall.isNaN && $0.kdWeight == 0 })
        let initial = try FeatureGenerator(features: data.train.features, labels: data.train.labels,
                                           numClasses: data.numClasses, config: cfg.generator).beta
        XCTAssertEqual(fit.beta, initial)
    }

    func testStageOneTeacherIsRequiredWhenAskedFor() throws {
        let data = LongTailedGaussians(seed: 23)
        var cfg = config(rounds: 1)
        cfg.teacher = .stageOne
        XCTAssertThrowsError(try GLAGSolver(config: cfg).fit(features: data.train.features, labels: data.train.labels,
                                                             numClasses: data.numClasses, validation: data.validation, seed: 1)) {
            XCTAssertEqual($0 as? GLAGSolverError, .missingStageOneTeacher)
        }
        // A stage-one head on other (untransformed) features: used as teacher, not as the start.
        let raw = data.train.features
        let head = LinearModel(numClasses: data.numClasses, dim: raw.cols)
        let fit = try GLAGSolver(config: cfg).fit(features: data.train.features, labels: data.train.labels,
                                                  numClasses: data.numClasses, validation: data.validation,
                                                  stageOne: head, teacherFeatures: raw, seed: 1)
        XCTAssertEqual(fit.teacher, head)
    }
}
