import Foundation
import AFG
import Linalg

/// `afg-bench afg-digest`: 64-bit FNV-1a digests of generated epochs on several shapes and
/// settings, to check that a change to the sampler keeps its output bits (compare the
/// lines printed before and after). Not a timing; not run by default.
func benchAFGDigest() throws {
    func digest(_ set: GeneratedSet) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        set.features.data.withUnsafeBytes { b in for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 } }
        set.labels.withUnsafeBytes { b in for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 } }
        return String(h, radix: 16)
    }
    func streamed(_ gen: FeatureGenerator, shuffled: Bool) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in gen.batches(seed: 7, epoch: 1, batchRows: 1000, shuffled: shuffled) {
            b.features.data.withUnsafeBytes { p in for x in p { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 } }
        }
        return String(h, radix: 16)
    }
    func geometric(_ C: Int, _ top: Double, _ low: Double) -> [Int] {
        (0..<C).map { c in max(Int(low), Int(top * pow(low / top, Double(c) / Double(C - 1)))) }
    }
    let s = 999 / (pow(256, 1.0 / 3) - 1)
    let imagenet = (0..<1000).map { c in max(5, Int((1280 * pow(1 + Double(c) / s, -3)).rounded())) }
    let shapes: [(name: String, D: Int, counts: [Int], all: Bool)] = [
        ("cifar-like C=100 D=64", 64, geometric(100, 500, 5), true), ("wide C=60 D=512", 512, geometric(60, 900, 3), true),
        ("imagenetlt C=1000 D=512", 512, imagenet, false)]
    for s in shapes {
        let C = s.counts.count, top = s.counts.max()!
        var (x, labels) = syntheticLongTail(counts: s.counts, dim: s.D, seed: 11)
        try Tukey.apply(&x, dim: s.D, lambda: 0.5)
        let features = Matrix(rows: labels.count, cols: s.D, data: x)
        var configs: [(String, GeneratorConfig)] = [("glag", GeneratorConfig(k: 2, alpha: 0))]
        if s.all {
            configs += [
                ("glag alpha pull k3 block 700", GeneratorConfig(k: 3, alpha: 0.05, meanMode: .pull, blockRows: 700)),
                ("tailcalib", GeneratorConfig(k: 2, alpha: 0, headThreshold: top + 1, weighting: .tailcalib)),
                ("cholesky", GeneratorConfig(k: 2, alpha: 0, factor: .cholesky)),
            ]
        }
        for (name, cfg) in configs {
            var gen = try FeatureGenerator(features: features, labels: labels, numClasses: C, config: cfg)
            for c in 0..<C where gen.isTail[c] { gen.beta[c] = Float(c % 7) / 6 }
            let whole = s.all ? digest(gen.generate(seed: 7, epoch: 1)) : "-"
            print("digest \(s.name) \(name): generate \(whole) batches \(streamed(gen, shuffled: false)) shuffled \(streamed(gen, shuffled: true))")
        }
    }
}
