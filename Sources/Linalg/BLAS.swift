/// Matrix-level wrappers over BLAS/LAPACK for row-major `Matrix` values: the BLAS
/// products here, the LAPACK factorizations (`potrf`, `choleskyWithJitter`, `symmetricEigen`)
/// in LAPACK.swift.
///
/// Shapes are preconditions (a mismatch is a programmer error and traps); numerical
/// failures (a matrix that is not positive definite) throw `LinalgError`.
/// Hot loops should use the pointer-level `BLASScalar._gemm` family directly on
/// reused buffers; these wrappers are for set-up code and tests.
public enum BLAS {
    /// `C ← α·op(A)·op(B) + β·C`, where `op(X)` is `X` or `Xᵀ`.
    ///
    /// - Shapes: `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`.
    /// - Complexity: `2·m·n·k` flops.
    public static func gemm<T>(_ a: Matrix<T>, transposeA: Bool = false, _ b: Matrix<T>, transposeB: Bool = false,
                               alpha: T = 1, beta: T = 0, into c: inout Matrix<T>) {
        let m = transposeA ? a.cols : a.rows, k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows, n = transposeB ? b.rows : b.cols
        precondition(k == kb && c.rows == m && c.cols == n, "gemm: shapes \(m)×\(k) · \(kb)×\(n) → \(c.rows)×\(c.cols)")
        if m == 0 || n == 0 { return }
        if k == 0 { for i in c.data.indices { c.data[i] = beta == 0 ? 0 : beta * c.data[i] }; return }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    T._gemm(transposeA, transposeB, m, n, k, alpha, pa.baseAddress!, a.cols,
                            pb.baseAddress!, b.cols, beta, pc.baseAddress!, n)
                }
            }
        }
    }

    /// `op(A)·op(B)` as a new matrix.
    public static func matmul<T>(_ a: Matrix<T>, transposeA: Bool = false, _ b: Matrix<T>, transposeB: Bool = false) -> Matrix<T> {
        var c = Matrix<T>(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }

    /// Symmetric rank-k update `C ← α·A·Aᵀ + β·C` (or `α·Aᵀ·A + β·C` with `transpose`).
    ///
    /// Only the `lower` (or upper) triangle of `C` is referenced and written; call
    /// `symmetrize` to fill the other half.
    /// - Shapes: `A` is `n × k` (`k × n` transposed), `C` is `n × n`.
    /// - Complexity: `n²·k` flops.
    public static func syrk<T>(_ a: Matrix<T>, transpose: Bool = false, alpha: T = 1, beta: T = 0,
                               lower: Bool = true, into c: inout Matrix<T>) {
        let n = transpose ? a.cols : a.rows, k = transpose ? a.rows : a.cols
        precondition(c.rows == n && c.cols == n, "syrk: A gives \(n)×\(n), C is \(c.rows)×\(c.cols)")
        if n == 0 { return }
        if k == 0 { for i in c.data.indices { c.data[i] = beta == 0 ? 0 : beta * c.data[i] }; return }
        a.data.withUnsafeBufferPointer { pa in
            c.data.withUnsafeMutableBufferPointer { pc in
                T._syrk(lower, transpose, n, k, alpha, pa.baseAddress!, a.cols, beta, pc.baseAddress!, n)
            }
        }
    }

    /// Copies the `lower` (or upper) triangle of a square matrix onto the other one.
    public static func symmetrize<T>(_ c: inout Matrix<T>, fromLower lower: Bool = true) {
        precondition(c.rows == c.cols, "symmetrize: not square")
        let n = c.rows
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) {
            if lower { c.data[i * n + j] = c.data[j * n + i] } else { c.data[j * n + i] = c.data[i * n + j] }
        } }
    }

    /// `y ← α·op(A)·x + β·y`.
    /// - Shapes: `op(A)` is `m × n`, `x` has `n` entries, `y` has `m`.
    /// - Complexity: `2·m·n` flops.
    public static func gemv<T>(_ a: Matrix<T>, transpose: Bool = false, _ x: [T], alpha: T = 1, beta: T = 0, into y: inout [T]) {
        let m = transpose ? a.cols : a.rows, n = transpose ? a.rows : a.cols
        precondition(x.count == n && y.count == m, "gemv: op(A) \(m)×\(n), x \(x.count), y \(y.count)")
        if m == 0 { return }
        if n == 0 { for i in y.indices { y[i] = beta == 0 ? 0 : beta * y[i] }; return }
        a.data.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    T._gemv(transpose, a.rows, a.cols, alpha, pa.baseAddress!, a.cols, px.baseAddress!, 1, beta, py.baseAddress!, 1)
                }
            }
        }
    }

    /// Triangular multiply `B ← α·op(A)·B` (`left`) or `B ← α·B·op(A)`, `A` triangular.
    /// - Shapes: `A` square (`m × m` on the left, `n × n` on the right), `B` is `m × n`.
    /// - Complexity: about `m²·n` flops (left).
    public static func trmm<T>(_ a: Matrix<T>, lower: Bool = true, transpose: Bool = false, left: Bool = true,
                               alpha: T = 1, _ b: inout Matrix<T>) {
        precondition(a.rows == a.cols && a.rows == (left ? b.rows : b.cols), "trmm: A \(a.rows)×\(a.cols), B \(b.rows)×\(b.cols)")
        if b.rows == 0 || b.cols == 0 { return }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeMutableBufferPointer { pb in
                T._trmm(left, lower, transpose, b.rows, b.cols, alpha, pa.baseAddress!, a.cols, pb.baseAddress!, b.cols)
            }
        }
    }

    /// Triangular solve: `B ← α·op(A)⁻¹·B` (`left`) or `B ← α·B·op(A)⁻¹`, `A` triangular.
    /// - Shapes: as `trmm`. Precondition: `A` has a non-zero diagonal.
    public static func trsm<T>(_ a: Matrix<T>, lower: Bool = true, transpose: Bool = false, left: Bool = true,
                               alpha: T = 1, _ b: inout Matrix<T>) {
        precondition(a.rows == a.cols && a.rows == (left ? b.rows : b.cols), "trsm: A \(a.rows)×\(a.cols), B \(b.rows)×\(b.cols)")
        if b.rows == 0 || b.cols == 0 { return }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeMutableBufferPointer { pb in
                T._trsm(left, lower, transpose, b.rows, b.cols, alpha, pa.baseAddress!, a.cols, pb.baseAddress!, b.cols)
            }
        }
    }
}
