import XCTest
import Linalg
@testable import Classifier

/// `GLAGSelection` on the SGD path: the documented grid, the argmax on validation mean recall (first on
/// ties), each setting really changing the run, determinism, and the missing-validation error.
final class SelectionTests: XCTestCase {
    let p = TrainerTests.problem

    func testGridShape() {
        XCTAssertEqual(GLAGSelection.sgdGrid(hasStageOne: true).map(\.name),
                       ["stage-one-b0.6", "stage-one-b1.0", "balanced-b0.6", "balanced-b1.0", "no-kd-b0.6", "no-kd-b1.0"])
        XCTAssertEqual(GLAGSelection.sgdGrid(hasStageOne: false).map(\.name),
                       ["balanced-b0.6", "balanced-b1.0", "no-kd-b0.6", "no-kd-b1.0"])
        let base = testConfig(.glag)
        let noKD = GLAGSelection.config(base, .init(teacher: .none, initialBeta: 1))
        XCTAssertFalse(noKD.useKD)
        XCTAssertEqual(noKD.generator.initialBeta, 1)
        XCTAssertTrue(GLAGSelection.config(base, .init(teacher: .balanced, initialBeta: 0.6)).useKD)
    }

    func testKeepsTheBestValidationSettingAndIsDeterministic() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 41, stream: 1)
        let val = p.sample(counts: [40, 40, 40, 40, 40], seed: 41, stream: 2)
        let stageOne = try Trainer(config: testConfig(.ce, epochs: 5), inputs: TrainInputs(train: train)).run().model
        let inputs = TrainInputs(train: train, val: val, teacher: stageOne)
        let grid = GLAGSelection.sgdGrid(hasStageOne: true)
        let base = testConfig(.glag, epochs: 6)
        var seen: [String] = []
        let out = try GLAGSelection.selectSGD(base: base, inputs: inputs, grid: grid, progress: { seen.append($0.name) })
        XCTAssertEqual(seen, grid.map(\.name))
        XCTAssertEqual(out.entries.map(\.name), grid.map(\.name))
        let best = out.entries.map(\.validationMeanRecall).max()!
        XCTAssertEqual(out.bestIndex, out.entries.firstIndex { $0.validationMeanRecall == best })
        XCTAssertEqual(out.run.1, GLAGSelection.config(base, grid[out.bestIndex]))
        // The kept model scores what the grid says, and is the run of that setting alone.
        let recall = Metrics(model: out.run.0.model, features: val.features, labels: val.labels,
                             trainCounts: train.classCounts).meanPerClassRecall
        XCTAssertEqual(recall, best, accuracy: 1e-12)
        var alone = inputs
        if grid[out.bestIndex].teacher == .balanced {
            alone.teacher = try Regression.fit(train.features, labels: train.labels, numClasses: 5, C: 1, classWeightPower: 1,
                                               solver: LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000))
        }
        let rerun = try Trainer(config: out.run.1, inputs: alone).run().model
        XCTAssertEqual(rerun, out.run.0.model)
        // Each teacher gives a different run (the setting reaches the trainer).
        var models: [LinearModel] = []
        for t in [TeacherKind.stageOne, .balanced, .none] {
            let o = try GLAGSelection.selectSGD(base: base, inputs: inputs, grid: [.init(teacher: t, initialBeta: 0.6)])
            models.append(o.run.0.model)
        }
        XCTAssertNotEqual(models[0], models[1]); XCTAssertNotEqual(models[0], models[2]); XCTAssertNotEqual(models[1], models[2])
        // Same inputs, same seed: the same choice and bit-identical weights.
        let again = try GLAGSelection.selectSGD(base: base, inputs: inputs, grid: grid)
        XCTAssertEqual(again.bestIndex, out.bestIndex)
        XCTAssertEqual(again.run.0.model, out.run.0.model)
    }

    func testNeedsValidation() throws {
        let train = p.sample(counts: TrainerTests.ltCounts, seed: 42, stream: 1)
        XCTAssertThrowsError(try GLAGSelection.selectSGD(base: testConfig(.glag, epochs: 2), inputs: TrainInputs(train: train),
                                                         grid: GLAGSelection.sgdGrid(hasStageOne: false))) {
            XCTAssertEqual($0 as? TrainError, .selectionNeedsValidation)
        }
    }
}
