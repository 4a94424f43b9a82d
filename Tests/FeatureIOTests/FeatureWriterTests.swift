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
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }, [])
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
            XCTAssertTrue(FileManager.default.fileExists(atPath: temporaryPath(for: p)))
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
}
