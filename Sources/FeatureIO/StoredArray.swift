import Foundation

/// What a stored array holds, whatever the file format.
enum StoredKind: Equatable { case float, integer, string, other }

/// One array of a feature or classifier file (an HDF5 dataset, a NumPy array, a
/// safetensors tensor), read by rows of its leading dimension. Readers of FeatureIO
/// (`FeatureFileReader`, `FeatureStore.readClassifier`) see files only through this and
/// `ArrayContainer`, so every format is validated by the same code.
protocol StoredArray: AnyObject {
    /// The key it was opened by, normalised (`features`, `train/feats`, `fc.weight`).
    var name: String { get }
    var shape: [Int] { get }
    var kind: StoredKind { get }
    /// The stored type, for messages (`float16`, `bfloat16`, `int64`, `uint8`).
    var typeName: String { get }
    /// Rows per stored chunk, if the format stores chunks (HDF5); nil otherwise.
    var chunkRows: Int? { get }
    /// Reads rows `rows` (rows.count × rowElements, row-major) as Float: float32 copied,
    /// float16 / bfloat16 widened exactly, float64 rounded.
    /// - Precondition: `kind == .float`, `out.count >= rows.count * rowElements`.
    func readFloats(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>, scratch: inout ConversionScratch) throws
    /// Reads rows as Int64 (integers of any width; uint64 above Int64.max saturates).
    /// - Precondition: `kind == .integer`.
    func readIntegers(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Int64>) throws
    /// A whole 1-D string array. - Precondition: `kind == .string`, rank 1.
    func readStrings() throws -> [String]
}

extension StoredArray {
    /// Elements per leading-dimension row.
    var rowElements: Int { shape.dropFirst().reduce(1, *) }
}

/// Conversion buffers reused across block reads (they grow once).
struct ConversionScratch {
    var half: [UInt16] = []
    var double: [Double] = []
}

/// A file of named arrays plus root attributes: HDF5, `.npz`, `.safetensors`, or a `.npy`
/// with its sibling files. Open one with `ArrayContainer.open(path:featuresKey:)`.
protocol ArrayContainer: AnyObject {
    /// The file as the caller named it (every error message starts with it).
    var path: String { get }
    func hasArray(_ key: String) -> Bool
    /// - Throws: `.datasetMissing` listing the arrays that exist.
    func array(_ key: String) throws -> StoredArray
    /// Root attributes (HDF5 attributes, safetensors `__metadata__` as strings; none for NumPy).
    func attributes() throws -> [String: H5AttributeValue]
}

/// The file formats FeatureIO reads, by extension (anything else is HDF5).
public enum ArrayFileFormat: String, Sendable {
    case hdf5, npz, npy, safetensors

    /// `.npz`, `.npy`, `.safetensors` (any case); every other name is HDF5.
    public init(path: String) {
        switch (path as NSString).pathExtension.lowercased() {
        case "npz": self = .npz
        case "npy": self = .npy
        case "safetensors": self = .safetensors
        default: self = .hdf5
        }
    }
}

/// Opens `path` by extension. `featuresKey` names the array a `.npy` file itself holds.
/// - Throws: `FeatureIOError` (`.fileMissing`, `.notHDF5`, `.wrongType` for a malformed
///   NumPy / zip / safetensors file).
func openArrays(path: String, featuresKey: String = "features") throws -> ArrayContainer {
    switch ArrayFileFormat(path: path) {
    case .hdf5: return try H5File.open(path)
    case .npz: return try NpzArrays(path: path)
    case .npy: return try NpyArrays(path: path, featuresKey: featuresKey)
    case .safetensors: return try SafeTensorArrays(path: path)
    }
}

/// The `.datasetMissing` error of a container, listing what it holds.
func missingArray(_ key: String, in path: String, existing: [String], what: String = "arrays") -> FeatureIOError {
    let list = existing.isEmpty ? "the file has no \(what)" : "\(what) in the file: " + existing.joined(separator: ", ")
    let noun = what == "datasets" ? "dataset" : "array"
    return FeatureIOError(.datasetMissing, file: path, dataset: key, problem: "no such \(noun); \(list)")
}

// MARK: HDF5

extension H5File: ArrayContainer {
    func hasArray(_ key: String) -> Bool { hasDataset(key) }
    func array(_ key: String) throws -> StoredArray { try dataset(key) }
    func attributes() throws -> [String: H5AttributeValue] { try rootAttributes() }
}

extension H5Dataset: StoredArray {
    /// Floats of 16, 32 and 64 bits are `.float` (docs/FORMAT.md); wider ones (long double,
    /// float128) are `.other`, so they are refused rather than read through a lossy conversion.
    var kind: StoredKind {
        switch elementType {
        case .float(let bits) where [16, 32, 64].contains(bits): return .float
        case .float: return .other
        case .integer: return .integer
        case .string: return .string
        case .other: return .other
        }
    }
    var typeName: String { elementType.description }

    /// float32 is read directly; IEEE float16 as bits, widened with `Float(Float16(bitPattern:))`;
    /// any other float (float64, bfloat16) through HDF5's conversion to Double, then rounded.
    func readFloats(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>, scratch: inout ConversionScratch) throws {
        let n = rows.count * rowElements
        precondition(out.count >= n)
        switch elementType {
        case .float(bits: 32):
            try read(rows: rows, into: out)
        case .float(bits: 16) where isHalf:
            if scratch.half.count < n { scratch.half = [UInt16](repeating: 0, count: n) }
            try scratch.half.withUnsafeMutableBufferPointer { h in
                try readHalfBits(rows: rows, into: h)
                for i in 0..<n { out[i] = Float(Float16(bitPattern: h[i])) }
            }
        default:
            if scratch.double.count < n { scratch.double = [Double](repeating: 0, count: n) }
            try scratch.double.withUnsafeMutableBufferPointer { d in
                try read(rows: rows, into: d)
                for i in 0..<n { out[i] = Float(d[i]) }
            }
        }
    }

    func readIntegers(rows: Range<Int>, into out: UnsafeMutableBufferPointer<Int64>) throws {
        try read(rows: rows, into: out)
    }
}
