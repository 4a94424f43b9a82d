import Foundation
import Linalg
import AFG

/// Cut points of the Many / Medium / Few report (method.md: Many `n_c > 100`,
/// Medium `20 ≤ n_c ≤ 100`, Few `n_c < 20`), by *training* count.
public struct ShotThresholds: Codable, Equatable, Sendable {
    public enum Settings {
        public static let many = Setting<Int>("many", "Many: training count > this.", default: 100, .atLeast(0))
        public static let few = Setting<Int>("few", "Few: training count < this.", default: 20, .atLeast(0))
    }
    /// A class is Many when its training count is `> many`.
    public var many: Int
    /// A class is Few when its training count is `< few`.
    public var few: Int
    public init(many: Int = Settings.many.value, few: Int = Settings.few.value) {
        precondition(few <= many + 1, "ShotThresholds: few (\(few)) above many (\(many))")
        self.many = many; self.few = few
    }
    /// Throws `SettingError` for a threshold outside its interval, or when `few > many + 1`
    /// (a class would be both Many and Few).
    public static func check(many: Int, few: Int) throws {
        try Settings.many.check(many)
        try Settings.few.check(few)
        if few > many + 1 {
            throw SettingError(name: "few", value: "\(few)", interval: "≤ many + 1 = \(many + 1) (Few: n < few, Many: n > many)")
        }
    }
    public enum Group: String, Codable, Sendable { case many, medium, few }
    public func group(ofCount n: Int) -> Group { n > many ? .many : (n < few ? .few : .medium) }
}

/// Evaluation figures of a classifier on one split.
///
/// Group accuracies are the mean of the per-class accuracies of the group's classes that
/// occur in the evaluated split (as in Kang et al.'s `shot_acc`); a group without such a
/// class is nil. `meanPerClassRecall` is the same mean over all occurring classes.
public struct Metrics: Codable, Equatable, Sendable {
    /// Top-1 accuracy over all rows.
    public var overall: Double
    public var many: Double?
    public var medium: Double?
    public var few: Double?
    public var meanPerClassRecall: Double
    /// `C` per-class accuracies (recall); nil for classes absent from the split.
    public var perClass: [Double?]
    /// `C` rows per class in the evaluated split.
    public var evaluatedCounts: [Int]
    /// `C × C`, row-major: `confusion[t·C + p]` rows of true class `t` predicted `p`.
    public var confusion: [Int]
    public var numClasses: Int
    public var rows: Int
    public var thresholds: ShotThresholds
    /// Classes per group (by training count), for the report.
    public var groupSizes: [String: Int]

    /// - Parameters:
    ///   - predictions, labels: `N` each, in `0..<numClasses`.
    ///   - trainCounts: `C` training rows per class (defines the groups).
    /// - Complexity: O(N + C²) (the confusion matrix is `C²` Ints).
    public init(predictions: [Int32], labels: [Int32], numClasses: Int, trainCounts: [Int],
                thresholds: ShotThresholds = .init()) {
        precondition(predictions.count == labels.count, "Metrics: \(predictions.count) predictions, \(labels.count) labels")
        precondition(trainCounts.count == numClasses, "Metrics: \(trainCounts.count) train counts for \(numClasses) classes")
        let c = numClasses
        var conf = [Int](repeating: 0, count: c * c)
        for (p, y) in zip(predictions, labels) { conf[Int(y) * c + Int(p)] += 1 }
        self.init(confusion: conf, numClasses: c, trainCounts: trainCounts, thresholds: thresholds)
    }

    /// The metrics of a confusion matrix (`C × C`, row = true class, column = prediction),
    /// e.g. one summed across the processes of a job: the same figures as the predictions
    /// it counts. - Complexity: O(C²).
    public init(confusion conf: [Int], numClasses: Int, trainCounts: [Int], thresholds: ShotThresholds = .init()) {
        precondition(conf.count == numClasses * numClasses, "Metrics: confusion has \(conf.count) entries for \(numClasses) classes")
        precondition(trainCounts.count == numClasses, "Metrics: \(trainCounts.count) train counts for \(numClasses) classes")
        let c = numClasses
        var counts = [Int](repeating: 0, count: c), correct = [Int](repeating: 0, count: c)
        var right = 0, total = 0
        for y in 0..<c {
            for p in 0..<c { counts[y] += conf[y * c + p] }
            correct[y] = conf[y * c + y]
            right += correct[y]; total += counts[y]
        }
        let per: [Double?] = (0..<c).map { counts[$0] > 0 ? Double(correct[$0]) / Double(counts[$0]) : nil }
        func mean(_ g: ShotThresholds.Group?) -> Double? {
            var s = 0.0, k = 0
            for j in 0..<c { if let a = per[j], g == nil || thresholds.group(ofCount: trainCounts[j]) == g { s += a; k += 1 } }
            return k > 0 ? s / Double(k) : nil
        }
        overall = total == 0 ? 0 : Double(right) / Double(total)
        many = mean(.many); medium = mean(.medium); few = mean(.few)
        meanPerClassRecall = mean(nil) ?? 0
        perClass = per; evaluatedCounts = counts; confusion = conf
        self.numClasses = c; rows = total; self.thresholds = thresholds
        var sizes = ["many": 0, "medium": 0, "few": 0]
        for n in trainCounts { sizes[thresholds.group(ofCount: n).rawValue, default: 0] += 1 }
        groupSizes = sizes
    }

    /// The standard error of `overall` from the evaluated rows alone, `√(p(1 − p)/N)`: how far
    /// the figure moves between test splits of this size drawn from the same data, the
    /// classifier fixed. 0 for no rows. O(1).
    public var overallStandardError: Double {
        rowMean(up: (0..<numClasses).reduce(0) { $0 + confusion[$1 * numClasses + $1] }, down: 0, rows: rows).se
    }

    /// The standard error of `meanPerClassRecall` from the evaluated rows alone, each class's
    /// rows a sample of their own: `√(Σ_k r_k(1 − r_k)/n_k) / K` over the `K` occurring
    /// classes. O(C).
    public var meanPerClassRecallStandardError: Double {
        classMean(up: (0..<numClasses).map { confusion[$0 * numClasses + $0] }, down: nil, rows: evaluatedCounts).se
    }

    /// Evaluates `model` on `features` (`N × D`).
    public init(model: LinearModel, features: Matrix<Float>, labels: [Int32], trainCounts: [Int],
                thresholds: ShotThresholds = .init()) {
        self.init(predictions: model.predict(features), labels: labels, numClasses: model.numClasses,
                  trainCounts: trainCounts, thresholds: thresholds)
    }
}

/// Two classifiers scored on the same rows, paired row by row: per class, the rows only the
/// first gets right, the rows only the second gets right, and the rows. The difference of
/// two figures measured on one test split has a far smaller standard error than either
/// figure: the rows both get right (or wrong) cancel.
public struct PairedComparison: Equatable, Sendable {
    /// `C` each.
    public var onlyFirst: [Int]
    public var onlySecond: [Int]
    public var rows: [Int]

    /// - Parameters: `first`, `second`, `labels`: `N` each, in `0..<numClasses`. O(N + C).
    public init(first: [Int32], second: [Int32], labels: [Int32], numClasses: Int) {
        precondition(first.count == labels.count && second.count == labels.count,
                     "PairedComparison: \(first.count) and \(second.count) predictions for \(labels.count) labels")
        var a = [Int](repeating: 0, count: numClasses), b = a, n = a
        for i in labels.indices {
            let y = Int(labels[i]), r1 = first[i] == labels[i], r2 = second[i] == labels[i]
            n[y] += 1
            if r1 && !r2 { a[y] += 1 } else if r2 && !r1 { b[y] += 1 }
        }
        self.init(onlyFirst: a, onlySecond: b, rows: n)
    }

    /// From counts, e.g. summed across the processes of a job. O(1).
    public init(onlyFirst: [Int], onlySecond: [Int], rows: [Int]) {
        precondition(onlyFirst.count == rows.count && onlySecond.count == rows.count, "PairedComparison: counts of unequal length")
        self.onlyFirst = onlyFirst; self.onlySecond = onlySecond; self.rows = rows
    }

    /// First's overall accuracy minus second's, and its standard error over the rows. O(C).
    public var overall: (difference: Double, standardError: Double) {
        let d = rowMean(up: onlyFirst.reduce(0, +), down: onlySecond.reduce(0, +), rows: rows.reduce(0, +))
        return (d.mean, d.se)
    }

    /// First's mean per-class recall minus second's over the classes with rows, and its
    /// standard error (each class's rows a sample of their own). O(C).
    public var meanPerClassRecall: (difference: Double, standardError: Double) {
        let d = classMean(up: onlyFirst, down: onlySecond, rows: rows)
        return (d.mean, d.se)
    }
}

/// The mean of a per-row value over `rows` rows of which `up` are 1, `down` are −1 and the
/// rest 0, and its standard error from the rows: `(up − down)/n` and
/// `√((up + down)/n − mean²) / √n`; an accuracy is the case `down = 0` (`√(p(1 − p)/n)`), a
/// paired difference of two classifiers' rights the general one. (0, 0) for no rows. O(1).
func rowMean(up: Int, down: Int, rows n: Int) -> (mean: Double, se: Double) {
    guard n > 0 else { return (0, 0) }
    let m = Double(up - down) / Double(n), second = Double(up + down) / Double(n)
    return (m, (max(0, second - m * m) / Double(n)).squareRoot())
}

/// The mean of per-class `rowMean`s over the classes with rows (`down` nil: none are −1),
/// and its standard error, each class's rows a sample of their own: `√(Σ_k se_k²) / K`.
/// (0, 0) for no rows. O(C).
func classMean(up: [Int], down: [Int]?, rows: [Int]) -> (mean: Double, se: Double) {
    var m = 0.0, v = 0.0, k = 0
    for c in rows.indices where rows[c] > 0 {
        let d = rowMean(up: up[c], down: down?[c] ?? 0, rows: rows[c])
        m += d.mean; v += d.se * d.se; k += 1
    }
    return k > 0 ? (m / Double(k), v.squareRoot() / Double(k)) : (0, 0)
}
