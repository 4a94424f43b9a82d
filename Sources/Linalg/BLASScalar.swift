import CLAPACK

// The one door to CBLAS / LAPACKE: the `BLASScalar` protocol and its `Float` / `Double`
// conformances. Every BLAS and LAPACK call in the project goes through this file; the
// wrappers in LAPACK.swift turn LAPACK status codes into `LinalgError`s.

/// A floating-point type with BLAS/LAPACK kernels (`Float` → s*, `Double` → d*).
public protocol BLASScalar: BinaryFloatingPoint, Sendable where Self.RawSignificand: FixedWidthInteger {
    static func _gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self,
                      _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafePointer<Self>, _ ldb: Int,
                      _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
    static func _syrk(_ lower: Bool, _ trans: Bool, _ n: Int, _ k: Int, _ alpha: Self,
                      _ a: UnsafePointer<Self>, _ lda: Int, _ beta: Self,
                      _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
    static func _gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Self, _ a: UnsafePointer<Self>,
                      _ lda: Int, _ x: UnsafePointer<Self>, _ incx: Int, _ beta: Self,
                      _ y: UnsafeMutablePointer<Self>, _ incy: Int)
    static func _trmm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Self,
                      _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafeMutablePointer<Self>, _ ldb: Int)
    static func _trsm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Self,
                      _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafeMutablePointer<Self>, _ ldb: Int)
    static func _axpy(_ n: Int, _ alpha: Self, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>)
    static func _dot(_ n: Int, _ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>) -> Self
    /// Returns LAPACK's `info`.
    static func _potrf(_ lower: Bool, _ n: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int) -> Int
}

@inline(__always) private func tr(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }
@inline(__always) private func uplo(_ lower: Bool) -> CBLAS_UPLO { lower ? CblasLower : CblasUpper }
@inline(__always) private func side(_ left: Bool) -> CBLAS_SIDE { left ? CblasLeft : CblasRight }
@inline(__always) private func i32(_ x: Int) -> Int32 { Int32(truncatingIfNeeded: x) }

extension Float: BLASScalar {
    public static func _gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), i32(m), i32(n), i32(k), alpha, a, i32(lda), b, i32(ldb), beta, c, i32(ldc))
    }
    public static func _syrk(_ lower: Bool, _ trans: Bool, _ n: Int, _ k: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ beta: Float,
                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_ssyrk(CblasRowMajor, uplo(lower), tr(trans), i32(n), i32(k), alpha, a, i32(lda), beta, c, i32(ldc))
    }
    public static func _gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
                             _ lda: Int, _ x: UnsafePointer<Float>, _ incx: Int, _ beta: Float,
                             _ y: UnsafeMutablePointer<Float>, _ incy: Int) {
        cblas_sgemv(CblasRowMajor, tr(trans), i32(m), i32(n), alpha, a, i32(lda), x, i32(incx), beta, y, i32(incy))
    }
    public static func _trmm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafeMutablePointer<Float>, _ ldb: Int) {
        cblas_strmm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _trsm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafeMutablePointer<Float>, _ ldb: Int) {
        cblas_strsm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(i32(n), alpha, x, 1, y, 1)
    }
    public static func _dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        cblas_sdot(i32(n), x, 1, y, 1)
    }
    public static func _potrf(_ lower: Bool, _ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int) -> Int {
        Int(LAPACKE_spotrf(LAPACK_ROW_MAJOR, lower ? 76 /* L */ : 85 /* U */, i32(n), a, i32(lda)))
    }
}

extension Double: BLASScalar {
    public static func _gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                             _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        cblas_dgemm(CblasRowMajor, tr(ta), tr(tb), i32(m), i32(n), i32(k), alpha, a, i32(lda), b, i32(ldb), beta, c, i32(ldc))
    }
    public static func _syrk(_ lower: Bool, _ trans: Bool, _ n: Int, _ k: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ beta: Double,
                             _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        cblas_dsyrk(CblasRowMajor, uplo(lower), tr(trans), i32(n), i32(k), alpha, a, i32(lda), beta, c, i32(ldc))
    }
    public static func _gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double, _ a: UnsafePointer<Double>,
                             _ lda: Int, _ x: UnsafePointer<Double>, _ incx: Int, _ beta: Double,
                             _ y: UnsafeMutablePointer<Double>, _ incy: Int) {
        cblas_dgemv(CblasRowMajor, tr(trans), i32(m), i32(n), alpha, a, i32(lda), x, i32(incx), beta, y, i32(incy))
    }
    public static func _trmm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafeMutablePointer<Double>, _ ldb: Int) {
        cblas_dtrmm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _trsm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafeMutablePointer<Double>, _ ldb: Int) {
        cblas_dtrsm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _axpy(_ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(i32(n), alpha, x, 1, y, 1)
    }
    public static func _dot(_ n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        cblas_ddot(i32(n), x, 1, y, 1)
    }
    public static func _potrf(_ lower: Bool, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int) -> Int {
        Int(LAPACKE_dpotrf(LAPACK_ROW_MAJOR, lower ? 76 : 85, i32(n), a, i32(lda)))
    }
}

/// Threads OpenBLAS runs its kernels on.
public var blasThreadCount: Int { Int(openblas_get_num_threads()) }
/// Sets the OpenBLAS thread count (benchmarks and thread-invariance tests use it).
public func setBLASThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }
