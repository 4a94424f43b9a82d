import XCTest
import Linalg
@testable import Classifier

final class MetricsTests: XCTestCase {
    func testAgainstHandCount() {
        // 4 classes; training counts put class 0 in Many, 1 and 2 in Medium, 3 in Few.
        let train = [150, 100, 20, 19]
        let labels: [Int32] = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3]
        let preds: [Int32] = [0, 0, 1, 1, 0, 2, 3, 0, 0, 0]
        let m = Metrics(predictions: preds, labels: labels, numClasses: 4, trainCounts: train)
        XCTAssertEqual(m.overall, 5.0 / 10, accuracy: 1e-12)
        XCTAssertEqual(m.perClass[0]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.perClass[1]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.perClass[3]!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(m.many!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.medium!, (0.5 + 1.0) / 2, accuracy: 1e-12)
        XCTAssertEqual(m.few!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(m.meanPerClassRecall, (2.0 / 3 + 0.5 + 1 + 0.25) / 4, accuracy: 1e-12)
        XCTAssertEqual(m.confusion[3 * 4 + 0], 3)
        XCTAssertEqual(m.confusion.reduce(0, +), 10)
        XCTAssertEqual(m.groupSizes, ["many": 1, "medium": 2, "few": 1])
        // Other cut points move classes between groups; an empty group is nil.
        let m2 = Metrics(predictions: preds, labels: labels, numClasses: 4, trainCounts: train, thresholds: .init(many: 10, few: 5))
        XCTAssertNil(m2.few); XCTAssertNil(m2.medium)
        XCTAssertEqual(m2.many!, m.meanPerClassRecall, accuracy: 1e-12)
        // A class absent from the split has no accuracy and is left out of the means.
        let m3 = Metrics(predictions: [0, 1], labels: [0, 1], numClasses: 3, trainCounts: [1, 1, 1])
        XCTAssertNil(m3.perClass[2]); XCTAssertEqual(m3.meanPerClassRecall, 1)
    }

    /// The standard errors against their closed forms on a hand-counted split.
    func testStandardErrorsFromTheRows() {
        // Class 0: 8 of 10 right; class 1: 1 of 4; class 2 absent.
        let labels: [Int32] = Array(repeating: 0, count: 10) + Array(repeating: 1, count: 4)
        let preds: [Int32] = Array(repeating: 0, count: 8) + [1, 1] + [1, 0, 0, 0]
        let m = Metrics(predictions: preds, labels: labels, numClasses: 3, trainCounts: [10, 4, 1])
        let p = 9.0 / 14
        XCTAssertEqual(m.overallStandardError, (p * (1 - p) / 14).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(m.meanPerClassRecallStandardError, (0.8 * 0.2 / 10 + 0.25 * 0.75 / 4).squareRoot() / 2, accuracy: 1e-12)
        // All right: no spread.
        let all = Metrics(predictions: labels, labels: labels, numClasses: 3, trainCounts: [10, 4, 1])
        XCTAssertEqual(all.overallStandardError, 0); XCTAssertEqual(all.meanPerClassRecallStandardError, 0)
    }

    /// The paired difference is the difference of the two figures; its standard error is the
    /// per-row difference's (sample mean and its population spread), per class for the mean
    /// recall; order flips the sign only; counts summed over parts of the rows (the MPI path)
    /// give the whole's.
    func testPairedComparison() {
        let labels: [Int32] = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2]
        let a: [Int32] = [0, 0, 0, 1, 2, 1, 0, 1, 2, 0]
        let b: [Int32] = [0, 0, 1, 1, 0, 1, 1, 0, 2, 2]
        let pc = PairedComparison(first: a, second: b, labels: labels, numClasses: 3)
        let ma = Metrics(predictions: a, labels: labels, numClasses: 3, trainCounts: [5, 3, 2])
        let mb = Metrics(predictions: b, labels: labels, numClasses: 3, trainCounts: [5, 3, 2])
        XCTAssertEqual(pc.overall.difference, ma.overall - mb.overall, accuracy: 1e-12)
        XCTAssertEqual(pc.meanPerClassRecall.difference, ma.meanPerClassRecall - mb.meanPerClassRecall, accuracy: 1e-12)
        func se(_ d: [Double]) -> Double {
            let m = d.reduce(0, +) / Double(d.count)
            return (d.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(d.count) / Double(d.count)).squareRoot()
        }
        let d = labels.indices.map { Double(a[$0] == labels[$0] ? 1 : 0) - Double(b[$0] == labels[$0] ? 1 : 0) }
        XCTAssertEqual(pc.overall.standardError, se(d), accuracy: 1e-12)
        let perClass = (0..<3).map { k in se(labels.indices.filter { labels[$0] == k }.map { d[$0] }) }
        XCTAssertEqual(pc.meanPerClassRecall.standardError,
                       perClass.map { $0 * $0 }.reduce(0, +).squareRoot() / 3, accuracy: 1e-12)
        XCTAssertGreaterThan(pc.overall.standardError, 0)
        let flipped = PairedComparison(first: b, second: a, labels: labels, numClasses: 3)
        XCTAssertEqual(flipped.overall.difference, -pc.overall.difference, accuracy: 1e-12)
        XCTAssertEqual(flipped.overall.standardError, pc.overall.standardError, accuracy: 1e-12)
        let h1 = PairedComparison(first: Array(a[..<4]), second: Array(b[..<4]), labels: Array(labels[..<4]), numClasses: 3)
        let h2 = PairedComparison(first: Array(a[4...]), second: Array(b[4...]), labels: Array(labels[4...]), numClasses: 3)
        let summed = PairedComparison(onlyFirst: zip(h1.onlyFirst, h2.onlyFirst).map { $0 + $1 },
                                      onlySecond: zip(h1.onlySecond, h2.onlySecond).map { $0 + $1 },
                                      rows: zip(h1.rows, h2.rows).map { $0 + $1 })
        XCTAssertEqual(summed, pc)
        // The same predictions: nothing to tell apart.
        let same = PairedComparison(first: a, second: a, labels: labels, numClasses: 3)
        XCTAssertEqual(same.overall.difference, 0); XCTAssertEqual(same.overall.standardError, 0)
    }

    func testClassBalancedSamplerIsUniformOverClasses() {
        // Counts 1000 / 100 / 10 / 1: each class should get count/4 draws, binomial sd ≈ √(n·p·q).
        var labels: [Int32] = []
        for (c, k) in [1000, 100, 10, 1].enumerated() { labels += Array(repeating: Int32(c), count: k) }
        var rng = Xoshiro256(seed: 4)
        let n = 40_000
        let order = Sampler.classBalanced(labels: labels, numClasses: 5, count: n, using: &rng)
        var per = [Int](repeating: 0, count: 5)
        for i in order { per[Int(labels[i])] += 1 }
        let sd = (Double(n) * 0.25 * 0.75).squareRoot()
        for c in 0..<4 { XCTAssertEqual(Double(per[c]), Double(n) / 4, accuracy: 5 * sd, "class \(c)") }
        XCTAssertEqual(per[4], 0, "an empty class is never drawn")
        let perm = Sampler.instanceBalanced(count: 1000, using: &rng)
        XCTAssertEqual(perm.sorted(), Array(0..<1000))
        XCTAssertNotEqual(perm, Array(0..<1000))
    }
}
