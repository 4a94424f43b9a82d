import Foundation
import Linalg
import XCTest
@testable import AFG

/// The maths of the MPI paths without MPI: `ClassStatistics(…, sumAcrossRanks:)` with
/// ranks simulated by threads that meet in an in-process sum, and the epoch split by
/// `generateBlocks`.
final class RanksStatisticsTests: XCTestCase {
    /// `size` threads that sum Double buffers elementwise, rank order, every rank getting
    /// the same result (what `Distributed.Ranks.sum` promises).
    final class InProcessSum: @unchecked Sendable {
        let size: Int
        private let lock = NSCondition()
        private var buffers: [[Double]]
        private var result: [Double] = []
        private var arrived = 0, round = 0

        init(size: Int) { self.size = size; buffers = Array(repeating: [], count: size) }

        func sum(rank: Int, _ x: inout [Double]) {
            lock.lock(); defer { lock.unlock() }
            let mine = round
            buffers[rank] = x
            arrived += 1
            if arrived == size {
                var total = buffers[0]
                for r in 1..<size { for i in total.indices { total[i] += buffers[r][i] } }
                result = total; arrived = 0; round += 1
                lock.broadcast()
            } else {
                while round == mine { lock.wait() }
            }
            x = result
        }

        /// Runs `body(rank)` on `size` threads and returns the results by rank.
        func run<T>(_ body: @escaping (Int) throws -> T) throws -> [T] {
            let slots = (0..<size).map { _ in Slot<T>() }
            let done = DispatchGroup()
            for r in 0..<size {
                done.enter()
                Thread { slots[r].value = Result { try body(r) }; done.leave() }.start()
            }
            done.wait()
            return try slots.map { try $0.value!.get() }
        }
    }

    /// One thread's outcome.
    final class Slot<T>: @unchecked Sendable { var value: Result<T, Error>? }

    /// `n` rows of `C` classes with imbalanced counts, D columns, reproducible.
    func data(n: Int, d: Int, classes: Int, seed: UInt64) -> (Matrix<Float>, [Int32]) {
        var rng = Xoshiro256(seed: seed)
        var x = Matrix<Float>(rows: n, cols: d)
        var y = [Int32](repeating: 0, count: n)
        for r in 0..<n {
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            let c = min(classes - 1, Int(Double(classes) * u * u))      // skewed towards class 0
            y[r] = Int32(c)
            for j in 0..<d { x.data[r * d + j] = Float(c) + Float(Int(rng.next() % 1000)) / 250 + Float(j % 3) }
        }
        return (x, y)
    }

    func rows(_ x: Matrix<Float>, _ y: [Int32], _ range: Range<Int>) -> (Matrix<Float>, [Int32]) {
        (Matrix(rows: range.count, cols: x.cols, data: Array(x.data[(range.lowerBound * x.cols)..<(range.upperBound * x.cols)])),
         Array(y[range]))
    }

    func testStatisticsSummedAcrossSimulatedRanksEqualTheTwoPassStatistics() throws {
        for (seed, size) in [(UInt64(1), 1), (2, 2), (3, 3), (4, 5)] {
            let (x, y) = data(n: 157, d: 6, classes: 7, seed: seed)
            let reference = try ClassStatistics(features: x, labels: y, numClasses: 9)   // classes 7, 8: no rows
            let sim = InProcessSum(size: size)
            let parts = try sim.run { r -> ClassStatistics in
                let lo = r * 157 / size, hi = (r + 1) * 157 / size
                let (px, py) = self.rows(x, y, lo..<hi)
                return try ClassStatistics(features: px, labels: py, numClasses: 9, sumAcrossRanks: { sim.sum(rank: r, &$0) })
            }
            for (r, s) in parts.enumerated() {
                XCTAssertEqual(s.counts, reference.counts, "seed \(seed) rank \(r) of \(size)")
                XCTAssertEqual(s, parts[0], "seed \(seed): rank \(r) differs from rank 0")
                for (a, b) in zip(s.means.data, reference.means.data) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b)), "seed \(seed)") }
                let scale = reference.covariances!.map { abs($0) }.max()!
                for (a, b) in zip(s.covariances!, reference.covariances!) { XCTAssertEqual(a, b, accuracy: 1e-6 * scale, "seed \(seed)") }
            }
        }
    }

    func testAScatterSumThatKeepsTheTotalOnOneRankLeavesMeansAndCountsEverywhere() throws {
        let (x, y) = data(n: 60, d: 4, classes: 3, seed: 9)
        let reference = try ClassStatistics(features: x, labels: y, numClasses: 3)
        let sim = InProcessSum(size: 2)
        let parts = try sim.run { r -> ClassStatistics in
            let (px, py) = self.rows(x, y, (r * 30)..<((r + 1) * 30))
            // A reduce to rank 0: rank 1 keeps its own partial scatter.
            return try ClassStatistics(features: px, labels: py, numClasses: 3, sumAcrossRanks: { sim.sum(rank: r, &$0) },
                                       scatterSum: { v in var t = v; sim.sum(rank: r, &t); if r == 0 { v = t }; return r == 0 })
        }
        XCTAssertNil(parts[1].covariances)
        XCTAssertEqual(parts[1].counts, reference.counts)
        XCTAssertEqual(parts[1].means, parts[0].means)
        let scale = reference.covariances!.map { abs($0) }.max()!
        for (a, b) in zip(parts[0].covariances!, reference.covariances!) { XCTAssertEqual(a, b, accuracy: 1e-6 * scale) }
    }

    func testBlocksOfAnEpochConcatenateToTheEpoch() throws {
        let (x, y) = data(n: 120, d: 5, classes: 6, seed: 5)
        var cfg = GeneratorConfig(k: 2, alpha: 0.05, initialBeta: 0.6, headThreshold: 30)
        cfg.blockRows = 7
        let gen = try FeatureGenerator(features: x, labels: y, numClasses: 6, config: cfg)
        let whole = gen.generate(seed: 11, epoch: 2)
        XCTAssertGreaterThan(gen.blockCount, 3)
        for size in [1, 2, 3, gen.blockCount + 2] {     // more ranks than blocks: some generate nothing
            var features: [Float] = [], labels: [Int32] = []
            for r in 0..<size {
                let part = gen.generateBlocks((r * gen.blockCount / size)..<((r + 1) * gen.blockCount / size), seed: 11, epoch: 2)
                features += part.features; labels += part.labels
            }
            XCTAssertEqual(labels, whole.labels, "\(size) parts")
            XCTAssertEqual(features, whole.features.data, "\(size) parts: not the one-process bits")
        }
    }
}
