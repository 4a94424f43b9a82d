import ArgumentParser
import Foundation
import Classifier
import FeatureIO
import Linalg

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a classifier file on a feature file: overall, Many / Medium / Few, mean per-class recall.",
        discussion: """
        Applies the classifier's recorded Tukey λ to the features first (a two-view classifier \
        also reads the raw features with its raw_weight head). Groups are by the \
        training counts stored in the classifier file; a bare head (a PyTorch state_dict, \
        no class_counts) takes them from --train-counts-from, else only overall and mean \
        recall are reported. Overall and mean recall come with their standard errors from \
        the test rows; --compare scores further classifiers on the same rows and prints each \
        one's difference from the first, paired row by row, with its standard error. --plot \
        writes an SVG of per-class accuracy, classes ordered by training count, the count on \
        a second axis.
        """)

    @Option(help: "Classifier file written by `afg train`, or a head in HDF5 / .npz / .safetensors (weight + bias, or a PyTorch state_dict).")
    var classifier: String
    @OptionGroup(title: "Heads") var head: HeadKeyOption
    @Option(help: "Feature file whose labels give the training counts per class, for a classifier without class_counts.")
    var trainCountsFrom: String?
    @Option(name: .customLong("test"),
            help: "Feature file to evaluate on (HDF5, .npz, .npy, .safetensors); repeat the flag, or quote a glob, for shards read as one data set.")
    var testFiles: [String]
    @OptionGroup(title: "Dataset keys") var datasets: DatasetKeyOptions
    @OptionGroup(title: "Class names") var classNames: ClassNameOptions
    @OptionGroup(title: "Shot groups") var shots: ShotOptions
    @Option(help: "Write a per-class accuracy SVG here.") var plot: String?
    @Option(help: "Another classifier file (same classes and training counts) scored on the same test file, its difference from the first paired row by row, and drawn beside the first in --plot; repeatable.")
    var compare: [String] = []
    @Flag(help: "Print JSON (with per-class accuracy and the confusion matrix).") var json = false

    /// The test files as named in messages (the path itself for one file).
    var test: String { shardName(testFiles) }

    mutating func validate() throws {
        testFiles = try expandShards(testFiles, flag: "--test")
        let tests = testFiles.map { ("--test", $0) }
        try checkFiles(inputs: [("--classifier", classifier)] + tests + compare.map { ("--compare", $0) }
                           + (trainCountsFrom.map { [("--train-counts-from", $0)] } ?? []), rows: tests,
                       outputs: [], otherOutputs: plot.map { [("--plot", $0)] } ?? [])
    }

    /// Under MPI each rank scores its part of the test rows and the confusion matrices
    /// are summed across ranks (`score`); rank 0 prints and plots.
    func run() throws {
        var (f, model, memory) = try Job.agree { try loadClassifier(classifier, headKey: head.headKey) }
        if let t = trainCountsFrom {
            let counts = try Job.agree { try classCounts(of: t, keys: datasets.keys, numClasses: f.numClasses) }
            if let c = f.classCounts, c != counts { throw CLIError("\(t): class counts differ from those recorded in \(classifier)") }
            f.classCounts = counts
        }
        let (set, x) = try Job.agree {
            try loadClassifierInput(testFiles, keys: datasets.keys, file: f, path: classifier, part: Job.part,
                                    classNamesMayDiffer: classNames.classNamesMayDiffer)
        }
        let predicted = memory.map { $0.predict(with: model, x) } ?? model.predict(x)
        var m = score(predicted, set.labels, numClasses: model.numClasses,
                      trainCounts: f.classCounts ?? Array(repeating: 0, count: f.numClasses))
        if f.classCounts == nil {
            if plot != nil { throw CLIError("--plot orders classes by training count: \(classifier) has no class_counts; pass --train-counts-from TRAIN_FILE") }
            m.many = nil; m.medium = nil; m.few = nil; m.groupSizes = [:]
        }
        // Compared classifiers: same classes and counts; each under its own recorded λ.
        var others: [Compared] = []
        for path in compare {
            let (g, gm, gmemory) = try Job.agree { try loadClassifier(path, headKey: head.headKey) }
            if g.numClasses != f.numClasses || g.dim != f.dim {
                throw CLIError("\(path): \(g.numClasses) classes × dimension \(g.dim), \(classifier) has \(f.numClasses) × \(f.dim)")
            }
            guard let fc = f.classCounts else { throw CLIError("--compare needs training counts: \(classifier) has no class_counts; pass --train-counts-from TRAIN_FILE") }
            if let gc = g.classCounts, gc != fc { throw CLIError("\(path): trained on other class counts than \(classifier)") }
            let gx = g.tukeyLambda == f.tukeyLambda && (g.rawWeight == nil) == (f.rawWeight == nil) ? x
                : try Job.agree { try loadClassifierInput(testFiles, keys: datasets.keys, file: g, path: path, part: Job.part,
                                                          classNamesMayDiffer: classNames.classNamesMayDiffer).x }
            let q = gmemory.map { $0.predict(with: gm, gx) } ?? gm.predict(gx)
            others.append((path, g.method, score(q, set.labels, numClasses: gm.numClasses, trainCounts: f.classCounts!),
                           paired(q, predicted, set.labels, numClasses: gm.numClasses)))
        }
        guard Job.ranks.isRoot else { return }
        if let p = plot { try writePlot(to: p, m, others, file: f, classNames: set.classNames) }
        if json { try printJSON(m, others, file: f) } else { printText(m, others, file: f) }
    }

    /// A compared classifier: its path, method, metrics, and its difference from the first.
    typealias Compared = (path: String, method: String, metrics: Metrics, paired: PairedComparison)

    /// The per-class SVG of the first classifier (`m`, `f`) and the compared ones.
    func writePlot(to p: String, _ m: Metrics, _ others: [Compared], file f: ClassifierFile, classNames: [String]?) throws {
        let file = (test as NSString).lastPathComponent
        func top1(_ m: Metrics) -> String { String(format: "%.2f", 100 * m.overall) + "%" }
        let svg: String
        if others.isEmpty {
            svg = PerClassPlot.svg(series: [.init(label: f.method, metrics: m)], trainCounts: f.classCounts!,
                                   classNames: classNames, title: "\(f.method) on \(file): top-1 \(top1(m))")
        } else {
            let series = [PerClassPlot.Series(label: "\(f.method): top-1 \(top1(m))", metrics: m)]
                + others.map { PerClassPlot.Series(label: "\($0.method): top-1 \(top1($0.metrics))", metrics: $0.metrics) }
            svg = PerClassPlot.svg(series: series, trainCounts: f.classCounts!, classNames: classNames,
                                   title: "per-class accuracy on \(file)")
        }
        try writeAtomically(contents: svg, to: p)
    }

    /// `--json`: the summary, per-class accuracy and confusion matrix, and the compared ones.
    func printJSON(_ m: Metrics, _ others: [Compared], file f: ClassifierFile) throws {
        struct Out: Encodable {
            var classifier: String, test: String, method: String, tukeyLambda: Float?, rawHead: Bool
            var summary: Summary, perClass: [Double?], trainCounts: [Int]?, testCounts: [Int], confusion: [[Int]]
            var compared: [Other]?
        }
        struct Other: Encodable {
            var classifier: String, method: String, summary: Summary, perClass: [Double?]
            /// This classifier minus the first, paired on the same rows.
            var againstFirst: Paired
        }
        let c = m.numClasses
        let conf = (0..<c).map { Array(m.confusion[($0 * c)..<(($0 + 1) * c)]) }
        print(try encodeJSON(Out(classifier: classifier, test: test, method: f.method, tukeyLambda: f.tukeyLambda,
                                 rawHead: f.rawWeight != nil,
                                 summary: Summary(m), perClass: m.perClass, trainCounts: f.classCounts,
                                 testCounts: m.evaluatedCounts, confusion: conf,
                                 compared: others.isEmpty ? nil : others.map {
                                     Other(classifier: $0.path, method: $0.method, summary: Summary($0.metrics),
                                           perClass: $0.metrics.perClass, againstFirst: Paired($0.paired))
                                 })))
    }

    /// The text report: overall and mean recall with their standard errors, the groups, and
    /// each compared classifier with its paired difference.
    func printText(_ m: Metrics, _ others: [Compared], file f: ClassifierFile) {
        print("classifier \(classifier) (method \(f.method), Tukey λ \(f.tukeyLambda.map { "\($0)" } ?? "none")\(f.rawWeight == nil ? "" : ", plus a head on the raw features")) on \(test): \(m.rows) rows")
        print("overall      \(pct(m.overall)) ± \(points(m.overallStandardError)) points (the standard error from these \(m.rows) rows)")
        if f.classCounts == nil {
            print("many / medium / few: unavailable (no class_counts in \(classifier); pass --train-counts-from TRAIN_FILE)")
        } else {
            print("many         \(pct(m.many))  (\(m.groupSizes["many"] ?? 0) classes, > \(shots.many) training rows)")
            print("medium       \(pct(m.medium))  (\(m.groupSizes["medium"] ?? 0) classes)")
            print("few          \(pct(m.few))  (\(m.groupSizes["few"] ?? 0) classes, < \(shots.few) training rows)")
        }
        print("mean recall  \(pct(m.meanPerClassRecall)) ± \(points(m.meanPerClassRecallStandardError)) points")
        for o in others {
            print("compare \(o.path) (method \(o.method)): overall \(pct(o.metrics.overall))  many \(pct(o.metrics.many))  medium \(pct(o.metrics.medium))  few \(pct(o.metrics.few))  mean recall \(pct(o.metrics.meanPerClassRecall))")
            let d = o.paired.overall, r = o.paired.meanPerClassRecall
            print("  minus \(classifier), paired on the same rows: overall \(signedPoints(d.difference)) ± \(points(d.standardError)), mean recall \(signedPoints(r.difference)) ± \(points(r.standardError)) points")
        }
        if let p = plot { print("plot written to \(p)") }
    }

    /// The metrics of these predictions; under MPI, of every rank's rows: the local
    /// confusion matrices (`C²` counts) are summed across ranks. O(N + C²).
    func score(_ predicted: [Int32], _ labels: [Int32], numClasses: Int, trainCounts: [Int]) -> Metrics {
        let local = Metrics(predictions: predicted, labels: labels, numClasses: numClasses, trainCounts: trainCounts,
                            thresholds: shots.thresholds)
        guard Job.isDistributed else { return local }
        var conf = local.confusion.map(Double.init)
        Job.ranks.sum(&conf)
        return Metrics(confusion: conf.map { Int($0) }, numClasses: numClasses, trainCounts: trainCounts,
                       thresholds: shots.thresholds)
    }

    /// `first` against `second` row by row; under MPI, the per-class counts (`3C`) are summed
    /// across ranks. O(N + C).
    func paired(_ first: [Int32], _ second: [Int32], _ labels: [Int32], numClasses c: Int) -> PairedComparison {
        let local = PairedComparison(first: first, second: second, labels: labels, numClasses: c)
        guard Job.isDistributed else { return local }
        var counts = (local.onlyFirst + local.onlySecond + local.rows).map(Double.init)
        Job.ranks.sum(&counts)
        let n = counts.map { Int($0) }
        return PairedComparison(onlyFirst: Array(n[0..<c]), onlySecond: Array(n[c..<(2 * c)]), rows: Array(n[(2 * c)...]))
    }
}

/// A fraction as percentage points: `0.42`.
private func points(_ x: Double) -> String { String(format: "%.2f", 100 * x) }
/// A difference as signed percentage points: `+0.42`.
private func signedPoints(_ x: Double) -> String { String(format: "%+.2f", 100 * x) }

/// A paired difference for JSON, in fractions as the summaries are.
private struct Paired: Encodable {
    var overallDifference: Double, overallStandardError: Double
    var meanPerClassRecallDifference: Double, meanPerClassRecallStandardError: Double
    init(_ p: PairedComparison) {
        (overallDifference, overallStandardError) = p.overall
        (meanPerClassRecallDifference, meanPerClassRecallStandardError) = p.meanPerClassRecall
    }
}
