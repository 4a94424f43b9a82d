import Foundation
import XCTest
import Linalg

final class CompensatedSumTests: XCTestCase {
    /// Terms spanning 2⁻⁴⁰ to 2¹⁰ with heavy cancellation: plain Double sums of
    /// the same terms split differently disagree, the compensated sums round to the same
    /// value for every split, and that value is the exact sum (computed in integers).
    func testEverySplitRoundsToTheSameSum() {
        var rng = Xoshiro256(seed: 11, stream: 0)
        // Multiples of 2⁻⁴⁰ below 2¹⁰: every partial sum needs up to 63 bits (Double keeps
        // 53), and the exact sum is an Int64 count of 2⁻⁴⁰.
        let terms: [Double] = (0..<5000).map { i in
            let magnitude = Double(rng.next() % (1 << 20)) * pow(2, Double(Int(rng.next() % 30)) - 40)
            return i % 2 == 0 ? magnitude : -magnitude
        }
        func plain(_ cuts: [Int]) -> Double {
            var parts = [Double]()
            for (a, b) in zip(cuts, cuts.dropFirst()) { parts.append(terms[a..<b].reduce(0, +)) }
            return parts.reduce(0, +)
        }
        func compensated(_ cuts: [Int]) -> Double {
            var total = CompensatedSum(count: 1)
            for (a, b) in zip(cuts, cuts.dropFirst()) {
                var part = CompensatedSum(count: 1)
                for t in terms[a..<b] { part.add(t, at: 0) }
                total.add(part)
            }
            return total.rounded()[0]
        }
        let splits = [[0, 5000], [0, 1, 5000], [0, 1700, 3301, 5000], [0, 256, 512, 4000, 4999, 5000],
                      Array(stride(from: 0, to: 5000, by: 97)) + [5000]]
        let plainSums = Set(splits.map(plain))
        XCTAssertGreaterThan(plainSums.count, 1, "the terms should expose Double's rounding (else the test is vacuous)")
        let sums = splits.map(compensated)
        XCTAssertEqual(Set(sums).count, 1, "compensated sums differ across splits: \(sums)")
        let exactValue = Double(terms.reduce(Int64(0)) { $0 + Int64($1 * pow(2, 40)) }) * pow(2, -40)
        XCTAssertEqual(sums[0], exactValue, "the compensated sum is not the rounded exact sum")
    }

    func testSmallTermsAreNotLostNextToLargeOnes() {
        var s = CompensatedSum(count: 2)
        s.add(1e16, at: 0); s.add(1, at: 0); s.add(-1e16, at: 0)
        s.add(1, at: 1)
        for _ in 0..<1000 { s.add(1e-17, at: 1) }
        XCTAssertEqual(s.rounded()[0], 1)                   // plain Double gives 0
        XCTAssertEqual(s.rounded()[1], 1 + 1e-14, accuracy: 1e-16)
        var other = CompensatedSum(count: 2)
        other.add(-1, at: 1)
        s.add(other)
        XCTAssertEqual(s.rounded()[1], 1e-14, accuracy: 1e-26)
    }
}
