import Foundation

/// The `.npy` format (NumPy's `np.save`): magic `\x93NUMPY`, version, header length
/// (2 bytes for 1.0, 4 for 2.0 / 3.0), a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }` padded with spaces to a
/// multiple of 64 bytes, then the raw C-order data.
enum NumPy {
    /// A parsed header: the element type, shape and where the data starts.
    struct Header: Equatable {
        var element: RawElement
        var shape: [Int]
        var dataOffset: Int
    }

    /// Parses the header of the `.npy` bytes at `start..<end` of `bytes`.
    /// - Throws: `.wrongType` naming `file` and `array` for a malformed header, a Fortran-order
    ///   array of rank ≥ 2, a pickled object array, a big-endian or unsupported dtype, or
    ///   data shorter than the shape says.
    static func header(_ bytes: ByteStorage, start: Int, end: Int, file: String, array: String) throws -> Header {
        func fail(_ problem: String) -> FeatureIOError { FeatureIOError(.wrongType, file: file, dataset: array, problem: problem) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard end - start >= 10, try bytes.bytes(start..<(start + 6)) == magic else {
            throw fail("not a NumPy .npy array (no \\x93NUMPY magic)")
        }
        let major = Int(try bytes.le(start + 6, 1))
        let lenWidth = major == 1 ? 2 : 4
        guard (1...3).contains(major), end - start >= 8 + lenWidth else { throw fail("unsupported .npy version \(major)") }
        let hlen = Int(try bytes.le(start + 8, lenWidth))
        let textStart = start + 8 + lenWidth
        guard textStart + hlen <= end else { throw fail(".npy header length \(hlen) exceeds the data") }
        let text = String(decoding: try bytes.bytes(textStart..<(textStart + hlen)), as: UTF8.self)
        guard let descr = field(text, "descr"), let fortran = field(text, "fortran_order"), let shapeText = field(text, "shape") else {
            throw fail("malformed .npy header \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let element = try parseDescr(descr, fail: fail)
        let shape = try shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { s -> Int in
                guard let v = Int(s.hasSuffix("L") ? String(s.dropLast()) : s), v >= 0 else { throw fail("malformed shape \(shapeText)") }
                return v
            }
        if fortran == "True" && shape.filter({ $0 > 1 }).count > 1 {
            throw fail("Fortran-order (column-major) array of shape \(shape); save it in C order (np.ascontiguousarray) first")
        }
        let dataOffset = textStart + hlen
        guard let need = byteCount(shape: shape, elementSize: element.size) else {
            throw fail("shape \(shape) of \(element.name) is larger than any file")
        }
        guard end - dataOffset >= need else {
            throw fail("truncated: shape \(shape) of \(element.name) needs \(need) bytes, the file has \(end - dataOffset)")
        }
        return Header(element: element, shape: shape, dataOffset: dataOffset)
    }

    /// The bytes of an array of `shape` and `elementSize` (≥ 1, so every partial product of
    /// the shape is no larger), or nil when the product overflows `Int` (a forged header).
    static func byteCount(shape: [Int], elementSize: Int) -> Int? {
        var n = elementSize
        for d in shape {
            let (m, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = m
        }
        return n
    }

    /// The value text of `'key': value` in a header dict literal (a quoted string, a tuple
    /// or a bare word).
    private static func field(_ text: String, _ key: String) -> String? {
        guard let r = text.range(of: "'\(key)':") else { return nil }
        let rest = text[r.upperBound...].drop { $0 == " " }
        if rest.first == "'" {
            let body = rest.dropFirst()
            return body.firstIndex(of: "'").map { String(body[..<$0]) }
        }
        if rest.first == "(" { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        if rest.first == "[" { return "[" }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }

    /// `<f4`, `|u1`, `<U7`, `|S5`, `<V2`-free scalar dtypes; `|O` (pickled objects) and
    /// structured dtypes are refused.
    private static func parseDescr(_ d: String, fail: (String) -> FeatureIOError) throws -> RawElement {
        if d == "[" { throw fail("structured dtype; save a plain numeric array") }
        guard d.count >= 2 else { throw fail("unsupported dtype '\(d)'") }
        let order = d.first!, code = d.dropFirst().first!, width = Int(d.dropFirst(2)) ?? -1
        if code == "O" {
            throw fail("object array (pickled Python objects); save numbers, e.g. np.asarray(x, dtype=np.float32)")
        }
        if order == ">" && width > 1 { throw fail("big-endian dtype '\(d)'; save it little-endian (x.astype('<f4'))") }
        switch (code, width) {
        case ("f", 2): return .float16
        case ("f", 4): return .float32
        case ("f", 8): return .float64
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): return .integer(bytes: width, signed: true)
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8): return .integer(bytes: width, signed: false)
        case ("b", 1): return .bool
        case ("U", let n) where n >= 1:
            guard n <= Int.max / 4 else { throw fail("dtype '\(d)': strings of \(n) characters are larger than any file") }
            return .unicode(chars: n)
        case ("S", let n) where n >= 1: return .bytes(count: n)
        case ("V", 2):
            // ml_dtypes' bfloat16 is saved as a void type; accept it by its width only with the name.
            throw fail("dtype '\(d)' (raw void); save bfloat16 features as float32 or through safetensors")
        default: throw fail("unsupported dtype '\(d)'")
        }
    }

    /// An array over the `.npy` bytes at `start..<end` of `bytes`.
    static func array(_ bytes: ByteStorage, start: Int, end: Int, file: String, array name: String) throws -> RawArray {
        let h = try header(bytes, start: start, end: end, file: file, array: name)
        return RawArray(file: file, name: name, shape: h.shape, element: h.element, storage: bytes, offset: h.dataOffset)
    }

    // MARK: writing

    /// The `.npy` bytes (version 1.0, header padded to 64 bytes) of a C-order array whose
    /// little-endian data is `data`; `descr` is NumPy's dtype string (`<f4`, `<i8`, `<U12`).
    /// - Precondition: `data.count` is the shape's element count times the dtype width.
    static func encode(descr: String, shape: [Int], data: Data) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let total = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let hlen = UInt16(text.utf8.count)
        out.append(contentsOf: [UInt8(hlen & 0xFF), UInt8(hlen >> 8)])
        out.append(contentsOf: Array(text.utf8))
        out.append(data)
        return out
    }

    /// `encode` for float32 values.
    static func encode(_ values: [Float], shape: [Int]) -> Data {
        encode(descr: "<f4", shape: shape, data: values.withUnsafeBytes { Data($0) })
    }

    /// `encode` for int64 values.
    static func encode(_ values: [Int64], shape: [Int]) -> Data {
        encode(descr: "<i8", shape: shape, data: values.withUnsafeBytes { Data($0) })
    }

    /// `encode` for strings as NumPy `<U n` (n the longest string, in code points); shape
    /// `[]` writes a 0-d array of the one string.
    static func encode(strings: [String], shape: [Int]? = nil) -> Data {
        let n = max(1, strings.map { $0.unicodeScalars.count }.max() ?? 1)
        var units = [UInt32](repeating: 0, count: n * strings.count)
        for (i, s) in strings.enumerated() { for (j, u) in s.unicodeScalars.enumerated() { units[i * n + j] = u.value } }
        return encode(descr: "<U\(n)", shape: shape ?? [strings.count], data: units.withUnsafeBytes { Data($0) })
    }
}

/// A `.npy` feature file and its siblings: `NAME.npy` holds the features (whatever the
/// features key), every other key `k` is the file `NAME.k.npy` beside it
/// (`NAME.labels.npy`, `NAME.class_names.npy`). No attributes.
final class NpyArrays: ArrayContainer {
    let path: String
    private let featuresKey: String
    private let stem: String
    /// The features file, opened once (a missing file fails here, before any sibling).
    private let features: ByteStorage

    init(path: String, featuresKey: String) throws {
        self.path = path
        self.featuresKey = H5File.normalize(featuresKey)
        stem = String(path.dropLast(4))
        features = try ByteStorage.open(path)
    }

    /// The file holding array `key`.
    func file(for key: String) -> String {
        let k = H5File.normalize(key)
        return k == featuresKey ? path : "\(stem).\(k.replacingOccurrences(of: "/", with: "."))" + ".npy"
    }

    func hasArray(_ key: String) -> Bool { FileManager.default.fileExists(atPath: file(for: key)) }

    func array(_ key: String) throws -> StoredArray {
        let k = H5File.normalize(key), f = file(for: key)
        guard hasArray(key) else {
            throw FeatureIOError(.datasetMissing, file: path, dataset: k,
                                 problem: "no such array; a .npy feature file takes \(k) from \((f as NSString).lastPathComponent) beside it")
        }
        let bytes = f == path ? features : try ByteStorage.open(f)
        return try NumPy.array(bytes, start: 0, end: bytes.count, file: f, array: k)
    }

    func attributes() throws -> [String: H5AttributeValue] { [:] }
}

/// A `.npz` archive (`np.savez`, `np.savez_compressed`): member `k.npy` is array `k`.
/// Stored members are read in place from the file; deflated ones are inflated once,
/// when first opened.
final class NpzArrays: ArrayContainer {
    let path: String
    private let zip: ZipArchive
    private var opened: [String: RawArray] = [:]

    init(path: String) throws {
        self.path = path
        zip = try ZipArchive(path: path)
    }

    private var names: [String] { zip.memberNames.filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) } }

    func hasArray(_ key: String) -> Bool { zip.hasMember(H5File.normalize(key) + ".npy") }

    func array(_ key: String) throws -> StoredArray {
        let k = H5File.normalize(key)
        if let a = opened[k] { return a }
        guard hasArray(k) else { throw missingArray(k, in: path, existing: names) }
        let (bytes, range) = try zip.contents(of: k + ".npy")
        let a = try NumPy.array(bytes, start: range.lowerBound, end: range.upperBound, file: path, array: k)
        opened[k] = a
        return a
    }

    /// The 0-d arrays of the archive (small members only, so no large member is inflated):
    /// numbers as `.int` / `.double`, strings as `.string`. `afg export` writes `method`
    /// and `tukey_lambda` this way.
    func attributes() throws -> [String: H5AttributeValue] {
        var out: [String: H5AttributeValue] = [:]
        for k in names where (zip.size(of: k + ".npy") ?? .max) <= 4096 {
            guard let a = try array(k) as? RawArray, a.shape.isEmpty else { continue }
            switch a.kind {
            case .integer:
                var v: Int64 = 0
                try a.integers(start: 0, count: 1, into: &v)
                out[k] = .int(v)
            case .float:
                var v: Float = 0
                try a.floats(start: 0, count: 1, into: &v)
                out[k] = a.element == .float64 ? .double(try a.double(at: 0)) : .float(v)
            case .string:
                out[k] = .string(try RawArray(file: path, name: k, shape: [1], element: a.element, storage: a.storage, offset: a.offset).readStrings()[0])
            case .other: continue
            }
        }
        return out
    }
}
