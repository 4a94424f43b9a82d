import XCTest
@testable import Linalg

/// Each wrapper against a naive implementation, on random shapes including non-square
/// and transposed cases, looping over seeds (a failure names its seed).
final class BLASTests: XCTestCase {
    func randomMatrix<T: BLASScalar>(_ r: Int, _ c: Int, _ rng: inout Xoshiro256) -> Matrix<T> {
        Matrix(rows: r, cols: c, data: standardNormals(r * c, using: &rng))
    }

    func naiveMul<T: BLASScalar>(_ a: Matrix<T>, _ ta: Bool, _ b: Matrix<T>, _ tb: Bool) -> Matrix<Double> {
        let A = ta ? a.transposed : a, B = tb ? b.transposed : b
        var c = Matrix<Double>(rows: A.rows, cols: B.cols)
        for i in 0..<A.rows { for j in 0..<B.cols {
            var s = 0.0
            for k in 0..<A.cols { s += Double(A[i, k]) * Double(B[k, j]) }
            c[i, j] = s
        } }
        return c
    }

    func assertClose<T: BLASScalar>(_ x: Matrix<T>, _ y: Matrix<Double>, tol: Double, _ msg: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.rows, y.rows, msg, file: file, line: line)
        XCTAssertEqual(x.cols, y.cols, msg, file: file, line: line)
        var worst = 0.0
        for i in 0..<x.data.count { worst = max(worst, abs(Double(x.data[i]) - y.data[i]) / (1 + abs(y.data[i]))) }
        XCTAssertLessThan(worst, tol, msg, file: file, line: line)
    }

    func testGemmAllTranspositionsFloatAndDouble() {
        for seed in UInt64(0)..<12 {
            var rng = Xoshiro256(seed: seed)
            let m = 1 + Int(rng.next() % 17), n = 1 + Int(rng.next() % 13), k = 1 + Int(rng.next() % 19)
            for ta in [false, true] { for tb in [false, true] {
                let a: Matrix<Float> = randomMatrix(ta ? k : m, ta ? m : k, &rng)
                let b: Matrix<Float> = randomMatrix(tb ? n : k, tb ? k : n, &rng)
                var c: Matrix<Float> = randomMatrix(m, n, &rng)
                let c0 = c
                BLAS.gemm(a, transposeA: ta, b, transposeB: tb, alpha: 0.5, beta: 2, into: &c)
                var expect = naiveMul(a, ta, b, tb)
                for i in 0..<expect.data.count { expect.data[i] = 0.5 * expect.data[i] + 2 * Double(c0.data[i]) }
                assertClose(c, expect, tol: 1e-5, "sgemm seed \(seed) ta \(ta) tb \(tb) \(m)x\(n)x\(k)")
                let ad = a.converted(to: Double.self), bd = b.converted(to: Double.self)
                assertClose(BLAS.matmul(ad, transposeA: ta, bd, transposeB: tb), naiveMul(a, ta, b, tb), tol: 1e-12,
                            "dgemm seed \(seed)")
            } }
        }
    }

    func testSyrkMatchesProductBothOrientations() {
        for seed in UInt64(0)..<8 {
            var rng = Xoshiro256(seed: seed)
            let n = 1 + Int(rng.next() % 15), k = 1 + Int(rng.next() % 9)
            for trans in [false, true] {
                let a: Matrix<Double> = randomMatrix(trans ? k : n, trans ? n : k, &rng)
                for lower in [true, false] {
                    var c = Matrix<Double>(rows: n, cols: n)
                    BLAS.syrk(a, transpose: trans, lower: lower, into: &c)
                    BLAS.symmetrize(&c, fromLower: lower)
                    let expect = naiveMul(a, trans, a, !trans)
                    assertClose(c, expect, tol: 1e-12, "syrk seed \(seed) trans \(trans) lower \(lower)")
                }
            }
        }
    }

    func testGemvBothOrientations() {
        for seed in UInt64(0)..<8 {
            var rng = Xoshiro256(seed: seed)
            let m = 1 + Int(rng.next() % 11), n = 1 + Int(rng.next() % 7)
            let a: Matrix<Float> = randomMatrix(m, n, &rng)
            for trans in [false, true] {
                let x: [Float] = standardNormals(trans ? m : n, using: &rng)
                var y = [Float](repeating: 1, count: trans ? n : m)
                BLAS.gemv(a, transpose: trans, x, alpha: 2, beta: -1, into: &y)
                let xm = Matrix(rows: x.count, cols: 1, data: x)
                let e = naiveMul(a, trans, xm, false)
                for i in 0..<y.count { XCTAssertEqual(Double(y[i]), 2 * e.data[i] - 1, accuracy: 1e-4, "seed \(seed)") }
            }
        }
    }

    func testTrmmAndTrsmInvertEachOther() {
        for seed in UInt64(0)..<8 {
            var rng = Xoshiro256(seed: seed)
            let m = 1 + Int(rng.next() % 9), n = 1 + Int(rng.next() % 6)
            for left in [true, false] { for lower in [true, false] { for trans in [false, true] {
                let s = left ? m : n
                var t: Matrix<Double> = randomMatrix(s, s, &rng)
                for i in 0..<s { for j in 0..<s {
                    if lower ? j > i : j < i { t[i, j] = 0 }
                    if i == j { t[i, j] = 2 + abs(t[i, j]) }
                } }
                let b0: Matrix<Double> = randomMatrix(m, n, &rng)
                var b = b0
                BLAS.trmm(t, lower: lower, transpose: trans, left: left, alpha: 1.5, &b)
                let expect = left ? naiveMul(t, trans, b0, false) : naiveMul(b0, false, t, trans)
                var scaled = expect; for i in 0..<scaled.data.count { scaled.data[i] *= 1.5 }
                assertClose(b, scaled, tol: 1e-12, "trmm seed \(seed) left \(left) lower \(lower) trans \(trans)")
                BLAS.trsm(t, lower: lower, transpose: trans, left: left, alpha: 1 / 1.5, &b)
                assertClose(b, b0.converted(to: Double.self), tol: 1e-10, "trsm seed \(seed)")
            } } }
        }
    }

    func testPotrfReconstructsAndReportsMinor() throws {
        var rng = Xoshiro256(seed: 42)
        let n = 12
        let g: Matrix<Double> = randomMatrix(n, n + 3, &rng)
        let spd = BLAS.matmul(g, g, transposeB: true)
        let l = try BLAS.potrf(spd)
        for i in 0..<n { for j in (i + 1)..<n { XCTAssertEqual(l[i, j], 0) } }
        assertClose(BLAS.matmul(l, l, transposeB: true), spd, tol: 1e-10, "L Lᵀ")
        let u = try BLAS.potrf(spd, lower: false)
        assertClose(BLAS.matmul(u, transposeA: true, u), spd, tol: 1e-10, "Uᵀ U")
        var bad = spd
        bad[4, 4] = -1
        XCTAssertThrowsError(try BLAS.potrf(bad)) { e in
            XCTAssertEqual(e as? LinalgError, .notPositiveDefinite(routine: "potrf", minor: 5))
            XCTAssertEqual("\(e)", "LAPACK potrf: not positive definite at minor 5")
        }
    }

    /// `A = Vᵀ·diag(λ)·V` with orthonormal rows `V` and ascending `λ`, in both precisions.
    func testSymmetricEigenReconstructsTheMatrix() throws {
        var rng = Xoshiro256(seed: 11)
        let g: Matrix<Double> = randomMatrix(9, 5, &rng)
        var a = BLAS.matmul(g, g, transposeB: true)             // rank 5 of 9: repeated zero eigenvalues
        a[0, 0] -= 3                                            // and a negative one
        let (values, vectors) = try BLAS.symmetricEigen(a)
        XCTAssertEqual(values, values.sorted())
        XCTAssertLessThan(values[0], 0)
        var scaled = vectors
        for i in 0..<9 { for j in 0..<9 { scaled[i, j] *= values[i] } }
        assertClose(BLAS.matmul(vectors, transposeA: true, scaled), a, tol: 1e-10, "Vᵀ diag(λ) V")
        assertClose(BLAS.matmul(vectors, vectors, transposeB: true), Matrix<Double>.identity(9), tol: 1e-10, "V Vᵀ")
        var lower = a                                           // only the lower triangle is read
        for i in 0..<9 { for j in (i + 1)..<9 { lower[i, j] = .nan } }
        XCTAssertEqual(try BLAS.symmetricEigen(lower).values, values)
        let (single, _) = try BLAS.symmetricEigen(a.converted(to: Float.self))
        for (x, y) in zip(single, values) { XCTAssertEqual(Double(x), y, accuracy: 1e-4 * (1 + abs(y))) }
    }

    func testCholeskyJitterHandlesRankDeficientAndZero() throws {
        var rng = Xoshiro256(seed: 7)
        // Rank 3 in 10 dimensions: a covariance of 4 samples.
        let g: Matrix<Float> = randomMatrix(10, 3, &rng)
        let cov = BLAS.matmul(g, g, transposeB: true)
        let r = try BLAS.choleskyWithJitter(cov)
        XCTAssertGreaterThan(r.jitter, 0)
        var recon = BLAS.matmul(r.factor, r.factor, transposeB: true)
        for i in 0..<10 { recon[i, i] -= r.jitter }
        assertClose(recon, cov.converted(to: Double.self), tol: 1e-3, "jittered reconstruction")
        let zero = try BLAS.choleskyWithJitter(Matrix<Float>(rows: 5, cols: 5))
        XCTAssertTrue(zero.factor.data.allSatisfy { $0.isFinite })
        XCTAssertGreaterThan(zero.jitter, 0)
        var nan = cov; nan[0, 0] = .nan
        XCTAssertThrowsError(try BLAS.choleskyWithJitter(nan))
    }

    func testZeroSizedShapesAreNoOps() {
        var c = Matrix<Float>(rows: 3, cols: 2, repeating: 5)
        BLAS.gemm(Matrix(rows: 3, cols: 0), Matrix(rows: 0, cols: 2), into: &c)
        XCTAssertEqual(c.data, [Float](repeating: 0, count: 6))
    }
}

final class RandomTests: XCTestCase {
    func testStreamsAreReproducibleAndDistinct() {
        var a = Xoshiro256(seed: 5, stream: 3), b = Xoshiro256(seed: 5, stream: 3), c = Xoshiro256(seed: 5, stream: 4)
        let xa = (0..<8).map { _ in a.next() }, xb = (0..<8).map { _ in b.next() }, xc = (0..<8).map { _ in c.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
        var d = Xoshiro256(seed: 5, streams: [1, 2]), e = Xoshiro256(seed: 5, streams: [2, 1])
        XCTAssertNotEqual(d.next(), e.next())
    }

    func testNormalsHaveUnitMomentsWithinSamplingError() {
        var rng = Xoshiro256(seed: 11)
        let n = 200_000
        let x: [Double] = standardNormals(n, using: &rng)
        let mean = x.reduce(0, +) / Double(n)
        let varc = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        let kurt = x.reduce(0) { $0 + pow($1 - mean, 4) } / Double(n) / (varc * varc)
        // Standard errors: mean 1/√n ≈ 0.0022, variance √(2/n) ≈ 0.0032, kurtosis √(24/n) ≈ 0.011.
        XCTAssertEqual(mean, 0, accuracy: 5 * 0.0023)
        XCTAssertEqual(varc, 1, accuracy: 5 * 0.0032)
        XCTAssertEqual(kurt, 3, accuracy: 5 * 0.011)
    }
}
