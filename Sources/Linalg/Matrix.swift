/// A dense, row-major matrix: element `(i, j)` is `data[i * cols + j]`.
///
/// A small value type (copy on write through its array). Heavy work goes through the
/// BLAS/LAPACK wrappers (BLAS.swift, LAPACK.swift); element access is for tests and
/// set-up code.
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

    /// The rows `indices[0], indices[1], …` of this matrix, in that order, as a new matrix.
    ///
    /// Row `r` of the result is row `indices[r]` of `self`; an index may repeat.
    /// - Shapes: `self` is `N × D` (row-major); the result is `indices.count × D`.
    /// - Precondition: every index lies in `0..<N`. An index out of range is a
    ///   programmer error and traps (`gatheringRows: row 7 outside 0..<5`).
    /// - Complexity: O(indices.count · D): one bulk copy of `D` values per row.
    public func gatheringRows(_ indices: some Collection<Int>) -> Matrix {
        let n = indices.count, d = cols, rowCount = rows
        for i in indices { precondition(i >= 0 && i < rowCount, "gatheringRows: row \(i) outside 0..<\(rowCount)") }
        if n == 0 || d == 0 { return Matrix(rows: n, cols: d) }
        let out = [Scalar](unsafeUninitializedCapacity: n * d) { dst, initialized in
            data.withUnsafeBufferPointer { src in
                for (r, i) in indices.enumerated() {
                    (dst.baseAddress! + r * d).initialize(from: src.baseAddress! + i * d, count: d)
                }
            }
            initialized = n * d
        }
        return Matrix(rows: n, cols: d, data: out)
    }

    /// For each row of `other`, whether some row of `self` holds the same bits (so `0` and
    /// `−0` differ, and a NaN row matches its own bits).
    ///
    /// - Shapes: `self` is `N × D`, `other` is `M × D` (row-major); the result has `M` entries.
    /// - Precondition: equal column counts. A mismatch is a programmer error and traps.
    /// - Complexity: O((N + M) · D) expected: every row hashed once, a candidate compared
    ///   in full only when its hash matches.
    public func rowsShared(by other: Matrix) -> [Bool] {
        precondition(cols == other.cols, "rowsShared: rows of \(cols) columns against rows of \(other.cols)")
        let d = cols, bytes = d * MemoryLayout<Scalar>.stride
        if other.rows == 0 { return [] }
        if rows == 0 { return [Bool](repeating: false, count: other.rows) }
        return data.withUnsafeBytes { mine in
            other.data.withUnsafeBytes { theirs in
                func hash(_ base: UnsafeRawBufferPointer, _ i: Int) -> Int {
                    var h = Hasher()
                    h.combine(bytes: UnsafeRawBufferPointer(rebasing: base[(i * bytes)..<((i + 1) * bytes)]))
                    return h.finalize()
                }
                var byHash: [Int: [Int]] = [:]
                byHash.reserveCapacity(rows)
                for i in 0..<rows { byHash[hash(mine, i), default: []].append(i) }
                return (0..<other.rows).map { j in
                    byHash[hash(theirs, j)]?.contains { i in
                        mine[(i * bytes)..<((i + 1) * bytes)].elementsEqual(theirs[(j * bytes)..<((j + 1) * bytes)])
                    } ?? false
                }
            }
        }
    }

    /// The vertical join `[top; bottom]`: the rows of `top`, then the rows of `bottom`.
    ///
    /// - Shapes: `top` is `M × D`, `bottom` is `N × D` (row-major); the result is `(M + N) × D`.
    /// - Precondition: equal column counts. A mismatch is a programmer error and traps.
    /// - Complexity: O((M + N) · D): two bulk copies.
    public static func verticalJoin(_ top: Matrix, _ bottom: Matrix) -> Matrix {
        precondition(top.cols == bottom.cols, "verticalJoin: \(top.rows)×\(top.cols) above \(bottom.rows)×\(bottom.cols)")
        let a = top.data.count, b = bottom.data.count
        let out = [Scalar](unsafeUninitializedCapacity: a + b) { dst, initialized in
            top.data.withUnsafeBufferPointer { src in
                if a > 0 { dst.baseAddress!.initialize(from: src.baseAddress!, count: a) }
            }
            bottom.data.withUnsafeBufferPointer { src in
                if b > 0 { (dst.baseAddress! + a).initialize(from: src.baseAddress!, count: b) }
            }
            initialized = a + b
        }
        return Matrix(rows: top.rows + bottom.rows, cols: top.cols, data: out)
    }

    /// The horizontal join `[left | right]`: row `i` is row `i` of `left` followed by row `i`
    /// of `right`.
    ///
    /// - Shapes: `left` is `N × A`, `right` is `N × B` (row-major); the result is `N × (A + B)`.
    /// - Precondition: equal row counts. A mismatch is a programmer error and traps.
    /// - Complexity: O(N · (A + B)): two bulk copies per row.
    public static func horizontalJoin(_ left: Matrix, _ right: Matrix) -> Matrix {
        precondition(left.rows == right.rows, "horizontalJoin: \(left.rows)×\(left.cols) beside \(right.rows)×\(right.cols)")
        let n = left.rows, a = left.cols, b = right.cols, d = a + b
        if n == 0 || d == 0 { return Matrix(rows: n, cols: d) }
        let out = [Scalar](unsafeUninitializedCapacity: n * d) { dst, initialized in
            left.data.withUnsafeBufferPointer { l in
                right.data.withUnsafeBufferPointer { r in
                    for i in 0..<n {
                        if a > 0 { (dst.baseAddress! + i * d).initialize(from: l.baseAddress! + i * a, count: a) }
                        if b > 0 { (dst.baseAddress! + i * d + a).initialize(from: r.baseAddress! + i * b, count: b) }
                    }
                }
            }
            initialized = n * d
        }
        return Matrix(rows: n, cols: d, data: out)
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
    /// An iterative LAPACK routine did not converge (`count` off-diagonal elements left).
    case noConvergence(routine: String, count: Int)

    public var description: String {
        switch self {
        case let .notPositiveDefinite(r, m): return "LAPACK \(r): not positive definite at minor \(m)"
        case let .jitterExhausted(m, j): return "LAPACK potrf: not positive definite at minor \(m) even with diagonal jitter \(j)"
        case let .illegalArgument(r, p): return "LAPACK \(r): illegal value in argument \(p)"
        case let .noConvergence(r, c): return "LAPACK \(r): did not converge (\(c) elements left)"
        }
    }
}
