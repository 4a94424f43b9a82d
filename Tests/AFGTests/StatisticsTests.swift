import XCTest
import Linalg
@testable import AFG

final class StatisticsTests: XCTestCase {
    func testWholeMatrixMatchesNaive() throws {
        let (x, y) = toyData(counts: [50, 20, 7, 1, 2], dim: 6, seed: 1)
        let s = try ClassStatistics(features: x, labels: y, numClasses: 5)
        let ref = Reference.stats(x, y, 5)
        XCTAssertEqual(s.counts, ref.counts)
        for c in 0..<5 {
            XCTAssertLessThan(maxRelDiff(s.means.row(c), ref.means[c]), 1e-6, "mean of class \(c)")
            XCTAssertLessThan(maxRelDiff(s.covariance(of: c).data, ref.covs[c].flatMap { $0 }), 1e-5, "cov of class \(c)")
        }
        XCTAssertEqual(s.covariance(of: 3).data, Array(repeating: 0, count: 36), "one sample: zero covariance")
    }

    /// Streamed in blocks (fixed and random sizes, shuffled rows) == the whole matrix to 1e-5.
    func testStreamedEqualsWhole() throws {
        // Features far from the origin: the naive one-pass formula would lose digits here.
        var (x, y) = toyData(counts: [300, 120, 40, 9, 3, 1], dim: 12, seed: 2)
        for i in x.data.indices { x.data[i] += 1000 }
        let whole = try ClassStatistics(features: x, labels: y, numClasses: 6)
        let ref = Reference.stats(x, y, 6)
        for c in 0..<6 {
            let cov = whole.covariance(of: c).data, want = ref.covs[c].flatMap { $0 }
            let scale = max(want.map(abs).max()!, 1e-30)
            for i in cov.indices { XCTAssertEqual(Double(cov[i]), want[i], accuracy: 1e-5 * scale, "class \(c)") }
        }
        for seed: UInt64 in 1...4 {
            var rng = Xoshiro256(seed: seed)
            var acc = StatisticsAccumulator(numClasses: 6, dim: 12)
            var r = 0
            try x.data.withUnsafeBufferPointer { px in
                try y.withUnsafeBufferPointer { py in
                    while r < x.rows {
                        let b = min(x.rows - r, seed == 1 ? 1 : 1 + Int(rng.next() % 97))
                        try acc.add(rows: b, features: UnsafeBufferPointer(rebasing: px[(r * 12)..<((r + b) * 12)]),
                                    labels: UnsafeBufferPointer(rebasing: py[r..<(r + b)]))
                        r += b
                    }
                }
            }
            let s = try acc.finalize()
            XCTAssertEqual(s.counts, whole.counts)
            for c in 0..<6 {
                let a = s.covariance(of: c).data, b = whole.covariance(of: c).data
                let scale = max(b.map { abs(Double($0)) }.max()!, 1e-30)
                for i in a.indices { XCTAssertEqual(Double(a[i]), Double(b[i]), accuracy: 1e-5 * scale, "seed \(seed), class \(c)") }
                for j in 0..<12 { XCTAssertEqual(s.means[c, j], whole.means[c, j], accuracy: 1e-5 * abs(whole.means[c, j]), "seed \(seed)") }
            }
        }
    }

    func testBadLabelsAndValuesNameTheRow() {
        var acc = StatisticsAccumulator(numClasses: 3, dim: 2)
        XCTAssertNoThrow(try acc.add(features: Matrix(rows: 2, cols: 2, data: [1, 2, 3, 4]), labels: [0, 1]))
        XCTAssertThrowsError(try acc.add(features: Matrix(rows: 2, cols: 2, data: [1, 2, 3, 4]), labels: [0, 3])) { e in
            XCTAssertEqual(e as? AFGError, .labelOutOfRange(row: 3, label: 3, numClasses: 3))
        }
        XCTAssertThrowsError(try acc.add(features: Matrix(rows: 1, cols: 2, data: [1, .infinity]), labels: [0])) { e in
            XCTAssertEqual(e as? AFGError, .nonFiniteFeature(row: 2, column: 1))
        }
        XCTAssertEqual(acc.rowsSeen, 2, "a failing block leaves the state unchanged")
        XCTAssertThrowsError(try acc.add(features: Matrix(rows: 2, cols: 2, data: [1, 2, 3, 4]), labels: [0])) { e in
            XCTAssertEqual(e as? AFGError, .shapeMismatch(features: 2, labels: 1))
        }
        let means = try? StatisticsAccumulator(numClasses: 3, dim: 2, covariances: false).finalize()
        XCTAssertNil(means?.covariances)
        XCTAssertEqual(means?.counts, [0, 0, 0])
    }

    /// Finite features whose squares leave Float's range: every way of computing the
    /// statistics names the class instead of returning Inf covariances; means alone are fine.
    func testCovarianceOverflowIsAnError() throws {
        let x = Matrix<Float>(rows: 4, cols: 2, data: [1, 2, 3, 4, 1e30, 0, -1e30, 1])
        let labels: [Int32] = [0, 0, 1, 1]
        let overflow = AFGError.covarianceOverflow(classIndex: 1)
        XCTAssertThrowsError(try ClassStatistics(features: x, labels: labels, numClasses: 2)) { XCTAssertEqual($0 as? AFGError, overflow) }
        XCTAssertThrowsError(try ClassStatistics(features: x, labels: labels, numClasses: 2, sumAcrossRanks: { _ in })) {
            XCTAssertEqual($0 as? AFGError, overflow)
        }
        var acc = StatisticsAccumulator(numClasses: 2, dim: 2)
        try acc.add(features: x, labels: labels)
        XCTAssertThrowsError(try acc.finalize()) { XCTAssertEqual($0 as? AFGError, overflow) }
        let means = try ClassStatistics(features: x, labels: labels, numClasses: 2, covariances: false)
        XCTAssertEqual(means.means[1, 0], 0)
        XCTAssertEqual(overflow.description, "AFG: the covariance of class 1 overflows 32-bit floats; rescale the features")
    }
}
