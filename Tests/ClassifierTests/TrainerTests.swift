import XCTest
import Linalg
@testable import Classifier

final class TrainerTests: XCTestCase {
    static let problem = GaussianProblem(numClasses: 5, dim: 8, separation: 2.5, seed: 21)
    static let test = problem.sample(counts: [1000, 1000, 1000, 1000, 1000], seed: 21, stream: 3)
    static let ltCounts = [600, 250, 90, 30, 8]

    func bayesAccuracy(_ t: LabeledFeatures) -> Metrics {
        Metrics(model: Self.problem.bayesModel, features: t.features, labels: t.labels, trainCounts: Self.ltCounts)
    }

    /// Balanced data: every method lands near the Bayes rule's accuracy on 5000 test rows
    /// (Monte Carlo sd of an accuracy near 0.8 is 0.6 points; finite-training excess error
    /// with 300 rows per class in 8-d is about a point: tolerance 3 points).
    func testEveryTrainerReachesBayesOnBalancedData() throws {
        let p = Self.problem
        let train = p.sample(counts: [300, 300, 300, 300, 300], seed: 21, stream: 1)
        let val = p.sample(counts: [100, 100, 100, 100, 100], seed: 21, stream: 2)
        let bayes = bayesAccuracy(Self.test).overall
        XCTAssertGreaterThan(bayes, 0.6); XCTAssertLessThan(bayes, 0.95)
        for m in Method.allCases where m != .glag && m != .tailcalib {
            let r = try Trainer(config: testConfig(m), inputs: TrainInputs(train: train, val: val)).run()
            let acc = Metrics(model: r.model, features: Self.test.features, labels: Self.test.labels, trainCounts: r.classCounts).overall
            XCTAssertGreaterThan(acc, bayes - 0.03, "\(m.rawValue): \(acc) vs Bayes \(bayes)")
            print("balanced \(m.rawValue): \(acc) Bayes \(bayes)")
            XCTAssertLessThanOrEqual(acc, bayes + 0.02, "\(m.rawValue) beats Bayes by more than sampling noise")
        }
    }

    /// Long-tailed training (600 … 8 rows), balanced test: the prior bias of `ce` costs the
    /// Few class; class-balanced re-training and the balanced losses recover it.
    func testBalancingMethodsBeatCEOnFew() throws {
        let p = Self.problem
        let train = p.sample(counts: Self.ltCounts, seed: 22, stream: 1)
        let val = p.sample(counts: [40, 40, 40, 40, 40], seed: 22, stream: 2)
        func few(_ m: Method) throws -> Metrics {
            let r = try Trainer(config: testConfig(m), inputs: TrainInputs(train: train, val: val)).run()
            return Metrics(model: r.model, features: Self.test.features, labels: Self.test.labels, trainCounts: r.classCounts)
        }
        let ce = try few(.ce), bayes = bayesAccuracy(Self.test)
        XCTAssertNotNil(ce.few)
        for m in [Method.crt, .balancedSoftmax, .logitAdjust] {
            let r = try few(m)
            // 1000 Few test rows: sd of a difference ≈ 2 points; require a clear margin.
            XCTAssertGreaterThan(r.few!, ce.few! + 0.1, "\(m.rawValue) Few \(r.few!) vs ce \(ce.few!) (Bayes \(bayes.few!))")
            XCTAssertGreaterThan(r.meanPerClassRecall, ce.meanPerClassRecall, m.rawValue)
            print("LT \(m.rawValue): Few \(r.few!) mean recall \(r.meanPerClassRecall); ce Few \(ce.few!) \(ce.meanPerClassRecall); Bayes Few \(bayes.few!) \(bayes.meanPerClassRecall)")
        }
    }

    func testSameSeedSameModelDifferentSeedDifferent() throws {
        let p = Self.problem
        let train = p.sample(counts: Self.ltCounts, seed: 23, stream: 1)
        let val = p.sample(counts: [20, 20, 20, 20, 20], seed: 23, stream: 2)
        for m in [Method.ce, .crt, .lws] {
            let a = try Trainer(config: testConfig(m, epochs: 4), inputs: TrainInputs(train: train, val: val)).run()
            let b = try Trainer(config: testConfig(m, epochs: 4), inputs: TrainInputs(train: train, val: val)).run()
            let c = try Trainer(config: testConfig(m, epochs: 4, seed: 2), inputs: TrainInputs(train: train, val: val)).run()
            XCTAssertEqual(a.model.weight.data.map(\.bitPattern), b.model.weight.data.map(\.bitPattern), m.rawValue)
            XCTAssertEqual(a.model.bias.map(\.bitPattern), b.model.bias.map(\.bitPattern), m.rawValue)
            XCTAssertNotEqual(a.model, c.model, m.rawValue)
        }
    }

    /// A run stopped after k epochs and resumed from its checkpoint bytes ends bit-identical
    /// to an uninterrupted run, for every phase layout (one phase, g₁ + lws scales).
    func testResumeGivesTheSameModel() throws {
        let p = Self.problem
        let train = p.sample(counts: Self.ltCounts, seed: 24, stream: 1)
        let val = p.sample(counts: [20, 20, 20, 20, 20], seed: 24, stream: 2)
        for (m, stopAt) in [(Method.crt, 3), (.lws, 2), (.lws, 7), (.tauNorm, 4)] {
            let cfg = testConfig(m, epochs: 5)
            let full = try Trainer(config: cfg, inputs: TrainInputs(train: train, val: val)).run()
            let state = try interruptedRun(cfg, TrainInputs(train: train, val: val), every: 1, stopAfter: stopAt)
            XCTAssertEqual(state.history.count, stopAt)
            let t2 = try Trainer(config: cfg, inputs: TrainInputs(train: train, val: val))
            let resumed = try t2.run(resumingFrom: state)
            XCTAssertEqual(resumed.model.weight.data.map(\.bitPattern), full.model.weight.data.map(\.bitPattern), "\(m.rawValue) stop \(stopAt)")
            XCTAssertEqual(resumed.model.bias.map(\.bitPattern), full.model.bias.map(\.bitPattern), "\(m.rawValue) stop \(stopAt)")
            func untimed(_ h: [EpochReport]) -> [EpochReport] { h.map { var r = $0; r.seconds = 0; r.rowsPerSecond = 0; return r } }
            XCTAssertEqual(untimed(resumed.history), untimed(full.history), "\(m.rawValue) history")
            // A checkpoint of another configuration is refused.
            var other = cfg; other.seed = 9
            XCTAssertThrowsError(try Trainer(config: other, inputs: TrainInputs(train: train, val: val)).run(resumingFrom: state)) {
                XCTAssertTrue("\($0)".contains("does not match"), "\($0)")
            }
        }
    }

    func testCheckpointRejectsGarbage() {
        XCTAssertThrowsError(try TrainingState(encoded: Array("not a checkpoint".utf8)))
        var s = TrainingState(phase: 0, epochsDone: 1, fingerprint: "x", model: LinearModel(numClasses: 2, dim: 3),
                              velocityW: [1, 2, 3, 4, 5, 6], velocityB: [7, 8], history: [], beta: [0.5, 0.25])
        s.previousValPerClass = [0.1, 0.9]
        let bytes = s.encoded()
        XCTAssertEqual(try TrainingState(encoded: bytes), s)
        XCTAssertThrowsError(try TrainingState(encoded: Array(bytes.dropLast(3))))
    }

    func testInputValidation() {
        let p = Self.problem
        let train = p.sample(counts: [5, 5, 5, 5, 5], seed: 1, stream: 1)
        let badVal = LabeledFeatures(features: Matrix(rows: 2, cols: 3), labels: [0, 1], numClasses: 5)
        XCTAssertThrowsError(try Trainer(config: testConfig(.ce), inputs: TrainInputs(train: train, val: badVal))) {
            XCTAssertEqual("\($0)", "validation features: feature dimension 3, expected 8")
        }
        let teacher = LinearModel(numClasses: 4, dim: 8)
        XCTAssertThrowsError(try Trainer(config: testConfig(.lws), inputs: TrainInputs(train: train, teacher: teacher))) {
            XCTAssertEqual("\($0)", "teacher classifier: 4 classes, expected 5")
        }
    }

    /// Post-hoc methods on a given teacher: τ-norm and logit adjustment pick their value on
    /// validation and never do worse there than the teacher itself (p = 0 / τ = 0 are in the grids).
    func testPostHocOnTeacherNeverWorseOnValidation() throws {
        let p = Self.problem
        let train = p.sample(counts: Self.ltCounts, seed: 25, stream: 1)
        let val = p.sample(counts: [60, 60, 60, 60, 60], seed: 25, stream: 2)
        let g1 = try Trainer(config: testConfig(.ce), inputs: TrainInputs(train: train)).run().model
        let base = Metrics(model: g1, features: val.features, labels: val.labels, trainCounts: train.classCounts).overall
        for m in [Method.tauNorm, .logitAdjust] {
            let r = try Trainer(config: testConfig(m), inputs: TrainInputs(train: train, val: val, teacher: g1)).run()
            XCTAssertEqual(r.inputSpace, .raw)
            let acc = Metrics(model: r.model, features: val.features, labels: val.labels, trainCounts: train.classCounts).overall
            XCTAssertGreaterThanOrEqual(acc, base, m.rawValue)
            XCTAssertEqual(r.chosen.count, 1)
        }
        XCTAssertEqual(Trainer.tauNormalised(g1, p: 0), g1)
        XCTAssertEqual(g1.logitAdjusted(tau: 0, classCounts: train.classCounts), g1)
    }
}
