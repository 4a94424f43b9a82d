import Foundation
import AFG
import Linalg

/// `afg-bench afg`: the stage-two generator on two long-tailed shapes.
///
/// 1. CIFAR-100-LT shape (C=100, D=64, IF 100: 500 → 5, N=10,847), every class filled to
///    500, k=2, Tukey 0.5, α=0, against the `tailcalib` package (numpy engine) run by
///    `bench/tailcalib_peer.py` on the same features in the same run.
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

private func writeRaw<T>(_ a: [T], to path: String) throws {
    let data = a.withUnsafeBufferPointer { Data(buffer: $0) }
    try data.write(to: URL(fileURLWithPath: path))
}

/// Runs the Python peer; returns its JSON output, or nil (with the reason printed).
private func runPeer(featuresPath: String, labelsPath: String, n: Int, d: Int) -> [String: Any]? {
    let script = "bench/tailcalib_peer.py"
    guard FileManager.default.fileExists(atPath: script) else {
        print("tailcalib peer: skipped (run from the package root: \(script) not found)")
        return nil
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script, "--features", featuresPath, "--labels", labelsPath, "--rows", "\(n)", "--dim", "\(d)",
                   "--k", "2", "--tukey", "0.5", "--alpha", "0"]
    let out = Pipe()
    p.standardOutput = out
    do { try p.run() } catch { print("tailcalib peer: could not start python3: \(error)"); return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0,
          let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
          let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        print("tailcalib peer: failed (exit \(p.terminationStatus)): \(text.suffix(400))")
        return nil
    }
    return json
}

func benchAFGCifarShape() throws {
    let C = 100, D = 64
    let counts = (0..<C).map { c in Int(500 * pow(0.01, Double(c) / Double(C - 1))) }
    let (raw, labels) = syntheticLongTail(counts: counts, dim: D, seed: 100)
    let n = labels.count
    print("cifar100lt shape: C=\(C) D=\(D) N=\(n) counts \(counts.first!)→\(counts.last!), fill to 500, k=2, tukey 0.5, alpha 0")

    func run(_ cfg: GeneratorConfig) throws -> (Double, Int) {
        var rows = 0
        let t = try bestTime(repeats: 5) {
            var x = raw
            try Tukey.apply(&x, dim: D, lambda: 0.5)
            let gen = try FeatureGenerator(features: Matrix(rows: n, cols: D, data: x), labels: labels, numClasses: C, config: cfg)
            rows = gen.generate(seed: 1, epoch: 0).count
        }
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
    guard let peer = runPeer(featuresPath: dir + "/features.f32", labelsPath: dir + "/labels.i32", n: n, d: D),
          let tPeer = peer["seconds"] as? Double else { return }
    let peerRows = peer["generated"] as? Int ?? -1
    print("tailcalib \(peer["version"] ?? "?") numpy: \(fmt(tPeer * 1e3)) ms for \(peerRows) generated rows")
    print("speedup vs tailcalib: \(fmt(tPeer / tTC, 0))x (tailcalib mode), \(fmt(tPeer / tGlag, 0))x (glag)")
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
    let tInit = try bestTime(repeats: 1) {
        try Tukey.apply(&x, dim: D, lambda: 0.5)
        gen = try FeatureGenerator(features: Matrix(rows: n, cols: D, data: x), labels: labels, numClasses: C,
                                   config: GeneratorConfig(k: 2, alpha: 0.1, targetPerClass: 1280))
    }
    x = []
    print("tukey + statistics + factors + support sets: \(fmt(tInit, 2)) s")
    let flops = gen.samplingFlops(seed: 1, epoch: 0)
    var rows = 0
    var checksum: Float = 0
    let tStream = bestTime(repeats: 2) {
        rows = 0
        for b in gen.batches(seed: 1, epoch: 0, batchRows: 4096) { rows += b.count; checksum += b.features.data[0] }
    }
    let rss = Double(peakRSSBytes()) / 1e9
    print("streamed epoch (batches of 4096): \(rows) rows in \(fmt(tStream, 2)) s = \(fmt(Double(rows) / tStream / 1e6, 3)) M rows/s")
    print("sampling products: \(fmt(flops / 1e12, 3)) TFLOP, effective \(fmt(flops / tStream / 1e9, 1)) GFLOP/s")
    print("peak RSS while streaming: \(fmt(rss, 2)) GB")

    // This machine's sgemm rate, same process (2048³, best of 3).
    var rng = Xoshiro256(seed: 1)
    let m = 2048
    let a = Matrix<Float>(rows: m, cols: m, data: zigguratNormals(m * m, using: &rng))
    let b = Matrix<Float>(rows: m, cols: m, data: zigguratNormals(m * m, using: &rng))
    var cm = Matrix<Float>(rows: m, cols: m)
    let tg = bestTime { BLAS.gemm(a, b, into: &cm) }
    let peak = 2 * pow(Double(m), 3) / tg / 1e9
    print("sgemm 2048³: \(fmt(peak, 1)) GFLOP/s → sampling at \(fmt(100 * flops / tStream / 1e9 / peak, 0))% of sgemm")

    let tBulk = bestTime(repeats: 1) { checksum += gen.generate(seed: 1, epoch: 0).features.data[0] }
    print("bulk generate (whole epoch in memory, \(fmt(Double(rows * D * 4) / 1e9, 2)) GB): \(fmt(tBulk, 2)) s; peak RSS now \(fmt(Double(peakRSSBytes()) / 1e9, 2)) GB (checksum \(checksum))")
}
