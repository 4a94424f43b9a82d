import Foundation

/// A zip archive read with `pread` (`ByteStorage`): the central directory (zip64 included)
/// names the members; a stored member is a range of the file, a deflated one is inflated
/// (raw deflate, `Inflater`) into a buffer of its recorded size. Only what `np.savez` /
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
        bytes = try ByteStorage.open(path)
        try readDirectory()
    }

    private func fail(_ problem: String) -> FeatureIOError { FeatureIOError(.wrongType, file: path, problem: problem) }

    /// The little-endian unsigned field of `width` bytes at `offset`, as an `Int`.
    /// - Throws: for a field outside the file, or a 64-bit value ≥ 2^63 (no size or offset
    ///   of a real file is that large).
    private func u(_ offset: Int, _ width: Int) throws -> Int {
        guard offset >= 0, offset <= bytes.count - width else { throw fail("not a zip archive (.npz): truncated") }
        let raw = try bytes.le(offset, width)
        guard let v = Int(exactly: raw) else {
            throw fail("zip field at byte \(offset) holds \(raw), beyond any file size (corrupt .npz)")
        }
        return v
    }

    private func readDirectory() throws {
        let (entries, dirStart, dirSize) = try endOfDirectory()
        guard dirStart <= bytes.count, dirSize <= bytes.count - dirStart else {
            throw fail("zip directory outside the file (truncated .npz?)")
        }
        let dirEnd = dirStart + dirSize
        var p = dirStart
        for _ in 0..<entries {
            guard p <= dirEnd - 46, try u(p, 4) == 0x0201_4B50 else { throw fail("corrupt zip directory entry at byte \(p)") }
            let nameLen = try u(p + 28, 2), extraLen = try u(p + 30, 2), commentLen = try u(p + 32, 2)
            guard 46 + nameLen + extraLen + commentLen <= dirEnd - p else { throw fail("corrupt zip directory entry at byte \(p)") }
            let name = String(decoding: try bytes.bytes((p + 46)..<(p + 46 + nameLen)), as: UTF8.self)
            let member = try directoryEntry(at: p, name: name, extra: (p + 46 + nameLen)..<(p + 46 + nameLen + extraLen))
            members[name] = member
            memberNames.append(name)
            p += 46 + nameLen + extraLen + commentLen
        }
    }

    /// The entry count, start and size of the central directory, from the end-of-directory
    /// record (signature 0x06054b50 in the last 64 KiB + 22 bytes) or its zip64 form.
    private func endOfDirectory() throws -> (entries: Int, start: Int, size: Int) {
        var eocd = -1
        var i = bytes.count - 22
        while i >= max(0, bytes.count - 22 - 65_535) {
            if try u(i, 4) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip archive (.npz): no end-of-directory record") }
        if eocd >= 20, try u(eocd - 20, 4) == 0x0706_4B50 {
            let e64 = try u(eocd - 20 + 8, 8)
            guard try u(e64, 4) == 0x0606_4B50 else { throw fail("corrupt zip64 end-of-directory record") }
            return (try u(e64 + 32, 8), try u(e64 + 48, 8), try u(e64 + 40, 8))
        }
        return (try u(eocd + 10, 2), try u(eocd + 16, 4), try u(eocd + 12, 4))
    }

    /// Deflate expands at most 1032:1 (a 258-byte match per 2 bits, plus block overhead):
    /// a member that claims more is forged, and is refused before its buffer is allocated.
    static let maxDeflateRatio = 1032

    /// The central-directory entry at `p` (its zip64 extra field in `extra`), with every
    /// size and offset checked against the file before anything is allocated.
    private func directoryEntry(at p: Int, name: String, extra: Range<Int>) throws -> Member {
        let flags = try u(p + 8, 2), method = try u(p + 10, 2), crc = UInt32(try u(p + 16, 4))
        var csize = try u(p + 20, 4), size = try u(p + 24, 4), local = try u(p + 42, 4)
        // zip64 extra field (id 1): the 0xFFFFFFFF fields, in order size, compressed size, offset.
        var e = extra.lowerBound
        while e <= extra.upperBound - 4 {
            let id = try u(e, 2), len = try u(e + 2, 2)
            guard len <= extra.upperBound - e - 4 else { throw fail("member \(name): zip extra field overruns its entry") }
            if id == 1 {
                var q = e + 4
                func next() throws -> Int {
                    guard q + 8 <= e + 4 + len else { throw fail("member \(name): zip64 extra field too short") }
                    defer { q += 8 }
                    return try u(q, 8)
                }
                if size == 0xFFFF_FFFF { size = try next() }
                if csize == 0xFFFF_FFFF { csize = try next() }
                if local == 0xFFFF_FFFF { local = try next() }
            }
            e += 4 + len
        }
        guard flags & 1 == 0 else { throw fail("member \(name) is encrypted") }
        guard local <= bytes.count - 30, csize <= bytes.count - 30 - local else {
            throw fail("member \(name): \(csize) bytes at offset \(local) extend past the end of the file (\(bytes.count) bytes; truncated?)")
        }
        if method == 0 && size != csize {
            throw fail("member \(name) is stored but its sizes differ (\(csize) stored, \(size) declared; corrupt .npz)")
        }
        if method == 8 {
            let (bound, overflow) = csize.multipliedReportingOverflow(by: Self.maxDeflateRatio)
            guard !overflow, size - Self.maxDeflateRatio <= bound else {
                throw fail("member \(name) declares \(size) bytes from \(csize) deflated bytes, more than deflate can expand (forged or corrupt .npz)")
            }
        }
        return Member(method: method, compressedSize: csize, size: size, localHeader: local, crc: crc)
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
        guard start <= bytes.count, m.compressedSize <= bytes.count - start else {
            throw fail("member \(name) extends past the end of the file (truncated?)")
        }
        let data: (ByteStorage, Range<Int>)
        switch m.method {
        case 0: data = (bytes, start..<(start + m.compressedSize))
        case 8:
            let (out, p) = ByteStorage.owned(count: m.size)
            var filled = 0
            do {
                _ = try bytes.withBytes(start..<(start + m.compressedSize)) { compressed in
                    try Inflater.inflate(compressed, format: .raw, limit: m.size) { piece in
                        (p + filled).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                        filled += piece.count
                    }
                }
            } catch let f as Inflater.Failure {
                throw fail("member \(name): \(f.problem) (corrupt .npz)")
            }
            guard filled == m.size else {
                throw fail("member \(name) inflates to \(filled) bytes, but the directory declares \(m.size) (corrupt .npz)")
            }
            data = (out, 0..<m.size)
        default: throw fail("member \(name) uses zip method \(m.method); only stored (0) and deflated (8) are supported")
        }
        var crc = Inflater.CRC32()
        try data.0.forEachPiece(data.1) { crc.add($0) }
        guard crc.value == m.crc else { throw fail("member \(name): CRC mismatch (corrupt .npz)") }
        return data
    }

    // MARK: writing

    /// A zip archive of stored (uncompressed) members, in the given order, with fixed
    /// timestamps (1980-01-01) so that the same members give the same bytes. No zip64:
    /// - Precondition: the archive stays under 4 GiB.
    static func storedArchive(_ members: [(name: String, data: Data)]) -> Data {
        var out = Data(), dir = Data()
        func put(_ v: Int, _ w: Int, _ d: inout Data) { for b in 0..<w { d.append(UInt8((v >> (8 * b)) & 0xFF)) } }
        for (name, data) in members {
            let crc = Int(data.withUnsafeBytes { Inflater.crc32($0) })
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
