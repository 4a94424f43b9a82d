import Foundation
import XCTest
@testable import FeatureIO

/// A feature file truncated, rewritten or replaced by another process while afg streams
/// it: every format fails with "changed while it was read" (no SIGBUS from a mapping, no
/// zero-filled rows from libhdf5).
final class ChangingFileTests: XCTestCase {
    /// The same 4,000 × 16 set in each format (`.npy` with its siblings).
    func files() throws -> [String] {
        let dir = try temporaryFolder(self)
        let set = randomSet(n: 4000, d: 16, c: 5, seed: 3)
        var paths: [String] = []
        for ext in ["h5", "npy", "npz", "safetensors"] {
            let p = dir.appendingPathComponent("x.\(ext)").path
            if ext == "h5" { try FeatureStore.writeFeatures(set, to: p) } else { try FeatureStore.writeFeatureArrays(set, to: p) }
            paths.append(p)
        }
        return paths
    }

    /// Opens a stream of 100-row blocks, reads one block, applies `change`, then reads the
    /// rest: the error must be `.changed`, naming the file.
    func assertChangeDetected(_ path: String, _ what: String, _ change: (String) throws -> Void,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try FeatureStream(path: path, blockRows: 100)
        XCTAssertNotNil(try s.next(), file: file, line: line)
        try change(path)
        let e = expectError({ while try s.next() != nil {} }, file: file, line: line)
        XCTAssertEqual(e?.kind, .changed, "\(path) \(what): \(String(describing: e))", file: file, line: line)
        XCTAssertEqual(e?.description, "\(path): changed while it was read (truncated, rewritten or replaced by another process)",
                       file: file, line: line)
    }

    func testTruncationDuringAReadIsRefused() throws {
        for p in try files() {
            try assertChangeDetected(p, "truncated") { XCTAssertEqual(truncate($0, 4096), 0) }
        }
    }

    func testRewriteInPlaceAndReplacementAreRefused() throws {
        for p in try files() {
            try assertChangeDetected(p, "rewritten") { path in
                let h = FileHandle(forUpdatingAtPath: path)!
                h.seek(toFileOffset: 200)
                h.write(Data([0x5A]))
                h.closeFile()
                // A later modification time whatever the clock's resolution.
                var times = [timespec(tv_sec: 2_000_000_000, tv_nsec: 0), timespec(tv_sec: 2_000_000_000, tv_nsec: 0)]
                XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
            }
        }
        for p in try files() {
            try assertChangeDetected(p, "replaced") { path in
                let copy = path + ".copy"
                try FileManager.default.copyItem(atPath: path, toPath: copy)
                XCTAssertEqual(rename(copy, path), 0)
            }
        }
    }
}
