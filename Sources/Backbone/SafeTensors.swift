import Foundation

/// Data errors of the Backbone module: each names the file and what is wrong with it.
public struct BackboneError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

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
/// Reading accepts F32, F64, F16, BF16 (converted to `Float`) and I64, I32, I16, I8, U8
/// (to `Int64`); writing uses F32 and I64, keys sorted, header padded to 8 bytes.
public struct SafeTensorsFile: Equatable {
    public var tensors: [String: StoredTensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]

    public init(tensors: [String: StoredTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }

    /// Reads a file. - Throws: `BackboneError` naming the file and the offending tensor.
    public static func read(path: String) throws -> SafeTensorsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackboneError("\(path): cannot read safetensors file")
        }
        return try decode(data, name: path)
    }

    /// Decodes safetensors bytes; `name` appears in error messages.
    public static func decode(_ data: Data, name: String) throws -> SafeTensorsFile {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw BackboneError("\(name): not a safetensors file (\(bytes.count) bytes)") }
        var hlen: UInt64 = 0
        for i in 0..<8 { hlen |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard hlen <= UInt64(bytes.count - 8) else {
            throw BackboneError("\(name): safetensors header length \(hlen) exceeds the file size \(bytes.count)")
        }
        let start = 8 + Int(hlen)
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<start])) as? [String: Any] else {
            throw BackboneError("\(name): safetensors header is not a JSON object")
        }
        var out = SafeTensorsFile()
        for (key, value) in json {
            if key == "__metadata__" {
                if let m = value as? [String: Any] { for (k, v) in m { out.metadata[k] = "\(v)" } }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offs = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }), offs.count == 2
            else { throw BackboneError("\(name): tensor '\(key)' has a malformed header entry") }
            // Dimensions and byte counts from the file: checked, since a trap is no refusal.
            var count = 1, overflow = false
            for d in shape where !overflow { (count, overflow) = d < 0 ? (0, true) : count.multipliedReportingOverflow(by: d) }
            guard !overflow else {
                throw BackboneError("\(name): tensor '\(key)' has shape \(shape), which is negative or too large")
            }
            let width: Int
            switch dtype {
            case "F64", "I64": width = 8
            case "F32", "I32": width = 4
            case "F16", "BF16", "I16": width = 2
            case "I8", "U8", "BOOL": width = 1
            default: throw BackboneError("\(name): tensor '\(key)' has unsupported dtype \(dtype)")
            }
            let (size, tooLarge) = count.multipliedReportingOverflow(by: width)
            guard !tooLarge, offs[0] >= 0, offs[1] >= offs[0], offs[1] - offs[0] == size, offs[1] <= bytes.count - start else {
                throw BackboneError("\(name): tensor '\(key)' (\(dtype) \(shape)) has data offsets \(offs) that do not match its size or the file")
            }
            let base = start + offs[0]
            func le(_ i: Int, _ w: Int) -> UInt64 {
                var v: UInt64 = 0
                for b in 0..<w { v |= UInt64(bytes[base + i * w + b]) << (8 * UInt64(b)) }
                return v
            }
            let values: StoredTensor.Values
            switch dtype {
            case "F32": values = .float((0..<count).map { Float(bitPattern: UInt32(le($0, 4))) })
            case "F64": values = .float((0..<count).map { Float(Double(bitPattern: le($0, 8))) })
            case "F16": values = .float((0..<count).map { halfToFloat(UInt16(le($0, 2))) })
            case "BF16": values = .float((0..<count).map { Float(bitPattern: UInt32(le($0, 2)) << 16) })
            case "I64": values = .int64((0..<count).map { Int64(bitPattern: le($0, 8)) })
            case "I32": values = .int64((0..<count).map { Int64(Int32(bitPattern: UInt32(le($0, 4)))) })
            case "I16": values = .int64((0..<count).map { Int64(Int16(bitPattern: UInt16(le($0, 2)))) })
            case "I8": values = .int64((0..<count).map { Int64(Int8(bitPattern: UInt8(le($0, 1)))) })
            default: values = .int64((0..<count).map { Int64(le($0, 1)) })
            }
            out.tensors[key] = StoredTensor(shape: shape, values: values)
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

    /// Writes atomically (a temporary file in the same folder, then a rename).
    public func write(path: String) throws {
        let url = URL(fileURLWithPath: path)
        do { try encoded().write(to: url, options: .atomic) } catch {
            throw BackboneError("\(path): cannot write safetensors file (\(error.localizedDescription))")
        }
    }
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

/// IEEE binary16 → Float.
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = Int((h >> 10) & 0x1F), frac = UInt32(h & 0x3FF)
    if exp == 0 {
        let v = Float(frac) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (frac << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (frac << 13))
}

extension Network {
    /// The network's state as safetensors tensors (PyTorch `state_dict` names and shapes;
    /// `num_batches_tracked` as an I64 scalar).
    public func stateTensors() -> [String: StoredTensor] {
        var out: [String: StoredTensor] = [:]
        for s in stateSlots {
            switch s.kind {
            case .counter: out[s.name] = StoredTensor(shape: s.shape, values: .int64(s.get().map { Int64($0) }))
            default: out[s.name] = StoredTensor(shape: s.shape, values: .float(s.get().map { Float($0) }))
            }
        }
        return out
    }

    /// Loads a state dict (ours or PyTorch's, a `module.` prefix from `DataParallel`
    /// stripped). Every entry of the network must be present with its shape, except
    /// `num_batches_tracked` (absent in old PyTorch files). Keys the network does not
    /// have are errors unless `ignoring` says they belong to something else.
    /// - Throws: `BackboneError` naming the file (`source`) and the key.
    public func loadState(_ tensors: [String: StoredTensor], source: String, ignoring: (String) -> Bool = { _ in false }) throws {
        var t = tensors
        if !t.isEmpty && t.keys.allSatisfy({ $0.hasPrefix("module.") }) {
            t = Dictionary(uniqueKeysWithValues: t.map { (String($0.key.dropFirst(7)), $0.value) })
        }
        var used = Set<String>()
        for s in stateSlots {
            guard let v = t[s.name] else {
                if s.kind == .counter { continue }
                throw BackboneError("\(source): missing tensor '\(s.name)' for \(architecture) (shape \(s.shape))")
            }
            let expected = s.shape.reduce(1, *)
            guard v.count == expected, v.shape.filter({ $0 != 1 }) == s.shape.filter({ $0 != 1 }) else {
                throw BackboneError("\(source): tensor '\(s.name)' has shape \(v.shape), \(architecture) with \(numClasses) classes needs \(s.shape)")
            }
            s.set(v.doubles)
            used.insert(s.name)
        }
        let extra = t.keys.filter { !used.contains($0) && !ignoring($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
        if let first = extra.first {
            throw BackboneError("\(source): unexpected tensor '\(first)' (\(extra.count) not in \(architecture)); wrong --arch?")
        }
    }
}
