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
