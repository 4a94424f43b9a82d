import Foundation
import XCTest
@testable import Linalg

/// The choice of OpenBLAS's kernel table: a table for an older instruction set than the
/// processor's is replaced by the processor's; a user's `OPENBLAS_CORETYPE` is left alone.
final class BLASKernelsTests: XCTestCase {
    func testTiersOfTablesAndProcessors() {
        XCTAssertEqual(BLASKernels.tier(ofTable: "Prescott"), .sse)
        XCTAssertEqual(BLASKernels.tier(ofTable: "Sandybridge"), .avx)
        XCTAssertEqual(BLASKernels.tier(ofTable: "Zen"), .avx2)
        XCTAssertEqual(BLASKernels.tier(ofTable: "SkylakeX"), .avx512)
        XCTAssertNil(BLASKernels.tier(ofTable: "Unknown"))
        let avx512 = "processor\t: 0\nflags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl\n"
        XCTAssertEqual(BLASKernels.processorTier(cpuinfo: avx512), .avx512)
        XCTAssertEqual(BLASKernels.processorTier(cpuinfo: "flags\t: sse sse2 avx fma avx2 avx512f\n"), .avx2,
                       "AVX-512 F alone is not what the SkylakeX kernels need")
        XCTAssertEqual(BLASKernels.processorTier(cpuinfo: "flags\t: sse sse2 avx\n"), .avx)
        XCTAssertNil(BLASKernels.processorTier(cpuinfo: "processor\t: 0\n"))
    }

    func testOnlyALaggingTableIsReplaced() {
        XCTAssertEqual(BLASKernels.upgrade(table: "Prescott", processor: .avx512), "SkylakeX")
        XCTAssertEqual(BLASKernels.upgrade(table: "Zen", processor: .avx512), "SkylakeX")
        XCTAssertEqual(BLASKernels.upgrade(table: "Prescott", processor: .avx2), "Haswell")
        XCTAssertNil(BLASKernels.upgrade(table: "Haswell", processor: .avx2))
        XCTAssertNil(BLASKernels.upgrade(table: "SkylakeX", processor: .avx2), "never a lower table than the library's")
        XCTAssertNil(BLASKernels.upgrade(table: "Prescott", processor: .avx), "no table between SSE3 and AVX2 to move to")
        XCTAssertNil(BLASKernels.upgrade(table: "Unknown", processor: .avx512))
        XCTAssertNil(BLASKernels.upgrade(table: "Prescott", processor: nil))
    }

    /// In this process: with no OPENBLAS_CORETYPE from the test runner, the table in use is at
    /// least the processor's tier; with one, it is the user's table, left as chosen. Either
    /// way the products still compute the right thing.
    func testTheTableInUseMatchesTheProcessor() throws {
        let table = try XCTUnwrap(BLASKernels.tier(ofTable: BLASKernels.name), BLASKernels.name)
        if let chosen = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }) {
            XCTAssertEqual(BLASKernels.name.lowercased(), chosen.lowercased(), "the user's table is kept")
        } else {
            let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            let processor = try XCTUnwrap(BLASKernels.processorTier(cpuinfo: info), "no flags line read from /proc/cpuinfo")
            if processor >= .avx2 { XCTAssertGreaterThanOrEqual(table, processor, "\(BLASKernels.name) on a \(processor) processor") }
        }
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 0, 0, 1, 1, 1]
        var c = [Float](repeating: 0, count: 4)
        Float._gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, &c, 2)
        XCTAssertEqual(c, [4, 5, 10, 11])
    }
}
