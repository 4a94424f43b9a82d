import XCTest
import Foundation
import FeatureIO
import Linalg
@testable import Classifier

/// Same seed → byte-identical classifier *file* (FeatureIO writes reproducibly), for
/// an uninterrupted run and for a run resumed from a checkpoint.
final class FileDeterminismTests: XCTestCase {
    func write(_ r: TrainResult, _ cfg: TrainConfig, to path: String) throws -> Data {
        let m = r.model
        let f = ClassifierFile(numClasses: m.numClasses, dim: m.dim, weight: m.weight.data, bias: m.bias,
                               classCounts: r.classCounts, method: cfg.method.rawValue, tukeyLambda: 0.5, configJSON: cfg.json)
        try FeatureStore.writeClassifier(f, to: path)
        return try XCTUnwrap(FileManager.default.contents(atPath: path))
    }

    func testSameSeedSameFileBytes() throws {
        let p = TrainerTests.problem
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 41, stream: 1)
        let val = p.sample(counts: [30, 30, 30, 30, 30], seed: 41, stream: 2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clf-det-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let teacher = try Trainer(config: testConfig(.ce, epochs: 3), inputs: TrainInputs(train: train)).run().model
        let inputs = TrainInputs(train: train, val: val, teacher: teacher)
        for m in [Method.glag, .crt] {
            let cfg = testConfig(m, epochs: 5, seed: 77)
            let a = try write(try Trainer(config: cfg, inputs: inputs).run(), cfg, to: dir + "/a.h5")
            let b = try write(try Trainer(config: cfg, inputs: inputs).run(), cfg, to: dir + "/b.h5")
            XCTAssertEqual(a, b, "\(m.rawValue): same seed, different bytes")
            let t = try Trainer(config: cfg, inputs: inputs)
            var saved: [UInt8] = []
            t.checkpointEvery = 1; t.onCheckpoint = { saved = $0.encoded() }; t.stopAfterEpochs = 2
            XCTAssertThrowsError(try t.run())
            let resumed = try Trainer(config: cfg, inputs: inputs).run(resumingFrom: try TrainingState(encoded: saved))
            XCTAssertEqual(try write(resumed, cfg, to: dir + "/c.h5"), a, "\(m.rawValue): resumed run differs")
        }
    }
}
