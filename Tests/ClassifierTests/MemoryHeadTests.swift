import Foundation
import Linalg
import XCTest
@testable import Classifier

final class MemoryHeadTests: XCTestCase {
    /// Two classes in 2-D that no line separates: class 0 near (±3, 0), class 1 near (0, ±3),
    /// `perCluster` rows around each of the four centres.
    func crossedClusters(perCluster: Int, seed: UInt64) -> (x: Matrix<Float>, y: [Int32]) {
        var rng = Xoshiro256(seed: seed)
        let z: [Double] = standardNormals(perCluster * 8, using: &rng)
        let centres: [(Float, Float, Int32)] = [(3, 0, 0), (-3, 0, 0), (0, 3, 1), (0, -3, 1)]
        var x = Matrix<Float>(rows: 4 * perCluster, cols: 2), y: [Int32] = []
        for (c, (a, b, label)) in centres.enumerated() {
            for i in 0..<perCluster {
                let r = c * perCluster + i
                x[r, 0] = a + Float(0.4 * z[2 * r]); x[r, 1] = b + Float(0.4 * z[2 * r + 1])
                y.append(label)
            }
        }
        return (x, y)
    }

    /// The log-posteriors are the balanced Parzen estimate, computed here in Double from its
    /// definition: centred unit rows, `logsumexp(cos/T) − log n_c`, normalised over the classes;
    /// a class without rows gets (almost) no mass, and each row's posteriors sum to 1.
    func testLogPosteriorsAreTheBalancedParzenEstimate() throws {
        var rng = Xoshiro256(seed: 11)
        let n = 40, d = 5, c = 4, t = 0.2
        let z: [Double] = standardNormals(n * d + 7 * d, using: &rng)
        let x = Matrix<Float>(rows: n, cols: d, data: z.prefix(n * d).map(Float.init))
        let q = Matrix<Float>(rows: 7, cols: d, data: z.suffix(7 * d).map(Float.init))
        let y = (0..<n).map { Int32($0 % 3 == 0 ? 0 : ($0 % 3 == 1 ? 1 : 3)) }   // class 2 has no rows
        let head = MemoryHead(fitting: x, labels: y, numClasses: c, temperature: t, weight: 0.5)
        let got = head.logPosteriors(q)
        let mean = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + Double(x[$1, j]) } / Double(n) }
        func unit(_ m: Matrix<Float>, _ i: Int) -> [Double] {
            let v = (0..<d).map { Double(m[i, $0]) - mean[$0] }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
        for i in 0..<q.rows {
            let u = unit(q, i)
            var density = [Double](repeating: -.infinity, count: c)
            for k in 0..<c {
                let members = (0..<n).filter { Int(y[$0]) == k }
                guard !members.isEmpty else { continue }
                let s = members.map { j in zip(u, unit(x, j)).reduce(0) { $0 + $1.0 * $1.1 } / t }
                let top = s.max()!
                density[k] = top + log(s.reduce(0) { $0 + exp($1 - top) }) - log(Double(members.count))
            }
            let top = density.max()!
            let norm = top + log(density.reduce(0) { $0 + exp($1 - top) })
            var total = 0.0
            for k in 0..<c {
                let g = Double(got[i, k])
                total += exp(g)
                if k == 2 { XCTAssertLessThan(g, -1000, "a class without rows"); continue }
                XCTAssertEqual(g, density[k] - norm, accuracy: 2e-4, "row \(i), class \(k)")
            }
            XCTAssertEqual(total, 1, accuracy: 1e-5)
        }
    }

    /// The head keeps its rows grouped by class, and the order it is given them in does not
    /// matter: a shuffled copy of the same rows gives the same log-posteriors.
    func testRowOrderDoesNotMatter() throws {
        var rng = Xoshiro256(seed: 12)
        let n = 60, d = 6, c = 5
        let z: [Double] = standardNormals(n * d + 9 * d, using: &rng)
        let x = Matrix<Float>(rows: n, cols: d, data: z.prefix(n * d).map(Float.init))
        let q = Matrix<Float>(rows: 9, cols: d, data: z.suffix(9 * d).map(Float.init))
        let y = (0..<n).map { Int32(($0 * 7) % c) }
        let head = MemoryHead(fitting: x, labels: y, numClasses: c, temperature: 0.05, weight: 0.5)
        XCTAssertEqual(head.labels, y.sorted())
        let shuffled = (0..<n).map { ($0 * 11) % n }   // 11 is prime to 60: a permutation
        let other = MemoryHead(center: head.center, rows: head.rows.gatheringRows(shuffled), labels: shuffled.map { head.labels[$0] },
                               numClasses: c, temperature: 0.05, weight: 0.5)
        XCTAssertEqual(other.labels, head.labels)
        let a = head.logPosteriors(q), b = other.logPosteriors(q)
        for i in a.data.indices { XCTAssertEqual(a.data[i], b.data[i], accuracy: 1e-5) }
    }

    /// On crossed clusters a linear model with no information (zero logits) predicts one
    /// class; the head finds every row's class, the folds choose a positive weight for it, and
    /// the mixed prediction reads only the first `dim` columns of a wider input.
    func testTheFoldsChooseTheHeadWhereNoLineSeparatesTheClasses() throws {
        let (x, y) = crossedClusters(perCluster: 30, seed: 5)
        let folds = StratifiedFolds(labels: y, numClasses: 2, folds: 5, seed: 1)
        let logits = (0..<5).map { Matrix<Float>(rows: folds.heldOut($0).count, cols: 2) }
        var asked: [Int] = [], done: [Int] = []
        let choice = MemoryHead.choose(x, labels: y, numClasses: 2, folds: folds, heldOutLogits: { asked.append($0); return logits[$0] },
                                       progress: { done.append($0) })
        XCTAssertEqual(asked, [0, 1, 2, 3, 4], "one fold's logits at a time, in order")
        XCTAssertEqual(done, [0, 1, 2, 3, 4])
        XCTAssertGreaterThan(choice.weight, 0)
        XCTAssertEqual(choice.linearFoldScores, [0.5, 0.5, 0.5, 0.5, 0.5], "zero logits: every row is class 0")
        XCTAssertTrue(choice.foldScores.allSatisfy { $0 > 0.95 }, "\(choice.foldScores)")
        XCTAssertEqual(choice.scores.count, MemoryHead.weights.count * MemoryHead.temperatures.count)
        let head = MemoryHead(fitting: x, labels: y, numClasses: 2, temperature: choice.temperature, weight: choice.weight)
        let (test, truth) = crossedClusters(perCluster: 20, seed: 6)
        let zero = LinearModel(numClasses: 2, dim: 3)
        var wide = Matrix<Float>(rows: test.rows, cols: 3)   // a third column the head must not read
        for i in 0..<test.rows { wide[i, 0] = test[i, 0]; wide[i, 1] = test[i, 1]; wide[i, 2] = 1e6 * Float(i % 2) }
        let predicted = head.predict(with: zero, wide)
        XCTAssertGreaterThan(zip(predicted, truth).filter { $0 == $1 }.count, 76, "of 80 rows")
        XCTAssertEqual(zero.predict(wide), [Int32](repeating: 0, count: 80))
    }

    /// Where the linear model already gets every held-out row right, every weight ties and the
    /// linear model alone stands (weight 0); a head of weight 0 predicts as the model does.
    func testTiesKeepTheLinearModel() throws {
        let (x, y) = crossedClusters(perCluster: 25, seed: 8)
        // A "linear model" that reads the true class: perfect logits on every held-out row.
        let folds = StratifiedFolds(labels: y, numClasses: 2, folds: 5, seed: 2)
        let logits = (0..<5).map { f -> Matrix<Float> in
            let te = folds.heldOut(f)
            return Matrix(rows: te.count, cols: 2, data: te.flatMap { y[$0] == 0 ? [Float(20), 0] : [0, Float(20)] })
        }
        let choice = MemoryHead.choose(x, labels: y, numClasses: 2, folds: folds, heldOutLogits: { logits[$0] })
        XCTAssertEqual(choice.weight, 0)
        XCTAssertEqual(choice.foldScores, choice.linearFoldScores)
        let model = LinearModel(weight: Matrix(rows: 2, cols: 2, data: [1, 0, 0, 1]), bias: [0, 0])
        let off = MemoryHead(fitting: x, labels: y, numClasses: 2, temperature: 0.05, weight: 0)
        XCTAssertEqual(off.predict(with: model, x), model.predict(x))
    }
}
