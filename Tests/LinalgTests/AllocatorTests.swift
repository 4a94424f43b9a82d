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
}
