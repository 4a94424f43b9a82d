import Foundation
import XCTest
@testable import FeatureIO

/// `Inflater`: the one zlib inflater (zip members and Backbone's gzip files).
final class InflaterTests: XCTestCase {
    func inflate(_ b: [UInt8], _ format: Inflater.Format, limit: Int = .max) throws -> [UInt8] {
        var out: [UInt8] = []
        try b.withUnsafeBytes { try Inflater.inflate($0, format: format, limit: limit) { out += $0 } }
        return out
    }

    func gzip(_ b: [UInt8]) throws -> [UInt8] {
        let dir = try temporaryFolder(self)
        let plain = dir.appendingPathComponent("p").path
        try Data(b).write(to: URL(fileURLWithPath: plain))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-n", "-f", plain]
        try p.run()
        p.waitUntilExit()
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
    }

    func testRawAndConcatenatedGzipStreams() throws {
        // Raw deflate: one stored block (BFINAL = 1, BTYPE = 00), then LEN and its complement.
        let text = Array("stored block".utf8)
        let raw: [UInt8] = [1, UInt8(text.count), 0, ~UInt8(text.count), 0xFF] + text
        XCTAssertEqual(try inflate(raw, .raw), text)
        XCTAssertThrowsError(try inflate(raw, .raw, limit: 5)) { XCTAssert($0 is Inflater.Failure) }
        XCTAssertThrowsError(try inflate(Array(raw.dropLast(3)), .raw)) {
            XCTAssertEqual(($0 as? Inflater.Failure)?.problem, "truncated compressed data after 9 bytes")
        }
        // Two gzip members back to back (`cat a.gz b.gz`) and 3 MiB that spans several pieces.
        let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        XCTAssertEqual(try inflate(try gzip(text) + gzip(big), .gzip), text + big)
        XCTAssertEqual(Inflater.crc32(UnsafeRawBufferPointer(start: nil, count: 0)), 0)
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { Inflater.crc32($0) }, 0xCBF4_3926)
    }

    /// One inflater: no other source file calls zlib.
    func testOnlyInflateSwiftImportsZlib() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        let importers = try files.filter { try String(contentsOfFile: sources.appendingPathComponent($0).path, encoding: .utf8)
            .split(separator: "\n").contains("import CZlib") }
        XCTAssertEqual(importers, ["FeatureIO/Inflate.swift"])
    }
}
