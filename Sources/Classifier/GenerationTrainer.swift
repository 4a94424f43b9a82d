import Foundation
import Linalg
import AFG

extension GenerationSettings {
    /// AFG's generator configuration for `method` (`tailcalib` switches the weighting).
    func generatorConfig(for method: Method) -> GeneratorConfig {
        var g = GeneratorConfig()
        g.k = k; g.alpha = alpha; g.initialBeta = initialBeta; g.headThreshold = headThreshold
        g.meanMode = meanMode == "pull" ? .pull : .sample
        g.weighting = method == .tailcalib ? .tailcalib : .glag
        g.targetPerClass = targetPerClass
        return g
    }
}

extension Trainer {
    /// GLAG (method.md steps 9–10) and TailCalib: each epoch a fresh generated set mixed
    /// with the real transformed rows; GLAG adds KD on real head rows (weight
    /// `β_KD(t) = kd_max·s_γ(t/T)`) and adapts `β` from per-class validation accuracy.
    /// With `generation.epochRows` the epoch is the class-balanced budget of
    /// `Sampler.budget`, its generated rows streamed (shuffled) from the generator.
    func runGeneration(state: TrainingState?) throws -> TrainResult {
        let train = inputs.train
        let c = train.numClasses, d = train.features.cols
        let isGLAG = config.method == .glag
        var notes: [String] = []
        var generator: FeatureGenerator
        var genConfig = config.generation.generatorConfig(for: config.method)
        let budget = config.generation.epochRows
        if let n = budget { genConfig.targetPerClass = Sampler.budgetPerClass(epochRows: n, numClasses: c) }
        do {
            generator = try FeatureGenerator(features: train.features, labels: train.labels, numClasses: c, config: genConfig)
        } catch {
            throw TrainError.generator("\(error)")
        }
        let useKD = isGLAG && config.useKD && inputs.teacher != nil
        if isGLAG && config.useKD && inputs.teacher == nil { notes.append("no teacher given: no KD term") }
        let adaptive = isGLAG && config.adaptive && inputs.val != nil
        if isGLAG && config.adaptive && inputs.val == nil { notes.append("no validation split: β stays fixed") }
        // g₂ starts from g₁ when the teacher works on features of the same dimension.
        var start = LinearModel(numClasses: c, dim: d)
        if isGLAG, let t = inputs.teacher, t.dim == d { start = t }
        let engine = SGDEngine(model: start, config: config.sgd, teacher: useKD ? inputs.teacher : nil,
                               kd: useKD ? config.kd : nil)
        var reports: [EpochReport] = []
        var first = 0
        var previous: [Double]?
        if let s = state {
            try s.restore(into: engine)
            reports = s.history; first = s.epochsDone; previous = s.previousValPerClass
            if let b = s.beta {
                guard b.count == c else { throw TrainError.badCheckpoint("β has \(b.count) entries for \(c) classes") }
                generator.beta = b
            }
        }
        let kdClasses = generator.isTail.map { !$0 }
        let rule: BetaRule = config.generation.betaRule == "own" ? .own : .net
        for e in first..<config.sgd.epochs {
            let st: EpochStats, donorWeights: Matrix<Float>
            if let n = budget {
                var g = rng(phase: 0, epoch: e)
                let epochPlan = Sampler.budget(labels: train.labels, numClasses: c, epochRows: n, using: &g)
                precondition(epochPlan.generatedRows == generator.generatedRows,
                              "budget: \(epochPlan.generatedRows) generated slots, generator makes \(generator.generatedRows)")
                let stream = generator.batches(seed: config.seed, epoch: e, batchRows: streamBatchRows, shuffled: true)
                var it = stream.makeIterator()
                let rows = TrainingRows(real: train.features, realLabels: train.labels,
                                        teacherFeatures: useKD ? (inputs.rawTrain ?? train.features) : nil,
                                        kdClasses: useKD ? kdClasses : nil)
                st = engine.runEpoch(rows, order: epochPlan.order, generated: &it, epoch: e, loss: .crossEntropy,
                                     classCounts: classCounts)
                donorWeights = stream.donorWeights
            } else {
                let gen = generator.generate(seed: config.seed, epoch: e)
                let rows = TrainingRows(real: train.features, realLabels: train.labels, generated: gen.features,
                                        generatedLabels: gen.labels,
                                        teacherFeatures: useKD ? (inputs.rawTrain ?? train.features) : nil,
                                        kdClasses: useKD ? kdClasses : nil)
                var g = rng(phase: 0, epoch: e)
                let order = Sampler.mixed(real: train.labels.count, generated: gen.labels.count, using: &g)
                st = engine.runEpoch(rows, order: order, epoch: e, loss: .crossEntropy, classCounts: classCounts)
                donorWeights = gen.donorWeights
            }
            // Adaptive confidence (step 9): from the second epoch on.
            var accNow: [Double]?
            if adaptive, let m = validate(engine.model) {
                let a = m.perClass.map { $0 ?? .nan }   // absent classes: NaN, ignored by updateBeta
                if let p = previous {
                    let delta = zip(a, p).map { $0 - $1 }
                    generator.beta = updateBeta(generator.beta, isTail: generator.isTail, accuracyDelta: delta,
                                                donorWeights: donorWeights, rule: rule, step: config.generation.betaStep)
                }
                accNow = a
            }
            previous = accNow ?? previous
            reports.append(report(phase: 0, stats: st, model: engine.model, beta: generator.beta, isTail: generator.isTail))
            let beta = generator.beta, prev = previous
            try endOfEpoch(phase: 0, epochsDone: e + 1, total: config.sgd.epochs) {
                TrainingState(phase: 0, epochsDone: e + 1, fingerprint: fingerprint, model: engine.model,
                              velocityW: engine.velocityW, velocityB: engine.velocityB, history: reports,
                              beta: beta, previousValPerClass: prev)
            }
        }
        return TrainResult(model: engine.model, inputSpace: .transformed, history: reports, chosen: [:],
                           beta: generator.beta, notes: notes, classCounts: classCounts)
    }
}
