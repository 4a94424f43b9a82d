import CLAPACK
import Foundation

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
    /// Eigenvalues (ascending, into `w`) and eigenvectors (over `a`) of the symmetric `n × n`
    /// matrix in `a`, by divide and conquer; returns LAPACK's `info`.
    static func _syevd(_ n: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int, _ w: UnsafeMutablePointer<Self>) -> Int
}

@inline(__always) private func tr(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }
@inline(__always) private func uplo(_ lower: Bool) -> CBLAS_UPLO { lower ? CblasLower : CblasUpper }
@inline(__always) private func side(_ left: Bool) -> CBLAS_SIDE { left ? CblasLeft : CblasRight }
@inline(__always) private func i32(_ x: Int) -> Int32 { Int32(truncatingIfNeeded: x) }

extension Float: BLASScalar {
    public static func _gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        gemmBlocks(ta, tb, m, n, k, lda, ldb, ldc) { r, q, ao, bo, co in
            cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), i32(r), i32(q), i32(k), alpha, a + ao, i32(lda), b + bo, i32(ldb),
                        beta, c + co, i32(ldc))
        }
    }
    public static func _syrk(_ lower: Bool, _ trans: Bool, _ n: Int, _ k: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ beta: Float,
                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        _ = blasSetup
        cblas_ssyrk(CblasRowMajor, uplo(lower), tr(trans), i32(n), i32(k), alpha, a, i32(lda), beta, c, i32(ldc))
    }
    public static func _gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
                             _ lda: Int, _ x: UnsafePointer<Float>, _ incx: Int, _ beta: Float,
                             _ y: UnsafeMutablePointer<Float>, _ incy: Int) {
        _ = blasSetup
        cblas_sgemv(CblasRowMajor, tr(trans), i32(m), i32(n), alpha, a, i32(lda), x, i32(incx), beta, y, i32(incy))
    }
    public static func _trmm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafeMutablePointer<Float>, _ ldb: Int) {
        _ = blasSetup
        cblas_strmm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _trsm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafeMutablePointer<Float>, _ ldb: Int) {
        _ = blasSetup
        cblas_strsm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        _ = blasSetup
        cblas_saxpy(i32(n), alpha, x, 1, y, 1)
    }
    public static func _dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        _ = blasSetup
        return cblas_sdot(i32(n), x, 1, y, 1)
    }
    public static func _potrf(_ lower: Bool, _ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int) -> Int {
        _ = blasSetup
        // The row-major triangle is the column-major opposite one: LAPACKE's row-major entry
        // would transpose into an n² temporary first.
        return Int(LAPACKE_spotrf(LAPACK_COL_MAJOR, lower ? 85 /* U */ : 76 /* L */, i32(n), a, i32(lda)))
    }
    public static func _syevd(_ n: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int, _ w: UnsafeMutablePointer<Float>) -> Int {
        _ = blasSetup
        // A symmetric matrix reads the same in either order; column-major avoids LAPACKE's
        // transposed copy, its upper triangle is the row-major lower one, and each
        // eigenvector comes back as a column-major column: a row here.
        return Int(LAPACKE_ssyevd(LAPACK_COL_MAJOR, 86 /* V */, 85 /* U */, i32(n), a, i32(lda), w))
    }
}

extension Double: BLASScalar {
    public static func _gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                             _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        gemmBlocks(ta, tb, m, n, k, lda, ldb, ldc) { r, q, ao, bo, co in
            cblas_dgemm(CblasRowMajor, tr(ta), tr(tb), i32(r), i32(q), i32(k), alpha, a + ao, i32(lda), b + bo, i32(ldb),
                        beta, c + co, i32(ldc))
        }
    }
    public static func _syrk(_ lower: Bool, _ trans: Bool, _ n: Int, _ k: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ beta: Double,
                             _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        _ = blasSetup
        cblas_dsyrk(CblasRowMajor, uplo(lower), tr(trans), i32(n), i32(k), alpha, a, i32(lda), beta, c, i32(ldc))
    }
    public static func _gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double, _ a: UnsafePointer<Double>,
                             _ lda: Int, _ x: UnsafePointer<Double>, _ incx: Int, _ beta: Double,
                             _ y: UnsafeMutablePointer<Double>, _ incy: Int) {
        _ = blasSetup
        cblas_dgemv(CblasRowMajor, tr(trans), i32(m), i32(n), alpha, a, i32(lda), x, i32(incx), beta, y, i32(incy))
    }
    public static func _trmm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafeMutablePointer<Double>, _ ldb: Int) {
        _ = blasSetup
        cblas_dtrmm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _trsm(_ left: Bool, _ lower: Bool, _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double,
                             _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafeMutablePointer<Double>, _ ldb: Int) {
        _ = blasSetup
        cblas_dtrsm(CblasRowMajor, side(left), uplo(lower), tr(trans), CblasNonUnit, i32(m), i32(n), alpha, a, i32(lda), b, i32(ldb))
    }
    public static func _axpy(_ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
        _ = blasSetup
        cblas_daxpy(i32(n), alpha, x, 1, y, 1)
    }
    public static func _dot(_ n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        _ = blasSetup
        return cblas_ddot(i32(n), x, 1, y, 1)
    }
    public static func _potrf(_ lower: Bool, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int) -> Int {
        _ = blasSetup
        return Int(LAPACKE_dpotrf(LAPACK_COL_MAJOR, lower ? 85 : 76, i32(n), a, i32(lda)))
    }
    public static func _syevd(_ n: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int, _ w: UnsafeMutablePointer<Double>) -> Int {
        _ = blasSetup
        return Int(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 86, 85, i32(n), a, i32(lda), w))
    }
}

// MARK: - Threads

/// OpenBLAS itself runs on one thread: its multi-threaded kernels give other bits than the
/// single-threaded ones on some processors (seen on AMD Zen with OpenBLAS 0.3.21), so a
/// result would depend on the machine's thread count. `_gemm` parallelises instead over
/// blocks of the output fixed by the shape alone (`gemmBlocks`), each a single-threaded
/// OpenBLAS call: the same bits for any thread count.
///
/// OpenBLAS starts its worker threads when it loads, and they spin on `sched_yield` for about
/// 2²⁸ cycles (~0.1 s) waiting for work they will never get, competing with the process's
/// own first parallel region (4,340 `sched_yield` calls in one short `afg calibrate`). They
/// are stopped here; single-threaded calls never restart them.
private let blasSetup: Void = {
    BLASKernels.upgradeIfBehindProcessor()
    openblas_set_num_threads(1)
    _ = blas_thread_shutdown_()
}()

/// OpenBLAS's kernel table. A DYNAMIC_ARCH build picks it by the processor's model number,
/// and a release older than the processor falls back to a table for older instruction sets:
/// Debian's OpenBLAS 0.3.21 runs Intel family 6 model 207 (Emerald Rapids, AVX-512) on its
/// "Prescott" (SSE3) kernels. When the user has not chosen a table (`OPENBLAS_CORETYPE`
/// unset) and the library's is for an older instruction set than the processor offers, the
/// table for the processor's (`SkylakeX` for AVX-512 F, CD, BW, DQ and VL; `Haswell` for
/// AVX2 with FMA) is chosen before the first product: what a release that knows the
/// processor would pick. Results stay the same for any thread count; like every BLAS
/// result they depend on the table (as they do on the machine).
public enum BLASKernels {
    /// Instruction-set tiers, ordered.
    enum Tier: Int, Comparable {
        case sse = 0, avx, avx2, avx512
        static func < (a: Tier, b: Tier) -> Bool { a.rawValue < b.rawValue }
    }

    /// The name of the table in use ("SkylakeX", "Haswell", ...), once the products are set up.
    public static var name: String {
        prepareBLAS()
        return String(cString: openblas_get_corename())
    }

    /// The tier of an OpenBLAS 0.3.x x86-64 table name (its `corename`); nil for a name it
    /// does not know.
    static func tier(ofTable name: String) -> Tier? {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return .avx512
        case "haswell", "zen": return .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return .avx
        case "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington", "nehalem",
             "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat": return .sse
        default: return nil
        }
    }

    /// The processor's tier from the `flags` line of `/proc/cpuinfo` (nil when unreadable).
    static func processorTier(cpuinfo: String) -> Tier? {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return .avx512 }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return .avx2 }
        if flags.contains("avx") { return .avx }
        return .sse
    }

    /// The table to switch to: the processor's tier's, when the library's table is of a
    /// lower tier; nil to keep it.
    static func upgrade(table: String, processor: Tier?) -> String? {
        guard let p = processor, let t = tier(ofTable: table), t < p else { return nil }
        switch p {
        case .avx512: return "SkylakeX"
        case .avx2: return "Haswell"
        case .avx, .sse: return nil
        }
    }

    /// Chooses the processor's table when the library's lags it (see the type's notes).
    /// Runs once, before any product (`blasSetup`).
    static func upgradeIfBehindProcessor() {
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let target = upgrade(table: String(cString: openblas_get_corename()), processor: processorTier(cpuinfo: info))
        else { return }
        setenv("OPENBLAS_CORETYPE", target, 1)
        gotoblas_dynamic_quit()
        gotoblas_dynamic_init()
        unsetenv("OPENBLAS_CORETYPE")
    }
}

/// Puts OpenBLAS in the state the matrix products assume (one thread, no idle workers).
/// Every product does this itself; a process calls it first to stop the library's idle
/// threads before its own parallel work starts.
public func prepareBLAS() { _ = blasSetup }

/// The threads `_gemm` spreads its blocks over (default: the processors this process may
/// run on, `availableProcessorCount`).
nonisolated(unsafe) private var gemmThreads = availableProcessorCount

/// Threads the matrix products run on.
public var blasThreadCount: Int { gemmThreads }
/// Sets the threads the matrix products run on (benchmarks and thread-invariance tests
/// use it); results do not depend on it.
public func setBLASThreadCount(_ n: Int) { _ = blasSetup; gemmThreads = max(1, n) }

/// Runs a row-major `C (m × n) = op(A) · op(B)` as blocks of rows (or, for a short and
/// wide `C`, of columns) whose boundaries depend on `m`, `n`, `k` only, in parallel when
/// there are several threads. `body(rows, cols, aOffset, bOffset, cOffset)` runs one block.
/// Products under 2²¹ multiply-adds are one block.
@inline(__always)
func gemmBlocks(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ lda: Int, _ ldb: Int, _ ldc: Int,
                _ body: (Int, Int, Int, Int, Int) -> Void) {
    _ = blasSetup
    let blocks = gemmBlockCount(m, n, k)
    if blocks == 1 { body(m, n, 0, 0, 0); return }
    func run(_ i: Int) { gemmBlock(i, of: blocks, ta, tb, m, n, lda, ldb, ldc, body) }
    parallelFor(blocks, threads: gemmThreads) { i, _ in run(i) }
}

/// How many blocks `_gemm` splits a row-major `m × n` product with inner dimension `k`
/// into (1 under 2²¹ multiply-adds or when both sides are under 128). Callers that
/// schedule the blocks themselves (`BLASScalar._gemmBlock`) get the bits of `_gemm`.
public func gemmBlockCount(_ m: Int, _ n: Int, _ k: Int) -> Int {
    let extent = max(m, n)
    guard m * n * k >= 1 << 21, extent >= 128 else { return 1 }
    return min(16, extent / 64)
}

/// Block `i` of `blocks` (`gemmBlockCount`) of a row-major product: `body(rows, cols,
/// aOffset, bOffset, cOffset)`.
@inline(__always)
func gemmBlock(_ i: Int, of blocks: Int, _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ lda: Int, _ ldb: Int, _ ldc: Int,
               _ body: (Int, Int, Int, Int, Int) -> Void) {
    if blocks == 1 { body(m, n, 0, 0, 0); return }
    let splitRows = m >= n
    let extent = splitRows ? m : n
    let lo = i * extent / blocks, hi = (i + 1) * extent / blocks
    if splitRows {
        body(hi - lo, n, ta ? lo : lo * lda, 0, lo * ldc)
    } else {
        body(m, hi - lo, 0, tb ? lo * ldb : lo, lo)
    }
}

extension Float {
    /// Block `index` of `blocks` slices of the product (rows when `m ≥ n`, else columns),
    /// on the calling thread (one single-threaded OpenBLAS call). With `gemmBlockCount(m,
    /// n, k)` blocks, running every block once, in any order and on any threads, gives
    /// exactly the bits of `_gemm`; a caller with many independent products schedules
    /// their blocks itself (and may choose its own count: the bits then follow it).
    @inline(__always)
    public static func _gemmBlock(_ index: Int, of blocks: Int, _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int,
                                  _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
                                  _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        _ = blasSetup
        gemmBlock(index, of: blocks, ta, tb, m, n, lda, ldb, ldc) { r, q, ao, bo, co in
            cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), i32(r), i32(q), i32(k), alpha, a + ao, i32(lda), b + bo, i32(ldb),
                        beta, c + co, i32(ldc))
        }
    }
}

extension Float {
    /// `C ← α·op(A)·op(B) + β·C` (row-major, shapes as `_gemm`) as one single-threaded
    /// OpenBLAS call on the calling thread, not cut into `_gemm`'s blocks: for callers that
    /// already run many products on their own threads (the backbone's convolution workers),
    /// where each block would repack the whole of the other operand. The bits depend on the
    /// arguments only (not on threads), but may differ from `_gemm`'s in the last place.
    /// - Complexity: `2·m·n·k` flops.
    @inline(__always)
    public static func _gemmOneCall(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                                    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        _ = blasSetup
        cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), i32(m), i32(n), i32(k), alpha, a, i32(lda), b, i32(ldb),
                    beta, c, i32(ldc))
    }
}
