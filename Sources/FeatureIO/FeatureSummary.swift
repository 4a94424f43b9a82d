/// What `afg inspect` reports about a feature file, computed by streaming row blocks
/// (memory O(block · D + N), never the whole feature matrix).
public struct FeatureSummary: Codable, Equatable, Sendable {
    public var file: String
    public var featuresKey: String
    public var labelsKey: String
    /// N, D.
    public var count: Int
    public var dim: Int
    /// Stored types, e.g. `float16`, `int64`.
    public var featureType: String
    public var labelType: String
    /// C and where it came from (see FORMAT.md).
    public var numClasses: Int
    public var numClassesSource: String
    public var classNames: [String]?
    /// Rows per class (C entries).
    public var classCounts: [Int]
    public var largestClass: Int
    public var largestCount: Int
    public var smallestClass: Int
    public var smallestCount: Int
    /// Classes with no rows.
    public var emptyClasses: Int
    /// largest / smallest count over classes with rows.
    public var imbalanceFactor: Double
    /// Thresholds: Many n > manyThreshold, Few n < fewThreshold, Medium otherwise.
    public var manyThreshold: Int
    public var fewThreshold: Int
    public var manyClasses: Int
    public var mediumClasses: Int
    public var fewClasses: Int
    /// Feature values.
    public var nanCount: Int
    public var infCount: Int
    public var negativeCount: Int
    /// First (row, column) holding NaN or Inf, if any.
    public var firstNonFiniteRow: Int?
    public var firstNonFiniteColumn: Int?
    /// Finite values beyond `FeatureStore.largestFeatureMagnitude`, and the first of them.
    public var tooLargeCount: Int
    public var firstTooLargeRow: Int?
    public var firstTooLargeColumn: Int?
    public var firstTooLargeValue: Float?
    /// Over finite values (nil if there are none).
    public var minimum: Float?
    public var maximum: Float?
    public var mean: Double?
    /// Root attributes as text.
    public var attributes: [String: String]

    /// Streams `path` once and summarises it.
    /// - Parameters:
    ///   - many, few: Many-shot classes have n > `many` rows, few-shot n < `few`.
    ///   - blockRows: rows per read (nil: about 16 MiB, whole chunks).
    ///   - progress: called after each block with (rows done, N).
    /// - Throws: the structural `FeatureIOError`s of `FeatureStore.readFeatures`. NaN, Inf
    ///   and values too large do not throw: they are counted (see `valueError`).
    /// - Complexity: O(N·D) time, O(blockRows·D + N) memory.
    public static func compute(path: String, keys: DatasetKeys = .init(), many: Int = 100, few: Int = 20,
                               blockRows: Int? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> FeatureSummary {
        try compute(paths: [path], keys: keys, many: many, few: few, blockRows: blockRows, progress: progress)
    }

    /// `compute(path:…)` over shards read as one data set, rows in the order of `paths`
    /// (row numbers count from the first file's first row; `file` is the paths joined by
    /// `,`). The files must agree with the first on D, the stored feature type and C.
    /// - Throws: as `compute(path:…)`, and `.wrongShape` / `.wrongType` naming a file that
    ///   disagrees with the first.
    public static func compute(paths: [String], keys: DatasetKeys = .init(), many: Int = 100, few: Int = 20,
                               blockRows: Int? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> FeatureSummary {
        precondition(few <= many + 1, "few threshold \(few) above many threshold \(many)")
        precondition(!paths.isEmpty, "FeatureSummary.compute: no files")
        var streams: [FeatureStream] = []
        for p in paths {
            let s = try FeatureStream(path: p, keys: keys, blockRows: blockRows, numClasses: streams.first?.numClasses, checkValues: false)
            if let f = streams.first {
                if s.dim != f.dim {
                    throw FeatureIOError(.wrongShape, file: p, problem: "feature dimension \(s.dim), \(f.path) has \(f.dim)")
                }
                if s.featureType != f.featureType {
                    throw FeatureIOError(.wrongType, file: p, problem: "features stored as \(s.featureType), \(f.path) has \(f.featureType)")
                }
            }
            streams.append(s)
        }
        let total = streams.reduce(0) { $0 + $1.count }
        var scan = ValueScan.features
        var offset = 0
        for s in streams {
            try s.forEachBlock { b in
                b.features.withUnsafeBufferPointer { scan.add($0, rows: b.rows, dim: s.dim, firstRow: offset + b.startRow) }
                progress?(offset + b.startRow + b.rows, total)
            }
            offset += s.count
        }
        let s = streams[0]
        var counts = [Int](repeating: 0, count: s.numClasses)
        for t in streams { for l in t.labels { counts[Int(l)] += 1 } }
        let present = counts.indices.filter { counts[$0] > 0 }
        let largest = present.max { counts[$0] < counts[$1] }!     // N > 0, so some class has rows
        let smallest = counts.indices.min { counts[$0] < counts[$1] }!
        let smallestPresent = present.min { counts[$0] < counts[$1] }!
        let finite = total * s.dim - scan.nonFinite
        return FeatureSummary(
            file: paths.joined(separator: ","), featuresKey: H5File.normalize(keys.features), labelsKey: H5File.normalize(keys.labels),
            count: total, dim: s.dim, featureType: s.featureType, labelType: s.labelType,
            numClasses: s.numClasses, numClassesSource: s.numClassesSource, classNames: s.classNames,
            classCounts: counts, largestClass: largest, largestCount: counts[largest],
            smallestClass: smallest, smallestCount: counts[smallest], emptyClasses: counts.count - present.count,
            imbalanceFactor: Double(counts[largest]) / Double(counts[smallestPresent]),
            manyThreshold: many, fewThreshold: few,
            manyClasses: counts.filter { $0 > many }.count,
            mediumClasses: counts.filter { $0 <= many && $0 >= few }.count,
            fewClasses: counts.filter { $0 < few }.count,
            nanCount: scan.nan, infCount: scan.inf, negativeCount: scan.negative,
            firstNonFiniteRow: scan.firstNonFinite?.row, firstNonFiniteColumn: scan.firstNonFinite?.column,
            tooLargeCount: scan.tooLarge, firstTooLargeRow: scan.firstTooLarge?.row,
            firstTooLargeColumn: scan.firstTooLarge?.column, firstTooLargeValue: scan.firstTooLarge?.value,
            minimum: finite > 0 ? scan.minimum : nil, maximum: finite > 0 ? scan.maximum : nil,
            mean: finite > 0 ? scan.sum / Double(finite) : nil,
            attributes: s.attributes)
    }

    /// The error `FeatureStore.readFeatures` would throw for the values (NaN, Inf, too
    /// large), or nil.
    public var valueError: FeatureIOError? {
        var scan = ValueScan.features
        scan.nan = nanCount; scan.inf = infCount; scan.tooLarge = tooLargeCount
        if let r = firstNonFiniteRow, let c = firstNonFiniteColumn { scan.firstNonFinite = (r, c) }
        if let r = firstTooLargeRow, let c = firstTooLargeColumn, let v = firstTooLargeValue { scan.firstTooLarge = (r, c, v) }
        return scan.error(file: file, dataset: featuresKey)
    }
}
