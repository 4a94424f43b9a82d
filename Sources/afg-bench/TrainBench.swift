import Foundation
import AFG
import Classifier
import Linalg

/// `afg-bench train`: one stage-two training epoch on the ImageNet-LT shape.
///
/// C = 1000, D = 512, the Lomax profile of `afg-bench afg` (1280 → 5, N ≈ 116k real rows),
/// every class filled to 1280 by the AFG generator: 1.28M rows per GLAG epoch. Reports
/// - the GLAG epoch (real + generated rows shuffled, CE + KD on real head rows; the teacher's
///   logits computed once per run, as the trainer does, and timed apart) and a plain CE epoch over the same 1.28M rows: rows/s and effective
///   GFLOP/s counting `6·N·D·C` (the usual fwd + bwd convention; the engine needs only
///   `4·N·D·C` since no input gradient exists, also printed), next to this process's
///   sgemm 2048³ rate;
/// - the same epoch in PyTorch CPU (`bench/torch_epoch.py`, run by `Peers`), same shape,
///   batch and threads.
///
/// Environment: `AFG_BENCH_BATCH` (default 256) sets the batch size.
func benchTrain() throws {
    let C = 1000, D = 512, M = 1280
    let batch = Int(ProcessInfo.processInfo.environment["AFG_BENCH_BATCH"] ?? "") ?? 256
    let s = 999 / (pow(256, 1.0 / 3) - 1)
    let counts = (0..<C).map { c in max(5, Int((1280 * pow(1 + Double(c) / s, -3)).rounded())) }
    let (rawValues, labels) = syntheticLongTail(counts: counts, dim: D, seed: 1000)
    let n = labels.count
    let raw = Matrix(rows: n, cols: D, data: rawValues)
    var x = raw
    try Tukey.apply(&x, lambda: 0.5)
    print("imagenetlt shape: C=\(C) D=\(D) real N=\(n), filled to \(M) per class, batch \(batch)")

    let quick = ProcessInfo.processInfo.environment["AFG_BENCH_TRAIN_QUICK"] != nil
    var gen: FeatureGenerator! = nil
    // AFG_BENCH_TRAIN_QUICK: 5 rows per class to fill (a small generated set), overhead check only.
    let tInit = try bestTime(repeats: 1) {
        gen = try FeatureGenerator(features: x, labels: labels, numClasses: C,
                                   config: GeneratorConfig(k: 2, headThreshold: quick ? 6 : 100, targetPerClass: M))
    }
    var set: GeneratedSet! = nil
    let tGen = bestTime(repeats: 1) { set = gen.generate(seed: 1, epoch: 0) }
    let rows = TrainingRows(real: x, realLabels: labels, generated: set.features, generatedLabels: set.labels,
                            teacherFeatures: raw, kdClasses: gen.isTail.map { !$0 })
    let total = rows.count
    print("generator set-up \(fmt(tInit, 2)) s; generate \(set.count) rows \(fmt(tGen, 2)) s")

    // Teacher: a stand-in stage-one classifier on the raw features (small random weights).
    var rng = Xoshiro256(seed: 7)
    let teacher = LinearModel(weight: Matrix(rows: C, cols: D, data: standardNormals(C * D, using: &rng).map { 0.01 * $0 }),
                              bias: [Float](repeating: 0, count: C))
    let kdRows = (0..<n).filter { !gen.isTail[Int(labels[$0])] }.count
    var order = Sampler.mixed(real: n, generated: set.count, using: &rng)
    let cfg = SGDConfig(learningRate: 0.1, batchSize: batch, epochs: 1)

    // Overhead check on a 64k-row slice, interleaved with its gemms alone (same shapes,
    // same step count), best of 3 each: the engine's cost beyond the two gemms per step.
    let slice = Array(order.prefix(65_536))
    let probe = SGDEngine(model: LinearModel(numClasses: C, dim: D), config: cfg)
    probe.parallelLoss = ProcessInfo.processInfo.environment["AFG_BENCH_SERIAL_LOSS"] == nil
    let plainRows = TrainingRows(real: x, realLabels: labels, generated: set.features, generatedLabels: set.labels)
    var xb = Matrix<Float>(rows: batch, cols: D, data: standardNormals(batch * D, using: &rng))
    var w = Matrix<Float>(rows: C, cols: D, data: standardNormals(C * D, using: &rng).map { 0.01 * $0 })
    var lg = Matrix<Float>(rows: batch, cols: C)
    var tEngine = Double.infinity, tGemm = Double.infinity
    for _ in 0..<3 {
        tEngine = min(tEngine, probe.runEpoch(plainRows, order: slice, epoch: 0, loss: .crossEntropy, classCounts: counts).seconds)
        tGemm = min(tGemm, bestTime(repeats: 1) {
            for _ in 0..<(slice.count / batch) {
                BLAS.gemm(xb, w, transposeB: true, into: &lg)
                BLAS.gemm(lg, transposeA: true, xb, beta: 0.9, into: &w)
            }
        })
    }
    xb.data[0] += w.data[0]
    let stepRate = 4 * Double(slice.count) * Double(D * C) / tGemm / 1e9
    if quick {
        print("the step's two gemms alone (B=\(batch)): \(fmt(stepRate, 1)) GFLOP/s")
        print("64k-row slice: engine \(fmt(tEngine, 3)) s vs its gemms alone \(fmt(tGemm, 3)) s (overhead \(fmt(100 * (tEngine / tGemm - 1), 0))%)")
        return
    }

    // The trainer computes the teacher's logits on the real rows once per run (they do not
    // change between epochs) and the epoch copies them; that one product is timed apart.
    var cachedRows = rows
    let tTeacher = bestTime(repeats: 1) { cachedRows.teacherLogits = teacher.logits(raw) }
    let glag = SGDEngine(model: LinearModel(numClasses: C, dim: D), config: cfg, teacher: teacher, kd: KDSettings())
    let stGLAG = glag.runEpoch(cachedRows, order: order, epoch: 0, loss: .crossEntropy, classCounts: counts)
    Sampler.shuffle(&order, using: &rng)
    let plain = SGDEngine(model: LinearModel(numClasses: C, dim: D), config: cfg)
    let stPlain = plain.runEpoch(plainRows, order: order, epoch: 0, loss: .crossEntropy, classCounts: counts)

    let peak = sgemmRate().wall   // same process
    let nd = Double(total) * Double(D) * Double(C)
    func line(_ name: String, _ st: EpochStats, extraFlops: Double) {
        let eff = 6 * nd / st.seconds / 1e9, actual = (4 * nd + extraFlops) / st.seconds / 1e9
        print("\(name): \(st.rows) rows in \(fmt(st.seconds, 2)) s = \(fmt(st.rowsPerSecond / 1e3, 1))k rows/s; "
              + "effective \(fmt(eff, 1)) GFLOP/s (6·N·D·C) = \(fmt(100 * eff / peak, 0))% of sgemm; "
              + "actual \(fmt(actual, 1)) GFLOP/s = \(fmt(100 * actual / peak, 0))%")
    }
    print("sgemm 2048³: \(fmt(peak, 1)) GFLOP/s; the step's two gemms alone (B=\(batch)): \(fmt(stepRate, 1)) GFLOP/s")
    print("64k-row slice: engine \(fmt(tEngine, 3)) s vs its gemms alone \(fmt(tGemm, 3)) s (overhead \(fmt(100 * (tEngine / tGemm - 1), 0))%)")
    line("glag epoch (CE + KD on \(kdRows) real head rows)", stGLAG, extraFlops: 0)
    line("ce epoch (same rows, no KD)", stPlain, extraFlops: 0)
    print("teacher logits on the \(n) real rows, once per run (not in the epoch): \(fmt(tTeacher, 2)) s")
    print("glag epoch incl. generation: \(fmt(Double(total) / (stGLAG.seconds + tGen) / 1e3, 1))k rows/s")

    // PyTorch CPU peer (`Peers`: the bench environment's interpreter).
    guard let j = Peers.run("pytorch peer", script: "torch_epoch.py",
                            ["--rows", "\(total)", "--dim", "\(D)", "--classes", "\(C)",
                             "--batch-size", "\(batch)", "--threads", "\(blasThreadCount)"]),
          let secs = j["seconds"] as? Double else { return }
    print("pytorch \(j["torch"] ?? "?") CPU (\(j["threads"] ?? "?") threads): \(total) rows in \(fmt(secs, 2)) s = "
          + "\(fmt(Double(total) / secs / 1e3, 1))k rows/s, effective \(fmt(6 * nd / secs / 1e9, 1)) GFLOP/s")
    let torch = "pytorch \(j["torch"] ?? "?")"
    recordRatio("train", "imagenetlt epoch, glag (CE + KD)", peer: torch, afgSeconds: stGLAG.seconds, peerSeconds: secs)
    recordRatio("train", "imagenetlt epoch, ce", peer: torch, afgSeconds: stPlain.seconds, peerSeconds: secs)
}
