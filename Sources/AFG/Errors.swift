import Linalg

/// Errors the AFG module reports for bad *data* (they throw, never trap). Programmer
/// errors (shapes that disagree, a class index out of range in a query) are preconditions.
public enum AFGError: Error, Equatable, CustomStringConvertible {
    /// `features` and `labels` disagree in length.
    case shapeMismatch(features: Int, labels: Int)
    /// A label outside `0..<numClasses` (row counted from 0 over everything added so far).
    case labelOutOfRange(row: Int, label: Int32, numClasses: Int)
    /// A NaN or infinite feature value.
    case nonFiniteFeature(row: Int, column: Int)
    /// A generator setting outside its domain (named in the message).
    case invalidConfig(String)
    /// A class covariance that could not be factored even with jitter.
    case factorization(classIndex: Int, message: String)
    /// A class covariance with an entry beyond Float's range (features of magnitude
    /// beyond about 2⁶³).
    case covarianceOverflow(classIndex: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(f, l):
            return "AFG: \(f) feature rows but \(l) labels"
        case let .labelOutOfRange(r, l, c):
            return "AFG: label \(l) at row \(r) is outside 0..<\(c)"
        case let .nonFiniteFeature(r, c):
            return "AFG: non-finite feature value at row \(r), column \(c)"
        case let .invalidConfig(m):
            return "AFG: invalid setting: \(m)"
        case let .factorization(c, m):
            return "AFG: covariance of class \(c) could not be factored: \(m)"
        case let .covarianceOverflow(c):
            return "AFG: the covariance of class \(c) overflows 32-bit floats; rescale the features"
        }
    }
}

/// The checks every in-memory AFG entry point makes: lengths agree, labels in
/// `0..<numClasses`, every value finite. Returns the `C` class counts. O(N·D).
/// - Throws: `AFGError.shapeMismatch`, `.labelOutOfRange`, `.nonFiniteFeature`.
func validatedClassCounts(features: Matrix<Float>, labels: [Int32], numClasses c: Int) throws -> [Int] {
    guard features.rows == labels.count else { throw AFGError.shapeMismatch(features: features.rows, labels: labels.count) }
    var counts = [Int](repeating: 0, count: c)
    for (r, l) in labels.enumerated() {
        guard l >= 0 && Int(l) < c else { throw AFGError.labelOutOfRange(row: r, label: l, numClasses: c) }
        counts[Int(l)] += 1
    }
    if let bad = features.data.firstIndex(where: { !$0.isFinite }) {
        throw AFGError.nonFiniteFeature(row: bad / features.cols, column: bad % features.cols)
    }
    return counts
}
