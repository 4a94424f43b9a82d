import CZlib
import Foundation

/// A zip archive read from a memory map: the central directory (zip64 included) names the
/// members; a stored member is a range of the mapped file, a deflated one is inflated
/// (raw deflate, zlib) into a buffer of its recorded size. Only what `np.savez` /
/// `np.savez_compressed` write is supported: methods 0 and 8, no encryption, one disk.
final class ZipArchive {
    struct Member {
        var method: Int
        var compressedSize: Int
        var size: Int
        var localHeader: Int
        var crc: UInt32
    }

    let path: String
    private let bytes: ByteStorage
    private var members: [String: Member] = [:]
    /// Member names in directory order.
    private(set) var memberNames: [String] = []

    /// - Throws: `.wrongType` naming the file for anything that is not a readable zip.
    init(path: String) throws {
        self.path = path
        bytes = try ByteStorage.map(path)
        try readDirectory()
    }

    private func fail(_ problem: String) -> FeatureIOError { FeatureIOError(.wrongType, file: path, problem: problem) }

    private func u(_ offset: Int, _ width: Int) throws -> Int {
        guard offset >= 0, offset + width <= bytes.count else { throw fail("not a zip archive (.npz): truncated") }
        return Int(bytes.le(offset, width))
    }

    private func readDirectory() throws {
        // End of central directory: signature 0x06054b50 in the last 64 KiB + 22 bytes.
        var eocd = -1
        var i = bytes.count - 22
        while i >= max(0, bytes.count - 22 - 65_535) {
            if try u(i, 4) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip archive (.npz): no end-of-directory record") }
        var entries = try u(eocd + 10, 2), dirSize = try u(eocd + 12, 4), dirStart = try u(eocd + 16, 4)
        if eocd >= 20, try u(eocd - 20, 4) == 0x0706_4B50 {
            let e64 = try u(eocd - 20 + 8, 8)
            guard try u(e64, 4) == 0x0606_4B50 else { throw fail("corrupt zip64 end-of-directory record") }
            entries = try u(e64 + 32, 8); dirSize = try u(e64 + 40, 8); dirStart = try u(e64 + 48, 8)
        }
        guard dirStart + dirSize <= bytes.count else { throw fail("zip directory outside the file (truncated .npz?)") }
        var p = dirStart
        for _ in 0..<entries {
            guard try u(p, 4) == 0x0201_4B50 else { throw fail("corrupt zip directory entry at byte \(p)") }
            let flags = try u(p + 8, 2), method = try u(p + 10, 2), crc = UInt32(try u(p + 16, 4))
            var csize = try u(p + 20, 4), size = try u(p + 24, 4)
            let nameLen = try u(p + 28, 2), extraLen = try u(p + 30, 2), commentLen = try u(p + 32, 2)
            var local = try u(p + 42, 4)
            guard p + 46 + nameLen <= bytes.count else { throw fail("corrupt zip directory entry at byte \(p)") }
            let name = String(decoding: UnsafeRawBufferPointer(start: bytes.base + p + 46, count: nameLen), as: UTF8.self)
            // zip64 extra field: the 0xFFFFFFFF fields, in order size, compressed size, offset.
            var e = p + 46 + nameLen
            while e + 4 <= p + 46 + nameLen + extraLen {
                let id = try u(e, 2), len = try u(e + 2, 2)
                if id == 1 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { size = try u(q, 8); q += 8 }
                    if csize == 0xFFFF_FFFF { csize = try u(q, 8); q += 8 }
                    if local == 0xFFFF_FFFF { local = try u(q, 8) }
                }
                e += 4 + len
            }
            guard flags & 1 == 0 else { throw fail("member \(name) is encrypted") }
            members[name] = Member(method: method, compressedSize: csize, size: size, localHeader: local, crc: crc)
            memberNames.append(name)
            p += 46 + nameLen + extraLen + commentLen
        }
    }

    func hasMember(_ name: String) -> Bool { members[name] != nil }

    /// The uncompressed size of member `name`, or nil if there is none.
    func size(of name: String) -> Int? { members[name]?.size }

    /// The bytes of member `name`: the mapped file and a range (stored), or an inflated buffer.
    /// - Throws: `.wrongType` for an unsupported method or corrupt data.
    func contents(of name: String) throws -> (ByteStorage, Range<Int>) {
        guard let m = members[name] else { preconditionFailure("no member \(name)") }
        guard try u(m.localHeader, 4) == 0x0403_4B50 else { throw fail("corrupt local header of member \(name)") }
        let start = m.localHeader + 30 + (try u(m.localHeader + 26, 2)) + (try u(m.localHeader + 28, 2))
        guard start + m.compressedSize <= bytes.count else { throw fail("member \(name) extends past the end of the file (truncated?)") }
        switch m.method {
        case 0: return (bytes, start..<(start + m.compressedSize))
        case 8:
            let (out, p) = ByteStorage.owned(count: m.size)
            try inflateRaw(from: bytes.base + start, count: m.compressedSize, into: p, size: m.size, member: name)
            guard UInt32(crc32(0, p.assumingMemoryBound(to: Bytef.self), uInt(m.size))) == m.crc || m.size > Int(UInt32.max) else {
                throw fail("member \(name): CRC mismatch (corrupt .npz)")
            }
            return (out, 0..<m.size)
        default: throw fail("member \(name) uses zip method \(m.method); only stored (0) and deflated (8) are supported")
        }
    }

    /// Inflates raw deflate data into exactly `size` bytes.
    private func inflateRaw(from src: UnsafeRawPointer, count: Int, into dst: UnsafeMutableRawPointer, size: Int, member: String) throws {
        var s = z_stream()
        guard afg_inflateInit2(&s, -MAX_WBITS) == Z_OK else { throw fail("zlib inflateInit failed") }
        defer { inflateEnd(&s) }
        var inDone = 0, outDone = 0, status = Z_OK
        let step = Int(UInt32.max / 2)
        repeat {
            s.next_in = UnsafeMutablePointer(mutating: (src + inDone).assumingMemoryBound(to: Bytef.self))
            s.avail_in = uInt(min(step, count - inDone))
            s.next_out = (dst + outDone).assumingMemoryBound(to: Bytef.self)
            s.avail_out = uInt(min(step, size - outDone))
            let (ai, ao) = (Int(s.avail_in), Int(s.avail_out))
            status = inflate(&s, Z_NO_FLUSH)
            inDone += ai - Int(s.avail_in); outDone += ao - Int(s.avail_out)
            if status == Z_BUF_ERROR && (inDone == count || outDone == size) { break }
        } while status == Z_OK
        guard status == Z_STREAM_END || status == Z_BUF_ERROR, outDone == size else {
            throw fail("member \(member): corrupt deflate data (zlib status \(status) after \(outDone) of \(size) bytes)")
        }
    }

    // MARK: writing

    /// A zip archive of stored (uncompressed) members, in the given order, with fixed
    /// timestamps (1980-01-01) so that the same members give the same bytes. No zip64:
    /// - Precondition: the archive stays under 4 GiB.
    static func storedArchive(_ members: [(name: String, data: Data)]) -> Data {
        var out = Data(), dir = Data()
        func put(_ v: Int, _ w: Int, _ d: inout Data) { for b in 0..<w { d.append(UInt8((v >> (8 * b)) & 0xFF)) } }
        for (name, data) in members {
            let crc = data.withUnsafeBytes { Int(crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count))) }
            let n = Array(name.utf8), offset = out.count
            precondition(offset + data.count < Int(UInt32.max), "storedArchive: over 4 GiB")
            // Local header: signature, version 20, flags 0, method 0, time 0, date 1980-01-01.
            put(0x0403_4B50, 4, &out); put(20, 2, &out); put(0, 2, &out); put(0, 2, &out); put(0, 2, &out); put(0x21, 2, &out)
            put(crc, 4, &out); put(data.count, 4, &out); put(data.count, 4, &out); put(n.count, 2, &out); put(0, 2, &out)
            out.append(contentsOf: n); out.append(data)
            put(0x0201_4B50, 4, &dir); put(20, 2, &dir); put(20, 2, &dir); put(0, 2, &dir); put(0, 2, &dir); put(0, 2, &dir)
            put(0x21, 2, &dir); put(crc, 4, &dir); put(data.count, 4, &dir); put(data.count, 4, &dir); put(n.count, 2, &dir)
            put(0, 2, &dir); put(0, 2, &dir); put(0, 2, &dir); put(0, 2, &dir); put(0, 4, &dir); put(offset, 4, &dir)
            dir.append(contentsOf: n)
        }
        let dirStart = out.count
        out.append(dir)
        put(0x0605_4B50, 4, &out); put(0, 2, &out); put(0, 2, &out); put(members.count, 2, &out); put(members.count, 2, &out)
        put(dir.count, 4, &out); put(dirStart, 4, &out); put(0, 2, &out)
        return out
    }
}
