import AFG
import ArgumentParser
import FeatureIO
import Foundation
import Linalg

/// `afg calibrate`: class statistics of the (Tukey-transformed) training features, and
/// optionally a balanced feature file (real rows plus AFG-generated ones) for any pipeline.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Write class statistics (means, counts, covariances) and, with --generate, a balanced feature file.",
        discussion: """
        Applies Tukey's ladder of powers (--tukey, 0 = log; --no-tukey to skip), computes \
        per-class means and unbiased covariances in that space, and writes them as a \
        statistics file. With --generate it fills every class to --target-per-class rows (default: \
        the largest class) with the Adaptive Feature Generator and writes the transformed \
        real rows followed by the generated ones, with an `is_generated` flag per row (uint8).
        """)

    @Option(name: .customLong("train"),
            help: "Training feature file (HDF5, .npz, .npy, .safetensors); repeat the flag, or quote a glob, for shards read as one data set in order.")
    var trainFiles: [String]
    @Option(help: "Statistics file to write.") var out: String
    @Option(help: "Also write a balanced feature file here (every class filled to --target-per-class).") var generate: String?
    @Option(help: "Seed of the generator.") var seed: UInt64 = 0
    @OptionGroup(title: "Dataset keys") var datasets: DatasetKeyOptions
    @OptionGroup(title: "Tukey") var tukey: TukeyOptions
    @Option(name: .setting(Tukey.Settings.shift), help: .init(Tukey.Settings.shift)) var shift: Float?
    @OptionGroup(title: "Generator") var generator: GeneratorOptions
    @Option(help: "glag (w ∝ n/d, own covariance mixed in) or tailcalib (equal weights, mean of k covariances).")
    var weighting = GeneratorConfig().weighting
    @Flag(help: "Omit the C × D × D covariances from the statistics file (means and counts only).") var noCovariances = false
    @Flag(help: "Compress the output datasets (shuffle + gzip).") var compress = false
    @OptionGroup(title: "Output") var output: OutputOptions
    @OptionGroup(title: "Memory") var memory: MemoryOptions

    mutating func validate() throws {
        try checkingSettings { try Tukey.Settings.shift.check(shift) }
        if generator.targetPerClass != nil && generate == nil { throw CLIError("--target-per-class needs --generate") }
        trainFiles = try expandShards(trainFiles, flag: "--train")
        let inputs = trainFiles.map { ("--train", $0) }
        try checkFiles(inputs: inputs, rows: inputs, outputs: [("--out", out)] + (generate.map { [("--generate", $0)] } ?? []))
    }

    /// The training files as named in messages and in the statistics file's `source`.
    var train: String { shardName(trainFiles) }

    var config: GeneratorConfig { var c = generator.config; c.weighting = weighting; return c }

    /// What `afg calibrate` prints (`--json`: these members).
    struct Report: Encodable {
        var train: String, statistics: String, rows: Int, classes: Int, dim: Int
        var tailClasses: Int, emptyClasses: Int, tukeyLambda: Float?
        var balanced: String?, generatedRows: Int?, perClass: Int?
        enum CodingKeys: String, CodingKey {
            case train, statistics, rows, classes, dim, balanced
            case tailClasses = "tail_classes", emptyClasses = "empty_classes", tukeyLambda = "tukey_lambda"
            case generatedRows = "generated_rows", perClass = "per_class"
        }
    }

    /// Refuses, before the rows are read, a run whose planned allocations exceed the budget.
    func checkMemory() throws {
        // Under MPI: this rank's files and rows (rank 0 also holds the balanced output's rows).
        let shape = try DeclaredShape.of(shardFiles(trainFiles, part: Job.part), keys: datasets.keys)
        let n = Double(shape.rows) * shardFraction(trainFiles, part: Job.part), d = Double(shape.dim), c = Double(shape.classes)
        var parts: [(String, Double)] = [("features", 4 * n * d), ("class-by-class matrices", 4 * c * c * 2)]
        if !noCovariances { parts.append(("C × D × D covariances", 12 * c * d * d)) }
        if generate != nil {
            let g = shape.generatedRows(target: generator.targetPerClass)
            parts.append(("covariance factors", 4 * shape.factorFloats))
            parts.append(("the generation plan", 16 * g + 4 * 8192 * d * Double(generator.config.k + 3)))
        }
        let total = parts.reduce(0) { $0 + $1.1 }
        let largest = parts.max { $0.1 < $1.1 }!
        try memory.check(total, "largest part: \(largest.0), \(MemoryBudget.format(largest.1))")
    }

    func run() throws {
        if Job.isDistributed { return try runDistributed() }
        try checkMemory()
        let console = output.console
        console.line("calibrate: reading \(train)")
        var set = try readFeatureShards(trainFiles, keys: datasets.keys)
        let (lambda, note) = tukey.lambda(minimum: (set.features.min() ?? 0) + (shift ?? 0))
        if let n = note { console.line("calibrate: note: \(n)") }
        if let l = lambda {
            do { try Tukey.apply(&set.features, dim: set.dim, lambda: l, shift: shift) } catch {
                throw CLIError("\(train): \(error)")
            }
        }
        let x = Matrix<Float>(rows: set.count, cols: set.dim, data: set.features)
        console.line("calibrate: statistics of \(set.count) rows, \(set.numClasses) classes, dimension \(set.dim)")
        let stats = try ClassStatistics(features: x, labels: set.labels, numClasses: set.numClasses, covariances: !noCovariances)
        // The statistics and the balanced file belong together: both are written, then
        // both renamed into place (`OutputSet`), or neither.
        let outputs = OutputSet()
        var report = try writeStatistics(stats, rows: set.count, lambda: lambda, outputs: outputs)
        if let g = generate {
            try writeBalanced(to: try outputs.temporary(for: g), set: set, x: x, lambda: lambda, report: &report, console: console)
            report.balanced = g
        }
        try commitAndReport(report, outputs: outputs, console: console)
    }

    /// Renames both outputs into place, then prints the summary (text, or `--json`).
    func commitAndReport(_ report: Report, outputs: OutputSet, console: Console) throws {
        try outputs.commit()
        console.line("calibrate: wrote \(out)" + (generate.map { " and \($0)" } ?? ""))
        if output.json {
            print(try encodeJSON(report))
        } else {
            print("statistics: \(out) (\(report.classes) classes, \(report.tailClasses) tail, dimension \(report.dim), tukey \(report.tukeyLambda.map { "\($0)" } ?? "none"))")
            if let g = generate { print("balanced: \(g) (\(report.rows) real + \(report.generatedRows!) generated rows)") }
        }
    }

    /// The balanced file, streamed (real rows, then the generated epoch block by block):
    /// memory one block, not the N + G rows of the file.
    /// Writes the statistics file to `outputs`' temporary for `--out` and returns the run's
    /// report (without the balanced file's part).
    func writeStatistics(_ stats: ClassStatistics, rows: Int, lambda: Float?, outputs: OutputSet) throws -> Report {
        var attrs: [String: String] = ["source": train, "head_threshold": "\(config.headThreshold)"]
        if let s = shift { attrs["tukey_shift"] = "\(s)" }
        try FeatureStore.writeStatistics(StatisticsFile(numClasses: stats.numClasses, dim: stats.dim, means: stats.means.data,
                                                        counts: stats.counts, covariances: stats.covariances,
                                                        tukeyLambda: lambda, attributes: attrs),
                                         to: try outputs.temporary(for: out), compress: compress)
        return Report(train: train, statistics: out, rows: rows, classes: stats.numClasses, dim: stats.dim,
                      tailClasses: stats.counts.filter { config.isTail(count: $0) }.count,
                      emptyClasses: stats.counts.filter { $0 == 0 }.count, tukeyLambda: lambda)
    }

    /// The balanced file's writer: the training file's attributes plus how it was made
    /// (`afg_generated_by`, `afg_config`, `afg_seed`, `tukey_lambda`) and the `is_generated`
    /// column. Shared by the one-process and MPI paths, so their files match byte for byte.
    func balancedWriter(to g: String, set: FeatureSet, lambda: Float?) throws -> FeatureWriter {
        var attrs = set.attributes
        attrs["afg_generated_by"] = "afg calibrate"
        attrs["afg_config"] = try encodeJSON(config, pretty: false)
        attrs["afg_seed"] = "\(seed)"
        attrs["tukey_lambda"] = lambda.map { "\($0)" } ?? "none"
        return try FeatureWriter(path: g, dim: set.dim, numClasses: set.numClasses, classNames: set.classNames,
                                 attributes: attrs, extraColumns: ["is_generated": .uint8([])], compress: compress)
    }

    private func writeBalanced(to g: String, set: FeatureSet, x: Matrix<Float>, lambda: Float?, report: inout Report,
                               console: Console) throws {
        let gen = try FeatureGenerator(features: x, labels: set.labels, numClasses: set.numClasses, config: config)
        console.line("calibrate: generating \(gen.generatedRows) rows (every class to \(gen.targetPerClass))")
        // Each block is written on a background thread while the next one is generated.
        let writer = BackgroundAppender(try balancedWriter(to: g, set: set, lambda: lambda))
        let block = 8192
        for r0 in stride(from: 0, to: set.count, by: block) {
            let r1 = min(r0 + block, set.count)
            try writer.append(features: Array(x.data[(r0 * set.dim)..<(r1 * set.dim)]), labels: Array(set.labels[r0..<r1]),
                              extras: ["is_generated": .uint8([UInt8](repeating: 0, count: r1 - r0))])
        }
        var made = 0
        for batch in gen.batches(seed: seed, epoch: 0, batchRows: block) {
            try writer.append(features: batch.features.data, labels: batch.labels,
                              extras: ["is_generated": .uint8([UInt8](repeating: 1, count: batch.count))])
            made += batch.count
        }
        try writer.finish()
        report.generatedRows = made; report.perClass = gen.targetPerClass
        if !gen.emptyClasses.isEmpty { console.line("calibrate: warning: \(gen.emptyClasses.count) class(es) have no rows and get none") }
    }
}
