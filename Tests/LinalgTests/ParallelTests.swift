import Foundation
import XCTest
import Linalg

/// `parallelFor` and `parallelRanges`: every item exactly once, per-thread scratch never
/// shared by two bodies at once, and the same outputs for any thread count.
final class ParallelTests: XCTestCase {
    /// Item `i`'s output, computed through the scratch of the thread that runs it: if two
    /// bodies ran on one thread index at the same time, they would overwrite each other's
    /// scratch and the sums would differ from the one-thread run.
    private func run(count: Int, threads: Int) -> (sums: [Double], visits: [Int], maxThread: Int) {
        let width = 64
        var scratch = [Double](repeating: 0, count: max(threads, 1) * width)
        var sums = [Double](repeating: 0, count: count), visits = [Int](repeating: 0, count: count)
        let lock = NSLock()
        var maxThread = -1
        scratch.withUnsafeMutableBufferPointer { ps in
            sums.withUnsafeMutableBufferPointer { po in
                visits.withUnsafeMutableBufferPointer { pv in
                    let ps = ps.baseAddress!, po = po.baseAddress!, pv = pv.baseAddress!
                    parallelFor(count, threads: threads) { item, thread in
                        lock.lock(); maxThread = max(maxThread, thread); lock.unlock()
                        pv[item] += 1
                        let s = ps + thread * width
                        for j in 0..<width { s[j] = Double(item) * 0.37 + Double(j) }
                        // Long enough for another thread to start a body meanwhile.
                        var acc = 0.0
                        for _ in 0..<200 { for j in 0..<width { acc = acc * 0.999 + s[j] } }
                        po[item] = acc
                    }
                }
            }
        }
        return (sums, visits, maxThread)
    }

    func testEveryItemOnceWithItsOwnThreadScratch() {
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            let serial = run(count: count, threads: 1)
            XCTAssertEqual(serial.visits, [Int](repeating: 1, count: count))
            XCTAssertEqual(serial.maxThread, count > 0 ? 0 : -1, "one thread: thread 0 only")
            for threads in [2, 3, 8] {
                let r = run(count: count, threads: threads)
                XCTAssertEqual(r.visits, [Int](repeating: 1, count: count), "count \(count), threads \(threads)")
                XCTAssertLessThan(r.maxThread, max(min(threads, count), 1), "count \(count), threads \(threads)")
                XCTAssertTrue(r.sums == serial.sums, "count \(count), threads \(threads): outputs differ")
            }
        }
    }

    private struct Failed: Error, Equatable { var item: Int }

    /// Results in item order for any thread count; every item runs even when some throw,
    /// and the error rethrown is the lowest throwing item's, whichever finished first.
    func testMapKeepsItemOrderAndRethrowsTheLowestItemsError() throws {
        for threads in [1, 2, 8] {
            XCTAssertEqual(try parallelMap(0, threads: threads) { $0 }, [])
            XCTAssertEqual(try parallelMap(50, threads: threads) { i -> Int in
                var acc = i
                for _ in 0..<(50 - i) * 200 { acc = (acc &* 31 &+ 7) % 1_000_003 }   // later items finish sooner
                return i * 10 + (acc >= 0 ? 0 : 1)
            }, (0..<50).map { $0 * 10 }, "threads \(threads)")
            let lock = NSLock()
            var ran = Set<Int>()
            XCTAssertThrowsError(try parallelMap(40, threads: threads) { i -> Int in
                lock.lock(); ran.insert(i); lock.unlock()
                if i == 30 || i == 7 { throw Failed(item: i) }
                if i < 7 { usleep(2000) }   // item 30 throws before item 7 when items run concurrently
                return i
            }, "threads \(threads)") { XCTAssertEqual($0 as? Failed, Failed(item: 7), "threads \(threads)") }
            XCTAssertEqual(ran, Set(0..<40), "threads \(threads): every item runs")
        }
    }

    func testRangesCoverEveryIndexOnceInContiguousPieces() {
        for (n, cost) in [(0, 1_000_000), (1, 1_000_000), (5, 1_000_000), (100, 1_000_000), (100_003, 1), (1000, 1)] {
            var owner = [Int](repeating: -1, count: n)
            var ranges: [Range<Int>] = []
            let lock = NSLock()
            owner.withUnsafeMutableBufferPointer { po in
                let po = po.baseAddress!
                parallelRanges(n, costPerItem: cost) { r in
                    lock.lock(); ranges.append(r); lock.unlock()
                    for i in r { po[i] = po[i] == -1 ? r.lowerBound : -2 }
                }
            }
            XCTAssertFalse(owner.contains(-1), "n \(n): an index not visited")
            XCTAssertFalse(owner.contains(-2), "n \(n): an index visited twice")
            XCTAssertFalse(ranges.contains { $0.isEmpty }, "n \(n): an empty range")
            XCTAssertEqual(ranges.map(\.count).reduce(0, +), n)
            XCTAssertLessThanOrEqual(ranges.count, max(1, 4 * availableProcessorCount))
            if n * cost < 32_768 { XCTAssertLessThanOrEqual(ranges.count, 1, "n \(n): small work is one range") }
        }
    }
}
