import Linalg

/// Measures this machine's single-precision matrix-product rate (the peak other
/// benchmarks compare against): square products of growing size, best of 3.
func benchSGEMM() throws {
    var rng = Xoshiro256(seed: 1)
    var peak = 0.0
    for n in [256, 512, 1024, 2048] {
        let a = Matrix<Float>(rows: n, cols: n, data: standardNormals(n * n, using: &rng))
        let b = Matrix<Float>(rows: n, cols: n, data: standardNormals(n * n, using: &rng))
        var c = Matrix<Float>(rows: n, cols: n)
        let t = bestTime { BLAS.gemm(a, b, into: &c) }
        let gflops = 2.0 * Double(n * n * n) / t / 1e9
        peak = max(peak, gflops)
        print("sgemm \(n)x\(n)x\(n): \(fmt(t * 1e3)) ms, \(fmt(gflops, 1)) GFLOP/s")
    }
    print("sgemm peak: \(fmt(peak, 1)) GFLOP/s (\(blasThreadCount) BLAS threads)")
}
