import Foundation
import XCTest
import Linalg
@testable import Classifier

/// Equal-covariance (identity) Gaussian classes: the Bayes-optimal rule for equal priors
/// is linear, `argmax_c μ_cᵀz − ½‖μ_c‖²`.
struct GaussianProblem {
    let means: Matrix<Float>   // C × D
    let numClasses: Int
    let dim: Int

    init(numClasses: Int, dim: Int, separation: Float, seed: UInt64) {
        var rng = Xoshiro256(seed: seed, stream: 99)
        var m = Matrix<Float>(rows: numClasses, cols: dim)
        m.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        for c in 0..<numClasses {
            var s: Float = 0
            for j in 0..<dim { s += m[c, j] * m[c, j] }
            let f = separation / s.squareRoot()
            for j in 0..<dim { m[c, j] *= f }
        }
        means = m; self.numClasses = numClasses; self.dim = dim
    }

    /// Rows of class c: `counts[c]` each, shuffled-free (grouped by class). A shift keeps
    /// features positive when `positive` (for a Tukey transform).
    func sample(counts: [Int], seed: UInt64, stream: UInt64) -> LabeledFeatures {
        var rng = Xoshiro256(seed: seed, stream: stream)
        let n = counts.reduce(0, +)
        var x = Matrix<Float>(rows: n, cols: dim)
        x.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        var labels = [Int32](repeating: 0, count: n)
        var r = 0
        for (c, k) in counts.enumerated() {
            for _ in 0..<k {
                for j in 0..<dim { x[r, j] += means[c, j] }
                labels[r] = Int32(c); r += 1
            }
        }
        return LabeledFeatures(features: x, labels: labels, numClasses: numClasses)
    }

    /// The Bayes-optimal linear rule for a balanced test set.
    var bayesModel: LinearModel {
        var b = [Float](repeating: 0, count: numClasses)
        for c in 0..<numClasses { var s: Float = 0; for j in 0..<dim { s += means[c, j] * means[c, j] }; b[c] = -s / 2 }
        return LinearModel(weight: means, bias: b)
    }
}

func testConfig(_ m: Method, epochs: Int = 20, batch: Int = 64, lr: Float = 0.05, seed: UInt64 = 1) -> TrainConfig {
    var c = TrainConfig(method: m)
    c.sgd.epochs = epochs; c.sgd.batchSize = batch; c.sgd.learningRate = lr
    c.seed = seed
    return c
}

/// Trains `cfg` with a checkpoint every `every` epochs and stops it (asserting the stop)
/// after `stopAfter` epochs of the run; returns the last checkpoint written.
func interruptedRun(_ cfg: TrainConfig, _ inputs: TrainInputs, every: Int, stopAfter: Int,
                    file: StaticString = #filePath, line: UInt = #line) throws -> TrainingState {
    let t = try Trainer(config: cfg, inputs: inputs)
    t.checkpointEvery = every
    var saved: [UInt8] = []
    t.onCheckpoint = { saved = $0.encoded() }
    t.stopAfterEpochs = stopAfter
    XCTAssertThrowsError(try t.run(), file: file, line: line) { XCTAssertTrue($0 is CancellationError, file: file, line: line) }
    return try TrainingState(encoded: saved)
}
