import Foundation
import AFG
import FeatureIO
import Linalg

/// `afg-bench afg`: the stage-two generator on two long-tailed shapes.
///
/// 1. CIFAR-100-LT shape (C=100, D=64, IF 100: 500 → 5, N=10,847), every class filled to
///    500, k=2, Tukey 0.5, α=0, against the `tailcalib` package (numpy engine) run by
///    `bench/tailcalib_peer.py` on the same features in the same run (`Peers`).
/// 2. ImageNet-LT shape (C=1000, D=512, 1280 → 5 on a Lomax/Pareto profile, N≈116k),
///    filled to 1280 (≈1.16M rows), streamed in mini-batches: rows/s, effective GFLOP/s of
///    the sampling products next to this machine's sgemm rate, peak RSS.
func benchAFG() throws {
    try benchAFGCifarShape()
    try benchAFGImageNetShape()
}

/// Non-negative features: ReLU of Gaussian class clusters with a class-specific low-rank
/// shape (`rank`), deterministic in `seed`. Returns `N × D` values and labels.
func syntheticLongTail(counts: [Int], dim d: Int, rank: Int = 8, seed: UInt64) -> ([Float], [Int32]) {
    let n = counts.reduce(0, +)
    var x = [Float](repeating: 0, count: n * d)
    var y = [Int32](repeating: 0, count: n)
    var r = 0
    for (c, nc) in counts.enumerated() {
        var rng = Xoshiro256(seed: seed, streams: [UInt64(c)])
        let centre = zigguratNormals(d, using: &rng).map { 0.6 + 0.8 * $0 }
        let load = zigguratNormals(d * rank, using: &rng).map { 0.35 * $0 }
        let noise = zigguratNormals(d, using: &rng).map { 0.2 + 0.3 * abs($0) }
        for _ in 0..<nc {
            let f = zigguratNormals(rank, using: &rng), e = zigguratNormals(d, using: &rng)
            for j in 0..<d {
                var v = centre[j] + noise[j] * e[j]
                for q in 0..<rank { v += load[j * rank + q] * f[q] }
                x[r * d + j] = max(v, 0)
            }
            y[r] = Int32(c); r += 1
        }
    }
    return (x, y)
}

/// CPU seconds used by this process so far (all threads). The benchmark machine is shared,
/// so rates are also given per CPU-second, which do not depend on how much of the machine
/// the process got.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Wall and CPU seconds of one run of `body`.
func wallAndCPU(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    let c0 = cpuSeconds(), t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, cpuSeconds() - c0)
}

/// This machine's sgemm rate in this process: 2048³, best of 3 by wall time, as GFLOP/s by
/// wall time and GFLOP per CPU-second. Its 48 MB of matrices live only during the call.
func sgemmRate() -> (wall: Double, cpu: Double) {
    var rng = Xoshiro256(seed: 1)
    let m = 2048
    let a = Matrix<Float>(rows: m, cols: m, data: zigguratNormals(m * m, using: &rng))
    let b = Matrix<Float>(rows: m, cols: m, data: zigguratNormals(m * m, using: &rng))
    var cm = Matrix<Float>(rows: m, cols: m)
    var g = (wall: Double.infinity, cpu: Double.infinity)
    for _ in 0..<3 { let r = wallAndCPU { BLAS.gemm(a, b, into: &cm) }; if r.wall < g.wall { g = r } }
    return (2 * pow(Double(m), 3) / g.wall / 1e9, 2 * pow(Double(m), 3) / g.cpu / 1e9)
}

private func writeRaw<T>(_ a: [T], to path: String) throws {
    let data = a.withUnsafeBufferPointer { Data(buffer: $0) }
    try data.write(to: URL(fileURLWithPath: path))
}

/// Runs the `tailcalib` peer (`bench/tailcalib_peer.py`) on the raw files; returns its JSON
/// output, or nil (with the reason printed).
private func runPeer(featuresPath: String, labelsPath: String, n: Int, d: Int) -> [String: Any]? {
    Peers.run("tailcalib peer", script: "tailcalib_peer.py",
              ["--features", featuresPath, "--labels", labelsPath, "--rows", "\(n)", "--dim", "\(d)",
               "--k", "2", "--tukey", "0.5", "--alpha", "0"])
}

func benchAFGCifarShape() throws {
    let C = 100, D = 64
    let counts = (0..<C).map { c in Int(500 * pow(0.01, Double(c) / Double(C - 1))) }
    let (raw, labels) = syntheticLongTail(counts: counts, dim: D, seed: 100)
    let n = labels.count
    print("cifar100lt shape: C=\(C) D=\(D) N=\(n) counts \(counts.first!)→\(counts.last!), fill to 500, k=2, tukey 0.5, alpha 0")

    func run(_ cfg: GeneratorConfig) throws -> (Double, Int) {
        var rows = 0
        var tInit = Double.infinity, tGen = Double.infinity, cpu = Double.infinity
        let t = try bestTime(repeats: 5) {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = cpuSeconds()
            var x = raw
            try Tukey.apply(&x, dim: D, lambda: 0.5)
            let gen = try FeatureGenerator(features: Matrix(rows: n, cols: D, data: x), labels: labels, numClasses: C, config: cfg)
            let t1 = DispatchTime.now().uptimeNanoseconds
            rows = gen.generate(seed: 1, epoch: 0).count
            let t2 = DispatchTime.now().uptimeNanoseconds
            tInit = min(tInit, Double(t1 - t0) / 1e9); tGen = min(tGen, Double(t2 - t1) / 1e9)
            cpu = min(cpu, cpuSeconds() - c0)
        }
        print("  \(cfg.weighting): tukey + init \(fmt(tInit * 1e3)) ms, generate \(fmt(tGen * 1e3)) ms (best of 5 each); CPU \(fmt(cpu * 1e3)) ms")
        return (t, rows)
    }
    let (tGlag, rows) = try run(GeneratorConfig(k: 2, alpha: 0))
    // TailCalib settings as the package runs them: every class below the maximum calibrated.
    let (tTC, _) = try run(GeneratorConfig(k: 2, alpha: 0, headThreshold: 501, weighting: .tailcalib))
    print("afg glag (h=100): \(fmt(tGlag * 1e3)) ms for Tukey + statistics + \(rows) generated rows")
    print("afg tailcalib mode (all classes < 500 calibrated): \(fmt(tTC * 1e3)) ms")

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("afg-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try writeRaw(raw, to: dir + "/features.f32")
    try writeRaw(labels, to: dir + "/labels.i32")
    if ProcessInfo.processInfo.environment["AFG_BENCH_NO_PEER"] != nil { print("tailcalib peer: skipped (AFG_BENCH_NO_PEER)"); return }
    guard let peer = runPeer(featuresPath: dir + "/features.f32", labelsPath: dir + "/labels.i32", n: n, d: D),
          let tPeer = peer["seconds"] as? Double else { return }
    let peerRows = peer["generated"] as? Int ?? -1
    let cpuPeer = peer["cpu_seconds"] as? Double ?? .nan
    print("tailcalib \(peer["version"] ?? "?") numpy: \(fmt(tPeer * 1e3)) ms for \(peerRows) generated rows (CPU \(fmt(cpuPeer * 1e3)) ms)")
    recordRatio("afg", "cifar100lt generation, tailcalib mode", peer: "tailcalib \(peer["version"] ?? "?")", afgSeconds: tTC, peerSeconds: tPeer)
    recordRatio("afg", "cifar100lt generation, glag mode", peer: "tailcalib \(peer["version"] ?? "?")", afgSeconds: tGlag, peerSeconds: tPeer)
    guard let tProcess = try wholeCalibrateProcess(features: raw, labels: labels, dim: D, classes: C, dir: dir) else { return }
    print("afg calibrate --generate, whole process (start-up, HDF5 read, statistics with covariances, generation, both files written): \(fmt(tProcess * 1e3)) ms (best of 5)")
    recordRatio("afg", "cifar100lt, whole afg calibrate --generate process", peer: "tailcalib \(peer["version"] ?? "?")",
                afgSeconds: tProcess, peerSeconds: tPeer)
}

/// Best of 5 wall times of the `afg` binary next to this one running
/// `afg calibrate --generate` on the features (written to `dir` as HDF5 first): start-up,
/// reading, Tukey 0.5, statistics, k = 2 generation to n_max, and writing the statistics
/// and the balanced file (new files: the previous run's are removed first). Nil (with the reason printed) when there is no such binary.
private func wholeCalibrateProcess(features raw: [Float], labels: [Int32], dim: Int, classes: Int, dir: String) throws -> Double? {
    let afg = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("afg").path
    guard FileManager.default.isExecutableFile(atPath: afg) else {
        print("whole-process time: skipped (no afg binary next to afg-bench, at \(afg))"); return nil
    }
    let input = dir + "/train.h5"
    try FeatureStore.writeFeatures(FeatureSet(features: raw, dim: dim, labels: labels, numClasses: classes), to: input)
    let args = [afg, "calibrate", "--train", input, "--out", dir + "/stats.h5", "--generate", dir + "/balanced.h5",
                "--tukey", "0.5", "--k", "2", "--alpha", "0", "--seed", "1", "--quiet"]
    // posix_spawn + waitpid: Foundation's `Process.waitUntilExit` polls its run loop and
    // added up to ~50 ms to a 100 ms process.
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    var best = Double.infinity
    for _ in 0..<5 {
        for f in ["stats.h5", "balanced.h5"] { unlink(dir + "/" + f) }   // a fresh run: nothing to replace
        var pid = pid_t()
        let t0 = DispatchTime.now().uptimeNanoseconds
        guard posix_spawn(&pid, afg, &actions, nil, &argv, environ) == 0 else { print("whole-process time: cannot start \(afg)"); return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        guard status == 0 else { print("whole-process time: afg calibrate ended with wait status \(status)"); return nil }
        best = min(best, t)
    }
    return best
}

func benchAFGImageNetShape() throws {
    let C = 1000, D = 512
    // Lomax (Pareto II) profile n(c) = 1280·(1 + c/s)^-3 with n(999) = 5.
    let s = 999 / (pow(256, 1.0 / 3) - 1)
    let counts = (0..<C).map { c in max(5, Int((1280 * pow(1 + Double(c) / s, -3)).rounded())) }
    let t0 = DispatchTime.now().uptimeNanoseconds
    var (x, labels) = syntheticLongTail(counts: counts, dim: D, seed: 1000)
    let n = labels.count
    let tData = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    print("imagenetlt shape: C=\(C) D=\(D) N=\(n) counts \(counts.first!)→\(counts.last!), tail \(counts.filter { $0 < 100 }.count) classes; synthetic data \(fmt(tData, 1)) s")

    var gen: FeatureGenerator! = nil
    var cfg = GeneratorConfig(k: 2, alpha: 0, targetPerClass: 1280)
    if let b = ProcessInfo.processInfo.environment["AFG_BLOCK_ROWS"].flatMap(Int.init) { cfg.blockRows = b }
    print("k=2, alpha 0, beta 0.6, sample mode, blockRows \(cfg.blockRows)")
    let tInit = try bestTime(repeats: 1) {
        try Tukey.apply(&x, dim: D, lambda: 0.5)
        gen = try FeatureGenerator(features: Matrix(rows: n, cols: D, data: x), labels: labels, numClasses: C,
                                   config: cfg)
    }
    x = []
    print("tukey + statistics + factors + support sets: \(fmt(tInit, 2)) s")
    let flops = gen.samplingFlops(seed: 1, epoch: 0)
    // This machine's sgemm rate, same process (2048³, best of 3), by wall and by CPU time,
    // measured before and after the sampling; the ratio uses the faster of the two (a
    // neighbour's load moved a single reading between 91 and 171 GFLOP/s).
    let before = sgemmRate()
    var rows = 0
    var checksum: Float = 0
    var best = (wall: Double.infinity, cpu: Double.infinity)
    for _ in 0..<2 {
        let r = wallAndCPU {
            rows = 0
            for b in gen.batches(seed: 1, epoch: 0, batchRows: 4096) { rows += b.count; checksum += b.features.data[0] }
        }
        if r.wall < best.wall { best = r }
    }
    let rss = Double(peakRSSBytes()) / 1e9
    let gfWall = flops / best.wall / 1e9, gfCPU = flops / best.cpu / 1e9
    print("streamed epoch (batches of 4096): \(rows) rows in \(fmt(best.wall, 2)) s wall (\(fmt(best.cpu, 2)) CPU-s) = \(fmt(Double(rows) / best.wall / 1e6, 3)) M rows/s")
    print("sampling products: \(fmt(flops / 1e12, 3)) TFLOP, effective \(fmt(gfWall, 1)) GFLOP/s wall, \(fmt(gfCPU, 1)) GFLOP per CPU-second")
    print("peak RSS while streaming: \(fmt(rss, 2)) GB")
    let after = sgemmRate()
    let peak = max(before.wall, after.wall), peakCPU = max(before.cpu, after.cpu)
    print("sgemm 2048³ before / after: \(fmt(before.wall, 1)) / \(fmt(after.wall, 1)) GFLOP/s wall, \(fmt(before.cpu, 1)) / \(fmt(after.cpu, 1)) GFLOP per CPU-second (\(blasThreadCount) threads)")
    print("sampling vs the faster sgemm: \(fmt(100 * gfWall / peak, 0))% by wall time, \(fmt(100 * gfCPU / peakCPU, 0))% by CPU time")

    var zr = Xoshiro256(seed: 3)
    let tz = bestTime { checksum += zigguratNormals(10_000_000, using: &zr)[0] }
    print("ziggurat normals: \(fmt(tz / 1e7 * 1e9, 2)) ns each (one thread)")

    let tBulk = bestTime(repeats: 1) { checksum += gen.generate(seed: 1, epoch: 0).features.data[0] }
    print("bulk generate (whole epoch in memory, \(fmt(Double(rows * D * 4) / 1e9, 2)) GB): \(fmt(tBulk, 2)) s; peak RSS now \(fmt(Double(peakRSSBytes()) / 1e9, 2)) GB (checksum \(checksum))")
}
