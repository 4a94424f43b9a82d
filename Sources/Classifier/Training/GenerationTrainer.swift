import Foundation
import Linalg
import AFG

extension Trainer {
    /// What a generation run keeps between epochs.
    struct GenerationRun {
        var generator: FeatureGenerator
        let engine: SGDEngine
        let useKD: Bool
        let adaptive: Bool
        var reports: [EpochReport] = []
        var firstEpoch = 0
        /// Per-class validation accuracy after the previous epoch (adaptive β).
        var previous: [Double]?
        /// The teacher's logits on the real rows, computed once (`teacherLogitsOnce`).
        var teacherLogits: Matrix<Float>?
    }

    /// The KD teacher's logits are the same every epoch (a fixed teacher on fixed real rows),
    /// so a run computes them once, in one large product, when the `N × C` result is small:
    /// at most this many floats (1 GiB), or no more than the `N × D_t` rows the teacher reads.
    /// Otherwise every batch runs the teacher's product on its KD rows.
    static let teacherLogitsCap = 1 << 28

    /// The teacher's logits on the rows it reads, when `teacherLogitsCap` allows.
    static func teacherLogitsOnce(_ teacher: LinearModel, rows: Matrix<Float>) -> Matrix<Float>? {
        let n = rows.rows, c = teacher.numClasses
        guard n * c <= max(teacherLogitsCap, n * rows.cols) else { return nil }
        return teacher.logits(rows)
    }

    /// GLAG (method.md steps 9–10) and TailCalib: each epoch a fresh generated set mixed
    /// with the real transformed rows; GLAG adds KD on real head rows (weight
    /// `β_KD(t) = kd_max·s_γ(t/T)`) and adapts `β` from per-class validation accuracy.
    /// With `config.epochRows` the epoch is the class-balanced budget of
    /// `Sampler.budget`, its generated rows streamed (shuffled) from the generator.
    func runGeneration(state: TrainingState?) throws -> TrainResult {
        var notes: [String] = []
        var run = try startGeneration(notes: &notes)
        if let s = state { try resumeGeneration(&run, from: s) }
        let kdClasses = run.generator.isTail.map { !$0 }
        for e in run.firstEpoch..<config.sgd.epochs {
            let (st, donorWeights) = generationEpoch(e, run: run, kdClasses: kdClasses)
            adaptBeta(&run, donorWeights: donorWeights)
            run.reports.append(try report(phase: 0, stats: st, model: run.engine.model, beta: run.generator.beta,
                                      isTail: run.generator.isTail))
            let reports = run.reports, beta = run.generator.beta, prev = run.previous, engine = run.engine
            try endOfEpoch(phase: 0, epochsDone: e + 1, total: config.sgd.epochs) {
                TrainingState(phase: 0, epochsDone: e + 1, fingerprint: fingerprint, model: engine.model,
                              velocityW: engine.velocityW, velocityB: engine.velocityB, history: reports,
                              beta: beta, previousValPerClass: prev)
            }
        }
        return TrainResult(model: run.engine.model, inputSpace: .transformed, history: run.reports, chosen: [:],
                           beta: run.generator.beta, notes: notes, classCounts: classCounts)
    }

    /// The generator, the SGD engine (`g₂` starts from `g₁` when the teacher works on
    /// features of the same dimension) and what KD and adaptation can use.
    private func startGeneration(notes: inout [String]) throws -> GenerationRun {
        let train = inputs.train
        let c = train.numClasses, d = train.features.cols
        let isGLAG = config.method == .glag
        let generator: FeatureGenerator
        do {
            generator = try FeatureGenerator(features: share?.allFeatures ?? train.features, labels: orderLabels, numClasses: c,
                                             config: config.runGenerator(numClasses: c))
        } catch {
            throw TrainError.generator("\(error)")
        }
        let useKD = isGLAG && config.useKD && inputs.teacher != nil
        if isGLAG && config.useKD && inputs.teacher == nil { notes.append("no teacher given: no KD term") }
        let adaptive = isGLAG && config.adaptive && inputs.val != nil
        if isGLAG && config.adaptive && inputs.val == nil { notes.append("no validation split: β stays fixed") }
        var start = LinearModel(numClasses: c, dim: d)
        if isGLAG, let t = inputs.teacher, t.dim == d { start = t }
        let engine = makeEngine(model: start, config: config.sgd, teacher: useKD ? inputs.teacher : nil,
                                kd: useKD ? config.kd : nil)
        var run = GenerationRun(generator: generator, engine: engine, useKD: useKD, adaptive: adaptive)
        if useKD, let t = inputs.teacher { run.teacherLogits = Self.teacherLogitsOnce(t, rows: inputs.rawTrain ?? train.features) }
        return run
    }

    private func resumeGeneration(_ run: inout GenerationRun, from s: TrainingState) throws {
        try s.restore(into: run.engine)
        run.reports = s.history; run.firstEpoch = s.epochsDone; run.previous = s.previousValPerClass
        if let b = s.beta {
            let c = inputs.train.numClasses
            guard b.count == c else { throw TrainError.badCheckpoint("β has \(b.count) entries for \(c) classes") }
            run.generator.beta = b
        }
    }

    /// One epoch: the budget's streamed rows, or every class filled to `M` in memory.
    /// Returns the epoch's statistics and its donor weights (`C × C`).
    private func generationEpoch(_ e: Int, run: GenerationRun, kdClasses: [Bool]) -> (EpochStats, Matrix<Float>) {
        let train = inputs.train
        let teacherFeatures = run.useKD ? (inputs.rawTrain ?? train.features) : nil
        let kd = run.useKD ? kdClasses : nil
        if let n = config.epochRows {
            var g = rng(phase: 0, epoch: e)
            let plan = Sampler.budget(labels: train.labels, numClasses: train.numClasses, epochRows: n, using: &g)
            precondition(plan.generatedRows == run.generator.generatedRows,
                         "budget: \(plan.generatedRows) generated slots, generator makes \(run.generator.generatedRows)")
            let stream = run.generator.batches(seed: config.seed, epoch: e, batchRows: streamBatchRows, shuffled: true)
            var it = stream.makeIterator()
            let rows = TrainingRows(real: train.features, realLabels: train.labels, teacherFeatures: teacherFeatures,
                                    kdClasses: kd, teacherLogits: run.teacherLogits)
            let st = run.engine.runEpoch(rows, order: plan.order, generated: &it, epoch: e, loss: .crossEntropy,
                                         classCounts: classCounts)
            return (st, stream.donorWeights)
        }
        let (gen, mine) = generatedRows(run.generator, epoch: e)
        let rows = TrainingRows(real: train.features, realLabels: train.labels, generated: gen.features,
                                generatedLabels: gen.labels, teacherFeatures: teacherFeatures, kdClasses: kd,
                                teacherLogits: run.teacherLogits)
        var g = rng(phase: 0, epoch: e)
        let order = Sampler.mixed(real: orderLabels.count, generated: run.generator.generatedRows, using: &g)
        let st = run.engine.runEpoch(rows, order: local(order, generated: mine), epoch: e, loss: .crossEntropy,
                                     classCounts: classCounts)
        return (st, gen.donorWeights)
    }

    /// The epoch's generated rows this process trains on: all of them in one process; under
    /// `share`, this rank's blocks (the one-process rows, from their per-row streams), with
    /// their range in the epoch.
    private func generatedRows(_ generator: FeatureGenerator, epoch e: Int)
        -> ((features: Matrix<Float>, labels: [Int32], donorWeights: Matrix<Float>), Range<Int>) {
        guard let s = share else {
            let gen = generator.generate(seed: config.seed, epoch: e)
            return ((gen.features, gen.labels, gen.donorWeights), 0..<gen.count)
        }
        let (blocks, rows) = s.generatedRange(blockCount: generator.blockCount, blockRows: generator.config.blockRows,
                                              generatedRows: generator.generatedRows)
        let part = generator.generateBlocks(blocks, seed: config.seed, epoch: e)
        return ((Matrix(rows: part.labels.count, cols: generator.dim, data: part.features), part.labels,
                 generator.donorWeights(seed: config.seed, epoch: e)), rows)
    }

    /// Adaptive confidence (step 9), from the second epoch on.
    private func adaptBeta(_ run: inout GenerationRun, donorWeights: Matrix<Float>) {
        guard run.adaptive, let m = validate(run.engine.model) else { return }
        var tracker = AdaptiveBeta(update: config.betaUpdate, previous: run.previous)
        run.generator.beta = tracker.next(run.generator.beta, isTail: run.generator.isTail, accuracy: m.perClass,
                                          donorWeights: donorWeights)
        run.previous = tracker.previous
    }
}
