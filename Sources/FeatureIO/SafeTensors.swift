import Foundation

/// A tensor as stored in a safetensors file: shape plus values (floating types are
/// converted to `Float`, integer types to `Int64`).
public struct StoredTensor: Equatable {
    public enum Values: Equatable { case float([Float]), int64([Int64]) }
    public var shape: [Int]
    public var values: Values
    public init(shape: [Int], values: Values) { self.shape = shape; self.values = values }
    public init(shape: [Int], floats: [Float]) { self.init(shape: shape, values: .float(floats)) }
    public var count: Int { shape.reduce(1, *) }
    /// Values as `Double` (either kind).
    public var doubles: [Double] {
        switch values { case .float(let f): return f.map(Double.init); case .int64(let i): return i.map(Double.init) }
    }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`,
/// then the raw little-endian tensor bytes. PyTorch writes it with
/// `safetensors.torch.save_file(model.state_dict(), path)`.
///
/// Reading accepts F32, F64, F16, BF16 (converted to `Float`) and I8…I64, U8…U64, BOOL
/// (to `Int64`); writing uses F32 and I64, keys sorted, header padded to 8 bytes.
public struct SafeTensorsFile: Equatable {
    public var tensors: [String: StoredTensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]

    public init(tensors: [String: StoredTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }

    /// Reads a file. - Throws: `FeatureIOError` naming the file and the offending tensor.
    public static func read(path: String) throws -> SafeTensorsFile {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw FeatureIOError(.fileMissing, file: path, problem: "cannot read safetensors file")
        }
        return try decode(try ByteStorage.open(path), name: path)
    }

    /// Decodes safetensors bytes; `name` appears in error messages.
    public static func decode(_ data: Data, name: String) throws -> SafeTensorsFile {
        let (storage, p) = ByteStorage.owned(count: data.count)
        data.withUnsafeBytes { if $0.count > 0 { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        return try decode(storage, name: name)
    }

    private static func decode(_ bytes: ByteStorage, name: String) throws -> SafeTensorsFile {
        let layout = try SafeTensorsLayout(bytes, name: name)
        var out = SafeTensorsFile(metadata: layout.metadata)
        for (key, a) in layout.arrays {
            switch a.kind {
            case .float:
                var v = [Float](repeating: 0, count: a.count)
                try v.withUnsafeMutableBufferPointer { if a.count > 0 { try a.floats(start: 0, count: a.count, into: $0.baseAddress!) } }
                out.tensors[key] = StoredTensor(shape: a.shape, values: .float(v))
            default:
                var v = [Int64](repeating: 0, count: a.count)
                try v.withUnsafeMutableBufferPointer { if a.count > 0 { try a.integers(start: 0, count: a.count, into: $0.baseAddress!) } }
                out.tensors[key] = StoredTensor(shape: a.shape, values: .int64(v))
            }
        }
        return out
    }

    /// The file's bytes (F32 / I64, keys sorted, header padded with spaces to 8 bytes).
    public func encoded() -> Data {
        let keys = tensors.keys.sorted()
        var header = "{"
        var offset = 0
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        for k in keys {
            let t = tensors[k]!
            let (dtype, w): (String, Int) = { if case .float = t.values { return ("F32", 4) } else { return ("I64", 8) } }()
            let end = offset + t.count * w
            parts.append("\(jsonString(k)):{\"dtype\":\"\(dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += parts.joined(separator: ",") + "}"
        var hb = Array(header.utf8)
        while hb.count % 8 != 0 { hb.append(0x20) }
        var out = Data(capacity: 8 + hb.count + offset)
        var len = UInt64(hb.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(contentsOf: hb)
        for k in keys {
            switch tensors[k]!.values {
            case .float(let f): f.withUnsafeBufferPointer { p in out.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self), count: p.count * 4)) }
            case .int64(let v): v.withUnsafeBufferPointer { p in out.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self), count: p.count * 8)) }
            }
        }
        return out
    }

    /// Writes atomically (`writeAtomically`: a temporary file in the same folder, then a rename).
    public func write(path: String) throws { try FeatureStore.writeData(encoded(), to: path) }
}

private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// The header of a safetensors file over its bytes: one `RawArray` per tensor, and
/// the `__metadata__` strings. Validates every entry (dtype, shape, offsets inside the file).
struct SafeTensorsLayout {
    var arrays: [String: RawArray] = [:]
    var metadata: [String: String] = [:]

    /// - Throws: `FeatureIOError(.wrongType)` naming `name` and the offending tensor.
    init(_ bytes: ByteStorage, name: String) throws {
        func fail(_ problem: String) -> FeatureIOError { FeatureIOError(.wrongType, file: name, problem: problem) }
        guard bytes.count >= 8 else { throw fail("not a safetensors file (\(bytes.count) bytes)") }
        let hlen = try bytes.le(0, 8)
        guard hlen <= UInt64(bytes.count - 8) else {
            throw fail("safetensors header length \(hlen) exceeds the file size \(bytes.count)")
        }
        let start = 8 + Int(hlen)
        let text = Data(try bytes.bytes(8..<(8 + Int(hlen))))
        var ranges: [(String, Range<Int>)] = []
        guard let json = try? JSONSerialization.jsonObject(with: text) as? [String: Any] else {
            throw fail("safetensors header is not a JSON object")
        }
        for (key, value) in json {
            if key == "__metadata__" {
                if let m = value as? [String: Any] { for (k, v) in m { metadata[k] = "\(v)" } }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsetValues = info["data_offsets"] as? [Any]
            else { throw fail("tensor '\(key)' has a malformed header entry") }
            let shape = shapeValues.compactMap(jsonInteger), offs = offsetValues.compactMap(jsonInteger)
            guard shape.count == shapeValues.count else {
                throw fail("tensor '\(key)' has shape \(shapeValues.map { "\($0)" }); every dimension must be a whole number")
            }
            guard offs.count == 2, offsetValues.count == 2 else {
                throw fail("tensor '\(key)' has data offsets \(offsetValues.map { "\($0)" }); expected two whole numbers")
            }
            let element: RawElement
            switch dtype {
            case "F64": element = .float64
            case "F32": element = .float32
            case "F16": element = .float16
            case "BF16": element = .bfloat16
            case "I64", "I32", "I16", "I8": element = .integer(bytes: Int(dtype.dropFirst())! / 8, signed: true)
            case "U64", "U32", "U16", "U8": element = .integer(bytes: Int(dtype.dropFirst())! / 8, signed: false)
            case "BOOL": element = .integer(bytes: 1, signed: false)
            default: throw fail("tensor '\(key)' has unsupported dtype \(dtype)")
            }
            // Dimensions and byte counts from the file: checked, since a trap is no refusal.
            var count = 1, overflow = false
            for d in shape where !overflow { (count, overflow) = d < 0 ? (0, true) : count.multipliedReportingOverflow(by: d) }
            guard !overflow else { throw fail("tensor '\(key)' has shape \(shape), which is negative or too large") }
            let (size, tooLarge) = count.multipliedReportingOverflow(by: element.size)
            guard !tooLarge, offs[0] >= 0, offs[1] >= offs[0], offs[1] - offs[0] == size, offs[1] <= bytes.count - start else {
                throw fail("tensor '\(key)' (\(dtype) \(shape)) has data offsets \(offs) that do not match its size or the file")
            }
            arrays[key] = RawArray(file: name, name: key, shape: shape, element: element, storage: bytes, offset: start + offs[0])
            ranges.append((key, offs[0]..<offs[1]))
        }
        try Self.checkDisjoint(ranges, fail: fail)
    }

    /// Refuses tensors whose data ranges overlap (a forged header could alias one tensor's
    /// bytes as another's); empty tensors overlap nothing.
    private static func checkDisjoint(_ ranges: [(String, Range<Int>)], fail: (String) -> FeatureIOError) throws {
        let sorted = ranges.filter { !$0.1.isEmpty }.sorted { ($0.1.lowerBound, $0.0) < ($1.1.lowerBound, $1.0) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.1.lowerBound < a.1.upperBound {
            throw fail("tensors '\(a.0)' (bytes \(a.1)) and '\(b.0)' (bytes \(b.1)) overlap")
        }
    }
}

/// A JSON number that is a whole number within `Int` (JSONSerialization types integers
/// as `i`/`q`; a fraction, an exponent form, a boolean or a value ≥ 2^63 is none).
private func jsonInteger(_ v: Any) -> Int? {
    guard let n = v as? NSNumber, ["i", "l", "q", "s"].contains(String(cString: n.objCType)) else { return nil }
    return n.intValue
}

/// A `.safetensors` feature or classifier file: tensors are arrays, `__metadata__` entries
/// are string attributes (`num_classes`, `tukey_lambda`, …).
final class SafeTensorArrays: ArrayContainer {
    let path: String
    private let layout: SafeTensorsLayout

    init(path: String) throws {
        self.path = path
        layout = try SafeTensorsLayout(try ByteStorage.open(path), name: path)
    }

    func hasArray(_ key: String) -> Bool { layout.arrays[key] != nil || layout.arrays[H5File.normalize(key)] != nil }

    func array(_ key: String) throws -> StoredArray {
        if let a = layout.arrays[key] ?? layout.arrays[H5File.normalize(key)] { return a }
        throw missingArray(H5File.normalize(key), in: path, existing: layout.arrays.keys.sorted(), what: "tensors")
    }

    func attributes() throws -> [String: H5AttributeValue] { layout.metadata.mapValues { .string($0) } }
}
