// Structure-aware inputs for the zip, .npz and .npy readers: valid archives taken apart
// into members and written back with the variants a reader must handle (zip64 extra
// fields, a zip64 end record, data descriptors), every header field recorded as a `Field`
// for the mutator; and .npy header dicts rewritten token by token.
import FeatureIO
import Foundation

/// One member of a zip archive: its name, method, CRC, uncompressed size and stored bytes.
struct ZipMember {
    var name: [UInt8]
    var method: Int
    var crc: UInt32
    var size: Int
    var data: [UInt8]
}

/// The members of a valid archive (its central directory, trusted: the seeds are valid).
func zipMembers(_ b: [UInt8]) -> [ZipMember] {
    func u(_ o: Int, _ w: Int) -> Int { (0..<w).reduce(0) { $0 | Int(b[o + $1]) << (8 * $1) } }
    guard let eocd = stride(from: b.count - 22, through: 0, by: -1).first(where: { u($0, 4) == 0x0605_4B50 }) else { return [] }
    var p = u(eocd + 16, 4), out: [ZipMember] = []
    for _ in 0..<u(eocd + 10, 2) {
        let nameLen = u(p + 28, 2), local = u(p + 42, 4), csize = u(p + 20, 4)
        let start = local + 30 + u(local + 26, 2) + u(local + 28, 2)
        out.append(ZipMember(name: Array(b[(p + 46)..<(p + 46 + nameLen)]), method: u(p + 10, 2), crc: UInt32(u(p + 16, 4)),
                             size: u(p + 24, 4), data: Array(b[start..<(start + csize)])))
        p += 46 + nameLen + u(p + 30, 2) + u(p + 32, 2)
    }
    return out
}

/// How `zipBytes` writes an archive.
struct ZipLayout {
    /// Sizes and offsets moved into zip64 extra fields (in local and central headers).
    var zip64Extras = false
    /// A zip64 end-of-directory record and locator before the classic one.
    var zip64End = false
    /// Flag bit 3: zeros in the local header, a data descriptor after the data.
    var descriptors = false
    /// The data descriptor's optional signature 0x08074b50.
    var descriptorSignature = true
}

/// The archive's bytes and every header field's position (sizes, offsets, counts, CRCs,
/// flags, methods, name and extra lengths).
func zipBytes(_ members: [ZipMember], _ layout: ZipLayout) -> ([UInt8], [Field]) {
    var out: [UInt8] = [], dir: [UInt8] = [], fields: [Field] = [], dirFields: [Int] = []
    func put(_ v: UInt64, _ w: Int, _ d: inout [UInt8], field: Bool = false, central: Bool = false) {
        if field {
            if central { dirFields.append(d.count | w << 56) } else { fields.append(Field(offset: d.count, width: w, bigEndian: false)) }
        }
        d += le(v, w)
    }
    for m in members {
        let offset = out.count, flags: UInt64 = layout.descriptors ? 8 : 0
        let big = layout.zip64Extras, s32: UInt64 = big ? 0xFFFF_FFFF : UInt64(m.size), c32: UInt64 = big ? 0xFFFF_FFFF : UInt64(m.data.count)
        let extra = big ? le(1, 2) + le(16, 2) + le(UInt64(m.size), 8) + le(UInt64(m.data.count), 8) : []
        put(0x0403_4B50, 4, &out); put(45, 2, &out); put(flags, 2, &out, field: true); put(UInt64(m.method), 2, &out, field: true)
        put(0, 2, &out); put(0x21, 2, &out)
        put(layout.descriptors ? 0 : UInt64(m.crc), 4, &out, field: true)
        put(layout.descriptors ? 0 : c32, 4, &out, field: true); put(layout.descriptors ? 0 : s32, 4, &out, field: true)
        put(UInt64(m.name.count), 2, &out, field: true); put(UInt64(extra.count), 2, &out, field: true)
        out += m.name
        if big { fields += [Field(offset: out.count + 4, width: 8, bigEndian: false), Field(offset: out.count + 12, width: 8, bigEndian: false)] }
        out += extra + m.data
        if layout.descriptors {
            if layout.descriptorSignature { put(0x0807_4B50, 4, &out) }
            put(UInt64(m.crc), 4, &out, field: true)
            put(UInt64(m.data.count), big ? 8 : 4, &out, field: true); put(UInt64(m.size), big ? 8 : 4, &out, field: true)
        }
        let cextra = big ? le(1, 2) + le(24, 2) + le(UInt64(m.size), 8) + le(UInt64(m.data.count), 8) + le(UInt64(offset), 8) : []
        put(0x0201_4B50, 4, &dir); put(45, 2, &dir); put(45, 2, &dir); put(flags, 2, &dir, field: true, central: true)
        put(UInt64(m.method), 2, &dir, field: true, central: true); put(0, 2, &dir); put(0x21, 2, &dir)
        put(UInt64(m.crc), 4, &dir, field: true, central: true)
        put(c32, 4, &dir, field: true, central: true); put(s32, 4, &dir, field: true, central: true)
        put(UInt64(m.name.count), 2, &dir, field: true, central: true); put(UInt64(cextra.count), 2, &dir, field: true, central: true)
        put(0, 2, &dir, field: true, central: true); put(0, 8, &dir)
        put(big ? 0xFFFF_FFFF : UInt64(offset), 4, &dir, field: true, central: true)
        dir += m.name
        for k in 0..<3 where big { dirFields.append((dir.count + 4 + 8 * k) | 8 << 56) }
        dir += cextra
    }
    let dirStart = out.count
    fields += dirFields.map { Field(offset: dirStart + ($0 & 0xFF_FFFF_FFFF), width: $0 >> 56, bigEndian: false) }
    out += dir
    let n = UInt64(members.count)
    if layout.zip64End {
        let at = out.count
        put(0x0606_4B50, 4, &out); put(44, 8, &out, field: true); put(45, 2, &out); put(45, 2, &out); put(0, 8, &out)
        put(n, 8, &out, field: true); put(n, 8, &out, field: true)
        put(UInt64(dir.count), 8, &out, field: true); put(UInt64(dirStart), 8, &out, field: true)
        put(0x0706_4B50, 4, &out); put(0, 4, &out); put(UInt64(at), 8, &out, field: true); put(1, 4, &out)
    }
    let end64 = layout.zip64End
    put(0x0605_4B50, 4, &out); put(0, 4, &out)
    put(end64 ? 0xFFFF : n, 2, &out, field: true); put(end64 ? 0xFFFF : n, 2, &out, field: true)
    put(end64 ? 0xFFFF_FFFF : UInt64(dir.count), 4, &out, field: true); put(end64 ? 0xFFFF_FFFF : UInt64(dirStart), 4, &out, field: true)
    put(0, 2, &out, field: true)
    return (out, fields)
}

/// A random layout (each variant about half the time).
func randomLayout(_ m: inout Mutator) -> ZipLayout {
    ZipLayout(zip64Extras: m.chance(0.5), zip64End: m.chance(0.5), descriptors: m.chance(0.4), descriptorSignature: m.chance(0.7))
}

/// The CRC-32 of `b` (zlib's).
func crc(_ b: [UInt8]) -> UInt32 { b.withUnsafeBytes { Inflater.crc32($0) } }

// MARK: - .npy header dicts

/// Tokens a `.npy` header's values are replaced with: dtypes (valid, wide, zero-width,
/// overflowing, big-endian, pickled, structured), shapes (empty, huge, negative,
/// overflowing products, not numbers) and order flags.
let npyDescrs = ["'<f4'", "'<f2'", "'<f8'", "'<i8'", "'<u8'", "'|u1'", "'|b1'", "'<U5'", "'|S3'", "'<U0'", "'|S0'",
                 "'<U4611686018427387904'", "'<U2305843009213693952'", "'|S9223372036854775807'", "'>f4'", "'|O'",
                 "'<V2'", "'<c8'", "'<f16'", "'<f'", "''", "'<'", "[('a', '<f4')]", "'<i3'", "'<U-1'"]
let npyShapes = ["()", "(0,)", "(6,)", "(6, 4)", "(4, 6)", "(0, 4)", "(6, 0)", "(1, 1, 1)", "(-1, 4)", "(6, 4, )",
                 "(4611686018427387904, 4)", "(3037000500, 3037000500)", "(9223372036854775807,)", "(9223372036854775808,)",
                 "(2147483648, 2)", "(6L, 4L)", "(6, 'a')", "(1e3,)", "[6, 4]", "(", "(6, 4", "(,)"]
let npyOrders = ["False", "True", "0", "None", "'x'"]

/// A `.npy` whose header dict has had one to three values replaced (or a key dropped, or
/// the dict cut short); the header length field is rewritten to match most of the time.
func mutateNpyHeader(_ b: [UInt8], _ m: inout Mutator) -> [UInt8] {
    guard b.count >= 10, b[6] == 1 else { return b }
    let hlen = Int(b[8]) | Int(b[9]) << 8
    guard 10 + hlen <= b.count else { return b }
    var text = String(decoding: b[10..<(10 + hlen)], as: UTF8.self)
    for _ in 0...m.below(3) {
        let (key, values): (String, [String]) = [("descr", npyDescrs), ("shape", npyShapes), ("fortran_order", npyOrders)][m.below(3)]
        guard let r = text.range(of: "'\(key)': ") else { continue }
        let rest = text[r.upperBound...]
        let end = rest.hasPrefix("(") ? rest.firstIndex(of: ")").map { rest.index(after: $0) } : rest.firstIndex(of: ",")
        guard let e = end else { continue }
        switch m.below(10) {
        case 0: text.removeSubrange(r.lowerBound..<e)
        case 1: text = String(text[..<r.upperBound])
        default: text.replaceSubrange(r.upperBound..<e, with: values[m.below(values.count)])
        }
    }
    var header = Array(text.utf8)
    if m.chance(0.8) { while (10 + header.count) % 64 != 0 { header.append(0x20) } }
    let length = m.chance(0.9) ? header.count : hlen
    return Array(b[0..<8]) + le(UInt64(length), 2) + header + Array(b[(10 + hlen)...])
}

/// The fixed fields of a `.npy`: version and header length.
let npyFields = [Field(offset: 6, width: 1, bigEndian: false), Field(offset: 8, width: 2, bigEndian: false)]
