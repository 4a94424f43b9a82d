import AFG
import ArgumentParser
import FeatureIO
import Foundation
import Linalg

extension MeanMode: ExpressibleByArgument {}
extension Weighting: ExpressibleByArgument {}

/// `afg calibrate`: class statistics of the (Tukey-transformed) training features, and
/// optionally a balanced feature file (real rows plus AFG-generated ones) for any pipeline.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write class statistics (means, counts, covariances) and, with --generate, a balanced feature file.",
        discussion: """
        Applies Tukey's ladder of powers (--tukey, 0 = log; --no-tukey to skip), computes \
        per-class means and unbiased covariances in that space, and writes them as a \
        statistics file. With --generate it fills every class to --per-class rows (default: \
        the largest class) with the Adaptive Feature Generator and writes the transformed \
        real rows followed by the generated ones, with an `is_generated` flag per row (uint8).
        """)

    @Option(help: "Training feature file (HDF5).")
    var train: String

    @Option(help: "Statistics file to write.")
    var out: String

    @OptionGroup var datasets: DatasetKeyOptions

    @Option(help: "Tukey λ (0 = log).")
    var tukey: Float = 0.5

    @Flag(help: "Do not transform the features (statistics of the raw features).")
    var noTukey = false

    @Option(help: "Add this before the Tukey transform (needed for negative features with a fractional λ).")
    var shift: Float?

    @Option(help: "Support classes per tail sample.")
    var k = 2

    @Option(help: "Extra isotropic spread α added to every calibrated covariance.")
    var alpha: Float = 0

    @Option(help: "Confidence β of tail classes (fixed: no validation split here).")
    var beta: Float = 0.6

    @Option(help: "Classes with fewer training rows than this are tail classes.")
    var headThreshold = 100

    @Option(help: "Calibrated mean: sample (μ' = z̃) or pull (towards the donors' means).")
    var meanMode: MeanMode = .sample

    @Option(help: "glag (w ∝ n/d, own covariance mixed in) or tailcalib (equal weights, mean of k covariances).")
    var weighting: Weighting = .glag

    @Option(help: "Seed of the generator.")
    var seed: UInt64 = 0

    @Option(help: "Also write a balanced feature file here.")
    var generate: String?

    @Option(help: "Rows per class in the balanced file (default: the largest class's count).")
    var perClass: Int?

    @Flag(help: "Omit the C × D × D covariances from the statistics file (means and counts only).")
    var noCovariances = false

    @Flag(help: "Compress the output datasets (shuffle + gzip).")
    var compress = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    @Flag(help: "No progress messages on stderr.")
    var quiet = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be at least 1") }
        guard alpha >= 0, alpha.isFinite else { throw ValidationError("--alpha must be finite and >= 0") }
        guard (0...1).contains(beta) else { throw ValidationError("--beta must lie in [0, 1]") }
        guard headThreshold >= 0 else { throw ValidationError("--head-threshold must be >= 0") }
        guard tukey.isFinite else { throw ValidationError("--tukey must be finite") }
        if let m = perClass {
            guard generate != nil else { throw ValidationError("--per-class needs --generate") }
            guard m >= 1 else { throw ValidationError("--per-class must be at least 1") }
        }
        if let g = generate, g == out || g == train { throw ValidationError("--generate must name a new file, not --out or --train") }
        if out == train { throw ValidationError("--out must not overwrite --train") }
    }

    private func progress(_ s: String) {
        if !quiet { FileHandle.standardError.write(Data("calibrate: \(s)\n".utf8)) }
    }

    func run() throws {
        progress("reading \(train)")
        var set = try FeatureStore.readFeatures(path: train, keys: datasets.keys)
        let lambda: Float? = noTukey ? nil : tukey
        if let l = lambda {
            do { try Tukey.apply(&set.features, dim: set.dim, lambda: l, shift: shift) } catch {
                throw CalibrateError(message: "\(train): \(error)")
            }
        }
        let x = Matrix<Float>(rows: set.count, cols: set.dim, data: set.features)
        progress("statistics of \(set.count) rows, \(set.numClasses) classes, dimension \(set.dim)")
        let stats = try ClassStatistics(features: x, labels: set.labels, numClasses: set.numClasses, covariances: !noCovariances)
        let config = GeneratorConfig(k: k, alpha: alpha, initialBeta: beta, headThreshold: headThreshold,
                                     meanMode: meanMode, weighting: weighting, targetPerClass: perClass)
        var attrs: [String: String] = ["source": train, "head_threshold": "\(headThreshold)"]
        if let s = shift { attrs["tukey_shift"] = "\(s)" }
        try FeatureStore.writeStatistics(StatisticsFile(numClasses: stats.numClasses, dim: stats.dim, means: stats.means.data,
                                                        counts: stats.counts, covariances: stats.covariances,
                                                        tukeyLambda: lambda, attributes: attrs),
                                         to: out, compress: compress)
        progress("wrote \(out)")

        let tail = stats.counts.filter { $0 > 0 && $0 < headThreshold }.count
        var summary: [String: Any] = ["train": train, "statistics": out, "rows": set.count, "classes": set.numClasses,
                                      "dim": set.dim, "tail_classes": tail, "empty_classes": stats.counts.filter { $0 == 0 }.count]
        if let l = lambda { summary["tukey_lambda"] = Double(l) }
        if let g = generate {
            let gen = try FeatureGenerator(features: x, labels: set.labels, numClasses: set.numClasses, config: config)
            progress("generating \(gen.generatedRows) rows (every class to \(gen.targetPerClass))")
            // Streamed (real rows, then the generated epoch block by block): memory one block,
            // not the N + G rows of the balanced file.
            var attrs = set.attributes
            attrs["afg_generated_by"] = "afg calibrate"
            attrs["afg_config"] = String(decoding: try JSONEncoder.sorted.encode(config), as: UTF8.self)
            attrs["afg_seed"] = "\(seed)"
            attrs["tukey_lambda"] = lambda.map { "\($0)" } ?? "none"
            let writer = try FeatureWriter(path: g, dim: set.dim, numClasses: set.numClasses, classNames: set.classNames,
                                           attributes: attrs, extraColumns: ["is_generated": .uint8([])], compress: compress)
            let block = 8192
            for r0 in stride(from: 0, to: set.count, by: block) {
                let r1 = min(r0 + block, set.count)
                try writer.append(features: Array(x.data[(r0 * set.dim)..<(r1 * set.dim)]), labels: Array(set.labels[r0..<r1]),
                                  extras: ["is_generated": .uint8([UInt8](repeating: 0, count: r1 - r0))])
            }
            var madeCount = 0
            for batch in gen.batches(seed: seed, epoch: 0, batchRows: block) {
                try writer.append(features: batch.features.data, labels: batch.labels,
                                  extras: ["is_generated": .uint8([UInt8](repeating: 1, count: batch.count))])
                madeCount += batch.count
            }
            try writer.finish()
            progress("wrote \(g)")
            summary["balanced"] = g
            summary["generated_rows"] = madeCount
            summary["per_class"] = gen.targetPerClass
            if !gen.emptyClasses.isEmpty { progress("warning: \(gen.emptyClasses.count) class(es) have no rows and get none") }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("statistics: \(out) (\(set.numClasses) classes, \(tail) tail, dimension \(set.dim), tukey \(lambda.map { "\($0)" } ?? "none"))")
            if let g = generate { print("balanced: \(g) (\(set.count) real + \(summary["generated_rows"]!) generated rows)") }
        }
    }
}

/// A data error of `afg calibrate`, printed as one line.
struct CalibrateError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension JSONEncoder {
    /// Keys in sorted order, so the same configuration gives the same text.
    static var sorted: JSONEncoder { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]; return e }
}
