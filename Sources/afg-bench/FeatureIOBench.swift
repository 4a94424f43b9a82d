import FeatureIO
import Foundation

/// FeatureIO throughput on a 100k × 512 float32 feature file (200 MB) in the temporary
/// folder: write (plain, gzip), whole read, streaming summary (what `afg inspect` does).
/// The 2 GB low-memory figure is measured on the binary: `/usr/bin/time -v afg inspect`.
func benchFeatureIO() throws {
    let n = 100_000, d = 512, c = 100
    var state: UInt64 = 7
    func next() -> Float {       // cheap deterministic values (SplitMix64 → [0, 1))
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
    }
    let x = (0..<(n * d)).map { _ in next() }
    let y = (0..<n).map { Int32($0 % c) }
    let set = FeatureSet(features: x, dim: d, labels: y, numClasses: c)
    let dir = FileManager.default.temporaryDirectory.path
    let plain = "\(dir)/afg-bench-fio-\(getpid()).h5"
    let gz = "\(dir)/afg-bench-fio-gz-\(getpid()).h5"
    defer { unlink(plain); unlink(gz) }
    let mb = Double(n * d * 4) / 1e6
    let tw = try bestTime { try FeatureStore.writeFeatures(set, to: plain) }
    print("featureio write \(n)x\(d) float32: \(fmt(tw * 1e3, 0)) ms, \(fmt(mb / tw, 0)) MB/s")
    let tz = try bestTime(repeats: 1) { try FeatureStore.writeFeatures(set, to: gz, compress: true) }
    let size = (try FileManager.default.attributesOfItem(atPath: gz)[.size] as? Int) ?? 0
    print("featureio write gzip: \(fmt(tz * 1e3, 0)) ms, \(fmt(mb / tz, 0)) MB/s, file \(fmt(Double(size) / 1e6, 1)) MB")
    let tr = try bestTime { _ = try FeatureStore.readFeatures(path: plain) }
    print("featureio readFeatures: \(fmt(tr * 1e3, 0)) ms, \(fmt(mb / tr, 0)) MB/s (page cache warm)")
    let ts = try bestTime { _ = try FeatureSummary.compute(path: plain) }
    print("featureio stream summary: \(fmt(ts * 1e3, 0)) ms, \(fmt(mb / ts, 0)) MB/s")
    let tsz = try bestTime(repeats: 1) { _ = try FeatureSummary.compute(path: gz) }
    print("featureio stream summary gzip: \(fmt(tsz * 1e3, 0)) ms, \(fmt(mb / tsz, 0)) MB/s")
}
