import XCTest
import Foundation
import Linalg
@testable import AFG

final class TukeyTests: XCTestCase {
    func testPowersAndLogMatchNaive() throws {
        var rng = Xoshiro256(seed: 11)
        let base: [Float] = (0..<600).map { _ in Float(rng.nextOpenUnit() * 5) }
        for lambda: Float in [0.5, 0, 0.25, 1, 2, 3, -0.5] {
            var x = base
            try Tukey.apply(&x, dim: 6, lambda: lambda)
            for i in base.indices {
                let v = Double(base[i])
                let want = lambda == 0 ? log(v) : pow(v, Double(lambda))
                XCTAssertEqual(Double(x[i]), want, accuracy: 1e-5 * (1 + abs(want)), "lambda \(lambda), index \(i)")
            }
        }
    }

    func testNegativeInputReportsCountAndFirstRowAndLeavesInputUntouched() {
        var x: [Float] = [1, 2, 3,  4, 5, 6,  7, -1, 9,  -2, 0, -3]
        let before = x
        XCTAssertThrowsError(try Tukey.apply(&x, dim: 3, lambda: 0.5)) { e in
            XCTAssertEqual(e as? TukeyError, .negativeInput(count: 3, firstRow: 2))
            XCTAssertTrue("\(e)".contains("first in row 2"), "\(e)")
        }
        XCTAssertEqual(x, before)
        // Log: zero is out of the domain too.
        var z: [Float] = [1, 2, 0, 4]
        XCTAssertThrowsError(try Tukey.apply(&z, dim: 2, lambda: 0)) { e in
            XCTAssertEqual(e as? TukeyError, .nonPositiveInput(count: 1, firstRow: 1))
        }
        // Integer powers accept any real.
        var w: [Float] = [-2, 3]
        XCTAssertNoThrow(try Tukey.apply(&w, dim: 1, lambda: 2))
        XCTAssertEqual(w, [4, 9])
        var nanInput: [Float] = [1, .nan]
        XCTAssertThrowsError(try Tukey.apply(&nanInput, dim: 1, lambda: 0.5)) { e in
            XCTAssertEqual(e as? TukeyError, .nonFiniteInput(count: 1, firstRow: 1))
        }
    }

    func testShiftMakesNegativeInputLegal() throws {
        var x: [Float] = [-1, 0, 3, 8]
        try Tukey.apply(&x, dim: 2, lambda: 0.5, shift: 1)
        XCTAssertEqual(x, [0, 1, 2, 3])
        var y: [Float] = [-0.5, 0]
        try Tukey.apply(&y, dim: 1, lambda: 0, shift: 1)
        XCTAssertEqual(Double(y[0]), log(0.5), accuracy: 1e-6)
        XCTAssertEqual(y[1], 0)
        var m = Matrix<Float>(rows: 1, cols: 2, data: [4, 9])
        try Tukey.apply(&m, lambda: 0.5)
        XCTAssertEqual(m.data, [2, 3])
    }

    /// The vectorised validity pass (16 values at a time, then a scalar tail) sends every
    /// bad value to the counting scan wherever it sits: each kind of bad value at each
    /// position of a 1,000-value input (62 full vectors and an 8-value tail).
    func testOneBadValueAnywhereIsReported() {
        let n = 1000, dim = 10
        let cases: [(Float, Float, TukeyError)] = [
            (-1, 0.5, .negativeInput(count: 1, firstRow: 0)),
            (.nan, 0.5, .nonFiniteInput(count: 1, firstRow: 0)),
            (.infinity, 0.5, .nonFiniteInput(count: 1, firstRow: 0)),
            (-.infinity, 2, .nonFiniteInput(count: 1, firstRow: 0)),
            (0, 0, .nonPositiveInput(count: 1, firstRow: 0)),
            (-0.0, -0.5, .nonPositiveInput(count: 1, firstRow: 0)),
        ]
        for (bad, lambda, kind) in cases {
            for at in [0, 7, 15, 16, 511, 991, 992, 999] {
                var x = [Float](repeating: 2, count: n)
                x[at] = bad
                let before = x
                XCTAssertThrowsError(try Tukey.apply(&x, dim: dim, lambda: lambda), "value \(bad) at \(at), λ \(lambda)") { e in
                    let want: TukeyError
                    switch kind {
                    case .negativeInput: want = .negativeInput(count: 1, firstRow: at / dim)
                    case .nonFiniteInput: want = .nonFiniteInput(count: 1, firstRow: at / dim)
                    case .nonPositiveInput: want = .nonPositiveInput(count: 1, firstRow: at / dim)
                    case .nonFiniteParameter: want = kind
                    }
                    XCTAssertEqual(e as? TukeyError, want, "value \(bad) at \(at), λ \(lambda)")
                }
                XCTAssertEqual(x.map(\.bitPattern), before.map(\.bitPattern), "input touched: value \(bad) at \(at)")
            }
        }
        // Values on the domain's edge pass: −0 and 0 under √, the largest finite float.
        var edge = [Float](repeating: 4, count: n)
        edge[3] = -0.0; edge[500] = 0; edge[998] = .greatestFiniteMagnitude
        XCTAssertNoThrow(try Tukey.apply(&edge, dim: dim, lambda: 0.5))
        XCTAssertEqual(edge[500], 0)
        XCTAssertEqual(edge[998], Float.greatestFiniteMagnitude.squareRoot())
        XCTAssertEqual(edge[0], 2)
    }
}
