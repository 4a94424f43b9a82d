/// A dense, row-major matrix: element `(i, j)` is `data[i * cols + j]`.
///
/// A small value type (copy on write through its array). Heavy work goes through the
/// BLAS/LAPACK wrappers below; element access is for tests and set-up code.
public struct Matrix<Scalar: BLASScalar>: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    /// `rows × cols` values, row-major.
    public var data: [Scalar]

    /// A `rows × cols` matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows)×\(cols)")
        self.rows = rows; self.cols = cols
        self.data = Array(repeating: value, count: rows * cols)
    }

    /// Wraps `data` (row-major, `rows * cols` values). Traps on a size mismatch (programmer error).
    public init(rows: Int, cols: Int, data: [Scalar]) {
        precondition(data.count == rows * cols, "Matrix: \(data.count) values for \(rows)×\(cols)")
        self.rows = rows; self.cols = cols; self.data = data
    }

    /// The `n × n` identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.data[i * n + i] = 1 }
        return m
    }

    @inlinable public subscript(i: Int, j: Int) -> Scalar {
        get { data[i * cols + j] }
        set { data[i * cols + j] = newValue }
    }

    /// The transpose, as a new matrix. O(rows·cols).
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t.data[j * rows + i] = data[i * cols + j] } }
        return t
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Scalar] { Array(data[(i * cols)..<((i + 1) * cols)]) }
}

extension Matrix {
    /// Converts every element to another scalar type.
    public func converted<T: BLASScalar>(to: T.Type = T.self) -> Matrix<T> {
        Matrix<T>(rows: rows, cols: cols, data: data.map { T($0) })
    }
}

/// Errors the linear-algebra layer reports (data errors: they throw, never trap).
public enum LinalgError: Error, Equatable, CustomStringConvertible {
    /// LAPACK `potrf` found the leading minor of this order not positive definite.
    case notPositiveDefinite(routine: String, minor: Int)
    /// `potrf` still failed after adding diagonal jitter up to `maxJitter`.
    case jitterExhausted(minor: Int, maxJitter: Double)
    /// LAPACK reported an illegal argument (a bug in the caller).
    case illegalArgument(routine: String, position: Int)

    public var description: String {
        switch self {
        case let .notPositiveDefinite(r, m): return "LAPACK \(r): not positive definite at minor \(m)"
        case let .jitterExhausted(m, j): return "LAPACK potrf: not positive definite at minor \(m) even with diagonal jitter \(j)"
        case let .illegalArgument(r, p): return "LAPACK \(r): illegal value in argument \(p)"
        }
    }
}
