import XCTest
import AFG
import Linalg
@testable import Classifier

/// The class-balanced budget (`TrainConfig.epochRows`, `afg train --epoch-rows`):
/// the sampler, the shuffled generated stream, and the streamed SGD epoch.
final class BudgetTests: XCTestCase {
    let p = TrainerTests.problem

    /// Labels grouped by class with these counts (class 4 empty).
    static let counts = [50, 20, 7, 3, 0, 1, 12]
    static func labels(_ counts: [Int]) -> [Int32] {
        counts.enumerated().flatMap { c, n in [Int32](repeating: Int32(c), count: n) }
    }

    func testBudgetSamplerGivesQRowsPerClass() {
        let counts = Self.counts, C = counts.count
        // Interleave the classes so row index and class are not aligned.
        var labels = Self.labels(counts)
        var shuffler = Xoshiro256(seed: 5, stream: 5)
        labels.shuffle(using: &shuffler)
        let n = labels.count
        for epochRows in [1, 60, 64, 200] {
            let q = Sampler.budgetPerClass(epochRows: epochRows, numClasses: C)
            XCTAssertEqual(q, (epochRows + C - 1) / C)
            XCTAssertGreaterThanOrEqual(q * C, epochRows)
            XCTAssertLessThan(q * C, epochRows + C)
            var rng = Xoshiro256(seed: 9, streams: [0, 3])
            let (order, generated) = Sampler.budget(labels: labels, numClasses: C, epochRows: epochRows, using: &rng)
            let expectedGenerated = counts.reduce(0) { $0 + ($1 > 0 ? max(q - $1, 0) : 0) }
            XCTAssertEqual(generated, expectedGenerated, "N=\(epochRows)")
            XCTAssertEqual(order.count, counts.reduce(0) { $0 + min($1, q) } + expectedGenerated)
            // Real rows: without replacement, min(n_c, q) per class.
            let real = order.filter { $0 < n }
            XCTAssertEqual(Set(real).count, real.count, "N=\(epochRows): a real row drawn twice")
            var perClass = [Int](repeating: 0, count: C)
            for i in real { perClass[Int(labels[i])] += 1 }
            XCTAssertEqual(perClass, counts.map { min($0, q) }, "N=\(epochRows)")
            // Generated slots numbered 0, 1, 2, … in order of appearance.
            XCTAssertEqual(order.filter { $0 >= n }, Array(n..<(n + generated)), "N=\(epochRows)")
            // With a generator filling to q, every non-empty class has exactly q rows.
            for c in 0..<C where counts[c] > 0 {
                XCTAssertEqual(perClass[c] + max(q - counts[c], 0), q, "N=\(epochRows), class \(c)")
            }
        }
        // Same seed → the same epoch; another epoch's stream → another selection and order.
        var a = Xoshiro256(seed: 9, streams: [0, 3]), b = Xoshiro256(seed: 9, streams: [0, 3]), c = Xoshiro256(seed: 9, streams: [0, 4])
        let ea = Sampler.budget(labels: labels, numClasses: C, epochRows: 60, using: &a).order
        let eb = Sampler.budget(labels: labels, numClasses: C, epochRows: 60, using: &b).order
        let ec = Sampler.budget(labels: labels, numClasses: C, epochRows: 60, using: &c).order
        XCTAssertEqual(ea, eb)
        XCTAssertNotEqual(ea, ec)
        XCTAssertNotEqual(Set(ea.filter { $0 < n }), Set(ec.filter { $0 < n }), "class 0's 9 of 50 rows should differ between epochs")
    }

    /// Over many epochs every row of a class above q is drawn about equally often
    /// (q/n_c per epoch): the without-replacement draw is uniform, not biased to low indices.
    func testBudgetRealRowsUniform() {
        let counts = [40, 4], labels = Self.labels(counts)
        let epochs = 4000, q = 10      // N = 20 → q = 10; class 0 draws 10 of 40
        var hits = [Int](repeating: 0, count: 40)
        for e in 0..<epochs {
            var rng = Xoshiro256(seed: 1, streams: [0, UInt64(e)])
            for i in Sampler.budget(labels: labels, numClasses: 2, epochRows: 20, using: &rng).order where i < 40 { hits[i] += 1 }
        }
        // Each count is Binomial(4000, 1/4): mean 1000, sd ≈ 27; 6 sd bounds.
        let mean = Double(epochs * q) / 40, sd = (Double(epochs) * 0.25 * 0.75).squareRoot()
        for (i, h) in hits.enumerated() { XCTAssertEqual(Double(h), mean, accuracy: 6 * sd, "row \(i)") }
    }

    /// The shuffled stream holds the plain epoch's rows (same per-row draws, to rounding),
    /// in a mixed order, identically for any batch size.
    func testShuffledStreamIsPermutedEpoch() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 41, stream: 1)
        var cfg = GeneratorConfig(); cfg.targetPerClass = 100; cfg.blockRows = 64
        let gen = try FeatureGenerator(features: train.features, labels: train.labels, numClasses: 5, config: cfg)
        let plain = gen.generate(seed: 3, epoch: 2)
        func collect(_ rows: Int) -> (x: [Float], y: [Int32]) {
            var x: [Float] = [], y: [Int32] = []
            for b in gen.batches(seed: 3, epoch: 2, batchRows: rows, shuffled: true) { x += b.features.data; y += b.labels }
            return (x, y)
        }
        let s7 = collect(7), s1000 = collect(1000)
        XCTAssertEqual(s7.x, s1000.x, "bits independent of the batch size")
        XCTAssertEqual(s7.y, s1000.y)
        XCTAssertEqual(s7.y.count, plain.count)
        XCTAssertNotEqual(s7.y, plain.labels, "shuffled, not class-major")
        XCTAssertEqual(s7.y.sorted(), plain.labels.sorted())
        // Match every shuffled row to a plain row of its class (nearest, then compare values).
        let d = gen.dim
        var used = Set<Int>()
        for r in 0..<s7.y.count {
            let row = Array(s7.x[(r * d)..<((r + 1) * d)])
            var best = -1, bestErr = Float.infinity
            for i in 0..<plain.count where plain.labels[i] == s7.y[r] && !used.contains(i) {
                var err: Float = 0
                for j in 0..<d { err = max(err, abs(plain.features[i, j] - row[j])) }
                if err < bestErr { bestErr = err; best = i }
            }
            XCTAssertLessThan(bestErr, 1e-4, "shuffled row \(r) has no plain counterpart")
            used.insert(best)
        }
        // Another epoch shuffles differently.
        let other = gen.batches(seed: 3, epoch: 3, batchRows: 1000, shuffled: true).map(\.labels).flatMap { $0 }
        XCTAssertNotEqual(other, s7.y)
    }

    /// The streamed SGD epoch does the same arithmetic as the materialised one.
    func testStreamedEpochEqualsMaterialised() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 42, stream: 1)
        let teacher = try Trainer(config: testConfig(.ce, epochs: 2), inputs: TrainInputs(train: train)).run().model
        var cfg = GeneratorConfig(); cfg.targetPerClass = 200; cfg.blockRows = 50
        let gen = try FeatureGenerator(features: train.features, labels: train.labels, numClasses: 5, config: cfg)
        var rng = Xoshiro256(seed: 2, stream: 2)
        let (order, g) = Sampler.budget(labels: train.labels, numClasses: 5, epochRows: 1000, using: &rng)
        XCTAssertEqual(g, gen.generatedRows)
        var x: [Float] = [], y: [Int32] = []
        for b in gen.batches(seed: 1, epoch: 0, batchRows: 64, shuffled: true) { x += b.features.data; y += b.labels }
        let sgd = SGDConfig(learningRate: 0.05, batchSize: 32, epochs: 3)
        let kdClasses = gen.isTail.map { !$0 }
        let full = SGDEngine(model: teacher, config: sgd, teacher: teacher, kd: KDSettings())
        let fullRows = TrainingRows(real: train.features, realLabels: train.labels, generated: Matrix(rows: g, cols: p.dim, data: x),
                                    generatedLabels: y, teacherFeatures: train.features, kdClasses: kdClasses)
        let a = full.runEpoch(fullRows, order: order, epoch: 1, loss: .crossEntropy, classCounts: train.classCounts)
        let streamed = SGDEngine(model: teacher, config: sgd, teacher: teacher, kd: KDSettings())
        var it = gen.batches(seed: 1, epoch: 0, batchRows: 9, shuffled: true).makeIterator()
        let b = streamed.runEpoch(TrainingRows(real: train.features, realLabels: train.labels, teacherFeatures: train.features,
                                               kdClasses: kdClasses),
                                  order: order, generated: &it, epoch: 1, loss: .crossEntropy, classCounts: train.classCounts)
        XCTAssertNil(it.next(), "the stream is consumed exactly")
        XCTAssertEqual(streamed.model.weight.data, full.model.weight.data)
        XCTAssertEqual(streamed.model.bias, full.model.bias)
        XCTAssertEqual(a.loss, b.loss)
        XCTAssertGreaterThan(a.kdLoss, 0, "KD on real head rows")
        XCTAssertEqual(a.rows, 1000)
    }

    /// `Trainer` with the budget: q·C rows per epoch, the same model for any stream batch
    /// size, deterministic in the seed, and a GLAG that learns.
    func testBudgetTrainingIndependentOfBlockSize() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 43, stream: 1)
        let val = p.sample(counts: [30, 30, 30, 30, 30], seed: 43, stream: 2)
        let teacher = try Trainer(config: testConfig(.ce, epochs: 3), inputs: TrainInputs(train: train)).run().model
        var cfg = testConfig(.glag, epochs: 4)
        cfg.epochRows = 999    // q = 200: classes 2, 3, 4 below q
        func run(_ rows: Int, _ c: TrainConfig = cfg) throws -> TrainResult {
            let t = try Trainer(config: c, inputs: TrainInputs(train: train, val: val, teacher: teacher))
            t.streamBatchRows = rows
            return try t.run()
        }
        let a = try run(5), b = try run(4096)
        XCTAssertEqual(a.model.weight.data, b.model.weight.data)
        XCTAssertEqual(a.model.bias, b.model.bias)
        XCTAssertEqual(a.beta, b.beta)
        XCTAssertEqual(a.history.map(\.rows), Array(repeating: 1000, count: 4))
        XCTAssertNotEqual(a.beta!, Array(repeating: a.beta![4], count: 5), "β adapted")
        XCTAssertGreaterThan(a.history.last!.kdLoss, 0)
        var other = cfg; other.seed = 2
        XCTAssertNotEqual(try run(64, other).model.weight.data, a.model.weight.data)
        // The default path (no budget) is a different epoch (3000 rows: every class to 600).
        let plain = try Trainer(config: testConfig(.glag, epochs: 1), inputs: TrainInputs(train: train, teacher: teacher)).run()
        XCTAssertEqual(plain.history.first?.rows, 3000)
        let test = TrainerTests.test
        let acc = Metrics(model: a.model, features: test.features, labels: test.labels, trainCounts: a.classCounts)
        let bayes = Metrics(model: p.bayesModel, features: test.features, labels: test.labels, trainCounts: a.classCounts)
        XCTAssertGreaterThan(acc.overall, bayes.overall - 0.1, "budget GLAG \(acc.overall) vs Bayes \(bayes.overall)")
    }

    /// A budget run resumed from a checkpoint ends with the same classifier and β.
    func testBudgetResume() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 45, stream: 1)
        let val = p.sample(counts: [30, 30, 30, 30, 30], seed: 45, stream: 2)
        let teacher = try Trainer(config: testConfig(.ce, epochs: 2), inputs: TrainInputs(train: train)).run().model
        var cfg = testConfig(.glag, epochs: 4)
        cfg.epochRows = 600
        let inputs = TrainInputs(train: train, val: val, teacher: teacher)
        let full = try Trainer(config: cfg, inputs: inputs).run()
        let state = try interruptedRun(cfg, inputs, every: 2, stopAfter: 3)
        XCTAssertEqual(state.epochsDone, 2)
        let resumed = try Trainer(config: cfg, inputs: inputs).run(resumingFrom: state)
        XCTAssertEqual(resumed.model.weight.data, full.model.weight.data)
        XCTAssertEqual(resumed.model.bias, full.model.bias)
        XCTAssertEqual(resumed.beta, full.beta)
    }

    func testBudgetRejectsConflictingSettings() {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 44, stream: 1)
        var crt = testConfig(.crt); crt.epochRows = 100
        XCTAssertThrowsError(try Trainer(config: crt, inputs: TrainInputs(train: train)))
        var both = testConfig(.glag); both.epochRows = 100; both.generator.targetPerClass = 50
        XCTAssertThrowsError(try Trainer(config: both, inputs: TrainInputs(train: train)))
        var zero = testConfig(.tailcalib); zero.epochRows = 0
        XCTAssertThrowsError(try Trainer(config: zero, inputs: TrainInputs(train: train))) { e in
            XCTAssertEqual("\(e)", "epoch-rows must be ≥ 1 (got 0)")
        }
        var ok = testConfig(.tailcalib); ok.epochRows = 100
        XCTAssertNoThrow(try Trainer(config: ok, inputs: TrainInputs(train: train)))
        // nil is the default and leaves the recorded configuration as before.
        XCTAssertFalse(testConfig(.glag).json.contains("epochRows"))
    }
}
