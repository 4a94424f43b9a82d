import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Bytes that stay valid while an array reads them: a read-only memory map of a whole
/// file, or a buffer this object owns (an inflated zip member). Unmapped / freed in `deinit`.
final class ByteStorage {
    let base: UnsafeRawPointer
    let count: Int
    private let release: () -> Void

    private init(base: UnsafeRawPointer, count: Int, release: @escaping () -> Void) {
        self.base = base; self.count = count; self.release = release
    }
    deinit { release() }

    /// Maps `path` read-only (an empty file gets a one-byte dummy buffer).
    /// - Throws: `.fileMissing` for a missing, unreadable or directory path.
    static func map(_ path: String) throws -> ByteStorage {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FeatureIOError(.fileMissing, file: path, problem: "no such file")
        }
        guard !isDir.boolValue else { throw FeatureIOError(.fileMissing, file: path, problem: "is a directory, not a file") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FeatureIOError(.fileMissing, file: path, problem: "not readable (permission denied)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FeatureIOError(.fileMissing, file: path, problem: "cannot stat") }
        let size = Int(st.st_size)
        if size == 0 {
            let (s, _) = owned(count: 0)
            return s
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw FeatureIOError(.fileMissing, file: path, problem: "cannot map the file into memory")
        }
        return ByteStorage(base: UnsafeRawPointer(p), count: size) { munmap(p, size) }
    }

    /// A zero-filled buffer of `count` bytes that the caller fills before any read.
    static func owned(count: Int) -> (ByteStorage, UnsafeMutableRawPointer) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        return (ByteStorage(base: UnsafeRawPointer(p), count: count) { p.deallocate() }, p)
    }

    /// Little-endian unsigned integer of `width` bytes at `offset`.
    /// - Precondition: `offset + width <= count`.
    func le(_ offset: Int, _ width: Int) -> UInt64 {
        precondition(offset >= 0 && offset + width <= count)
        var v: UInt64 = 0
        for b in 0..<width { v |= UInt64(base.load(fromByteOffset: offset + b, as: UInt8.self)) << (8 * UInt64(b)) }
        return v
    }
}

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

/// A dense C-order little-endian array inside a `ByteStorage` (a mapped `.npy`, `.npz`
/// member or safetensors tensor): reads convert straight from the mapped bytes, so a file
/// is read once and never copied whole. Unaligned bytes are fine (zip members sit at any
/// offset). Assumes a little-endian host (x86-64, arm64).
final class RawArray: StoredArray {
    let name: String
    let shape: [Int]
    let element: RawElement
    let storage: ByteStorage
    let offset: Int

    /// - Precondition: `offset + count · size` inside `storage` (the parsers check it first).
    init(name: String, shape: [Int], element: RawElement, storage: ByteStorage, offset: Int) {
        precondition(offset >= 0 && offset + shape.reduce(1, *) * element.size <= storage.count, "RawArray \(name) outside its storage")
        self.name = name; self.shape = shape; self.element = element; self.storage = storage; self.offset = offset
    }

    var kind: StoredKind { element.kind }
    var typeName: String { element.name }
    var chunkRows: Int? { nil }
    var count: Int { shape.reduce(1, *) }

    /// Converts `n` elements starting at element `start` into `out`. O(n).
    func floats(start: Int, count n: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(kind == .float && start >= 0 && start + n <= count)
        let p = storage.base + offset + start * element.size
        switch element {
        case .float32: UnsafeMutableRawPointer(out).copyMemory(from: p, byteCount: 4 * n)
        case .float16: for i in 0..<n { out[i] = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bfloat16: for i in 0..<n { out[i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .float64: for i in 0..<n { out[i] = Float(p.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        default: preconditionFailure("floats of \(element.name)")
        }
    }

    /// Element `i` of a float64 array, unrounded.
    func double(at i: Int) -> Double {
        precondition(element == .float64 && i >= 0 && i < count)
        return storage.base.loadUnaligned(fromByteOffset: offset + 8 * i, as: Double.self)
    }

    /// Converts `n` integers starting at element `start` into `out`. O(n).
    func integers(start: Int, count n: Int, into out: UnsafeMutablePointer<Int64>) {
        precondition(kind == .integer && start >= 0 && start + n <= count)
        let p = storage.base + offset + start * element.size
        switch element {
        case .integer(1, true): for i in 0..<n { out[i] = Int64(p.loadUnaligned(fromByteOffset: i, as: Int8.self)) }
        case .integer(1, false): for i in 0..<n { out[i] = Int64(p.loadUnaligned(fromByteOffset: i, as: UInt8.self)) }
        case .integer(2, true): for i in 0..<n { out[i] = Int64(p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .integer(2, false): for i in 0..<n { out[i] = Int64(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .integer(4, true): for i in 0..<n { out[i] = Int64(p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .integer(4, false): for i in 0..<n { out[i] = Int64(p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .integer(8, true): for i in 0..<n { out[i] = p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self) }
        case .integer(8, false):
            for i in 0..<n { out[i] = Int64(clamping: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        default: preconditionFailure("integers of \(element.name)")
        }
    }

    func readFloats(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>, scratch: inout ConversionScratch) throws {
        let r = rowElements
        precondition(out.count >= rows.count * r)
        if rows.isEmpty { return }
        floats(start: rows.lowerBound * r, count: rows.count * r, into: out.baseAddress!)
    }

    func readIntegers(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Int64>) throws {
        let r = rowElements
        precondition(out.count >= rows.count * r)
        if rows.isEmpty { return }
        integers(start: rows.lowerBound * r, count: rows.count * r, into: out.baseAddress!)
    }

    /// The strings of a 1-D NumPy string array, trailing NULs removed.
    /// - Throws: `.wrongType` for text that is not valid UTF-32 / UTF-8.
    func readStrings() throws -> [String] {
        precondition(kind == .string && shape.count == 1)
        let w = element.size
        return try (0..<count).map { i in
            let p = storage.base + offset + i * w
            switch element {
            case .unicode(let n):
                var scalars = String.UnicodeScalarView()
                for j in 0..<n {
                    let u = p.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)
                    if u == 0 { break }
                    guard let s = Unicode.Scalar(u) else {
                        throw FeatureIOError(.wrongType, file: name, problem: "string \(i) is not valid UTF-32")
                    }
                    scalars.append(s)
                }
                return String(scalars)
            default:
                var bytes = [UInt8](UnsafeRawBufferPointer(start: p, count: w))
                while bytes.last == 0 { bytes.removeLast() }
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    throw FeatureIOError(.wrongType, file: name, problem: "string \(i) is not valid UTF-8")
                }
                return s
            }
        }
    }
}
