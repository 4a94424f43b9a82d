import ArgumentParser
import Foundation
import Classifier
import FeatureIO
import Linalg

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a classifier file on a feature file: overall, Many / Medium / Few, mean per-class recall.",
        discussion: """
        Applies the classifier's recorded Tukey λ to the features first. Groups are by the \
        training counts stored in the classifier file. --plot writes an SVG of per-class \
        accuracy, classes ordered by training count, the count on a second axis.
        """)

    @Option(help: "Classifier file written by `afg train`.") var classifier: String
    @Option(help: "Feature file to evaluate on.") var test: String
    @Option(help: "Many: training count > this.") var many = 100
    @Option(help: "Few: training count < this.") var few = 20
    @Option(help: "Write a per-class accuracy SVG here.") var plot: String?
    @Flag(help: "Print JSON (with per-class accuracy and the confusion matrix).") var json = false

    func validate() throws {
        if few > many + 1 { throw ValidationError("--few must not exceed --many") }
    }

    func run() throws {
        let f = try FeatureStore.readClassifier(path: classifier)
        let (set, x) = try loadFeatures(test, numClasses: f.numClasses, lambda: f.tukeyLambda)
        if set.dim != f.dim { throw CLIError("\(test): feature dimension \(set.dim), classifier \(classifier) expects \(f.dim)") }
        let model = LinearModel(weight: Matrix(rows: f.numClasses, cols: f.dim, data: f.weight), bias: f.bias)
        let m = Metrics(model: model, features: x, labels: set.labels, trainCounts: f.classCounts,
                        thresholds: ShotThresholds(many: many, few: few))
        if let p = plot {
            let title = "\(f.method) on \((test as NSString).lastPathComponent): top-1 \(String(format: "%.2f", 100 * m.overall))%"
            try writeAtomically(contents: PerClassPlot.svg(metrics: m, trainCounts: f.classCounts, title: title), to: p)
        }
        if json {
            struct Out: Encodable {
                var classifier: String, test: String, method: String, tukeyLambda: Float?
                var summary: Summary, perClass: [Double?], trainCounts: [Int], testCounts: [Int], confusion: [[Int]]
            }
            let c = m.numClasses
            let conf = (0..<c).map { Array(m.confusion[($0 * c)..<(($0 + 1) * c)]) }
            print(try encodeJSON(Out(classifier: classifier, test: test, method: f.method, tukeyLambda: f.tukeyLambda,
                                     summary: Summary(m), perClass: m.perClass, trainCounts: f.classCounts,
                                     testCounts: m.evaluatedCounts, confusion: conf)))
        } else {
            print("classifier \(classifier) (method \(f.method), Tukey λ \(f.tukeyLambda.map { "\($0)" } ?? "none")) on \(test): \(m.rows) rows")
            print("overall      \(pct(m.overall))")
            print("many         \(pct(m.many))  (\(m.groupSizes["many"] ?? 0) classes, > \(many) training rows)")
            print("medium       \(pct(m.medium))  (\(m.groupSizes["medium"] ?? 0) classes)")
            print("few          \(pct(m.few))  (\(m.groupSizes["few"] ?? 0) classes, < \(few) training rows)")
            print("mean recall  \(pct(m.meanPerClassRecall))")
            if let p = plot { print("plot written to \(p)") }
        }
    }
}
