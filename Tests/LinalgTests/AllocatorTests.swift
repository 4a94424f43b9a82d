import XCTest
import Foundation
@testable import Linalg

final class AllocatorTests: XCTestCase {
    /// After `keepFreedBlocks`, a freed 16 MiB block goes back to the heap and the next
    /// block of that size is the same memory (glibc's default would have mapped the first
    /// with its own `mmap` and unmapped it on `free`).
    func testFreedBlocksAreReused() {
        XCTAssertTrue(keepFreedBlocks())
        let size = 16 << 20
        guard let first = malloc(size) else { return XCTFail("malloc") }
        memset(first, 1, size)
        free(first)
        guard let second = malloc(size) else { return XCTFail("malloc") }
        defer { free(second) }
        XCTAssertEqual(first, second, "the freed block was not reused")
    }

    /// Working memory is 64-byte aligned, 2 MiB aligned from one huge page up, writable
    /// to its last byte, and (where the kernel offers transparent huge pages on advice) a
    /// fresh 32 MiB buffer is backed by huge pages: its pages are not faulted in 4 KiB at a
    /// time. (Larger than every block freed before it, so it is memory never touched.)
    func testWorkingMemoryAlignmentAndHugePages() throws {
        for bytes in [1, 100, 4096, (2 << 20) - 1, 2 << 20, (4 << 20) + 7] {
            let p = allocateWorkingMemory(bytes: bytes)
            defer { releaseWorkingMemory(p) }
            let address = Int(bitPattern: p)
            XCTAssertEqual(address % 64, 0, "\(bytes) bytes")
            if bytes >= 2 << 20 { XCTAssertEqual(address % (2 << 20), 0, "\(bytes) bytes") }
            memset(p, 0xAB, bytes)
            XCTAssertEqual(p.load(fromByteOffset: bytes - 1, as: UInt8.self), 0xAB)
        }
        let setting = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)
        guard let setting, setting.contains("[madvise]") || setting.contains("[always]") else { return }
        func minorFaults() -> Int { var u = rusage(); getrusage(RUSAGE_SELF.rawValue, &u); return u.ru_minflt }
        let bytes = 32 << 20
        let p = allocateWorkingMemory(bytes: bytes)
        defer { releaseWorkingMemory(p) }
        let before = minorFaults()
        memset(p, 1, bytes)
        XCTAssertLessThan(minorFaults() - before, bytes / 4096 / 4, "32 MiB touched in 4 KiB faults")
    }
}
