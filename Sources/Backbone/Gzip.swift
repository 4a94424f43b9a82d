import FeatureIO
import Foundation

/// gzip decompression through FeatureIO's `Inflater` (Foundation on Linux has none).
enum Gzip {
    /// True when `data` starts with the gzip magic bytes `1f 8b`.
    static func isGzip(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B }

    /// Inflates a gzip stream (concatenated members included).
    /// - Throws: `BackboneError` naming `name` on corrupt or truncated input.
    static func decompress(_ data: Data, name: String) throws -> Data {
        var out = Data()
        do {
            _ = try data.withUnsafeBytes { try Inflater.inflate($0, format: .gzip) { out.append(contentsOf: $0) } }
        } catch let f as Inflater.Failure {
            throw BackboneError("\(name): gzip: \(f.problem)")
        }
        return out
    }
}
