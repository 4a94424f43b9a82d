import CZlib
import Foundation

/// zlib's inflate, the one place afg decompresses: raw deflate (zip members) and gzip
/// (IDX files, concatenated members included), streamed in 1 MiB pieces to a sink.
public enum Inflater {
    public enum Format: Sendable { case raw, gzip }

    /// A corrupt or truncated stream: what is wrong and after how many output bytes.
    public struct Failure: Error, Sendable {
        public var problem: String
    }

    /// Inflates `input` and hands the output to `sink` piece by piece, in order; returns
    /// the number of bytes produced. `limit`: stop with a `Failure` once more would be
    /// produced (a declared size the data must not exceed).
    /// - Throws: `Failure` for corrupt or truncated data, or whatever `sink` throws.
    @discardableResult
    public static func inflate(_ input: UnsafeRawBufferPointer, format: Format, limit: Int = .max,
                               into sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var s = z_stream()
        var status = afg_inflateInit2(&s, format == .raw ? -MAX_WBITS : 16 + MAX_WBITS)
        guard status == Z_OK else { throw Failure(problem: "zlib inflateInit failed (\(status))") }
        defer { inflateEnd(&s) }
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var consumed = 0, produced = 0
        let base = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        repeat {
            let step = min(input.count - consumed, Int(UInt32.max / 2))
            s.next_in = base.map { $0 + consumed }
            s.avail_in = uInt(step)
            let n: Int = buffer.withUnsafeMutableBufferPointer { b in
                s.next_out = b.baseAddress
                s.avail_out = uInt(chunk)
                status = CZlib.inflate(&s, Z_NO_FLUSH)
                return chunk - Int(s.avail_out)
            }
            consumed += step - Int(s.avail_in)
            guard n <= limit - produced else { throw Failure(problem: "inflates to more than the declared \(limit) bytes") }
            if n > 0 { try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
            produced += n
            if status == Z_STREAM_END && format == .gzip && consumed < input.count {
                // Another gzip member follows.
                guard inflateReset(&s) == Z_OK else { throw Failure(problem: "zlib reset failed") }
                status = Z_OK
            }
            if status == Z_BUF_ERROR && consumed == input.count && n == 0 {
                throw Failure(problem: "truncated compressed data after \(produced) bytes")
            }
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw Failure(problem: "corrupt compressed data (zlib status \(status) after \(produced) bytes)")
            }
        } while status != Z_STREAM_END
        return produced
    }

    /// zip's CRC-32 (zlib's `crc32_z`), fed piece by piece.
    public struct CRC32 {
        public private(set) var value: UInt32 = 0
        public init() {}
        public mutating func add(_ bytes: UnsafeRawBufferPointer) {
            value = UInt32(truncatingIfNeeded: crc32_z(uLong(value), bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), z_size_t(bytes.count)))
        }
    }

    /// zip's CRC-32 of `bytes`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = CRC32()
        c.add(bytes)
        return c.value
    }
}
