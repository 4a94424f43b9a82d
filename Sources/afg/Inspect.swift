import ArgumentParser
import Foundation
import FeatureIO

/// `afg inspect FILE`: what is in a feature file, read block by block (never whole).
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a feature file: shape, types, classes, head/tail shape, bad values, attributes.",
        discussion: """
        Reads the file in blocks of rows, so files larger than memory are fine. Fails \
        (exit 1, one line on stderr) on anything `afg train` would reject; NaN, Inf and values \
        beyond ±\(String(format: "%.3g", Double(FeatureStore.largestFeatureMagnitude))) (their squares overflow \
        32-bit statistics) are reported in full first, then fail. See docs/FORMAT.md for the file contract.
        """)

    @Argument(help: "The feature file (HDF5, .npz, .npy, .safetensors); several files (or a quoted glob) are summarised as one data set, rows in the order given.")
    var files: [String]

    @OptionGroup(title: "Dataset keys") var datasets: DatasetKeyOptions
    @OptionGroup(title: "Shot groups") var shots: ShotOptions

    @Flag(help: "List every class's count (the default lists them when there are at most 50 classes).")
    var perClass = false

    @OptionGroup(title: "Output") var output: OutputOptions

    mutating func validate() throws {
        try Job.requireOneProcess("afg inspect")
        if files.isEmpty { throw CLIError("Missing expected argument '<files> ...'") }
        files = try expandShards(files, flag: "FILE")
        try checkFiles(inputs: files.map { ("FILE", $0) }, outputs: [])
    }

    func run() throws {
        let s: FeatureSummary
        do {
            s = try summarize()
        } catch var e as FeatureIOError where e.kind == .datasetMissing {
            e.problem += " (choose with --features-key / --labels-key)"
            throw e
        }
        print(output.json ? try encodeJSON(s) + "\n" : Inspect.text(s, listClasses: perClass || s.numClasses <= 50), terminator: "")
        if let e = s.valueError { throw e }
    }

    /// Streams the file, reporting progress on stderr every 10% (unless `--quiet`).
    private func summarize() throws -> FeatureSummary {
        var lastTenth = 0
        return try FeatureSummary.compute(paths: files, keys: datasets.keys, many: shots.many, few: shots.few) { done, total in
            guard !output.quiet, done < total else { return }
            let tenth = done * 10 / total
            if tenth > lastTenth {
                lastTenth = tenth
                Console.stderr("inspect: \(tenth * 10)% (\(done)/\(total) rows)")
            }
        }
    }

    /// The human-readable report.
    static func text(_ s: FeatureSummary, listClasses: Bool) -> String {
        func name(_ c: Int) -> String {
            s.classNames.map { "class \(c) (\($0[c]))" } ?? "class \(c)"
        }
        func num(_ x: Float?) -> String { x.map { String(format: "%.6g", Double($0)) } ?? "-" }
        var out = ""
        func line(_ t: String) { out += t + "\n" }
        line("file: \(s.file)")
        line("features: \(s.featuresKey), \(s.count) × \(s.dim), \(s.featureType)")
        line("labels: \(s.labelsKey), \(s.labelType)")
        line("classes: \(s.numClasses) (from the \(s.numClassesSource))" + (s.emptyClasses > 0 ? ", \(s.emptyClasses) with no rows" : ""))
        func rows(_ n: Int) -> String { n == 1 ? "1 row" : "\(n) rows" }
        line("largest: \(name(s.largestClass)), \(rows(s.largestCount))")
        line("smallest: \(name(s.smallestClass)), \(rows(s.smallestCount))")
        line("imbalance factor: " + String(format: "%.2f", s.imbalanceFactor) + (s.emptyClasses > 0 ? " (over classes with rows)" : ""))
        line("many (n > \(s.manyThreshold)): \(s.manyClasses), medium (\(s.fewThreshold) ≤ n ≤ \(s.manyThreshold)): \(s.mediumClasses), few (n < \(s.fewThreshold)): \(s.fewClasses)")
        line("values: NaN \(s.nanCount), Inf \(s.infCount), beyond ±\(String(format: "%.3g", Double(FeatureStore.largestFeatureMagnitude))) \(s.tooLargeCount), negative \(s.negativeCount)")
        line("finite range: min \(num(s.minimum)), max \(num(s.maximum)), mean " + (s.mean.map { String(format: "%.6g", $0) } ?? "-"))
        if s.attributes.isEmpty {
            line("attributes: none")
        } else {
            line("attributes:")
            for k in s.attributes.keys.sorted() { line("  \(k) = \(s.attributes[k]!)") }
        }
        if listClasses {
            line("class counts:")
            let width = String(s.numClasses - 1).count
            for c in 0..<s.numClasses {
                let idx = String(repeating: " ", count: width - String(c).count) + String(c)
                line("  \(idx)" + (s.classNames.map { " \($0[c])" } ?? "") + ": \(s.classCounts[c])")
            }
        } else {
            line("class counts: \(s.numClasses) classes (list them with --per-class or --json)")
        }
        return out
    }
}
