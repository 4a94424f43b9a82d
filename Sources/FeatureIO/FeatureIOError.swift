import Foundation

/// A problem with a file's content or with reading/writing it. One line, naming the file,
/// the dataset (when there is one) and the problem, e.g.
/// `train.h5: labels: 3 labels outside 0..<10 (num_classes attribute), first -1 at row 7`.
///
/// Data errors throw this; programmer errors (wrong buffer sizes, inconsistent in-memory
/// values handed to a writer) trap with a precondition instead.
public struct FeatureIOError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, for callers that branch on it (tests, `afg inspect` exit codes).
    public enum Kind: String, Equatable, Sendable {
        case fileMissing, notHDF5, datasetMissing, wrongShape, wrongType, countMismatch,
             labelOutOfRange, nonFinite, tooLarge, dimensionMismatch, classCountMismatch, empty,
             invalidAttribute, writeFailed, hdf5, changed
    }

    public var kind: Kind
    /// The file as the caller named it.
    public var file: String
    /// The dataset path inside the file, if the problem concerns one.
    public var dataset: String?
    /// What is wrong, one line.
    public var problem: String

    public init(_ kind: Kind, file: String, dataset: String? = nil, problem: String) {
        self.kind = kind
        self.file = FeatureIOError.userPath(file)
        self.dataset = dataset
        self.problem = problem
    }

    /// The file the user named for a temporary one (a live `TemporaryFile` → its output):
    /// an error while writing names the output, not our temporary.
    static func userPath(_ path: String) -> String { TemporaryRegistry.userPath(path) }

    public var description: String {
        let text = dataset.map { "\(file): \($0): \(problem)" } ?? "\(file): \(problem)"
        // One line whatever the file held (a header's text may carry line breaks of any kind).
        return String(String.UnicodeScalarView(text.unicodeScalars.map { CharacterSet.newlines.contains($0) ? " " : $0 }))
    }
}

