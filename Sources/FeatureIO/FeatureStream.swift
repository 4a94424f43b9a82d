/// A block of consecutive rows from a `FeatureStream`.
public struct FeatureBlock: Sendable {
    /// Index of the block's first row in the file.
    public var startRow: Int
    /// Rows in this block.
    public var rows: Int
    /// rows × D, row-major, as Float.
    public var features: [Float]
    /// rows labels in 0..<C.
    public var labels: [Int32]
}

/// Iterates a feature file in blocks of rows through hyperslab selections, so files
/// larger than memory can be summarised or trained on. Opening validates everything
/// `FeatureStore.readFeatures` does except the feature values, and reads the N labels
/// (4 bytes a row); `next()` then reads one block of features at a time and, unless
/// `checkValues` is false, throws on the first block with a NaN, an Inf or a value beyond
/// `FeatureStore.largestFeatureMagnitude`.
///
/// Memory: O(blockRows · D) floats plus the labels. Not thread-safe (HDF5 is serial).
///
///     let s = try FeatureStream(path: "train.h5")
///     while let b = try s.next() { acc.add(rows: b.rows, features: ..., labels: ...) }
public final class FeatureStream {
    public let path: String
    public let keys: DatasetKeys
    /// N.
    public var count: Int { reader.count }
    /// D.
    public var dim: Int { reader.dim }
    /// C (see `FeatureStore.readFeatures` for the rule).
    public var numClasses: Int { reader.numClasses }
    /// Where C came from: `num_classes attribute`, `number of class names`,
    /// `largest label + 1` or `caller`.
    public var numClassesSource: String { reader.numClassesSource }
    /// Stored feature type: `float16`, `float32` or `float64`.
    public var featureType: String { reader.featureType }
    /// Stored label type, e.g. `int64`, `uint8`.
    public var labelType: String { reader.labelType }
    /// All N labels, in 0..<C.
    public var labels: [Int32] { reader.labels }
    public var classNames: [String]? { reader.classNames }
    /// Root attributes as text.
    public var attributes: [String: String] { reader.attributes }
    /// Rows per block (the last block may be shorter).
    public let blockRows: Int
    /// Throw `.nonFinite` on a block containing NaN or Inf, `.tooLarge` on one with a value
    /// beyond `FeatureStore.largestFeatureMagnitude`.
    public var checkValues: Bool

    private let reader: FeatureFileReader
    private var position = 0
    private var scratch = ConversionScratch()

    /// - Parameters:
    ///   - blockRows: rows per block; nil picks about 16 MiB of Float, rounded to whole
    ///     chunks of the stored dataset.
    ///   - numClasses: C required by the caller, or nil (see `FeatureStore.readFeatures`).
    /// - Throws: `FeatureIOError`, as `FeatureStore.readFeatures` except for the values
    ///   (NaN, Inf, too large), which `next()` reports.
    public init(path: String, keys: DatasetKeys = .init(), blockRows: Int? = nil,
                numClasses: Int? = nil, checkValues: Bool = true) throws {
        precondition(blockRows.map { $0 > 0 } ?? true, "blockRows must be positive")
        self.path = path
        self.keys = keys
        self.checkValues = checkValues
        reader = try FeatureFileReader(path: path, keys: keys, numClasses: numClasses)
        self.blockRows = blockRows ?? reader.blockRows()
    }

    /// The next block, or nil after the last row.
    /// - Throws: `FeatureIOError(.nonFinite)` / `.tooLarge` naming the first bad row (and
    ///   the counts of the rows read so far) if `checkValues`; read errors.
    /// - Complexity: O(blockRows · D).
    public func next() throws -> FeatureBlock? {
        guard position < count else { return nil }
        let rows = position..<min(count, position + blockRows)
        var x = [Float](repeating: 0, count: rows.count * dim)
        try x.withUnsafeMutableBufferPointer { try reader.readRows(rows, into: $0, scratch: &scratch) }
        try x.withUnsafeBufferPointer { try check($0, rows: rows, partial: true) }
        position = rows.upperBound
        return FeatureBlock(startRow: rows.lowerBound, rows: rows.count, features: x,
                            labels: Array(reader.labels[rows]))
    }

    /// Starts again from row 0 (for another epoch).
    public func reset() { position = 0 }

    /// Calls `body` with every remaining block, in order.
    public func forEachBlock(_ body: (FeatureBlock) throws -> Void) throws {
        while let b = try next() { try body(b) }
    }

    /// Reads rows `rows` (any range inside 0..<N) into `out` (rows.count × D, row-major),
    /// without moving the stream position; checks the values as `next()` does.
    /// - Precondition: `out.count >= rows.count * dim`, `rows` inside `0..<count`.
    public func readRows(_ rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) throws {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= count, "readRows: \(rows) outside 0..<\(count)")
        try reader.readRows(rows, into: out, scratch: &scratch)
        try check(UnsafeBufferPointer(out), rows: rows, partial: rows.count < count)
    }

    /// Throws the values' error (NaN, Inf, too large) for `x`, rows `rows` of the file, if
    /// `checkValues`.
    private func check(_ x: UnsafeBufferPointer<Float>, rows: Range<Int>, partial: Bool) throws {
        guard checkValues else { return }
        var scan = ValueScan.features
        scan.addUnusable(x, rows: rows.count, dim: dim, firstRow: rows.lowerBound)
        if let e = scan.error(file: path, dataset: reader.features.name, partial: partial) { throw e }
    }
}
