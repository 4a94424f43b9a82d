import CZlib
import Foundation

/// gzip / zlib decompression through the system zlib (Foundation on Linux has none).
enum Gzip {
    /// True when `data` starts with the gzip magic bytes `1f 8b`.
    static func isGzip(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B }

    /// Inflates a gzip stream (concatenated members included).
    /// - Throws: `BackboneError` naming `name` on corrupt or truncated input.
    static func decompress(_ data: Data, name: String) throws -> Data {
        var stream = z_stream()
        var status = afg_inflateInit2(&stream, 16 + MAX_WBITS)
        guard status == Z_OK else { throw BackboneError("\(name): zlib inflateInit failed (\(status))") }
        defer { inflateEnd(&stream) }
        var out = Data()
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: Bytef.self).baseAddress)
            guard let available = uInt(exactly: raw.count) else {
                throw BackboneError("\(name): gzip file of \(raw.count) bytes is larger than zlib's 4 GiB input")
            }
            stream.avail_in = available
            repeat {
                status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                out.append(buffer, count: produced)
                if status == Z_STREAM_END && stream.avail_in > 0 {
                    // Another gzip member follows.
                    guard inflateReset(&stream) == Z_OK else { throw BackboneError("\(name): zlib reset failed") }
                    status = Z_OK
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    throw BackboneError("\(name): truncated gzip data after \(out.count) bytes")
                }
                if status != Z_OK && status != Z_STREAM_END {
                    throw BackboneError("\(name): corrupt gzip data (zlib status \(status) after \(out.count) bytes)")
                }
            } while status != Z_STREAM_END
        }
        return out
    }
}
