import XCTest
import Linalg
@testable import Classifier

final class GenerationTrainerTests: XCTestCase {
    let p = TrainerTests.problem

    /// On balanced data nothing is generated (every class is already at M = n_max) and
    /// GLAG / TailCalib are plain SGD: near the Bayes rule.
    func testBalancedDataReachesBayes() throws {
        let train = p.sample(counts: [300, 300, 300, 300, 300], seed: 31, stream: 1)
        let val = p.sample(counts: [100, 100, 100, 100, 100], seed: 31, stream: 2)
        let test = TrainerTests.test
        let bayes = Metrics(model: p.bayesModel, features: test.features, labels: test.labels, trainCounts: train.classCounts).overall
        for m in [Method.glag, .tailcalib] {
            let r = try Trainer(config: testConfig(m), inputs: TrainInputs(train: train, val: val)).run()
            let acc = Metrics(model: r.model, features: test.features, labels: test.labels, trainCounts: r.classCounts).overall
            XCTAssertGreaterThan(acc, bayes - 0.03, "\(m.rawValue) \(acc) vs Bayes \(bayes)")
            XCTAssertEqual(r.history.first?.rows, 1500, "no generated rows")
        }
    }

    /// Long-tailed: generation fills every class to n_max, which removes the prior bias:
    /// GLAG (with and without KD / adaptation) and TailCalib beat `ce` on Few.
    func testGenerationBeatsCEOnFew() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 32, stream: 1)
        let val = p.sample(counts: [40, 40, 40, 40, 40], seed: 32, stream: 2)
        let test = TrainerTests.test
        let ceModel = try Trainer(config: testConfig(.ce), inputs: TrainInputs(train: train, val: val)).run().model
        let ce = Metrics(model: ceModel, features: test.features, labels: test.labels, trainCounts: train.classCounts)
        var variants: [(String, TrainConfig, LinearModel?)] = [
            ("glag", testConfig(.glag), ceModel), ("glag no teacher", testConfig(.glag), nil), ("tailcalib", testConfig(.tailcalib), nil),
        ]
        var noKD = testConfig(.glag); noKD.useKD = false
        var noAd = testConfig(.glag); noAd.adaptive = false
        variants += [("glag --no-kd", noKD, ceModel), ("glag --no-adaptive", noAd, ceModel)]
        for (name, cfg, teacher) in variants {
            let r = try Trainer(config: cfg, inputs: TrainInputs(train: train, val: val, teacher: teacher)).run()
            let m = Metrics(model: r.model, features: test.features, labels: test.labels, trainCounts: r.classCounts)
            print("\(name): Few \(m.few!) overall \(m.overall); ce Few \(ce.few!) overall \(ce.overall)")
            XCTAssertGreaterThan(m.few!, ce.few! + 0.1, name)
            XCTAssertGreaterThan(m.meanPerClassRecall, ce.meanPerClassRecall, name)
            XCTAssertEqual(r.history.first?.rows, 3000, "\(name): every class filled to 600")
            if cfg.method == .glag && cfg.useKD && teacher != nil {
                XCTAssertGreaterThan(r.history.last!.kdLoss, 0, "\(name): KD active")
            } else {
                XCTAssertEqual(r.history.last!.kdLoss, 0, name)
            }
            if cfg.method == .glag && cfg.adaptive {
                XCTAssertNotEqual(r.beta!, Array(repeating: r.beta![4], count: 5), "\(name): β moved")
            }
        }
    }

    /// GLAG state includes β and the last validation accuracies: resume is bit-identical.
    func testGLAGResume() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 33, stream: 1)
        let val = p.sample(counts: [30, 30, 30, 30, 30], seed: 33, stream: 2)
        let teacher = try Trainer(config: testConfig(.ce, epochs: 3), inputs: TrainInputs(train: train)).run().model
        let cfg = testConfig(.glag, epochs: 6)
        let inputs = TrainInputs(train: train, val: val, teacher: teacher)
        let full = try Trainer(config: cfg, inputs: inputs).run()
        let state = try interruptedRun(cfg, inputs, every: 2, stopAfter: 5)
        XCTAssertEqual(state.epochsDone, 4)
        XCTAssertNotNil(state.beta)
        let resumed = try Trainer(config: cfg, inputs: inputs).run(resumingFrom: state)
        XCTAssertEqual(resumed.model.weight.data.map(\.bitPattern), full.model.weight.data.map(\.bitPattern))
        XCTAssertEqual(resumed.model.bias.map(\.bitPattern), full.model.bias.map(\.bitPattern))
        XCTAssertEqual(resumed.beta, full.beta)
    }
}
