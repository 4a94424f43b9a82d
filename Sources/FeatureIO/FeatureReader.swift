import Foundation

/// Opens a feature file and validates everything but the feature values: datasets present,
/// shapes, types, N agreement, labels in range, class count and names. Feature rows are
/// then read by block (`readRows`). Shared by `FeatureStore.readFeatures`, `FeatureStream`
/// and `FeatureSummary` so that all three accept and reject exactly the same files.
final class FeatureFileReader {
    let path: String
    let keys: DatasetKeys
    let file: ArrayContainer
    let features: StoredArray
    let count: Int
    let dim: Int
    /// N labels, validated into `0..<numClasses`.
    let labels: [Int32]
    let labelType: String
    let numClasses: Int
    /// Where `numClasses` came from (for messages and `afg inspect`).
    let numClassesSource: String
    let classNames: [String]?
    let attributes: [String: String]

    /// Most classes a file may declare (2^24): beyond that the labels are surely raw ids,
    /// and per-class arrays would not fit in memory.
    static let maxClasses = 1 << 24

    /// - Parameter numClasses: C required by the caller (e.g. a classifier's), or nil.
    /// - Complexity: reads the labels (N integers), not the features.
    init(path: String, keys: DatasetKeys, numClasses requested: Int?) throws {
        self.path = path
        self.keys = keys
        file = try openArrays(path: path, featuresKey: keys.features)
        let f = try file.array(keys.features)
        let l = try file.array(keys.labels)
        features = f
        try FeatureFileReader.checkShapes(features: f, labels: l, path: path)
        count = f.shape[0]
        dim = f.shape[1]
        labelType = l.typeName

        // Root attributes as text; num_classes parsed.
        let raw = try file.attributes()
        attributes = raw.mapValues { $0.text }
        let attrClasses = try FeatureFileReader.numClassesAttribute(raw, path: path)
        let names = try FeatureFileReader.readClassNames(file: file, keys: keys, path: path)
            ?? FeatureFileReader.metadataClassNames(file: file, raw, keys: keys, path: path)
        classNames = names
        let scan = try FeatureFileReader.readLabels(l, count: count)
        let (c, source) = try FeatureFileReader.classCount(requested: requested, attribute: attrClasses, names: names,
                                                           maxLabel: scan.maxLabel, labelsName: l.name, path: path, keys: keys)
        try FeatureFileReader.checkLabelRange(scan, numClasses: c, source: source, labelsName: l.name, path: path)
        labels = scan.values
        numClasses = c
        numClassesSource = source
    }

    /// Features 2-D float, labels 1-D integer, one label per row, `N > 0` and `D > 0`.
    /// - Throws: `FeatureIOError` naming the dataset at fault.
    private static func checkShapes(features f: StoredArray, labels l: StoredArray, path: String) throws {
        guard f.shape.count == 2 else {
            throw FeatureIOError(.wrongShape, file: path, dataset: f.name,
                                 problem: "expected 2-D (N × D), found \(f.shape.count)-D shape \(f.shape)")
        }
        guard f.kind == .float else {
            throw FeatureIOError(.wrongType, file: path, dataset: f.name,
                                 problem: "expected float16, float32 or float64, found \(f.typeName)")
        }
        guard l.shape.count == 1 else {
            throw FeatureIOError(.wrongShape, file: path, dataset: l.name,
                                 problem: "expected 1-D (N), found \(l.shape.count)-D shape \(l.shape)")
        }
        guard l.kind == .integer else {
            throw FeatureIOError(.wrongType, file: path, dataset: l.name,
                                 problem: "expected an integer type, found \(l.typeName)")
        }
        let count = f.shape[0], dim = f.shape[1]
        guard l.shape[0] == count else {
            throw FeatureIOError(.countMismatch, file: path, dataset: l.name,
                                 problem: "\(l.shape[0]) labels, but \(f.name) has \(count) rows")
        }
        guard count > 0 else {
            throw FeatureIOError(.empty, file: path, dataset: f.name, problem: "empty data set (N = 0)")
        }
        guard dim > 0 else {
            throw FeatureIOError(.empty, file: path, dataset: f.name, problem: "empty feature vectors (D = 0)")
        }
    }

    /// The root attribute `num_classes` as a positive integer (an integer, a numeric string,
    /// or an integral float), or nil when absent.
    /// - Throws: `FeatureIOError.invalidAttribute` for any other value.
    private static func numClassesAttribute(_ raw: [String: H5AttributeValue], path: String) throws -> Int? {
        var attrClasses: Int?
        if let v = raw["num_classes"] {
            switch v {
            case .int(let i) where i > 0: attrClasses = Int(i)
            case .string(let s) where Int(s).map { $0 > 0 } == true: attrClasses = Int(s)
            case .double, .float:
                guard let d = v.number, d > 0, d == d.rounded(), d < 1e9 else { fallthrough }
                attrClasses = Int(d)
            default:
                throw FeatureIOError(.invalidAttribute, file: path,
                                     problem: "attribute num_classes = \(v.text) is not a positive integer")
            }
        }
        return attrClasses
    }

    /// Class names (optional): a 1-D string dataset, or nil when the file has none.
    private static func readClassNames(file: ArrayContainer, keys: DatasetKeys, path: String) throws -> [String]? {
        var names: [String]?
        if file.hasArray(keys.classNames) {
            let n = try file.array(keys.classNames)
            guard n.shape.count == 1, n.kind == .string else {
                throw FeatureIOError(.wrongType, file: path, dataset: n.name,
                                     problem: "expected 1-D strings, found \(n.shape.count)-D \(n.typeName)")
            }
            names = try n.readStrings()
        }
        return names
    }

    /// Class names of a safetensors file: `__metadata__[class-names key]`, a JSON array of
    /// strings (safetensors has no string tensors), or nil.
    private static func metadataClassNames(file: ArrayContainer, _ raw: [String: H5AttributeValue], keys: DatasetKeys,
                                           path: String) throws -> [String]? {
        guard file is SafeTensorArrays, case .string(let text)? = raw[keys.classNames] else { return nil }
        guard let names = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
            throw FeatureIOError(.wrongType, file: path, dataset: keys.classNames,
                                 problem: "metadata \(keys.classNames) is not a JSON array of strings")
        }
        return names
    }

    /// The labels as read, before the class count is known.
    private struct LabelScan {
        /// N labels; -1 marks a raw value that is negative or does not fit Int32.
        var values: [Int32]
        /// The largest raw value (-1 when none).
        var maxLabel: Int64
        /// The first raw value marked -1 in `values`.
        var firstBad: (row: Int, value: Int64)?
    }

    /// Labels: read in blocks as Int64, keep Int32 (out-of-range values are rejected later,
    /// by `checkLabelRange`). O(N), blocks of 2^20 labels.
    private static func readLabels(_ l: StoredArray, count: Int) throws -> LabelScan {
        var values = [Int32](repeating: 0, count: count)
        var maxLabel: Int64 = -1
        var firstBad: (row: Int, value: Int64)?
        let block = 1 << 20
        var scratch = [Int64](repeating: 0, count: min(block, count))
        var start = 0
        while start < count {
            let rows = start..<min(count, start + block)
            try scratch.withUnsafeMutableBufferPointer { try l.readIntegers(rows: rows, into: $0) }
            for i in 0..<rows.count {
                let v = scratch[i]
                if v < 0 || v > Int64(Int32.max) {
                    if firstBad == nil { firstBad = (start + i, v) }
                    values[start + i] = -1
                } else {
                    values[start + i] = Int32(v)
                }
                if v > maxLabel { maxLabel = v }
            }
            start = rows.upperBound
        }
        return LabelScan(values: values, maxLabel: maxLabel, firstBad: firstBad)
    }

    /// C and where it came from: caller > num_classes attribute > number of class names >
    /// largest label + 1; then checked against `maxClasses` and the class names.
    private static func classCount(requested: Int?, attribute attrClasses: Int?, names: [String]?, maxLabel: Int64,
                                   labelsName: String, path: String, keys: DatasetKeys) throws -> (Int, String) {
        let c: Int
        let source: String
        if let r = requested {
            precondition(r > 0, "numClasses must be positive")
            if let a = attrClasses, a != r {
                throw FeatureIOError(.classCountMismatch, file: path,
                                     problem: "attribute num_classes = \(a), but \(r) classes were expected")
            }
            c = r
            source = "classifier, training file or first shard it is read with"
        } else if let a = attrClasses {
            c = a
            source = "num_classes attribute"
        } else if let n = names, !n.isEmpty {
            c = n.count
            source = "number of class names"
        } else {
            c = Int(max(0, min(maxLabel, Int64(Int32.max) - 1))) + 1
            source = "largest label + 1"
        }
        if source == "largest label + 1", maxLabel >= Int64(Int32.max) {
            // Past Int32 the class count above is clamped: name the label itself (Int64.max
            // stands for every uint64 label of 2^63 or more, read clamped).
            let label = maxLabel == Int64.max ? "\(maxLabel) or more" : "\(maxLabel)"
            throw FeatureIOError(.labelOutOfRange, file: path, dataset: labelsName,
                                 problem: "largest label \(label) would make more than \(FeatureFileReader.maxClasses) classes; labels must be class indices 0..<C, so map raw ids to indices first (docs/FORMAT.md)")
        }
        guard c <= FeatureFileReader.maxClasses else {
            throw FeatureIOError(.labelOutOfRange, file: path, dataset: labelsName,
                                 problem: "\(c) classes (\(source)) is more than \(FeatureFileReader.maxClasses); labels must be class indices 0..<C, so map raw ids to indices first (docs/FORMAT.md)")
        }
        if let n = names, n.count != c {
            throw FeatureIOError(.classCountMismatch, file: path, dataset: H5File.normalize(keys.classNames),
                                 problem: "\(n.count) class names, but \(c) classes (\(source))")
        }
        return (c, source)
    }

    /// Every label in `0..<numClasses`, else an error counting those outside and naming
    /// the first. O(N) when some label may be out of range, O(1) otherwise.
    private static func checkLabelRange(_ scan: LabelScan, numClasses c: Int, source: String,
                                        labelsName: String, path: String) throws {
        // Sentinel -1 marks raw values that do not fit Int32 (or are negative); their
        // first occurrence is `firstBad`.
        var outside = 0
        var first = scan.firstBad
        if scan.maxLabel >= Int64(c) || scan.firstBad != nil {
            for (i, v) in scan.values.enumerated() where v < 0 || Int(v) >= c {
                outside += 1
                if v >= 0, first == nil || i < first!.row { first = (i, Int64(v)) }
            }
        }
        if outside > 0, let f = first {
            throw FeatureIOError(.labelOutOfRange, file: path, dataset: labelsName,
                                 problem: "\(outside) label\(outside == 1 ? "" : "s") outside 0..<\(c) (C from the \(source)), first \(f.value) at row \(f.row)")
        }
    }

    /// The stored feature type (`float16`, `float32`, `float64`).
    var featureType: String { features.typeName }

    /// Rows per read that keeps a block near `targetBytes` (as Float) and, for chunked
    /// files, a whole number of chunks.
    func blockRows(targetBytes: Int = 16 << 20) -> Int {
        var rows = max(1, targetBytes / max(1, dim * 4))
        // Whole chunks, unless a chunk is too large to be worth aligning to (the 64 MiB
        // chunk cache then bounds memory, at the price of re-reading chunks).
        if let c = features.chunkRows, c > 0, c <= (64 << 20) / (dim * 4) {
            rows = max(c, rows / c * c)
        }
        return min(rows, count)
    }

    /// Reads feature rows `rows` into `out` (rows.count × D, row-major) as Float
    /// (`StoredArray.readFloats`: float32 copied, float16 / bfloat16 widened, float64 rounded).
    /// - Complexity: O(rows.count · D); `scratch` buffers grow once and are reused.
    func readRows(_ rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>, scratch: inout ConversionScratch) throws {
        precondition(out.count >= rows.count * dim)
        try features.readFloats(rows: rows, into: out, scratch: &scratch)
    }
}

/// NaN / ±Inf / too-large / negative counts over feature blocks, with the first unusable
/// position.
struct ValueScan: Equatable {
    /// Finite values of larger magnitude are counted in `tooLarge` (`.infinity`: none are).
    var limit: Float = .infinity
    var nan = 0
    var inf = 0
    var tooLarge = 0
    var negative = 0
    var firstNonFinite: (row: Int, column: Int)?
    var firstTooLarge: (row: Int, column: Int, value: Float)?
    var minimum = Float.infinity
    var maximum = -Float.infinity
    var sum = 0.0

    /// A scan of feature values: finite ones beyond `FeatureStore.largestFeatureMagnitude`
    /// are unusable too.
    static var features: ValueScan { ValueScan(limit: FeatureStore.largestFeatureMagnitude) }

    static func == (a: ValueScan, b: ValueScan) -> Bool {
        a.nan == b.nan && a.inf == b.inf && a.tooLarge == b.tooLarge && a.negative == b.negative
            && a.firstNonFinite?.row == b.firstNonFinite?.row && a.firstNonFinite?.column == b.firstNonFinite?.column
            && a.firstTooLarge?.row == b.firstTooLarge?.row && a.firstTooLarge?.column == b.firstTooLarge?.column
    }

    /// Adds the values of `x` only when one of them is unusable (NaN, ±Inf or beyond
    /// `limit`): all the readers that need no summary (minimum, maximum, mean) want. A block
    /// of usable values leaves the scan as it is; any other block is scanned in full, so the
    /// counts and the first positions are those of `add`. O(rows·dim) in one branch-free pass.
    mutating func addUnusable(_ x: UnsafeBufferPointer<Float>, rows: Int, dim: Int, firstRow: Int) {
        // Magnitudes (sign bit cleared) order as their bit patterns; NaN and ±Inf are those
        // at or above +Inf's.
        var largest: UInt32 = 0
        for v in x.prefix(rows * dim) { largest = Swift.max(largest, v.bitPattern & 0x7FFF_FFFF) }
        if largest >= Float.infinity.bitPattern || largest > limit.bitPattern { add(x, rows: rows, dim: dim, firstRow: firstRow) }
    }

    /// Adds `rows` × `dim` values whose first row is `firstRow`. O(rows·dim).
    mutating func add(_ x: UnsafeBufferPointer<Float>, rows: Int, dim: Int, firstRow: Int) {
        var lo = minimum, hi = maximum
        for r in 0..<rows {
            var rowSum = 0.0
            let base = r * dim
            for j in 0..<dim {
                let v = x[base + j]
                if v.isFinite {
                    if v < 0 { negative += 1 }
                    lo = Swift.min(lo, v)
                    hi = Swift.max(hi, v)
                    rowSum += Double(v)
                    if v.magnitude > limit {
                        tooLarge += 1
                        if firstTooLarge == nil { firstTooLarge = (firstRow + r, j, v) }
                    }
                } else {
                    if v.isNaN { nan += 1 } else { inf += 1; if v < 0 { negative += 1 } }
                    if firstNonFinite == nil { firstNonFinite = (firstRow + r, j) }
                }
            }
            sum += rowSum
        }
        minimum = lo
        maximum = hi
    }

    var nonFinite: Int { nan + inf }

    /// The error for non-finite values, else for values beyond `limit`, or nil if there
    /// are neither.
    func error(file: String, dataset: String, partial: Bool = false) -> FeatureIOError? {
        let soFar = partial ? " in the rows read so far" : ""
        if let f = firstNonFinite {
            let what = partial ? "non-finite values (\(nan) NaN, \(inf) Inf\(soFar))"
                : "\(nonFinite) non-finite value\(nonFinite == 1 ? "" : "s") (\(nan) NaN, \(inf) Inf)"
            return FeatureIOError(.nonFinite, file: file, dataset: dataset,
                                  problem: "\(what), first at row \(f.row) column \(f.column)")
        }
        if let f = firstTooLarge {
            let count = "\(tooLarge) value\(tooLarge == 1 ? "" : "s") beyond ±\(String(format: "%.3g", Double(limit)))\(soFar)"
            return FeatureIOError(.tooLarge, file: file, dataset: dataset, problem:
                "\(count), first \(String(format: "%.6g", Double(f.value))) at row \(f.row) column \(f.column): "
                + "their squares overflow 32-bit class statistics; rescale the features")
        }
        return nil
    }
}
