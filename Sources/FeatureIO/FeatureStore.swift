import Foundation

/// Readers and writers for the three kinds of `afg` file (docs/FORMAT.md).
///
/// Every reader validates at the boundary and throws `FeatureIOError` (one line naming
/// file, dataset and problem); every writer writes float32, chunked, optionally
/// shuffle+gzip, with `created_by = "afg <version>"`, atomically (`writeAtomically`), and
/// reproducibly (no object times; attributes in name order), so the same content gives
/// the same bytes.
public enum FeatureStore {
    /// The `created_by` attribute written into every file.
    public static var createdBy: String { "afg \(afgVersion)" }

    /// The largest feature magnitude a reader accepts, 2⁶² ≈ 4.6e18: a class covariance
    /// holds squares of centred values, at most (2·2⁶²)² = 2¹²⁶, which 32-bit floats
    /// (largest ≈ 2¹²⁸) still hold. Larger finite values are refused like NaN.
    public static let largestFeatureMagnitude: Float = 0x1p62

    // MARK: feature files

    /// Reads a whole feature file into memory.
    ///
    /// - Parameters:
    ///   - keys: dataset paths (defaults `features`, `labels`, `class_names`).
    ///   - numClasses: C required by the caller (e.g. a classifier's); nil to take it from
    ///     the file (`num_classes` attribute, else the class names, else largest label + 1).
    /// - Returns: N × D features as Float (float16 and float64 converted), labels in 0..<C.
    /// - Throws: `FeatureIOError` for a missing file/dataset, wrong rank or type, N
    ///   mismatch, empty data, labels outside 0..<C, class-name count ≠ C, NaN/Inf, then
    ///   values beyond `largestFeatureMagnitude` (count, first row and column).
    /// - Complexity: O(N·D) time; memory N·D floats plus one block of conversion scratch.
    public static func readFeatures(path: String, keys: DatasetKeys = .init(), numClasses: Int? = nil) throws -> FeatureSet {
        let r = try FeatureFileReader(path: path, keys: keys, numClasses: numClasses)
        var scratch = ConversionScratch()
        var scan = ValueScan.features
        let block = r.blockRows()
        // Every element is written by a block read before use (no zero fill of N·D).
        let x = try [Float](unsafeUninitializedCapacity: r.count * r.dim) { all, initialized in
            var start = 0
            while start < r.count {
                let rows = start..<min(r.count, start + block)
                let out = UnsafeMutableBufferPointer(rebasing: all[(rows.lowerBound * r.dim)..<(rows.upperBound * r.dim)])
                try r.readRows(rows, into: out, scratch: &scratch)
                scan.addUnusable(UnsafeBufferPointer(out), rows: rows.count, dim: r.dim, firstRow: start)
                start = rows.upperBound
                initialized = start * r.dim
            }
        }
        if let e = scan.error(file: path, dataset: r.features.name) { throw e }
        return FeatureSet(features: x, dim: r.dim, labels: r.labels, numClasses: r.numClasses,
                          classNames: r.classNames, attributes: r.attributes)
    }

    /// Writes a feature file atomically: `features` (N × D float32), `labels` (N int64),
    /// `class_names` (variable-length UTF-8) if present, `extraDatasets` (1-D, N each, e.g.
    /// `is_generated`), root attributes from `set.attributes` as strings plus
    /// `num_classes` (int64) and `created_by`.
    /// - Parameter compress: shuffle + gzip level 4 on every numeric dataset.
    /// - Precondition: every extra dataset has N entries and does not reuse a standard name.
    public static func writeFeatures(_ set: FeatureSet, to path: String, compress: Bool = false,
                                     extraDatasets: [String: ColumnData] = [:]) throws {
        for (k, v) in extraDatasets {
            precondition(v.count == set.count, "writeFeatures: extra dataset \(k) has \(v.count) rows, expected \(set.count)")
            precondition(!["features", "labels", "class_names"].contains(H5File.normalize(k)), "writeFeatures: extra dataset named \(k)")
        }
        try writeAtomically(to: path) { tmp in
            let f = try H5File.create(tmp)
            try f.writeDataset("features", shape: [set.count, set.dim], values: set.features, compress: compress)
            try f.writeDataset("labels", shape: [set.count], values: set.labels.map { Int64($0) }, compress: compress)
            if let names = set.classNames { try f.writeStrings("class_names", names) }
            for k in extraDatasets.keys.sorted() {
                try writeColumn(extraDatasets[k]!, key: k, file: f, compress: compress)
            }
            var attrs = set.attributes.mapValues { H5AttributeValue.string($0) }
            attrs["num_classes"] = .int(Int64(set.numClasses))
            attrs["afg_file"] = .string("features")
            try writeAttributes(attrs, to: f)
            try f.close()
        }
    }

    /// Reads a 1-D per-row dataset (`is_generated`, sample weights, ...): unsigned 8-bit
    /// integers as `.uint8`, other integers as `.int64`, floats as `.float32`.
    public static func readColumn(path: String, key: String) throws -> ColumnData {
        try H5File.withFile(path) { f in
            let d = try f.dataset(key)
            guard d.shape.count == 1 else {
                throw FeatureIOError(.wrongShape, file: path, dataset: d.name, problem: "expected 1-D, found \(d.shape.count)-D shape \(d.shape)")
            }
            let n = d.shape[0]
            switch d.elementType {
            case .integer(bits: 8, signed: false):
                var v = [UInt8](repeating: 0, count: n)
                try v.withUnsafeMutableBufferPointer { try d.read(rows: 0..<n, into: $0) }
                return .uint8(v)
            case .integer:
                var v = [Int64](repeating: 0, count: n)
                try v.withUnsafeMutableBufferPointer { try d.read(rows: 0..<n, into: $0) }
                return .int64(v)
            case .float:
                var v = [Double](repeating: 0, count: n)
                try v.withUnsafeMutableBufferPointer { try d.read(rows: 0..<n, into: $0) }
                return .float32(v.map { Float($0) })
            default:
                throw FeatureIOError(.wrongType, file: path, dataset: d.name, problem: "expected numbers, found \(d.elementType)")
            }
        }
    }

    // MARK: classifier files

    /// Writes a classifier file atomically: `weight` (C × D float32), `bias` (C float32),
    /// `raw_weight` (C × D float32) for a two-view classifier, `class_counts` (C int64) and
    /// `class_names` if known; attributes `method`, `num_classes`,
    /// `dim`, `tukey_lambda` (float64, absent = no transform), `config` (JSON text),
    /// `created_by`, `afg_file = "classifier"`.
    public static func writeClassifier(_ c: ClassifierFile, to path: String, compress: Bool = false) throws {
        try writeAtomically(to: path) { tmp in
            let f = try H5File.create(tmp)
            try f.writeDataset("weight", shape: [c.numClasses, c.dim], values: c.weight, compress: compress)
            try f.writeDataset("bias", shape: [c.numClasses], values: c.bias, compress: compress)
            if let r = c.rawWeight { try f.writeDataset("raw_weight", shape: [c.numClasses, c.dim], values: r, compress: compress) }
            if let counts = c.classCounts {
                try f.writeDataset("class_counts", shape: [c.numClasses], values: counts.map { Int64($0) }, compress: compress)
            }
            if let names = c.classNames { try f.writeStrings("class_names", names) }
            if let m = c.memory {
                try f.writeDataset("memory_center", shape: [c.dim], values: m.center, compress: compress)
                try f.writeDataset("memory_rows", shape: [m.labels.count, c.dim], values: m.rows, compress: compress)
                try f.writeDataset("memory_labels", shape: [m.labels.count], values: m.labels.map { Int64($0) }, compress: compress)
            }
            var attrs: [String: H5AttributeValue] = [
                "afg_file": .string("classifier"), "method": .string(c.method),
                "num_classes": .int(Int64(c.numClasses)), "dim": .int(Int64(c.dim)), "config": .string(c.configJSON),
            ]
            if let l = c.tukeyLambda { attrs["tukey_lambda"] = .double(Double(l)) }
            if let m = c.memory {
                attrs["memory_temperature"] = .double(m.temperature)
                attrs["memory_weight"] = .double(m.weight)
            }
            try writeAttributes(attrs, to: f)
            try f.close()
        }
    }

    /// Reads a classifier or a bare head, by extension: HDF5, `.npz` or `.safetensors`.
    ///
    /// The weight and bias are `weight` + `bias`, else the one PyTorch `state_dict` pair
    /// among `fc.`, `linear.`, `head.`, `classifier.` (each also under `module.`), else
    /// `headKey` (`fc`, `heads.0`) names the prefix. `class_counts`, `class_names`,
    /// `raw_weight` and a memory head (`memory_*`, beside an unprefixed `weight`) and the
    /// attributes (`method`, `tukey_lambda`, `num_classes`, `dim`, `config`) are optional.
    /// - Throws: `FeatureIOError` for no or an ambiguous weight/bias pair (naming the
    ///   candidates), shapes that disagree (C, D), a non-finite weight or bias, a
    ///   `raw_weight` without `tukey_lambda`, a memory head not whole or not as written
    ///   (`readMemory`), or a malformed attribute.
    public static func readClassifier(path: String, headKey: String? = nil) throws -> ClassifierFile {
        let f = try openArrays(path: path)
        let prefix = try headPrefix(f, headKey: headKey)
        let wKey = prefix + "weight", bKey = prefix + "bias"
        let (weight, c, d) = try readMatrix(f, wKey)
        let bias = try readVector(f, bKey, expected: c, of: wKey)
        let counts = f.hasArray("class_counts") ? try readIntVector(f, "class_counts", expected: c, of: wKey) : nil
        try checkFinite(weight, file: path, dataset: wKey, dim: d)
        try checkFinite(bias, file: path, dataset: bKey, dim: 1)
        var rawWeight: [Float]? = nil
        if prefix.isEmpty && f.hasArray("raw_weight") {
            let (r, rc, rd) = try readMatrix(f, "raw_weight")
            guard rc == c && rd == d else {
                throw FeatureIOError(.wrongShape, file: path, dataset: "raw_weight", problem: "shape (\(rc), \(rd)), weight is (\(c), \(d))")
            }
            try checkFinite(r, file: path, dataset: "raw_weight", dim: d)
            rawWeight = r
        }
        let attrs = try f.attributes()
        try checkShapeAttribute(attrs, "num_classes", equals: c, file: path)
        try checkShapeAttribute(attrs, "dim", equals: d, file: path)
        let lambda = try tukeyLambda(attrs, file: path)
        if rawWeight != nil && lambda == nil {
            throw FeatureIOError(.invalidAttribute, file: path, dataset: "raw_weight",
                                 problem: "a second head on the raw features needs the tukey_lambda of the first (the attribute is missing)")
        }
        let names = try readNames(f, expected: c) ?? namesAttribute(attrs, expected: c, file: path)
        let memory = prefix.isEmpty ? try readMemory(f, attrs, classes: c, dim: d) : nil
        return ClassifierFile(numClasses: c, dim: d, weight: weight, bias: bias, classCounts: counts,
                              method: attrs["method"]?.text ?? "unknown", tukeyLambda: lambda,
                              configJSON: attrs["config"]?.text ?? "{}", classNames: names, rawWeight: rawWeight,
                              memory: memory)
    }

    /// The datasets and attributes of a memory head, all or none of them.
    static let memoryKeys = (arrays: ["memory_center", "memory_rows", "memory_labels"],
                             attributes: ["memory_temperature", "memory_weight"])

    /// A classifier's memory head, or nil when it has none: `memory_rows` (M × D floats, each
    /// row of unit length or zero, within 1e-3), `memory_labels` (M integers in `0..<C`),
    /// `memory_center` (D floats), all finite; `memory_temperature` > 0 and `memory_weight`
    /// in [0, 1]. Throws naming the first piece missing or wrong.
    private static func readMemory(_ f: ArrayContainer, _ attrs: [String: H5AttributeValue], classes c: Int, dim d: Int) throws -> ClassifierFile.Memory? {
        let keys = memoryKeys
        let present = keys.arrays.filter(f.hasArray) + keys.attributes.filter { attrs[$0] != nil }
        guard !present.isEmpty else { return nil }
        if let missing = (keys.arrays.filter { !f.hasArray($0) } + keys.attributes.filter { attrs[$0] == nil }).first {
            throw FeatureIOError(.datasetMissing, file: f.path, dataset: missing,
                                 problem: "a memory head needs \(keys.arrays.joined(separator: ", ")) and the attributes \(keys.attributes.joined(separator: ", ")); \(present.joined(separator: ", ")) present, \(missing) missing")
        }
        let (rows, m, rd) = try readMatrix(f, "memory_rows")
        guard rd == d else {
            throw FeatureIOError(.wrongShape, file: f.path, dataset: "memory_rows", problem: "shape (\(m), \(rd)), weight is (\(c), \(d))")
        }
        try checkFinite(rows, file: f.path, dataset: "memory_rows", dim: d)
        for i in 0..<m {
            var norm = 0.0
            for j in 0..<d { norm += Double(rows[i * d + j]) * Double(rows[i * d + j]) }
            norm = norm.squareRoot()
            guard norm < 1e-6 || abs(norm - 1) <= 1e-3 else {
                throw FeatureIOError(.invalidAttribute, file: f.path, dataset: "memory_rows",
                                     problem: "row \(i) has length \(norm); a memory head's rows are centred and of unit length")
            }
        }
        let center = try readVector(f, "memory_center", expected: d, of: "weight")
        try checkFinite(center, file: f.path, dataset: "memory_center", dim: d)
        let labels = try readIntegers(f, "memory_labels", expected: m, of: "memory_rows")
        if let i = labels.firstIndex(where: { $0 < 0 || $0 >= Int64(c) }) {
            throw FeatureIOError(.invalidAttribute, file: f.path, dataset: "memory_labels", problem: "label \(labels[i]) at row \(i) is outside 0..<\(c)")
        }
        func number(_ name: String, _ ok: (Double) -> Bool, _ rule: String) throws -> Double {
            let v = attrs[name]!
            let x: Double? = { if case .string(let s) = v { return Double(s) } else { return v.number } }()
            guard let x, x.isFinite, ok(x) else {
                throw FeatureIOError(.invalidAttribute, file: f.path, problem: "attribute \(name) = \(v.text) is not \(rule)")
            }
            return x
        }
        let t = try number("memory_temperature", { $0 > 0 }, "a number > 0")
        let w = try number("memory_weight", { (0...1).contains($0) }, "a number in [0, 1]")
        return ClassifierFile.Memory(center: center, rows: rows, labels: labels.map { Int32($0) }, temperature: t, weight: w)
    }

    /// The PyTorch module names a bare head may sit under, in `state_dict` spelling.
    static let headPrefixes = ["fc.", "linear.", "head.", "classifier."]

    /// The prefix of the weight / bias pair (see `readClassifier`).
    private static func headPrefix(_ f: ArrayContainer, headKey: String?) throws -> String {
        func pair(_ p: String) -> Bool { f.hasArray(p + "weight") && f.hasArray(p + "bias") }
        if let k = headKey {
            let p = H5File.normalize(k).isEmpty ? "" : (k.hasSuffix(".") ? k : k + ".")
            guard pair(p) else {
                throw FeatureIOError(.datasetMissing, file: f.path, dataset: p + "weight",
                                     problem: "--head-key \(k): no \(p)weight and \(p)bias in the file")
            }
            return p
        }
        if pair("") { return "" }
        let found = (headPrefixes + headPrefixes.map { "module." + $0 }).filter(pair)
        if found.count == 1 { return found[0] }
        if found.isEmpty {
            _ = try f.array("weight")   // throws .datasetMissing listing what the file holds
        }
        throw FeatureIOError(.datasetMissing, file: f.path, dataset: "weight",
                             problem: "several heads (\(found.map { $0 + "weight" }.joined(separator: ", "))); choose one with --head-key PREFIX")
    }

    // MARK: statistics files

    /// Writes a statistics file atomically: `means` (C × D float32), `counts` (C int64),
    /// `covariances` (C × D × D float32, chunked per class) when present and within
    /// `covarianceLimitBytes` (else omitted, with attribute `covariances_omitted` saying
    /// why); attributes `num_classes`, `dim`, `tukey_lambda` if set, `created_by`,
    /// `afg_file = "statistics"`, plus `s.attributes` as strings.
    public static func writeStatistics(_ s: StatisticsFile, to path: String, compress: Bool = false,
                                       covarianceLimitBytes: Int = 2 << 30) throws {
        try writeAtomically(to: path) { tmp in
            let f = try H5File.create(tmp)
            try f.writeDataset("means", shape: [s.numClasses, s.dim], values: s.means, compress: compress)
            try f.writeDataset("counts", shape: [s.numClasses], values: s.counts.map { Int64($0) }, compress: compress)
            var attrs = s.attributes.mapValues { H5AttributeValue.string($0) }
            if let cov = s.covariances {
                let bytes = cov.count * 4
                if bytes <= covarianceLimitBytes {
                    try f.writeDataset("covariances", shape: [s.numClasses, s.dim, s.dim], values: cov, compress: compress)
                } else {
                    attrs["covariances_omitted"] = .string("C × D × D float32 = \(bytes) bytes > limit \(covarianceLimitBytes)")
                }
            }
            attrs["afg_file"] = .string("statistics")
            attrs["num_classes"] = .int(Int64(s.numClasses))
            attrs["dim"] = .int(Int64(s.dim))
            if let l = s.tukeyLambda { attrs["tukey_lambda"] = .double(Double(l)) }
            try writeAttributes(attrs, to: f)
            try f.close()
        }
    }

    /// Reads a statistics file; `includeCovariances: false` skips the C × D × D block.
    /// `attributes` holds the root attributes other than the ones mapped to fields.
    public static func readStatistics(path: String, includeCovariances: Bool = true) throws -> StatisticsFile {
        try H5File.withFile(path) { f in
            let (means, c, d) = try readMatrix(f, "means")
            let counts = try readIntVector(f, "counts", expected: c, of: "means")
            try checkFinite(means, file: path, dataset: "means", dim: d)
            var cov: [Float]?
            if includeCovariances, f.hasDataset("covariances") {
                let ds = try f.dataset("covariances")
                guard ds.shape == [c, d, d], ds.elementType.isFloat else {
                    throw FeatureIOError(.wrongShape, file: path, dataset: "covariances",
                                         problem: "expected \(c) × \(d) × \(d) floats (from means), found \(ds.elementType) shape \(ds.shape)")
                }
                cov = try readFloats(ds, rows: c)
                try checkFinite(cov!, file: path, dataset: "covariances", dim: d * d)
            }
            let raw = try f.rootAttributes()
            try checkShapeAttribute(raw, "num_classes", equals: c, file: path)
            try checkShapeAttribute(raw, "dim", equals: d, file: path)
            let lambda = try tukeyLambda(raw, file: path)
            var attrs = raw.mapValues { $0.text }
            for k in ["num_classes", "dim", "tukey_lambda", "created_by", "afg_file"] { attrs[k] = nil }
            return StatisticsFile(numClasses: c, dim: d, means: means, counts: counts, covariances: cov,
                                  tukeyLambda: lambda, attributes: attrs)
        }
    }

    // MARK: compatibility

    /// Checks that features of dimension `featureDim` (from `featurePath`) fit a
    /// classifier or statistics file of dimension `expectedDim` (from `expectedPath`).
    /// - Throws: `FeatureIOError(.dimensionMismatch)` naming both files and dimensions.
    public static func checkDimension(featureDim: Int, featurePath: String, featureKey: String = "features",
                                      expectedDim: Int, expectedPath: String, kind: FileKind) throws {
        guard featureDim != expectedDim else { return }
        throw FeatureIOError(.dimensionMismatch, file: featurePath, dataset: H5File.normalize(featureKey),
                             problem: "feature dimension \(featureDim) does not match the \(kind.rawValue) \(expectedPath) (dimension \(expectedDim))")
    }

    // MARK: helpers

    private static func writeColumn(_ c: ColumnData, key: String, file f: H5File, compress: Bool) throws {
        switch c {
        case .uint8(let v): try f.writeDataset(key, shape: [v.count], values: v, compress: compress)
        case .int32(let v): try f.writeDataset(key, shape: [v.count], values: v, compress: compress)
        case .int64(let v): try f.writeDataset(key, shape: [v.count], values: v, compress: compress)
        case .float32(let v): try f.writeDataset(key, shape: [v.count], values: v, compress: compress)
        }
    }

    /// Writes attributes in name order (Swift dictionaries iterate in a per-process
    /// random order; the file must not), then `created_by`.
    static func writeAttributes(_ attrs: [String: H5AttributeValue], to f: H5File) throws {
        var all = attrs
        all["created_by"] = .string(createdBy)
        for k in all.keys.sorted() { try f.writeRootAttribute(k, all[k]!) }
    }

    private static func readFloats(_ d: StoredArray, rows: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: d.shape.reduce(1, *))
        var scratch = ConversionScratch()
        try out.withUnsafeMutableBufferPointer { try d.readFloats(rows: 0..<rows, into: $0, scratch: &scratch) }
        return out
    }

    private static func readMatrix(_ f: ArrayContainer, _ key: String) throws -> ([Float], Int, Int) {
        let d = try f.array(key)
        guard d.shape.count == 2 else {
            throw FeatureIOError(.wrongShape, file: f.path, dataset: d.name, problem: "expected 2-D, found \(d.shape.count)-D shape \(d.shape)")
        }
        guard d.kind == .float else {
            throw FeatureIOError(.wrongType, file: f.path, dataset: d.name, problem: "expected floats, found \(d.typeName)")
        }
        guard d.shape[0] > 0, d.shape[1] > 0 else {
            throw FeatureIOError(.empty, file: f.path, dataset: d.name, problem: "empty (shape \(d.shape))")
        }
        return (try readFloats(d, rows: d.shape[0]), d.shape[0], d.shape[1])
    }

    private static func readVector(_ f: ArrayContainer, _ key: String, expected n: Int, of other: String) throws -> [Float] {
        let d = try f.array(key)
        guard d.shape == [n] else {
            throw FeatureIOError(.wrongShape, file: f.path, dataset: d.name, problem: "expected shape [\(n)] (from \(other)), found \(d.shape)")
        }
        guard d.kind == .float else {
            throw FeatureIOError(.wrongType, file: f.path, dataset: d.name, problem: "expected floats, found \(d.typeName)")
        }
        return try readFloats(d, rows: n)
    }

    /// The `n` integers of the 1-D dataset `key`, whose length `other` sets.
    private static func readIntegers(_ f: ArrayContainer, _ key: String, expected n: Int, of other: String) throws -> [Int64] {
        let d = try f.array(key)
        guard d.shape == [n] else {
            throw FeatureIOError(.wrongShape, file: f.path, dataset: d.name, problem: "expected shape [\(n)] (from \(other)), found \(d.shape)")
        }
        guard d.kind == .integer else {
            throw FeatureIOError(.wrongType, file: f.path, dataset: d.name, problem: "expected integers, found \(d.typeName)")
        }
        var v = [Int64](repeating: 0, count: n)
        try v.withUnsafeMutableBufferPointer { try d.readIntegers(rows: 0..<n, into: $0) }
        return v
    }

    private static func readIntVector(_ f: ArrayContainer, _ key: String, expected n: Int, of other: String) throws -> [Int] {
        let v = try readIntegers(f, key, expected: n, of: other)
        if let i = v.firstIndex(where: { $0 < 0 }) {
            throw FeatureIOError(.invalidAttribute, file: f.path, dataset: key, problem: "negative count \(v[i]) at class \(i)")
        }
        return v.map { Int($0) }
    }

    private static func readNames(_ f: ArrayContainer, expected c: Int) throws -> [String]? {
        guard f.hasArray("class_names") else { return nil }
        let d = try f.array("class_names")
        guard d.shape.count == 1, d.kind == .string else {
            throw FeatureIOError(.wrongType, file: f.path, dataset: d.name, problem: "expected 1-D strings, found \(d.shape.count)-D \(d.typeName)")
        }
        let names = try d.readStrings()
        guard names.count == c else {
            throw FeatureIOError(.classCountMismatch, file: f.path, dataset: d.name, problem: "\(names.count) class names, but \(c) classes")
        }
        return names
    }

    /// Class names from a `class_names` attribute holding a JSON array (safetensors
    /// metadata written by `afg export`), or nil.
    private static func namesAttribute(_ attrs: [String: H5AttributeValue], expected c: Int, file: String) throws -> [String]? {
        guard case .string(let s)? = attrs["class_names"] else { return nil }
        guard let names = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String], names.count == c else {
            throw FeatureIOError(.invalidAttribute, file: file, problem: "attribute class_names is not a JSON array of \(c) strings")
        }
        return names
    }

    /// The optional `tukey_lambda` root attribute; throws when present but not a finite number.
    private static func tukeyLambda(_ attrs: [String: H5AttributeValue], file: String) throws -> Float? {
        guard let v = attrs["tukey_lambda"] else { return nil }
        // safetensors metadata and .npz scalars written by `afg export` spell "none" for no transform.
        if case .string("none") = v { return nil }
        let parsed: Double? = { if case .string(let s) = v { return Double(s) } else { return v.number } }()
        guard let x = parsed, x.isFinite else {
            throw FeatureIOError(.invalidAttribute, file: file, problem: "attribute tukey_lambda = \(v.text) is not a finite number")
        }
        return Float(x)
    }

    private static func checkShapeAttribute(_ attrs: [String: H5AttributeValue], _ name: String, equals n: Int, file: String) throws {
        guard let v = attrs[name] else { return }
        let value: Int64? = { switch v { case .int(let i): return i; case .string(let s): return Int64(s); default: return nil } }()
        guard let i = value, i == n else {
            throw FeatureIOError(.invalidAttribute, file: file, problem: "attribute \(name) = \(v.text), but the datasets say \(n)")
        }
    }

    private static func checkFinite(_ x: [Float], file: String, dataset: String, dim: Int) throws {
        var scan = ValueScan()
        x.withUnsafeBufferPointer { scan.addUnusable($0, rows: x.count / dim, dim: dim, firstRow: 0) }
        if let e = scan.error(file: file, dataset: dataset) { throw e }
    }
}
