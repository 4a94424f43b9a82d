/// A feature file in memory (see docs/FORMAT.md).
public struct FeatureSet: Equatable, Sendable {
    /// N, the number of rows.
    public var count: Int
    /// D, the feature dimension.
    public var dim: Int
    /// N × D, row-major.
    public var features: [Float]
    /// N class indices in `0..<numClasses`.
    public var labels: [Int32]
    /// C. Classes may have no rows (C comes from the `num_classes` attribute, the class
    /// names, or the largest label + 1; see FORMAT.md).
    public var numClasses: Int
    /// C names, index = class, if the file has them.
    public var classNames: [String]?
    /// Root attributes as text (`num_classes`, `split`, `backbone`, ...).
    public var attributes: [String: String]

    /// - Precondition: `features.count == labels.count * dim`, labels in `0..<numClasses`,
    ///   `classNames` (if given) has `numClasses` entries. These are programmer errors
    ///   (data from files is validated by the reader and throws instead).
    public init(features: [Float], dim: Int, labels: [Int32], numClasses: Int,
                classNames: [String]? = nil, attributes: [String: String] = [:]) {
        precondition(dim >= 0 && features.count == labels.count * dim,
                     "FeatureSet: \(features.count) features for \(labels.count) rows × \(dim)")
        precondition(numClasses >= 0 && labels.allSatisfy { $0 >= 0 && Int($0) < numClasses },
                     "FeatureSet: labels outside 0..<\(numClasses)")
        precondition(classNames.map { $0.count == numClasses } ?? true,
                     "FeatureSet: \(classNames?.count ?? 0) class names for \(numClasses) classes")
        self.count = labels.count
        self.dim = dim
        self.features = features
        self.labels = labels
        self.numClasses = numClasses
        self.classNames = classNames
        self.attributes = attributes
    }

    /// Same as `init(features:dim:labels:...)`, with N stated (checked against `labels`).
    public init(count: Int, dim: Int, features: [Float], labels: [Int32], numClasses: Int,
                classNames: [String]? = nil, attributes: [String: String] = [:]) {
        precondition(count == labels.count, "FeatureSet: count \(count) but \(labels.count) labels")
        self.init(features: features, dim: dim, labels: labels, numClasses: numClasses,
                  classNames: classNames, attributes: attributes)
    }

    /// Rows per class (length C). O(N).
    public var classCounts: [Int] {
        var c = [Int](repeating: 0, count: numClasses)
        for l in labels { c[Int(l)] += 1 }
        return c
    }
}

/// Where the datasets of a feature file live. External files use their own names and
/// groups (`train/feats`); leading slashes are ignored.
public struct DatasetKeys: Equatable, Sendable {
    public var features: String
    public var labels: String
    /// Optional; a missing class-names dataset is not an error.
    public var classNames: String

    public init(features: String = "features", labels: String = "labels", classNames: String = "class_names") {
        self.features = features
        self.labels = labels
        self.classNames = classNames
    }
}

/// A trained linear classifier on disk (see docs/FORMAT.md).
public struct ClassifierFile: Equatable, Sendable {
    public var numClasses: Int
    public var dim: Int
    /// C × D, row-major.
    public var weight: [Float]
    /// C.
    public var bias: [Float]
    /// C training rows per class (the head/tail split of evaluation uses them); nil for a
    /// bare head (a PyTorch `state_dict`) that does not record them.
    public var classCounts: [Int]?
    /// Training method, e.g. `glag`, `ce`, `lbfgs`.
    public var method: String
    /// The Tukey λ the classifier expects its input features transformed with; nil = none.
    public var tukeyLambda: Float?
    /// The full training configuration as a JSON string.
    public var configJSON: String
    /// C names, if known.
    public var classNames: [String]?
    /// C × D, row-major: a second head on the raw (untransformed) features, so the logits are
    /// `weight·T(x) + raw_weight·x + bias` with `T` the Tukey transform of `tukeyLambda`
    /// (a two-view classifier, docs/FORMAT.md); nil for one linear head.
    public var rawWeight: [Float]?
    /// A memory head mixed into the scores (docs/FORMAT.md); nil for a linear classifier.
    public var memory: Memory?

    /// A memory head on disk: labelled rows, centred by `center` and of unit length, in the
    /// space `weight` reads (`T(x)`). The scores are `(1 − weight)·log softmax(logits) +
    /// weight·log p(c | x)`, `p` the balanced Parzen posterior of temperature `temperature`
    /// over the rows' cosines (the Classifier module's `MemoryHead`).
    public struct Memory: Equatable, Sendable {
        /// D.
        public var center: [Float]
        /// M × D, row-major.
        public var rows: [Float]
        /// M, in `0..<numClasses`.
        public var labels: [Int32]
        public var temperature: Double
        public var weight: Double
        public init(center: [Float], rows: [Float], labels: [Int32], temperature: Double, weight: Double) {
            precondition(rows.count == labels.count * center.count, "ClassifierFile.Memory: \(rows.count) values for \(labels.count) rows of \(center.count)")
            self.center = center; self.rows = rows; self.labels = labels; self.temperature = temperature; self.weight = weight
        }
    }

    /// - Precondition: `weight.count == numClasses * dim` (and `rawWeight`'s, when given),
    ///   `bias` and `classCounts` have C entries, a memory's rows have D columns.
    public init(numClasses: Int, dim: Int, weight: [Float], bias: [Float], classCounts: [Int]?,
                method: String, tukeyLambda: Float?, configJSON: String = "{}", classNames: [String]? = nil,
                rawWeight: [Float]? = nil, memory: Memory? = nil) {
        precondition(weight.count == numClasses * dim, "ClassifierFile: weight has \(weight.count) entries, expected \(numClasses) × \(dim)")
        precondition(rawWeight.map { $0.count == numClasses * dim } ?? true, "ClassifierFile: raw_weight must be \(numClasses) × \(dim)")
        precondition(bias.count == numClasses && (classCounts?.count ?? numClasses) == numClasses, "ClassifierFile: bias/classCounts length ≠ \(numClasses)")
        precondition(classNames.map { $0.count == numClasses } ?? true, "ClassifierFile: class names length ≠ \(numClasses)")
        self.numClasses = numClasses
        self.dim = dim
        self.weight = weight
        self.bias = bias
        self.classCounts = classCounts
        self.method = method
        self.tukeyLambda = tukeyLambda
        self.configJSON = configJSON
        self.classNames = classNames
        self.rawWeight = rawWeight
        precondition(memory.map { $0.center.count == dim } ?? true, "ClassifierFile: memory rows must have \(dim) columns")
        self.memory = memory
    }
}

/// Per-class statistics written by `afg calibrate` (see docs/FORMAT.md).
public struct StatisticsFile: Equatable, Sendable {
    public var numClasses: Int
    public var dim: Int
    /// C × D, row-major.
    public var means: [Float]
    /// C.
    public var counts: [Int]
    /// C × D × D (class c's D × D covariance at offset c·D·D), or nil when not stored.
    public var covariances: [Float]?
    /// The Tukey λ the statistics were computed after; nil = none.
    public var tukeyLambda: Float?
    /// Further root attributes as text (configuration, source file, ...).
    public var attributes: [String: String]

    /// - Precondition: shapes as documented on each property.
    public init(numClasses: Int, dim: Int, means: [Float], counts: [Int], covariances: [Float]? = nil,
                tukeyLambda: Float? = nil, attributes: [String: String] = [:]) {
        precondition(means.count == numClasses * dim && counts.count == numClasses, "StatisticsFile: shapes")
        precondition(covariances.map { $0.count == numClasses * dim * dim } ?? true, "StatisticsFile: covariances must be C × D × D")
        self.numClasses = numClasses
        self.dim = dim
        self.means = means
        self.counts = counts
        self.covariances = covariances
        self.tukeyLambda = tukeyLambda
        self.attributes = attributes
    }
}

/// A 1-D per-row dataset stored beside the features (e.g. `is_generated`).
public enum ColumnData: Equatable, Sendable {
    case uint8([UInt8])
    case int32([Int32])
    case int64([Int64])
    case float32([Float])

    public var count: Int {
        switch self {
        case .uint8(let v): return v.count
        case .int32(let v): return v.count
        case .int64(let v): return v.count
        case .float32(let v): return v.count
        }
    }
}

/// The kinds of file FeatureIO reads, for messages.
public enum FileKind: String, Sendable {
    case features = "feature file"
    case classifier = "classifier file"
    case statistics = "statistics file"
}
