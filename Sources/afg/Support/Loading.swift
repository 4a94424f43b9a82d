import AFG
import ArgumentParser
import Backbone
import Classifier
import FeatureIO
import Foundation
import Linalg

/// Loads a feature file and applies a Tukey λ (nil = none); errors name the file.
/// The rows live in `x` only: the returned set's `features` is emptied (one copy of N × D).
func loadFeatures(_ path: String, keys: DatasetKeys = .init(), numClasses: Int? = nil,
                  lambda: Float?) throws -> (set: FeatureSet, x: Matrix<Float>) {
    try loadFeatures([path], keys: keys, numClasses: numClasses, lambda: lambda)
}

/// `loadFeatures` over sharded files read as one data set (`readFeatureShards`): all
/// rows, or this rank's `part`. Errors name the file (or the files, joined by `,`).
func loadFeatures(_ paths: [String], keys: DatasetKeys = .init(), numClasses: Int? = nil,
                  lambda: Float?, part: ShardPart = .whole) throws -> (set: FeatureSet, x: Matrix<Float>) {
    let path = shardName(part.isWhole ? paths : shardFiles(paths, part: part))
    var set = try readFeatureShards(paths, keys: keys, numClasses: numClasses, part: part)
    var m = Matrix(rows: set.count, cols: set.dim, data: set.features)
    set.features = []   // else the in-place transform below copies the N × D buffer (copy on write)
    if let l = lambda {
        do { try Tukey.apply(&m, lambda: l) } catch { throw CLIError("\(path): dataset \(keys.features): \(error)") }
    }
    return (set, m)
}

/// A classifier file (or a bare head: HDF5, .npz, .safetensors; `headKey` picks the
/// state_dict prefix), its linear model and its memory head (nil: none). A two-view
/// classifier's model (`raw_weight`) reads the joined rows `[T(x) | x]`, C × 2D
/// (`loadClassifierInput`); the memory head reads `T(x)`, their first D columns.
func loadClassifier(_ path: String, headKey: String? = nil) throws -> (file: ClassifierFile, model: LinearModel, memory: MemoryHead?) {
    let f = try FeatureStore.readClassifier(path: path, headKey: headKey)
    let w = Matrix(rows: f.numClasses, cols: f.dim, data: f.weight)
    let memory = f.memory.map { MemoryHead($0, numClasses: f.numClasses) }
    guard let r = f.rawWeight else { return (f, LinearModel(weight: w, bias: f.bias), memory) }
    return (f, LinearModel(weight: .horizontalJoin(w, Matrix(rows: f.numClasses, cols: f.dim, data: r)), bias: f.bias), memory)
}

extension MemoryHead {
    /// The head a classifier file stores (its fields validated by `FeatureStore.readClassifier`).
    init(_ m: ClassifierFile.Memory, numClasses: Int) {
        self.init(center: m.center, rows: Matrix(rows: m.labels.count, cols: m.center.count, data: m.rows), labels: m.labels,
                  numClasses: numClasses, temperature: m.temperature, weight: m.weight)
    }
}

extension ClassifierFile.Memory {
    /// What a classifier file stores of `head`.
    init(_ head: MemoryHead) {
        self.init(center: head.center, rows: head.rows.data, labels: head.labels, temperature: head.temperature, weight: head.weight)
    }
}

/// The rows classifier `f` reads from these feature files: the features under its Tukey λ,
/// joined with the raw features for a two-view classifier (`[T(x) | x]`, N × 2D). Errors
/// name the file; a dimension other than the classifier's is refused.
func loadClassifierInput(_ paths: [String], keys: DatasetKeys, file f: ClassifierFile, path classifier: String,
                         part: ShardPart = .whole, classNamesMayDiffer: Bool = false) throws -> (set: FeatureSet, x: Matrix<Float>) {
    let r = try loadFeatures(paths, keys: keys, numClasses: f.numClasses, lambda: f.tukeyLambda, part: part)
    if r.set.dim != f.dim { throw CLIError("\(shardName(paths)): feature dimension \(r.set.dim), classifier \(classifier) expects \(f.dim)") }
    try checkClassNames(r.set.classNames, of: shardName(paths), against: f.classNames, in: "the classifier \(classifier)",
                        waived: classNamesMayDiffer)
    guard f.rawWeight != nil else { return r }
    let raw = try loadFeatures(paths, keys: keys, numClasses: f.numClasses, lambda: nil, part: part).x
    return (r.set, .horizontalJoin(r.x, raw))
}

/// Refuses class names that disagree, class by class, with `reference` (the training
/// file's, or the classifier's): a validation, test or classifier file whose classes are
/// the same indices under other names (another split's label map) would be scored
/// silently wrong. Files without names are not checked; `waived` (a command-line waiver)
/// skips the check.
func checkClassNames(_ names: [String]?, of file: String, against reference: [String]?, in referenceFile: String,
                     waived: Bool = false) throws {
    guard !waived, let a = names, let b = reference, a != b else { return }
    guard a.count == b.count, let i = a.indices.first(where: { a[$0] != b[$0] }) else {
        throw CLIError("\(file): \(a.count) class names, \(referenceFile) has \(b.count)")
    }
    throw CLIError("\(file): class \(i) is named '\(a[i])', but '\(b[i])' in \(referenceFile); the class indices must mean the same classes")
}

/// Rows per class in a feature file, from its labels only (the features are not read).
func classCounts(of path: String, keys: DatasetKeys, numClasses: Int) throws -> [Int] {
    let s = try FeatureStream(path: path, keys: keys, numClasses: numClasses)
    var counts = [Int](repeating: 0, count: numClasses)
    for l in s.labels { counts[Int(l)] += 1 }
    return counts
}

/// What `afg train` reads: the training file, the optional validation file and stage-one
/// head, each checked against the training file, Tukey-transformed with `lambda`; the
/// head's input is the features under the head's own recorded λ.
struct TrainData {
    var trainSet: FeatureSet
    var inputs: TrainInputs
    /// The λ the head was trained under (nil: none, or no head).
    var teacherLambda: Float?
    /// The λ applied to the training and validation rows (nil: none), and what
    /// `--tukey auto` decided.
    var lambda: Float?
    var tukeyNote: String?
    /// The training and validation rows before the transform, kept when the run may read
    /// them as a second view (`keepRaw`) and a transform was applied; nil otherwise.
    var untransformedTrain: Matrix<Float>? = nil
    var untransformedVal: Matrix<Float>? = nil
    /// For each validation row, whether a training row (on any rank) holds the same
    /// features; empty without `--val`.
    var valRowsInTrain: [Bool] = []
    /// Training rows per class, summed over ranks.
    var trainCounts: [Int] = []

    /// Under MPI (`part` not whole) each rank holds its part of the training rows and the
    /// whole validation set; `--tukey auto` looks at every rank's rows; a read that fails
    /// on any rank ends the job with one line (`Job.agree`).
    static func load(train trainFiles: [String], val valFiles: [String], teacher: String?, headKey: String? = nil,
                     keys: DatasetKeys, tukey: TukeyOptions, keepRaw: Bool = false, part: ShardPart = .whole,
                     classNamesMayDiffer: Bool = false) throws -> TrainData {
        let train = shardName(trainFiles), val = valFiles.isEmpty ? nil : shardName(valFiles)
        let head = try teacher.map { t in try Job.agree { try loadClassifier(t, headKey: headKey) } }
        var (trainSet, trainX) = try Job.agree { try loadFeatures(trainFiles, keys: keys, lambda: nil, part: part) }
        try Job.checkShapesAgree(dim: trainSet.dim, classes: trainSet.numClasses, files: trainFiles)
        let c = trainSet.numClasses
        let trainCounts = Job.totalCounts(trainSet.classCounts)
        try Job.agree {
            if trainCounts.filter({ $0 > 0 }).count < 2 {
                throw CLIError("\(train): \(keys.labels): every row is class \(trainCounts.firstIndex { $0 > 0 } ?? 0): a classifier needs training rows of at least two classes")
            }
        }
        if let (f, _, _) = head, let t = teacher {
            if f.rawWeight != nil {
                throw CLIError("\(t): dataset raw_weight: a two-view classifier (a second head on the raw features) cannot be a teacher; train the teacher with --single-head")
            }
            if f.memory != nil {
                throw CLIError("\(t): dataset memory_rows: a classifier with a memory head (its scores are not a linear head's) cannot be a teacher; train the teacher with --no-memory-head")
            }
            if f.numClasses != c { throw CLIError("\(t): \(f.numClasses) classes, training file \(train) has \(c)") }
            if f.dim != trainSet.dim { throw CLIError("\(t): dimension \(f.dim), training file \(train) has \(trainSet.dim)") }
            try checkClassNames(f.classNames, of: t, against: trainSet.classNames, in: "the training file \(train)", waived: classNamesMayDiffer)
        }
        let (lambda, note) = tukey.lambda(minimum: try Job.minimum(trainX.data.min() ?? (part.isWhole ? 0 : .infinity)))
        let teacherLambda = head?.file.tukeyLambda
        // The rows under the teacher's own λ, from the untransformed rows already read.
        let teacherView = head != nil && teacherLambda != lambda
        // A copy of the untransformed rows only where one is read (else the transform runs in place).
        func views(_ x: inout Matrix<Float>, _ name: String) throws -> (raw: Matrix<Float>?, teacher: Matrix<Float>?) {
            let untransformed: Matrix<Float>? = keepRaw && lambda != nil ? x : nil
            var forTeacher: Matrix<Float>? = teacherView ? x : nil
            try Job.agree {
                do {
                    if let l = lambda { try Tukey.apply(&x, lambda: l) }
                    if teacherView, let l = teacherLambda { try Tukey.apply(&forTeacher!, lambda: l) }
                } catch { throw CLIError("\(name): dataset \(keys.features): \(error)") }
            }
            return (untransformed, forTeacher)
        }
        let trainViews = try views(&trainX, train)
        var valSet: FeatureSet?, valX: Matrix<Float>?, valViews: (raw: Matrix<Float>?, teacher: Matrix<Float>?) = (nil, nil)
        var valRowsInTrain: [Bool] = []
        if let v = val {
            var x: Matrix<Float>
            (valSet, x) = try Job.agree { try loadFeatures(valFiles, keys: keys, numClasses: c, lambda: nil) }
            if valSet!.dim != trainSet.dim {
                throw CLIError("\(v): feature dimension \(valSet!.dim), training file \(train) has \(trainSet.dim)")
            }
            try checkClassNames(valSet!.classNames, of: v, against: trainSet.classNames, in: "the training file \(train)", waived: classNamesMayDiffer)
            valViews = try views(&x, v)
            // Validation rows that repeat a training row (the same features, on any rank; both
            // under the same λ, so the same bits) are not held out: the validation score
            // leaves them out, and a file of nothing else is refused.
            valRowsInTrain = Job.totalCounts(trainX.rowsShared(by: x).map { $0 ? 1 : 0 }).map { $0 > 0 }
            try Job.agree {
                if x.rows > 0 && valRowsInTrain.allSatisfy({ $0 }) {
                    throw CLIError("\(v): \(keys.features): every one of its \(x.rows) rows repeats a row of --train \(train) (the same features): a validation score on them would be one on rows the classifier trained on; give held-out rows")
                }
            }
            valX = x
        }
        let inputs = TrainInputs(
            train: LabeledFeatures(features: trainX, labels: trainSet.labels, numClasses: c),
            val: valSet.map { LabeledFeatures(features: valX!, labels: $0.labels, numClasses: c) },
            teacher: head?.model, rawTrain: trainViews.teacher, rawVal: valViews.teacher)
        return TrainData(trainSet: trainSet, inputs: inputs, teacherLambda: teacherLambda, lambda: lambda, tukeyNote: note,
                         untransformedTrain: trainViews.raw, untransformedVal: valViews.raw, valRowsInTrain: valRowsInTrain, trainCounts: trainCounts)
    }
}

/// Loads images from an HDF5 image file (`*.h5`, `*.hdf5`) or a folder of IDX / CIFAR
/// binary files (`split` picks train or test there).
func loadImages(_ path: String, split: String) throws -> ImageSet { try loadImageFile(path, split: split).images }

/// `loadImages`, plus the HDF5 file's root attributes as text (none for a folder).
func loadImageFile(_ path: String, split: String) throws -> (images: ImageSet, attributes: [String: String]) {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw CLIError("\(path): no such file or folder")
    }
    if isDir.boolValue {
        guard split == "train" || split == "test" else { throw CLIError("--split must be train or test for a folder, got \(split)") }
        return (try ImageSet.loadFolder(path, train: split == "train"), [:])
    }
    let f = try FeatureStore.readImages(path: path)
    return (ImageSet(height: f.height, width: f.width, channels: f.channels, pixels: f.pixels, labels: f.labels,
                     numClasses: f.numClasses, classNames: f.classNames), f.attributes)
}

/// Comma-separated floats (`0.49,0.48,0.45`; surrounding brackets, as in an HDF5 float
/// array attribute's text `[0.49, 0.48, 0.45]`, are ignored).
func parseFloats(_ s: String, name: String) throws -> [Float] {
    let v = s.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0!.isFinite }) else {
        throw CLIError("\(name): expected comma-separated finite numbers, got '\(s)'")
    }
    return v.map { $0! }
}
