import XCTest
@testable import Linalg

/// `gatheringRows` and `verticalJoin` against element-by-element references, on random
/// shapes (repeated and empty index lists, zero-row and zero-column matrices), looping
/// over seeds (a failure names its seed).
final class MatrixTests: XCTestCase {
    func randomMatrix<T: BLASScalar>(_ r: Int, _ c: Int, _ rng: inout Xoshiro256) -> Matrix<T> {
        Matrix(rows: r, cols: c, data: standardNormals(r * c, using: &rng))
    }

    func naiveGather<T: BLASScalar>(_ m: Matrix<T>, _ indices: [Int]) -> Matrix<T> {
        var out = Matrix<T>(rows: indices.count, cols: m.cols)
        for (r, i) in indices.enumerated() { for j in 0..<m.cols { out[r, j] = m[i, j] } }
        return out
    }

    func naiveJoin<T: BLASScalar>(_ a: Matrix<T>, _ b: Matrix<T>) -> Matrix<T> {
        var out = Matrix<T>(rows: a.rows + b.rows, cols: a.cols)
        for i in 0..<a.rows { for j in 0..<a.cols { out[i, j] = a[i, j] } }
        for i in 0..<b.rows { for j in 0..<b.cols { out[a.rows + i, j] = b[i, j] } }
        return out
    }

    func checkGather<T: BLASScalar>(_: T.Type, seed: UInt64) {
        var rng = Xoshiro256(seed: seed)
        let n = 1 + Int(rng.next() % 13), d = Int(rng.next() % 9), k = Int(rng.next() % 20)
        let m: Matrix<T> = randomMatrix(n, d, &rng)
        let indices = (0..<k).map { _ in Int(rng.next() % UInt64(n)) }
        let g = m.gatheringRows(indices)
        XCTAssertEqual(g.rows, k, "seed \(seed)")
        XCTAssertEqual(g.cols, d, "seed \(seed)")
        XCTAssertEqual(g, naiveGather(m, indices), "\(T.self) seed \(seed) \(n)×\(d) rows \(indices)")
        // A slice gathers the same rows as the array it comes from.
        XCTAssertEqual(m.gatheringRows(indices[(k / 2)...]), naiveGather(m, Array(indices[(k / 2)...])), "slice, seed \(seed)")
    }

    func testGatheringRowsMatchesElementCopiesFloatAndDouble() {
        for seed in UInt64(0)..<16 {
            checkGather(Float.self, seed: seed)
            checkGather(Double.self, seed: seed)
        }
    }

    func testGatheringRowsKeepsOrderRepeatsAndEdgeCases() {
        let m = Matrix<Float>(rows: 3, cols: 2, data: [0, 1, 10, 11, 20, 21])
        XCTAssertEqual(m.gatheringRows([2, 0, 2]).data, [20, 21, 0, 1, 20, 21])
        XCTAssertEqual(m.gatheringRows(0..<3), m)
        XCTAssertEqual(m.gatheringRows([]), Matrix<Float>(rows: 0, cols: 2))
        let thin = Matrix<Float>(rows: 4, cols: 0)
        XCTAssertEqual(thin.gatheringRows([3, 1]), Matrix<Float>(rows: 2, cols: 0))
    }

    func testVerticalJoinMatchesElementCopies() {
        for seed in UInt64(0)..<16 {
            var rng = Xoshiro256(seed: seed)
            let d = Int(rng.next() % 7), m = Int(rng.next() % 6), n = Int(rng.next() % 6)
            let a: Matrix<Float> = randomMatrix(m, d, &rng), b: Matrix<Float> = randomMatrix(n, d, &rng)
            let j = Matrix.verticalJoin(a, b)
            XCTAssertEqual(j.rows, m + n, "seed \(seed)")
            XCTAssertEqual(j.cols, d, "seed \(seed)")
            XCTAssertEqual(j, naiveJoin(a, b), "seed \(seed) \(m)×\(d) above \(n)×\(d)")
            let ad = a.converted(to: Double.self), bd = b.converted(to: Double.self)
            XCTAssertEqual(Matrix.verticalJoin(ad, bd), naiveJoin(ad, bd), "Double, seed \(seed)")
        }
    }

    /// `horizontalJoin` puts row `i` of the right matrix after row `i` of the left one, for
    /// random shapes (empty widths and heights included), in Float and Double.
    func testHorizontalJoinMatchesElementCopies() {
        for seed in UInt64(0)..<16 {
            var rng = Xoshiro256(seed: seed)
            let n = Int(rng.next() % 6), a = Int(rng.next() % 5), b = Int(rng.next() % 5)
            let l: Matrix<Float> = randomMatrix(n, a, &rng), r: Matrix<Float> = randomMatrix(n, b, &rng)
            let j = Matrix.horizontalJoin(l, r)
            XCTAssertEqual(j.rows, n); XCTAssertEqual(j.cols, a + b)
            for i in 0..<n {
                XCTAssertEqual(j.row(i), l.row(i) + r.row(i), "seed \(seed) row \(i): \(n)×\(a) beside \(n)×\(b)")
            }
            let ld = l.converted(to: Double.self), rd = r.converted(to: Double.self)
            XCTAssertEqual(Matrix.horizontalJoin(ld, rd), j.converted(to: Double.self), "Double, seed \(seed)")
        }
        let m = Matrix<Float>(rows: 2, cols: 2, data: [1, 2, 3, 4])
        XCTAssertEqual(Matrix.horizontalJoin(m, m).data, [1, 2, 1, 2, 3, 4, 3, 4])
        XCTAssertEqual(Matrix.horizontalJoin(m, Matrix<Float>(rows: 2, cols: 0)), m)
    }

    func testVerticalJoinWithEmptyParts() {
        let a = Matrix<Double>(rows: 2, cols: 3, data: [1, 2, 3, 4, 5, 6])
        let none = Matrix<Double>(rows: 0, cols: 3)
        XCTAssertEqual(Matrix.verticalJoin(a, none), a)
        XCTAssertEqual(Matrix.verticalJoin(none, a), a)
        XCTAssertEqual(Matrix.verticalJoin(none, none), none)
        XCTAssertEqual(Matrix.verticalJoin(a, a).data, a.data + a.data)
        XCTAssertEqual(Matrix.verticalJoin(Matrix<Float>(rows: 2, cols: 0), Matrix<Float>(rows: 1, cols: 0)),
                       Matrix<Float>(rows: 3, cols: 0))
    }

    /// `rowsShared` against a pairwise comparison of bit patterns, on random rows of which
    /// some are planted copies, with `0` against `−0` and zero-row and zero-column edges.
    func testRowsSharedMatchesPairwiseComparison() {
        func naive(_ a: Matrix<Float>, _ b: Matrix<Float>) -> [Bool] {
            (0..<b.rows).map { j in (0..<a.rows).contains { i in (0..<a.cols).allSatisfy { a[i, $0].bitPattern == b[j, $0].bitPattern } } }
        }
        for seed in UInt64(0)..<16 {
            var rng = Xoshiro256(seed: seed)
            let n = Int(rng.next() % 9), m = Int(rng.next() % 9), d = 1 + Int(rng.next() % 5)
            let a: Matrix<Float> = randomMatrix(n, d, &rng)
            var b: Matrix<Float> = randomMatrix(m, d, &rng)
            for j in 0..<m where n > 0 && rng.next() % 2 == 0 {
                let i = Int(rng.next() % UInt64(n))
                for c in 0..<d { b[j, c] = a[i, c] }
            }
            let shared = a.rowsShared(by: b)
            XCTAssertEqual(shared, naive(a, b), "seed \(seed) \(n)×\(d) against \(m) rows")
        }
        let zero = Matrix<Float>(rows: 1, cols: 2, data: [0, 1]), negativeZero = Matrix<Float>(rows: 1, cols: 2, data: [-0.0, 1])
        XCTAssertEqual(zero.rowsShared(by: negativeZero), [false], "0 and −0 are different bits")
        XCTAssertEqual(zero.rowsShared(by: zero), [true])
        XCTAssertEqual(Matrix<Float>(rows: 0, cols: 2).rowsShared(by: zero), [false])
        XCTAssertEqual(zero.rowsShared(by: Matrix<Float>(rows: 0, cols: 2)), [])
        XCTAssertEqual(Matrix<Double>(rows: 3, cols: 0).rowsShared(by: Matrix<Double>(rows: 2, cols: 0)), [true, true],
                       "rows of no columns are all equal")
    }
}
