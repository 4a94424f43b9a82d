import Foundation

/// Element types of NumPy and safetensors arrays: little-endian, C order.
enum RawElement: Equatable {
    case float16, bfloat16, float32, float64
    case integer(bytes: Int, signed: Bool)
    case bool
    /// NumPy `<U n`: n UTF-32 code units, NUL-padded.
    case unicode(chars: Int)
    /// NumPy `|S n`: n bytes, NUL-padded.
    case bytes(count: Int)

    var size: Int {
        switch self {
        case .float16, .bfloat16: return 2
        case .float32: return 4
        case .float64: return 8
        case .integer(let b, _): return b
        case .bool: return 1
        case .unicode(let n): return 4 * n
        case .bytes(let n): return n
        }
    }

    var name: String {
        switch self {
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .integer(let b, let s): return (s ? "int" : "uint") + "\(8 * b)"
        case .bool: return "bool"
        case .unicode(let n): return "unicode string (<U\(n))"
        case .bytes(let n): return "byte string (S\(n))"
        }
    }

    var kind: StoredKind {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return .float
        case .integer: return .integer
        case .unicode, .bytes: return .string
        case .bool: return .other
        }
    }
}

/// A dense C-order little-endian array inside a `ByteStorage` (a `.npy`, `.npz` member or
/// safetensors tensor): reads convert straight from the file's bytes, a block at a time,
/// so a file is read once and never held whole. Unaligned bytes are fine (zip members sit
/// at any offset). Assumes a little-endian host (x86-64, arm64).
final class RawArray: StoredArray {
    /// The file the array is in, for messages.
    let file: String
    let name: String
    let shape: [Int]
    let element: RawElement
    let storage: ByteStorage
    let offset: Int

    /// - Precondition: `offset + count · size` inside `storage` (the parsers check it first).
    init(file: String, name: String, shape: [Int], element: RawElement, storage: ByteStorage, offset: Int) {
        precondition(offset >= 0 && offset + shape.reduce(1, *) * element.size <= storage.count, "RawArray \(name) outside its storage")
        self.file = file; self.name = name; self.shape = shape; self.element = element; self.storage = storage; self.offset = offset
    }

    var kind: StoredKind { element.kind }
    var typeName: String { element.name }
    var chunkRows: Int? { nil }
    var count: Int { shape.reduce(1, *) }

    /// Runs `convert(bytes, first, n)` over elements `start..<start + n` in pieces of at
    /// most 1 MiB of stored bytes (`first`: the piece's index within the run).
    private func pieces(start: Int, count n: Int, _ convert: (UnsafeRawPointer, Int, Int) -> Void) throws {
        let w = element.size, per = max(1, (1 << 20) / max(w, 1))
        var done = 0
        while done < n {
            let k = min(per, n - done)
            try storage.withBytes((offset + (start + done) * w)..<(offset + (start + done + k) * w)) { convert($0.baseAddress!, done, k) }
            done += k
        }
    }

    /// Converts `n` elements starting at element `start` into `out`. O(n).
    /// - Throws: `.changed` if the file changed while it was read.
    func floats(start: Int, count n: Int, into out: UnsafeMutablePointer<Float>) throws {
        precondition(kind == .float && start >= 0 && start + n <= count)
        switch element {
        case .float32: try storage.copy(offset + 4 * start, 4 * n, into: out)
        case .float16: try pieces(start: start, count: n) { p, f, k in
            for i in 0..<k { out[f + i] = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) } }
        case .bfloat16: try pieces(start: start, count: n) { p, f, k in
            for i in 0..<k { out[f + i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) } }
        case .float64: try pieces(start: start, count: n) { p, f, k in
            for i in 0..<k { out[f + i] = Float(p.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) } }
        default: preconditionFailure("floats of \(element.name)")
        }
    }

    /// Element `i` of a float64 array, unrounded. - Throws: as `floats`.
    func double(at i: Int) throws -> Double {
        precondition(element == .float64 && i >= 0 && i < count)
        var v = 0.0
        try storage.copy(offset + 8 * i, 8, into: &v)
        return v
    }

    /// Converts `n` integers starting at element `start` into `out`. O(n).
    /// - Throws: as `floats`.
    func integers(start: Int, count n: Int, into out: UnsafeMutablePointer<Int64>) throws {
        precondition(kind == .integer && start >= 0 && start + n <= count)
        let element = self.element
        try pieces(start: start, count: n) { p, f, k in
            let o = out + f
            switch element {
            case .integer(1, true): for i in 0..<k { o[i] = Int64(p.loadUnaligned(fromByteOffset: i, as: Int8.self)) }
            case .integer(1, false): for i in 0..<k { o[i] = Int64(p.loadUnaligned(fromByteOffset: i, as: UInt8.self)) }
            case .integer(2, true): for i in 0..<k { o[i] = Int64(p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
            case .integer(2, false): for i in 0..<k { o[i] = Int64(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .integer(4, true): for i in 0..<k { o[i] = Int64(p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            case .integer(4, false): for i in 0..<k { o[i] = Int64(p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            case .integer(8, true): for i in 0..<k { o[i] = p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self) }
            case .integer(8, false):
                for i in 0..<k { o[i] = Int64(clamping: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
            default: preconditionFailure("integers of \(element.name)")
            }
        }
    }

    func readFloats(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>, scratch: inout ConversionScratch) throws {
        let r = rowElements
        precondition(out.count >= rows.count * r)
        if rows.isEmpty { return }
        try floats(start: rows.lowerBound * r, count: rows.count * r, into: out.baseAddress!)
    }

    func readIntegers(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Int64>) throws {
        let r = rowElements
        precondition(out.count >= rows.count * r)
        if rows.isEmpty { return }
        try integers(start: rows.lowerBound * r, count: rows.count * r, into: out.baseAddress!)
    }

    /// The strings of a 1-D NumPy string array, trailing NULs removed.
    /// - Throws: `.wrongType` for text that is not valid UTF-32 / UTF-8; `.changed`.
    func readStrings() throws -> [String] {
        precondition(kind == .string && shape.count == 1)
        let w = element.size
        let all = try storage.bytes(offset..<(offset + count * w))
        return try all.withUnsafeBytes { raw in
            try (0..<count).map { i in
                let p = raw.baseAddress! + i * w
                switch element {
                case .unicode(let n):
                    var scalars = String.UnicodeScalarView()
                    for j in 0..<n {
                        let u = p.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)
                        if u == 0 { break }
                        guard let s = Unicode.Scalar(u) else {
                            throw FeatureIOError(.wrongType, file: file, dataset: name, problem: "string \(i) is not valid UTF-32")
                        }
                        scalars.append(s)
                    }
                    return String(scalars)
                default:
                    var bytes = [UInt8](UnsafeRawBufferPointer(start: p, count: w))
                    while bytes.last == 0 { bytes.removeLast() }
                    guard let s = String(validating: bytes, as: UTF8.self) else {
                        throw FeatureIOError(.wrongType, file: file, dataset: name, problem: "string \(i) is not valid UTF-8")
                    }
                    return s
                }
            }
        }
    }
}
