import FeatureIO
import Foundation
import Linalg

/// Stage one's loss (method.md, "Stage one"): logit-adjusted cross-entropy
/// `−log softmax(g + τ·log π)_y` with a fixed `τ` (`la`; `τ = 0` is `ce`) or the GraLoss
/// schedule `τ(t) = τ_max · s_γ(t/T)` over the fractional epoch `t`.
public enum StageOneLoss: Equatable, Sendable {
    case ce
    case logitAdjusted(tau: Double)
    case graLoss(GradualSchedule)

    /// `τ` at fractional epoch `t` of `totalEpochs`.
    public func tau(at t: Double, totalEpochs: Double) -> Double {
        switch self {
        case .ce: return 0
        case .logitAdjusted(let tau): return tau
        case .graLoss(let s): return s.value(at: t, totalEpochs: totalEpochs)
        }
    }

    public var description: String {
        switch self {
        case .ce: return "ce"
        case .logitAdjusted(let t): return "la(tau=\(t))"
        case .graLoss(let s): return "graloss(tau_max=\(s.maxValue), gamma=\(s.gamma))"
        }
    }
}

/// Mean logit-adjusted cross-entropy over a batch and its gradient.
///
/// `logits` is `C × n` (column `i` = sample `i`, the network's layout); on return
/// `grad[c, i] = (softmax(z_i + τ·log π)_c − [c = y_i]) / n`.
/// Returns the mean loss and how many raw-logit argmaxes equal the label.
/// - Complexity: O(n · C).
public func logitAdjustedLoss(logits: UnsafePointer<Float>, labels: ArraySlice<Int32>, logPrior: [Float], tau: Float,
                              grad: UnsafeMutablePointer<Float>) -> (loss: Double, correct: Int) {
    let n = labels.count, C = logPrior.count
    var total = 0.0, correct = 0
    var z = [Double](repeating: 0, count: C)
    for (i, yl) in labels.enumerated() {
        let y = Int(yl)
        var zmax = -Double.infinity, best = 0, bestRaw = -Float.infinity
        for c in 0..<C {
            let raw = logits[c * n + i]
            if raw > bestRaw { bestRaw = raw; best = c }
            z[c] = Double(raw) + Double(tau) * Double(logPrior[c])
            zmax = max(zmax, z[c])
        }
        if best == y { correct += 1 }
        var s = 0.0
        for c in 0..<C { z[c] = exp(z[c] - zmax); s += z[c] }
        total += -log(z[y] / s)
        for c in 0..<C { grad[c * n + i] = Float((z[c] / s - (c == y ? 1 : 0)) / Double(n)) }
    }
    return (total / Double(max(n, 1)), correct)
}

/// Training hyper-parameters of stage one (paper §5.1.2 defaults where it gives them).
public struct TrainingConfig: Equatable, Sendable {
    public var epochs: Int = 200
    public var batchSize: Int = 128
    public var learningRate: Double = 0.1
    public var momentum: Double = 0.9
    public var weightDecay: Double = 5e-4
    /// Linear warm-up from `lr/warmupSteps` to `lr` over this many epochs, then cosine to 0.
    public var warmupEpochs: Double = 5
    public var loss: StageOneLoss = .graLoss(GradualSchedule())
    public var augmentation: Augmentation? = nil
    public var seed: UInt64 = 0
    public init() {}

    /// The learning rate at global step `step` of `totalSteps` with `warmupSteps`:
    /// `lr·(step+1)/warmup` during warm-up, then `lr·½(1 + cos(π·(step − warmup)/(total − warmup)))`.
    public func learningRate(step: Int, totalSteps: Int, warmupSteps: Int) -> Double {
        if step < warmupSteps { return learningRate * Double(step + 1) / Double(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        return learningRate * 0.5 * (1 + cos(Double.pi * Double(step - warmupSteps) / Double(span)))
    }
}

/// Statistics of one training epoch.
public struct BackboneEpochStats: Equatable, Sendable {
    public var epoch: Int
    public var meanLoss: Double
    public var trainAccuracy: Double
    public var learningRate: Double
    public var tau: Double
    public var seconds: Double
    public var imagesPerSecond: Double
}

/// Progress within an epoch (for progress bars).
public struct StepProgress: Sendable {
    public var epoch: Int, step: Int, steps: Int, images: Int, seconds: Double, loss: Double
}

/// SGD with momentum and weight decay, PyTorch semantics:
/// `g ← ∇ + wd·w`, `v ← μ·v + g`, `w ← w − lr·v` (no dampening, no Nesterov).
public final class SGD {
    public let parameters: [Parameter]
    public var momentum: Float, weightDecay: Float
    /// One velocity per parameter (`momentum_buffer`), zero until the first step.
    public var velocity: [[Float]]

    public init(parameters: [Parameter], momentum: Double, weightDecay: Double) {
        self.parameters = parameters; self.momentum = Float(momentum); self.weightDecay = Float(weightDecay)
        velocity = parameters.map { [Float](repeating: 0, count: $0.count) }
    }

    /// One update with learning rate `lr`. O(number of weights).
    public func step(lr: Double) {
        let lr = Float(lr), mu = momentum, wd = weightDecay
        for (k, p) in parameters.enumerated() {
            velocity[k].withUnsafeMutableBufferPointer { v in
                let w = p.value, g = p.grad
                for i in 0..<p.count {
                    let gi = g[i] + wd * w[i]
                    v[i] = mu * v[i] + gi
                    w[i] -= lr * v[i]
                }
            }
        }
    }
}

/// Stage-one training of a `Network` on an `ImageSet`: seeded shuffling (stream = the
/// epoch, so a resumed run sees the same order), augmentation, the schedule-driven
/// loss, SGD with cosine/warm-up learning rate.
public final class BackboneTrainer {
    public let network: Network
    public let config: TrainingConfig
    public let data: ImageSet
    public let builder: BatchBuilder
    public let optimizer: SGD
    let logPrior: [Float]
    let input = FloatBuffer(), dLogits = FloatBuffer()

    /// - Precondition: the network's input matches the images (channels, size; or their
    ///   product for the `mlp`) and its class count equals the data's.
    public init(network: Network, data: ImageSet, normalization: Normalization, config: TrainingConfig) {
        let flat: Bool
        if case .mlp = network.architecture { flat = true } else { flat = false }
        if flat {
            precondition(network.inputChannels == data.imageSize, "BackboneTrainer: mlp expects \(network.inputChannels) inputs, images have \(data.imageSize)")
        } else {
            precondition(network.inputChannels == data.channels && network.inputHeight == data.height && network.inputWidth == data.width,
                         "BackboneTrainer: network input \(network.inputChannels)×\(network.inputHeight)×\(network.inputWidth) vs images \(data.channels)×\(data.height)×\(data.width)")
        }
        precondition(network.numClasses == data.numClasses, "BackboneTrainer: network has \(network.numClasses) classes, data \(data.numClasses)")
        self.network = network; self.data = data; self.config = config
        builder = BatchBuilder(normalization: normalization, augmentation: config.augmentation, flatten: flat)
        optimizer = SGD(parameters: network.parameters, momentum: config.momentum, weightDecay: config.weightDecay)
        let counts = data.classCounts, n = Double(max(data.count, 1))
        // A class absent from the training data gets the prior of one sample (finite log).
        logPrior = counts.map { Float(log(Double(max($0, 1)) / n)) }
    }

    /// Batches per epoch; a final batch of one image is dropped (batch norm needs two).
    public var stepsPerEpoch: Int {
        let full = data.count / config.batchSize, rest = data.count % config.batchSize
        return full + (rest >= 2 ? 1 : 0)
    }

    /// The epoch's image order: a seeded shuffle of `0..<N`, stream = epoch.
    public func order(epoch: Int) -> [Int] {
        var idx = Array(0..<data.count)
        var rng = Xoshiro256(seed: config.seed, streams: [0x5348, UInt64(epoch)])
        seededShuffle(&idx, using: &rng)
        return idx
    }

    /// Trains epoch `epoch` (0-based). Deterministic in (seed, epoch, weights, velocity).
    public func trainEpoch(_ epoch: Int, progress: ((StepProgress) -> Void)? = nil) -> BackboneEpochStats {
        withSingleThreadedBLAS { trainEpochBody(epoch, progress: progress) }
    }

    func trainEpochBody(_ epoch: Int, progress: ((StepProgress) -> Void)?) -> BackboneEpochStats {
        let order = order(epoch: epoch)
        let steps = stepsPerEpoch, bs = config.batchSize
        let totalSteps = steps * config.epochs
        let warmup = Int((config.warmupEpochs * Double(steps)).rounded())
        var augRNG = Xoshiro256(seed: config.seed, streams: [0x4155, UInt64(epoch)])
        let t0 = DispatchTime.now().uptimeNanoseconds
        var lossSum = 0.0, correct = 0, seen = 0
        var lr = 0.0, tau = 0.0
        let x = input.ensure(bs * data.imageSize), g = dLogits.ensure(bs * network.numClasses)
        for s in 0..<steps {
            let lo = s * bs, hi = min(lo + bs, data.count), n = hi - lo
            let idx = order[lo..<hi]
            builder.fill(data, indices: idx, into: x, using: &augRNG)
            let step = epoch * steps + s
            lr = config.learningRate(step: step, totalSteps: totalSteps, warmupSteps: warmup)
            tau = config.loss.tau(at: Double(epoch) + Double(s) / Double(steps), totalEpochs: Double(config.epochs))
            network.zeroGradients()
            let (_, logits) = network.forward(x, batch: n, training: true)
            let labels = ArraySlice(idx.map { data.labels[$0] })
            let (l, c) = logitAdjustedLoss(logits: logits, labels: labels, logPrior: logPrior, tau: Float(tau), grad: g)
            network.backward(g)
            optimizer.step(lr: lr)
            lossSum += l * Double(n); correct += c; seen += n
            if let p = progress {
                p(StepProgress(epoch: epoch, step: s + 1, steps: steps, images: seen,
                               seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, loss: lossSum / Double(seen)))
            }
        }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return BackboneEpochStats(epoch: epoch, meanLoss: lossSum / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                          learningRate: lr, tau: tau, seconds: secs, imagesPerSecond: Double(seen) / max(secs, 1e-9))
    }
}

/// Inference over a whole set in batches: pooled features (`N × D`, row-major) and
/// logits (`N × C`). Batch norm uses its running statistics.
public func extractFeatures(network: Network, data: ImageSet, normalization: Normalization, batchSize: Int = 256,
                            progress: ((Int) -> Void)? = nil) -> (features: [Float], logits: [Float]) {
    withSingleThreadedBLAS { extractFeaturesBody(network: network, data: data, normalization: normalization, batchSize: batchSize, progress: progress) }
}

func extractFeaturesBody(network: Network, data: ImageSet, normalization: Normalization, batchSize: Int,
                         progress: ((Int) -> Void)?) -> (features: [Float], logits: [Float]) {
    let flat: Bool
    if case .mlp = network.architecture { flat = true } else { flat = false }
    let builder = BatchBuilder(normalization: normalization, augmentation: nil, flatten: flat)
    let d = network.featureDim, c = network.numClasses
    var feats = [Float](repeating: 0, count: data.count * d), logits = [Float](repeating: 0, count: data.count * c)
    let x = FloatBuffer(count: batchSize * data.imageSize)
    var rng = Xoshiro256(seed: 0)
    var lo = 0
    while lo < data.count {
        let hi = min(lo + batchSize, data.count), n = hi - lo
        builder.fill(data, indices: ArraySlice(lo..<hi), into: x.pointer, using: &rng)
        let (f, z) = network.forward(x.pointer, batch: n, training: false)
        for i in 0..<n {
            for j in 0..<d { feats[(lo + i) * d + j] = f[j * n + i] }
            for j in 0..<c { logits[(lo + i) * c + j] = z[j * n + i] }
        }
        lo = hi
        progress?(lo)
    }
    return (feats, logits)
}

/// Top-1 accuracy of `N × C` logits against labels.
public func accuracy(logits: [Float], labels: [Int32], numClasses: Int) -> Double {
    var correct = 0
    for (i, y) in labels.enumerated() {
        var best = 0
        for c in 1..<max(numClasses, 1) where logits[i * numClasses + c] > logits[i * numClasses + best] { best = c }
        if best == Int(y) { correct += 1 }
    }
    return Double(correct) / Double(max(labels.count, 1))
}

extension BackboneTrainer {
    /// Everything needed to resume after `epoch` epochs: the network's state dict plus
    /// `optimizer.<name>.momentum_buffer` for every parameter and `optimizer.epoch` (I64).
    /// The model part alone is a PyTorch `state_dict`; `afg pretrain` writes it to the
    /// checkpoint and the whole to a `.train-state` file beside it.
    public func checkpointTensors(epoch: Int) -> [String: StoredTensor] {
        var t = network.stateTensors()
        let names = network.stateSlots.filter { $0.kind == .parameter }
        for (k, slot) in names.enumerated() {
            t["optimizer.\(slot.name).momentum_buffer"] = StoredTensor(shape: slot.shape, floats: optimizer.velocity[k])
        }
        t["optimizer.epoch"] = StoredTensor(shape: [], values: .int64([Int64(epoch)]))
        return t
    }

    /// Restores `checkpointTensors` output; returns the next epoch to train.
    /// - Throws: `BackboneError` naming `source` and the missing or mis-shaped tensor.
    public func restore(_ tensors: [String: StoredTensor], source: String) throws -> Int {
        try network.loadState(tensors, source: source, ignoring: { $0.hasPrefix("optimizer.") })
        let names = network.stateSlots.filter { $0.kind == .parameter }
        for (k, slot) in names.enumerated() {
            let key = "optimizer.\(slot.name).momentum_buffer"
            guard let v = tensors[key], v.count == optimizer.velocity[k].count, case .float(let f) = v.values else {
                throw BackboneError("\(source): missing or mis-shaped '\(key)' (not a training-state file?)")
            }
            optimizer.velocity[k] = f
        }
        guard let e = tensors["optimizer.epoch"], case .int64(let ev) = e.values, let epoch = ev.first, epoch >= 0 else {
            throw BackboneError("\(source): missing 'optimizer.epoch'")
        }
        return Int(epoch)
    }
}
