import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Bytes that arrays read from: an open file read with `pread` (never mapped, so a file
/// truncated by another process cannot fault the reader), or a buffer this object owns
/// (an inflated zip member, decoded bytes). A file's identity (`FileSnapshot`) is taken
/// when it is opened and checked after every read: a file truncated, rewritten or replaced
/// while afg reads it fails with "changed while it was read", never with wrong data.
final class ByteStorage {
    let count: Int
    private let memory: UnsafeMutableRawPointer?
    private let fd: Int32
    private let path: String
    private let snapshot: FileSnapshot?
    /// A window of the file for small header reads (`le`, `bytes`): one `pread` per 128 KiB.
    private var window: [UInt8] = []
    private var windowStart = 0

    private init(count: Int, memory: UnsafeMutableRawPointer?, fd: Int32, path: String, snapshot: FileSnapshot?) {
        self.count = count; self.memory = memory; self.fd = fd; self.path = path; self.snapshot = snapshot
    }

    deinit {
        if let m = memory { m.deallocate() }
        if fd >= 0 { close(fd) }
    }

    /// Opens `path` for reading.
    /// - Throws: `.fileMissing` for a missing, unreadable or directory path.
    static func open(_ path: String) throws -> ByteStorage {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FeatureIOError(.fileMissing, file: path, problem: "no such file")
        }
        guard !isDir.boolValue else { throw FeatureIOError(.fileMissing, file: path, problem: "is a directory, not a file") }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FeatureIOError(.fileMissing, file: path, problem: "not readable (permission denied)") }
        guard let s = FileSnapshot(fd: fd), let size = Int(exactly: s.size) else {
            close(fd)
            throw FeatureIOError(.fileMissing, file: path, problem: "cannot stat")
        }
        return ByteStorage(count: size, memory: nil, fd: fd, path: path, snapshot: s)
    }

    /// A zero-filled buffer of `count` bytes that the caller fills before any read.
    static func owned(count: Int) -> (ByteStorage, UnsafeMutableRawPointer) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        return (ByteStorage(count: count, memory: p, fd: -1, path: "", snapshot: nil), p)
    }

    /// Copies bytes `offset..<offset + n` into `dst`.
    /// - Precondition: the range lies inside `count` (the parsers check it first).
    /// - Throws: `FeatureIOError(.changed)` if the file is shorter than it was or no longer
    ///   the file that was opened; `.fileMissing` for a failing read.
    func copy(_ offset: Int, _ n: Int, into dst: UnsafeMutableRawPointer) throws {
        precondition(offset >= 0 && n >= 0 && offset <= count - n, "ByteStorage: read outside the data")
        if let m = memory { dst.copyMemory(from: m + offset, byteCount: n); return }
        var done = 0
        while done < n {
            let r = pread(fd, dst + done, n - done, off_t(offset + done))
            if r < 0 {
                if errno == EINTR { continue }
                throw FeatureIOError(.fileMissing, file: path, problem: "read failed: \(String(cString: strerror(errno)))")
            }
            if r == 0 { throw FileSnapshot.changed(path) }
            done += r
        }
        try checkUnchanged()
    }

    /// Throws `.changed` unless the open file and the file at `path` are still the one
    /// opened, with the same size and modification time.
    func checkUnchanged() throws {
        guard let s = snapshot else { return }
        guard FileSnapshot(fd: fd) == s, FileSnapshot(path: path) == s else { throw FileSnapshot.changed(path) }
    }

    /// Bytes `range` as an array. - Precondition and throws: as `copy`.
    func bytes(_ range: Range<Int>) throws -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ByteStorage: read outside the data")
        if memory == nil, range.lowerBound >= windowStart, range.upperBound <= windowStart + window.count {
            return Array(window[(range.lowerBound - windowStart)..<(range.upperBound - windowStart)])
        }
        var out = [UInt8](repeating: 0, count: range.count)
        try out.withUnsafeMutableBytes { if range.count > 0 { try copy(range.lowerBound, range.count, into: $0.baseAddress!) } }
        return out
    }

    /// Little-endian unsigned integer of `width` (≤ 8) bytes at `offset`.
    /// - Precondition: `offset + width <= count`. - Throws: as `copy`.
    func le(_ offset: Int, _ width: Int) throws -> UInt64 {
        precondition(offset >= 0 && width <= 8 && offset <= count - width, "ByteStorage: read outside the data")
        if let m = memory {
            return (0..<width).reduce(0) { $0 | UInt64(m.load(fromByteOffset: offset + $1, as: UInt8.self)) << (8 * UInt64($1)) }
        }
        if offset < windowStart || offset + width > windowStart + window.count {
            let start = offset & ~0xFFFF
            window = []
            window = try bytes(start..<min(count, start + (128 << 10)))
            windowStart = start
        }
        return (0..<width).reduce(0) { $0 | UInt64(window[offset - windowStart + $1]) << (8 * UInt64($1)) }
    }

    /// Runs `body` over bytes `range` in one piece: in place for a buffer, read into
    /// memory for a file. - Throws: as `copy`, or what `body` throws.
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if let m = memory { return try body(UnsafeRawBufferPointer(start: m + range.lowerBound, count: range.count)) }
        return try bytes(range).withUnsafeBytes { try body($0) }
    }

    /// Runs `body` over bytes `range` in order, in pieces of at most `piece` bytes (a file
    /// is read piece by piece, so memory stays one piece). - Throws: as `withBytes`.
    func forEachPiece(_ range: Range<Int>, piece: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var start = range.lowerBound
        repeat {
            let end = min(range.upperBound, start + piece)
            try withBytes(start..<end, body)
            start = end
        } while start < range.upperBound
    }
}

/// What identifies a file's contents between two reads: device, inode, size and
/// modification time (to the nanosecond). Another process that truncates, rewrites or
/// replaces the file changes at least one of them.
struct FileSnapshot: Equatable {
    var device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int

    init(_ st: stat) {
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        seconds = st.st_mtim.tv_sec; nanoseconds = st.st_mtim.tv_nsec
    }

    init?(fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        self.init(st)
    }

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    /// The one-line error of a file that changed while it was read.
    static func changed(_ path: String) -> FeatureIOError {
        FeatureIOError(.changed, file: path, problem: "changed while it was read (truncated, rewritten or replaced by another process)")
    }
}
