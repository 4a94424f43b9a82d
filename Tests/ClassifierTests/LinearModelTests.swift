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
}
