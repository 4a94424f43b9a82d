import Foundation
import XCTest
@testable import FeatureIO

final class FeatureWriterTests: XCTestCase {
    /// Block-by-block writing gives the same content as the in-memory writer, whatever
    /// the block sizes.
    func testBlockWritesMatchWholeWrite() throws {
        let dir = try temporaryFolder(self)
        for (seed, compress) in [(UInt64(31), false), (32, true)] {
            let set = randomSet(n: 777, d: 11, c: 9, seed: seed)
            let flags = (0..<777).map { UInt8($0 % 3 == 0 ? 1 : 0) }
            let p = dir.appendingPathComponent("w\(seed).h5").path
            let w = try FeatureWriter(path: p, dim: 11, numClasses: 9, classNames: set.classNames,
                                      attributes: set.attributes, extraColumns: ["is_generated": .uint8([])],
                                      compress: compress)
            var rng = SplitMix64(seed: seed)
            var start = 0
            while start < 777 {
                let rows = min(777 - start, Int.random(in: 0...150, using: &rng))
                try w.append(features: Array(set.features[(start * 11)..<((start + rows) * 11)]),
                             labels: Array(set.labels[start..<(start + rows)]),
                             extras: ["is_generated": .uint8(Array(flags[start..<(start + rows)]))])
                start += rows
            }
            XCTAssertEqual(w.count, 777)
            XCTAssertFalse(FileManager.default.fileExists(atPath: p), "renamed before finish")
            try w.finish()
            let back = try FeatureStore.readFeatures(path: p)
            var want = set
            want.attributes["num_classes"] = "9"
            want.attributes["afg_file"] = "features"
            want.attributes["created_by"] = "afg \(afgVersion)"
            XCTAssertEqual(back, want, "seed \(seed)")
            XCTAssertEqual(try FeatureStore.readColumn(path: p, key: "is_generated"), .uint8(flags))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".afg-") }, [])
        }
    }

    func testUnfinishedOrEmptyWriteLeavesEarlierFile() throws {
        let dir = try temporaryFolder(self)
        let p = dir.appendingPathComponent("keep.h5").path
        let first = randomSet(n: 5, d: 2, c: 2, seed: 1)
        try FeatureStore.writeFeatures(first, to: p)
        let before = try Data(contentsOf: URL(fileURLWithPath: p))
        do {
            let w = try FeatureWriter(path: p, dim: 2, numClasses: 2)
            try w.append(features: [1, 2], labels: [1])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter(TemporaryFile.isTemporaryName).count, 1)
        }   // dropped without finish
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["keep.h5"])

        let w = try FeatureWriter(path: p, dim: 2, numClasses: 2)
        let e = expectError { try w.finish() }
        XCTAssertEqual(e?.description, "\(p): no rows were written (empty data set)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["keep.h5"])

        let missing = dir.appendingPathComponent("nope/x.h5").path
        XCTAssertEqual(expectError { _ = try FeatureWriter(path: missing, dim: 2, numClasses: 2) }?.kind, .writeFailed)
    }

    func testSameAppendsGiveSameBytes() throws {
        let dir = try temporaryFolder(self)
        let set = randomSet(n: 300, d: 5, c: 3, seed: 3)
        var bytes: [Data] = []
        for i in 0..<2 {
            let p = dir.appendingPathComponent("b\(i).h5").path
            let w = try FeatureWriter(path: p, dim: 5, numClasses: 3, attributes: ["z": "1", "a": "2"], compress: true)
            for s in stride(from: 0, to: 300, by: 128) {
                let e = min(300, s + 128)
                try w.append(features: Array(set.features[(s * 5)..<(e * 5)]), labels: Array(set.labels[s..<e]))
            }
            try w.finish()
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: p)))
            if i == 0 { Thread.sleep(forTimeInterval: 1.1) }
        }
        XCTAssertEqual(bytes[0], bytes[1])
    }

    /// The background appender writes the plain writer's bytes (the same appends, in
    /// order), and renames nothing before `finish()`.
    func testBackgroundAppenderWritesThePlainWritersBytes() throws {
        let dir = try temporaryFolder(self)
        let set = randomSet(n: 2000, d: 7, c: 5, seed: 8)
        var bytes: [Data] = []
        for background in [false, true] {
            let p = dir.appendingPathComponent(background ? "bg.h5" : "plain.h5").path
            let w = try FeatureWriter(path: p, dim: 7, numClasses: 5, extraColumns: ["is_generated": .uint8([])])
            let bg = BackgroundAppender(w, depth: 2)
            var rng = SplitMix64(seed: 5)
            var start = 0
            while start < 2000 {
                let rows = min(2000 - start, Int.random(in: 1...300, using: &rng))
                let x = Array(set.features[(start * 7)..<((start + rows) * 7)]), y = Array(set.labels[start..<(start + rows)])
                let extras: [String: ColumnData] = ["is_generated": .uint8([UInt8](repeating: UInt8(start % 2), count: rows))]
                if background { try bg.append(features: x, labels: y, extras: extras) } else { try w.append(features: x, labels: y, extras: extras) }
                start += rows
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: p), "renamed before finish")
            if background { XCTAssertEqual(bg.count, 2000); try bg.finish() } else { try w.finish() }
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: p)))
        }
        XCTAssertEqual(bytes[0], bytes[1])
    }

    /// A failed write (here a file-size limit, as on a full disk) is thrown, by the plain
    /// writer at once and by the background appender at a later call; the temporary file
    /// is removed, the earlier file untouched, and nothing crashes (HDF5 1.10 did, when a
    /// dataset was closed after the file's failed close).
    func testFailedWritesAreThrownAndLeaveNothing() throws {
        let dir = try temporaryFolder(self)
        let p = dir.appendingPathComponent("full.h5").path
        try FeatureStore.writeFeatures(randomSet(n: 5, d: 2, c: 2, seed: 1), to: p)
        let before = try Data(contentsOf: URL(fileURLWithPath: p))
        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        defer { setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old); signal(SIGXFSZ, oldHandler) }
        var small = old
        small.rlim_cur = 256 << 10
        let rows = 1024, x = [Float](repeating: 0.5, count: rows * 256), y = [Int32](repeating: 1, count: rows)
        for background in [false, true] {
            XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small), 0)
            var thrown: Error?
            do {
                let w = try FeatureWriter(path: p, dim: 256, numClasses: 2)
                if background {
                    let bg = BackgroundAppender(w, depth: 1)
                    for _ in 0..<8 { try bg.append(features: x, labels: y) }
                    try bg.finish()
                } else {
                    for _ in 0..<8 { try w.append(features: x, labels: y) }
                    try w.finish()
                }
            } catch { thrown = error }
            XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old), 0)
            XCTAssertEqual((thrown as? FeatureIOError)?.kind, .writeFailed, "background \(background): \(String(describing: thrown))")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["full.h5"])
        }
    }
}
