import Foundation
import XCTest
@testable import FeatureIO

/// One zip member as a forger writes it: any method, CRC and declared sizes, the sizes and
/// offset optionally moved into a zip64 extra field.
struct ForgedMember {
    var name = "features.npy"
    var payload: [UInt8]
    var method = 0
    var crc: UInt32? = nil
    var size: UInt64? = nil
    var compressedSize: UInt64? = nil
    var offset: UInt64? = nil
    var zip64 = false
}

/// Little-endian bytes of `v`, `width` wide.
func leBytes(_ v: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

/// A one-member zip archive written byte by byte (`zip64End`: a zip64 end-of-directory
/// record with the given directory start and size instead of the real ones).
func forgedZip(_ m: ForgedMember, zip64End: (start: UInt64, size: UInt64)? = nil) -> [UInt8] {
    let name = Array(m.name.utf8)
    let crc = UInt64(m.crc ?? UInt32(m.payload.reduce(into: CRC32()) { $0.add($1) }.value))
    let size = m.size ?? UInt64(m.payload.count), csize = m.compressedSize ?? UInt64(m.payload.count), offset = m.offset ?? 0
    var local = leBytes(0x0403_4B50, 4) + leBytes(45, 2) + leBytes(0, 2) + leBytes(UInt64(m.method), 2) + leBytes(0, 2) + leBytes(0x21, 2)
    local += leBytes(crc, 4) + leBytes(min(csize, 0xFFFF_FFFF), 4) + leBytes(min(size, 0xFFFF_FFFF), 4)
    local += leBytes(UInt64(name.count), 2) + leBytes(0, 2) + name + m.payload
    var extra: [UInt8] = []
    func field(_ v: UInt64) -> UInt64 {
        guard m.zip64 else { return v }
        extra += leBytes(v, 8)
        return 0xFFFF_FFFF
    }
    let (s32, c32, o32) = (field(size), field(csize), field(offset))
    if m.zip64 { extra = leBytes(1, 2) + leBytes(UInt64(extra.count), 2) + extra }
    var dir = leBytes(0x0201_4B50, 4) + leBytes(45, 2) + leBytes(45, 2) + leBytes(0, 2) + leBytes(UInt64(m.method), 2)
    dir += leBytes(0, 2) + leBytes(0x21, 2) + leBytes(crc, 4) + leBytes(c32 & 0xFFFF_FFFF, 4) + leBytes(s32 & 0xFFFF_FFFF, 4)
    // Name and extra lengths, then comment length, disk, internal and external attributes.
    dir += leBytes(UInt64(name.count), 2) + leBytes(UInt64(extra.count), 2) + [UInt8](repeating: 0, count: 10)
    dir += leBytes(o32 & 0xFFFF_FFFF, 4) + name + extra
    var out = local + dir
    if let e = zip64End {
        let at = UInt64(out.count)
        out += leBytes(0x0606_4B50, 4) + leBytes(44, 8) + leBytes(45, 2) + leBytes(45, 2) + leBytes(0, 8)
        out += leBytes(1, 8) + leBytes(1, 8) + leBytes(e.size, 8) + leBytes(e.start, 8)
        out += leBytes(0x0706_4B50, 4) + leBytes(0, 4) + leBytes(at, 8) + leBytes(1, 4)
        out += leBytes(0x0605_4B50, 4) + leBytes(0, 4) + leBytes(0xFFFF, 2) + leBytes(0xFFFF, 2) + leBytes(0xFFFF_FFFF, 8) + leBytes(0, 2)
    } else {
        out += leBytes(0x0605_4B50, 4) + leBytes(0, 4) + leBytes(1, 2) + leBytes(1, 2)
        out += leBytes(UInt64(dir.count), 4) + leBytes(UInt64(local.count), 4) + leBytes(0, 2)
    }
    return out
}

/// The CRC-32 of zip (reflected polynomial 0xEDB88320), bit by bit: the tests' own, so a
/// forged CRC is checked against an independent computation.
struct CRC32 {
    var value: UInt32 = 0
    mutating func add(_ byte: UInt8) {
        var c = ~value ^ UInt32(byte)
        for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        value = ~c
    }
}

/// A `.npy` member's bytes with a header dict of the caller's choosing.
func npyBytes(header dict: String, data: [UInt8]) -> [UInt8] {
    var text = dict
    while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
    text += "\n"
    return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0] + leBytes(UInt64(text.utf8.count), 2) + Array(text.utf8) + data
}

/// Forged sizes in `.npz`, `.npy` and safetensors containers (zip and zip64 headers, npy
/// header shapes and dtypes, safetensors shapes and offsets) are refused with one line
/// naming the file and member before anything is allocated: no trap, no abort.
final class ForgedContainerTests: XCTestCase {
    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = try temporaryFolder(self).appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    let member = npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data: [UInt8](repeating: 0, count: 16))

    /// Reads array `features` of the archive, returning the refusal.
    func refusal(_ zip: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> FeatureIOError? {
        let path = try write(zip, "forged.npz")
        let e = expectError({ _ = try NpzArrays(path: path).array("features") }, file: file, line: line)
        XCTAssert(e?.description.hasPrefix(path + ": ") ?? false, "\(String(describing: e))", file: file, line: line)
        return e
    }

    func testTheWellFormedForgeReads() throws {
        let path = try write(forgedZip(ForgedMember(payload: member, zip64: true)), "plain.npz")
        XCTAssertEqual(try NpzArrays(path: path).array("features").shape, [2, 2])
    }

    /// A 1 KB archive whose deflated member claims 2^40 bytes (zip64).
    func testDeflatedMemberClaimingATerabyteIsRefused() throws {
        let deflated = [0x01] + leBytes(UInt64(member.count), 2) + leBytes(UInt64(~UInt16(member.count)), 2) + member
        let e = try refusal(forgedZip(ForgedMember(payload: deflated, method: 8, crc: 0, size: 1 << 40, zip64: true)))
        XCTAssert(e?.problem.contains("member features.npy declares 1099511627776 bytes") ?? false, "\(String(describing: e))")
    }

    /// zip64 sizes and offsets of 2^63 and more, and a directory whose start + size overflows.
    func testZip64FieldsBeyondTwoToTheSixtyThreeAreRefused() throws {
        for big: UInt64 in [1 << 63, UInt64.max, UInt64(Int.max)] {
            _ = try refusal(forgedZip(ForgedMember(payload: member, size: big, zip64: true)))
            _ = try refusal(forgedZip(ForgedMember(payload: member, compressedSize: big, zip64: true)))
            _ = try refusal(forgedZip(ForgedMember(payload: member, offset: big, zip64: true)))
            let path = try write(forgedZip(ForgedMember(payload: member), zip64End: (start: big, size: 64)), "dir.npz")
            _ = expectError { _ = try NpzArrays(path: path) }
        }
        let path = try write(forgedZip(ForgedMember(payload: member), zip64End: (start: 16, size: UInt64(Int.max) - 8)), "wrap.npz")
        XCTAssertEqual(expectError { _ = try NpzArrays(path: path) }?.problem, "zip directory outside the file (truncated .npz?)")
    }

    func testStoredMemberWithABadCRCIsRefused() throws {
        let e = try refusal(forgedZip(ForgedMember(payload: member, crc: 0x1234_5678)))
        XCTAssertEqual(e?.problem, "member features.npy: CRC mismatch (corrupt .npz)")
    }

    /// `.npy` shapes whose byte count overflows, and a string dtype whose element size does.
    func testNpyShapeAndDtypeOverflowsAreRefused() throws {
        let shapes = ["(4611686018427387904, 4)", "(3037000500, 3037000500)", "(9223372036854775807,)"]
        for shape in shapes {
            let b = npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }", data: [])
            let e = try refusal(forgedZip(ForgedMember(payload: b)))
            XCTAssertEqual(e?.dataset, "features")
            XCTAssert(e?.problem.contains("larger than any file") ?? false, "\(String(describing: e))")
        }
        let u = npyBytes(header: "{'descr': '<U4611686018427387904', 'fortran_order': False, 'shape': (1,), }", data: [])
        let e = try refusal(forgedZip(ForgedMember(payload: u)))
        XCTAssert(e?.problem.contains("larger than any file") ?? false, "\(String(describing: e))")
        let npy = try write(u, "strings.npy")
        _ = expectError { _ = try NpyArrays(path: npy, featuresKey: "features").array("features") }
    }

    func safetensors(_ header: String, data: Int) -> [UInt8] {
        leBytes(UInt64(header.utf8.count), 8) + Array(header.utf8) + [UInt8](repeating: 0, count: data)
    }

    /// Python's safetensors refuses a fractional dimension; so does afg (not 118 × 8).
    func testSafetensorsFractionalShapeIsRefused() throws {
        // Each with the data size its dimensions would have if read leniently (118 × 8, ...).
        for (shape, bytes) in [("[118.9,8]", 3776), ("[2.0,2]", 16), ("[true,2]", 8), ("[\"2\",2]", 8), ("[2,1e0]", 8)] {
            let b = safetensors("{\"features\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,\(bytes)]}}", data: bytes)
            let e = expectError { _ = try SafeTensorsFile.decode(Data(b), name: "x.safetensors") }
            XCTAssert(e?.problem.contains("every dimension must be a whole number") ?? false, "\(shape): \(String(describing: e))")
        }
    }

    func testOverlappingSafetensorsAreRefused() throws {
        let b = safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data: 12)
        let e = expectError { _ = try SafeTensorsFile.decode(Data(b), name: "x.safetensors") }
        XCTAssertEqual(e?.description, "x.safetensors: tensors 'a' (bytes 0..<8) and 'b' (bytes 4..<12) overlap")
        let ok = safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", data: 12)
        XCTAssertEqual(try SafeTensorsFile.decode(Data(ok), name: "y.safetensors").tensors.count, 3)
    }

    /// FORMAT.md lists float16/32/64 features; an HDF5 long double is refused, not rounded.
    func testHDF5LongDoubleFeaturesAreRefused() throws {
        try XCTSkipUnless(h5pyAvailable, "h5py not installed")
        let path = try temporaryFolder(self).appendingPathComponent("ld.h5").path
        let r = try runPython("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f['features'] = np.ones((3, 2), dtype=np.longdouble)
                f['labels'] = np.array([0, 1, 0])
            """, [path])
        XCTAssertEqual(r.status, 0, r.err)
        let e = expectError { _ = try FeatureStore.readFeatures(path: path) }
        XCTAssertEqual(e?.kind, .wrongType)
        XCTAssertEqual(e?.dataset, "features")
    }
}
