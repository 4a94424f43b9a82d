import XCTest
import Linalg
@testable import Classifier

final class LinearModelTests: XCTestCase {
    /// Logits and predictions against a naive triple loop, across the 4096-row block edge.
    func testLogitsAndPredictMatchNaive() {
        var rng = Xoshiro256(seed: 7)
        let n = 4100, d = 5, c = 3
        var x = Matrix<Float>(rows: n, cols: d)
        for i in x.data.indices { x.data[i] = Float(rng.nextOpenUnit() * 2 - 1) }
        var w = Matrix<Float>(rows: c, cols: d)
        for i in w.data.indices { w.data[i] = Float(rng.nextOpenUnit() * 2 - 1) }
        let b: [Float] = [0.1, -0.2, 0.3]
        let m = LinearModel(weight: w, bias: b)
        let z = m.logits(x)
        let p = m.predict(x)
        XCTAssertEqual(z.rows, n); XCTAssertEqual(z.cols, c)
        for i in 0..<n {
            var best = 0, bestV = -Float.infinity
            for j in 0..<c {
                var s = b[j]
                for k in 0..<d { s += x[i, k] * w[j, k] }
                XCTAssertEqual(z[i, j], s, accuracy: 1e-4)
                if s > bestV { bestV = s; best = j }
            }
            XCTAssertEqual(Int(p[i]), best, "row \(i)")
        }
        let zero = LinearModel(numClasses: 4, dim: 2)
        XCTAssertEqual(zero.predict(Matrix(rows: 3, cols: 2, repeating: 1)), [0, 0, 0])
    }

    /// A blend's logits are the weighted average of the two models' logits; the ends are
    /// the models themselves.
    func testBlendAveragesTheLogits() {
        var rng = Xoshiro256(seed: 9)
        func random(_ r: Int, _ c: Int) -> Matrix<Float> { uniform(r, c, &rng) }
        let a = LinearModel(weight: random(4, 6), bias: [0.5, -1, 2, 0]), b = LinearModel(weight: random(4, 6), bias: [1, 1, -3, 0.25])
        let x = random(50, 6)
        let (za, zb) = (a.logits(x), b.logits(x))
        for w in [0.25, 0.5, 0.9] {
            let z = LinearModel.blend(a, b, weight: w).logits(x)
            for i in z.data.indices { XCTAssertEqual(Double(z.data[i]), (1 - w) * Double(za.data[i]) + w * Double(zb.data[i]), accuracy: 1e-5) }
        }
        XCTAssertEqual(LinearModel.blend(a, b, weight: 0), a)
        XCTAssertEqual(LinearModel.blend(a, b, weight: 1), b)
        XCTAssertNotEqual(LinearModel.blend(a, b, weight: 0.5).predict(x), [Int32](repeating: 0, count: 50))
    }

    /// A two-view model's logits on `[T(x) | x]` are `w·t(T(x)) + (1 − w)·r(x)`, and
    /// `splitViews` gives back the two heads a classifier file stores.
    func testTwoViewBlendsTheLogitsOfBothViews() {
        var rng = Xoshiro256(seed: 10)
        func random(_ r: Int, _ c: Int) -> Matrix<Float> { uniform(r, c, &rng) }
        let t = LinearModel(weight: random(4, 6), bias: [0.5, -1, 2, 0]), r = LinearModel(weight: random(4, 3), bias: [1, 1, -3, 0.25])
        let xt = random(40, 6), xr = random(40, 3)
        let (zt, zr) = (t.logits(xt), r.logits(xr))
        for w in [0.0, 0.3, 0.5, 1.0] {
            let m = LinearModel.twoView(transformed: t, raw: r, weight: w)
            XCTAssertEqual(m.dim, 9)
            let z = m.logits(.horizontalJoin(xt, xr))
            for i in z.data.indices { XCTAssertEqual(Double(z.data[i]), w * Double(zt.data[i]) + (1 - w) * Double(zr.data[i]), accuracy: 1e-5) }
            let (head, raw) = m.splitViews(transformedDim: 6)
            XCTAssertEqual(head.bias, m.bias)
            XCTAssertEqual(LinearModel(weight: .horizontalJoin(head.weight, raw), bias: head.bias), m, "split, then joined")
        }
        XCTAssertEqual(LinearModel.twoView(transformed: t, raw: r, weight: 1).splitViews(transformedDim: 6).raw,
                       Matrix<Float>(rows: 4, cols: 3), "weight 1: the raw head is zero")
    }

    /// An `r × c` matrix of uniform values in (−1, 1).
    func uniform(_ r: Int, _ c: Int, _ rng: inout Xoshiro256) -> Matrix<Float> {
        var m = Matrix<Float>(rows: r, cols: c)
        for i in m.data.indices { m.data[i] = Float(rng.nextOpenUnit() * 2 - 1) }
        return m
    }
}
