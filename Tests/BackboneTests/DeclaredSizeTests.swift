import Foundation
import XCTest
@testable import Backbone
import FeatureIO

/// Headers that declare more data than the file holds (found by afg-fuzz, see
/// Tests/afgTests/FuzzTests.swift) are refused with a one-line error before allocation.
final class DeclaredSizeTests: XCTestCase {
    /// A small safetensors file declaring 4 × 2³¹ float32 (32 GiB), and shapes whose
    /// product overflows Int or is negative.
    func testSafeTensorsHugeOrNegativeShapes() {
        for (shape, offsets) in [("4,2147483648", "0,34359738368"), ("4294967296,4294967296,4", "0,16"),
                                 ("-2,-2", "0,16"), ("-1", "0,0"), ("3074457345618258603,3", "0,8")] {
            let header = Array("{\"x\":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offsets)]}}".utf8)
            var bytes = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header
            bytes += [UInt8](repeating: 0, count: 6000)
            XCTAssertThrowsError(try SafeTensorsFile.decode(Data(bytes), name: "big.safetensors"), "shape [\(shape)]") { e in
                XCTAssertTrue("\(e)".hasPrefix("big.safetensors: tensor 'x'"), "\(e)")
            }
        }
    }

    /// IDX headers whose N × H × W overflows Int, or that declare empty images.
    func testIDXHugeOrEmptyDimensions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("afg-idx-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func be32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
        let labels = dir.appendingPathComponent("labels").path
        try Data(be32(0x801) + be32(2) + [0, 1]).write(to: URL(fileURLWithPath: labels))
        for (n, h, w) in [(UInt32(2), UInt32.max, UInt32.max), (0x8000_0000, 0x8000_0000, 0x8000_0000), (2, 0, 3)] {
            let images = dir.appendingPathComponent("images").path
            try Data(be32(0x803) + be32(n) + be32(h) + be32(w) + [UInt8](repeating: 7, count: 24)).write(to: URL(fileURLWithPath: images))
            XCTAssertThrowsError(try ImageSet.readIDX(images: images, labels: labels), "\(n) × \(h) × \(w)") { e in
                XCTAssertTrue("\(e)".hasPrefix(images + ": header says"), "\(e)")
            }
        }
    }
}
