// LAPACK factorizations of `Matrix` values. The kernels are reached through
// `BLASScalar` (BLASScalar.swift, the one door to LAPACKE); LAPACK's `info` status codes
// become `LinalgError`s here.

extension BLAS {
    /// Cholesky factor of a symmetric positive definite matrix: returns `L` (lower, the
    /// strict upper triangle zeroed) with `L·Lᵀ = A`, or `U = Lᵀ` when `lower` is false.
    ///
    /// Only the `lower` (upper) triangle of `a` is read.
    /// - Throws: `LinalgError.notPositiveDefinite` with the failing minor.
    /// - Complexity: `n³/3` flops.
    public static func potrf<T>(_ a: Matrix<T>, lower: Bool = true) throws -> Matrix<T> {
        precondition(a.rows == a.cols, "potrf: not square \(a.rows)×\(a.cols)")
        var f = a
        let n = a.rows
        if n == 0 { return f }
        let info = f.data.withUnsafeMutableBufferPointer { T._potrf(lower, n, $0.baseAddress!, n) }
        if info < 0 { throw LinalgError.illegalArgument(routine: "potrf", position: -info) }
        if info > 0 { throw LinalgError.notPositiveDefinite(routine: "potrf", minor: info) }
        for i in 0..<n { for j in 0..<n where lower ? j > i : j < i { f.data[i * n + j] = 0 } }
        return f
    }

    /// Eigendecomposition of a symmetric matrix, `A = Vᵀ·diag(values)·V`: `values`
    /// ascending, and row `i` of `vectors` the unit eigenvector of `values[i]`.
    ///
    /// Only the lower triangle of `a` is read.
    /// - Throws: `LinalgError.noConvergence` when LAPACK's divide and conquer reports that it
    ///   failed. A non-finite entry is the caller's to refuse: LAPACK may return NaNs for it.
    /// - Complexity: `O(n³)` flops.
    public static func symmetricEigen<T>(_ a: Matrix<T>) throws -> (values: [T], vectors: Matrix<T>) {
        precondition(a.rows == a.cols, "symmetricEigen: not square \(a.rows)×\(a.cols)")
        var v = a
        let n = a.rows
        var w = [T](repeating: 0, count: n)
        if n == 0 { return (w, v) }
        let info = v.data.withUnsafeMutableBufferPointer { p in
            w.withUnsafeMutableBufferPointer { T._syevd(n, p.baseAddress!, n, $0.baseAddress!) }
        }
        if info < 0 { throw LinalgError.illegalArgument(routine: "syevd", position: -info) }
        if info > 0 { throw LinalgError.noConvergence(routine: "syevd", count: info) }
        return (w, v)
    }

    /// The result of `choleskyWithJitter`: the factor and the jitter that made it work.
    public struct JitteredCholesky<T: BLASScalar> {
        /// Lower triangular `L` with `L·Lᵀ = A + jitter·I`.
        public var factor: Matrix<T>
        /// The diagonal jitter added (0 when `A` was positive definite as given).
        public var jitter: T
    }

    /// Cholesky with jitter and retry, for covariances that are only semi-definite
    /// (every class with `n_c ≤ D`). Tries `A` as is, then `A + ε·I` with
    /// `ε = initialJitter · mean(diag A)` growing ×10 per retry, up to `maxRetries`.
    ///
    /// - Throws: `LinalgError.jitterExhausted` when every retry fails (a matrix with NaN).
    /// - Complexity: `n³/3` flops per attempt.
    public static func choleskyWithJitter<T>(_ a: Matrix<T>, initialJitter: T = 1e-6, maxRetries: Int = 8) throws -> JitteredCholesky<T> {
        precondition(a.rows == a.cols, "cholesky: not square")
        let n = a.rows
        var meanDiag: T = 0
        for i in 0..<n { meanDiag += a.data[i * n + i] }
        meanDiag = n > 0 ? meanDiag / T(n) : 0
        // A zero matrix (one-sample class) still gets a usable absolute jitter.
        let scale: T = meanDiag > 0 && meanDiag.isFinite ? meanDiag : 1
        var jitter: T = 0
        var lastMinor = 0
        for attempt in 0...maxRetries {
            var b = a
            if jitter > 0 { for i in 0..<n { b.data[i * n + i] += jitter } }
            do {
                return JitteredCholesky(factor: try potrf(b), jitter: jitter)
            } catch LinalgError.notPositiveDefinite(_, let minor) {
                lastMinor = minor
            }
            jitter = attempt == 0 ? initialJitter * scale : jitter * 10
        }
        throw LinalgError.jitterExhausted(minor: lastMinor, maxJitter: Double(jitter / 10))
    }
}
