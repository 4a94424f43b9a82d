import Foundation
import XCTest
@testable import FeatureIO

/// `TemporaryFile`: locked while it lives (the sweep leaves it), removed when abandoned,
/// written in place when it is itself the target, and named as its output in errors.
final class TemporaryFileTests: XCTestCase {
    func testALiveTemporaryIsLockedAndSurvivesTheSweep() throws {
        let dir = try temporaryFolder(self)
        let target = dir.appendingPathComponent("out.h5").path
        let t = try TemporaryFile(for: target)
        XCTAssertEqual(t.path.utf8.count - dir.path.utf8.count - 1, 25)
        // Another open file description cannot take the lock.
        let fd = open(t.path, O_RDWR)
        defer { close(fd) }
        var l = flock()
        l.l_type = Int16(F_WRLCK); l.l_whence = Int16(SEEK_SET)
        XCTAssertEqual(fcntl(fd, 37 /* F_OFD_SETLK */, &l), -1)
        XCTAssertEqual(removeStaleTemporaries(in: dir.path), [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path))
        XCTAssertEqual(FeatureIOError(.writeFailed, file: t.path, problem: "x").file, target)

        // Written in place when handed as a target (an `OutputSet` temporary given to a writer).
        let inner = try TemporaryFile(for: t.path)
        XCTAssertEqual(inner.path, t.path)
        try inner.commit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path))

        t.discard()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testAnUnlockedAfgTemporaryIsSweptAndNothingElse() throws {
        let dir = try temporaryFolder(self)
        for n in [".afg-00000000000000ab.tmp", "x.h5.tmp-1", ".afg-00000000000000AB.tmp", ".afg-00000000000000ab.tmp.bak"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent(n).path, contents: Data([1])))
        }
        XCTAssertEqual(removeStaleTemporaries(in: dir.path), [".afg-00000000000000ab.tmp"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       [".afg-00000000000000AB.tmp", ".afg-00000000000000ab.tmp.bak", "x.h5.tmp-1"])
    }
}
