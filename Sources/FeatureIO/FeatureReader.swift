/// Opens a feature file and validates everything but the feature values: datasets present,
/// shapes, types, N agreement, labels in range, class count and names. Feature rows are
/// then read by block (`readRows`). Shared by `FeatureStore.readFeatures`, `FeatureStream`
/// and `FeatureSummary` so that all three accept and reject exactly the same files.
final class FeatureFileReader {
    let path: String
    let keys: DatasetKeys
    let file: H5File
    let features: H5Dataset
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

    /// - Parameter numClasses: C required by the caller (e.g. a classifier's), or nil.
    /// - Complexity: reads the labels (N integers), not the features.
    init(path: String, keys: DatasetKeys, numClasses requested: Int?) throws {
        self.path = path
        self.keys = keys
        file = try H5File.open(path)
        let f = try file.dataset(keys.features)
        let l = try file.dataset(keys.labels)
        features = f

        guard f.shape.count == 2 else {
            throw FeatureIOError(.wrongShape, file: path, dataset: f.name,
                                 problem: "expected 2-D (N × D), found \(f.shape.count)-D shape \(f.shape)")
        }
        guard f.elementType.isFloat else {
            throw FeatureIOError(.wrongType, file: path, dataset: f.name,
                                 problem: "expected float16, float32 or float64, found \(f.elementType)")
        }
        guard l.shape.count == 1 else {
            throw FeatureIOError(.wrongShape, file: path, dataset: l.name,
                                 problem: "expected 1-D (N), found \(l.shape.count)-D shape \(l.shape)")
        }
        guard l.elementType.isInteger else {
            throw FeatureIOError(.wrongType, file: path, dataset: l.name,
                                 problem: "expected an integer type, found \(l.elementType)")
        }
        count = f.shape[0]
        dim = f.shape[1]
        labelType = l.elementType.description
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

        // Root attributes as text; num_classes parsed.
        let raw = try file.rootAttributes()
        attributes = raw.mapValues { $0.text }
        var attrClasses: Int?
        if let v = raw["num_classes"] {
            switch v {
            case .int(let i) where i > 0: attrClasses = Int(i)
            case .string(let s) where Int(s).map { $0 > 0 } == true: attrClasses = Int(s)
            case .double(let d) where d > 0 && d == d.rounded() && d < 1e9: attrClasses = Int(d)
            default:
                throw FeatureIOError(.invalidAttribute, file: path,
                                     problem: "attribute num_classes = \(v.text) is not a positive integer")
            }
        }

        // Class names (optional).
        var names: [String]?
        if file.hasDataset(keys.classNames) {
            let n = try file.dataset(keys.classNames)
            guard n.shape.count == 1, n.elementType.isString else {
                throw FeatureIOError(.wrongType, file: path, dataset: n.name,
                                     problem: "expected 1-D strings, found \(n.shape.count)-D \(n.elementType)")
            }
            names = try n.readStrings()
        }
        classNames = names

        // Labels: read in blocks as Int64, keep Int32 (out-of-range values are rejected below).
        var values = [Int32](repeating: 0, count: count)
        var maxLabel: Int64 = -1
        var firstBad: (row: Int, value: Int64)?
        let block = 1 << 20
        var scratch = [Int64](repeating: 0, count: min(block, count))
        var start = 0
        while start < count {
            let rows = start..<min(count, start + block)
            try scratch.withUnsafeMutableBufferPointer { try l.read(rows: rows, into: $0) }
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

        // C: caller > num_classes attribute > number of class names > largest label + 1.
        let c: Int
        let source: String
        if let r = requested {
            precondition(r > 0, "numClasses must be positive")
            if let a = attrClasses, a != r {
                throw FeatureIOError(.classCountMismatch, file: path,
                                     problem: "attribute num_classes = \(a), but \(r) classes were expected")
            }
            c = r
            source = "expected by the caller"
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
        if let n = names, n.count != c {
            throw FeatureIOError(.classCountMismatch, file: path, dataset: H5File.normalize(keys.classNames),
                                 problem: "\(n.count) class names, but \(c) classes (\(source))")
        }
        // Sentinel -1 marks raw values that do not fit Int32 (or are negative); their
        // first occurrence is `firstBad`.
        var outside = 0
        var first = firstBad
        if maxLabel >= Int64(c) || firstBad != nil {
            for (i, v) in values.enumerated() where v < 0 || Int(v) >= c {
                outside += 1
                if v >= 0, first == nil || i < first!.row { first = (i, Int64(v)) }
            }
        }
        if outside > 0, let f = first {
            throw FeatureIOError(.labelOutOfRange, file: path, dataset: l.name,
                                 problem: "\(outside) label\(outside == 1 ? "" : "s") outside 0..<\(c) (C from the \(source)), first \(f.value) at row \(f.row)")
        }
        labels = values
        numClasses = c
        numClassesSource = source
    }

    /// The stored feature type (`float16`, `float32`, `float64`).
    var featureType: String { features.elementType.description }

    /// Rows per read that keeps a block near `targetBytes` (as Float) and, for chunked
    /// files, a whole number of chunks.
    func blockRows(targetBytes: Int = 16 << 20) -> Int {
        var rows = max(1, targetBytes / max(1, dim * 4))
        if let c = features.chunkRows, c > 0 {
            rows = max(c, rows / c * c)
        }
        return min(rows, count)
    }

    /// Reads feature rows `rows` into `out` (rows.count × D, row-major) as Float.
    /// float32 is read directly; float16 is read as bits and converted with
    /// `Float(Float16(bitPattern:))`; float64 (or any other float) as Double then rounded.
    /// - Complexity: O(rows.count · D); `scratch` buffers grow once and are reused.
    func readRows(_ rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>,
                  halfScratch: inout [UInt16], doubleScratch: inout [Double]) throws {
        let n = rows.count * dim
        precondition(out.count >= n)
        switch features.elementType {
        case .float(bits: 32):
            try features.read(rows: rows, into: out)
        case .float(bits: 16):
            if halfScratch.count < n { halfScratch = [UInt16](repeating: 0, count: n) }
            try halfScratch.withUnsafeMutableBufferPointer { h in
                try features.readHalfBits(rows: rows, into: h)
                for i in 0..<n { out[i] = Float(Float16(bitPattern: h[i])) }
            }
        default:
            if doubleScratch.count < n { doubleScratch = [Double](repeating: 0, count: n) }
            try doubleScratch.withUnsafeMutableBufferPointer { d in
                try features.read(rows: rows, into: d)
                for i in 0..<n { out[i] = Float(d[i]) }
            }
        }
    }
}

/// NaN / ±Inf / negative counts over feature blocks, with the first non-finite position.
struct ValueScan: Equatable {
    var nan = 0
    var inf = 0
    var negative = 0
    var firstNonFinite: (row: Int, column: Int)?
    var minimum = Float.infinity
    var maximum = -Float.infinity
    var sum = 0.0

    static func == (a: ValueScan, b: ValueScan) -> Bool {
        a.nan == b.nan && a.inf == b.inf && a.negative == b.negative
            && a.firstNonFinite?.row == b.firstNonFinite?.row && a.firstNonFinite?.column == b.firstNonFinite?.column
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

    /// The error for non-finite values, or nil if there are none.
    func error(file: String, dataset: String, partial: Bool = false) -> FeatureIOError? {
        guard let f = firstNonFinite else { return nil }
        let what = partial ? "non-finite values (\(nan) NaN, \(inf) Inf in the rows read so far)"
            : "\(nonFinite) non-finite value\(nonFinite == 1 ? "" : "s") (\(nan) NaN, \(inf) Inf)"
        return FeatureIOError(.nonFinite, file: file, dataset: dataset,
                              problem: "\(what), first at row \(f.row) column \(f.column)")
    }
}
