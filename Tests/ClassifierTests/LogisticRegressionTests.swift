import Foundation
import XCTest
import Linalg
@testable import Classifier

/// The scikit-learn fixture written by `fixtures/sklearn/make_lr_fixture.py`.
struct SklearnLRFixture: Decodable {
    struct Case: Decodable {
        var name: String
        var C: Double
        var class_weight: String
        var sample_weight: Bool
        var class_weights: [Double]
        var total_weight: Double
        var objective: Double
        var coef: [Double]
        var intercept: [Double]
        var test_predictions: [Int]
        var n_iter: Int
    }
    var sklearn_version: String
    var train_rows: Int
    var test_rows: Int
    var dim: Int
    var num_classes: Int
    var cases: [Case]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures/sklearn")

    static func load() throws -> (SklearnLRFixture, train: Matrix<Float>, trainLabels: [Int32],
                                  test: Matrix<Float>, testLabels: [Int32], sampleWeights: [Double]) {
        let meta = try JSONDecoder().decode(SklearnLRFixture.self,
                                            from: Data(contentsOf: directory.appendingPathComponent("lr_expected.json")))
        func raw<T>(_ name: String, _ count: Int, _ type: T.Type) throws -> [T] {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            precondition(data.count == count * MemoryLayout<T>.size, "fixture \(name): \(data.count) bytes")
            // The fixture is little-endian; so is every platform this project builds on.
            return data.withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
        }
        let n = meta.train_rows, m = meta.test_rows, d = meta.dim
        let xtr = Matrix(rows: n, cols: d, data: try raw("digits_lt_train_x.f32", n * d, Float.self))
        let xte = Matrix(rows: m, cols: d, data: try raw("digits_lt_test_x.f32", m * d, Float.self))
        return (meta, xtr, try raw("digits_lt_train_y.i32", n, Int32.self), xte,
                try raw("digits_lt_test_y.i32", m, Int32.self), try raw("digits_lt_sample_weight.f64", n, Double.self))
    }
}

final class LogisticRegressionTests: XCTestCase {

    // MARK: scikit-learn agreement

    func testMatchesScikitLearnOnFixture() throws {
        let (meta, xtr, ytr, xte, _, sw) = try SklearnLRFixture.load()
        let c = meta.num_classes, d = meta.dim
        XCTAssertEqual(meta.cases.count, 3)
        for fx in meta.cases {
            let sampleWeights = fx.sample_weight ? sw : nil
            var classWeights: [Double]? = nil
            if fx.class_weight == "balanced" {
                let ours = LogisticRegression.balancedClassWeights(labels: ytr, numClasses: c, sampleWeights: sampleWeights)
                for k in 0..<c { XCTAssertEqual(ours[k], fx.class_weights[k], accuracy: 1e-12 * fx.class_weights[k], "\(fx.name) class \(k)") }
                classWeights = ours
            }
            let total = zip(0..<ytr.count, ytr).reduce(0.0) { acc, e in
                acc + (sampleWeights?[e.0] ?? 1) * (classWeights?[Int(e.1)] ?? 1)
            }
            XCTAssertEqual(total, fx.total_weight, accuracy: 1e-9 * total)
            let l2 = LogisticRegression.l2(sklearnC: fx.C, totalWeight: total)

            // Our objective at scikit-learn's solution is scikit-learn's objective (the definition matches).
            var skModel = LinearModel(numClasses: c, dim: d)
            skModel.weight = Matrix(rows: c, cols: d, data: fx.coef.map { Float($0) })
            skModel.bias = fx.intercept.map { Float($0) }
            let atSk = try LogisticRegression(precision: .double).evaluate(
                model: skModel, features: xtr, labels: ytr, classWeights: classWeights, sampleWeights: sampleWeights, l2: l2)
            // (coef rounded to Float: 1e-7 relative in the parameters.)
            XCTAssertEqual(atSk.objective, fx.objective, accuracy: 1e-6 * fx.objective, "\(fx.name): objective at sklearn's coef")

            for precision in [LogisticRegression.Precision.double, .single] {
                let solver = LogisticRegression(gradientTolerance: precision == .double ? 1e-9 : 1e-6,
                                                maxIterations: 5000, precision: precision)
                let sol = try solver.solve(features: xtr, labels: ytr, numClasses: c, classWeights: classWeights,
                                           sampleWeights: sampleWeights, l2: l2)
                let rel = abs(sol.objective - fx.objective) / fx.objective
                XCTAssertLessThanOrEqual(rel, 1e-6, "\(fx.name) \(precision): objective \(sol.objective) vs sklearn \(fx.objective)")
                XCTAssertTrue(sol.converged || sol.stopReason == .relativeDecrease || sol.stopReason == .lineSearchFailed,
                              "\(fx.name) \(precision): stopped by \(sol.stopReason)")
                // Predictions agree, except where scikit-learn's own logits are a near-tie between
                // its class and ours (1e-3 apart): there round-off in the last bits decides.
                let pred = sol.model.predict(xte)
                let skLogits = skModel.logits(xte)
                var mismatches = 0
                for (i, (ours, theirs)) in zip(pred, fx.test_predictions).enumerated() where Int(ours) != theirs {
                    let gap = skLogits.data[i * c + theirs] - skLogits.data[i * c + Int(ours)]
                    if gap > 1e-3 { mismatches += 1 }
                }
                XCTAssertEqual(mismatches, 0, "\(fx.name) \(precision): \(mismatches) of \(pred.count) test predictions differ beyond a near-tie")
                // Coefficients agree too (scikit-learn's intercepts sum to 0; ours start at 0 and stay there).
                var maxDiff = 0.0, maxCoef = 0.0
                for i in 0..<(c * d) {
                    maxDiff = max(maxDiff, abs(Double(sol.model.weight.data[i]) - fx.coef[i]))
                    maxCoef = max(maxCoef, abs(fx.coef[i]))
                }
                XCTAssertLessThan(maxDiff, 1e-2 * maxCoef, "\(fx.name) \(precision): coef max diff \(maxDiff)")
            }
        }
    }

    // MARK: Gradient

    /// A small problem with every feature of the objective switched on.
    private func smallProblem(seed: UInt64, n: Int = 48, d: Int = 5, c: Int = 4)
        -> (x: Matrix<Float>, y: [Int32], cw: [Double], sw: [Double], soft: SoftTargets, model: LinearModel) {
        var rng = Xoshiro256(seed: seed)
        let x = Matrix<Float>(rows: n, cols: d, data: standardNormals(n * d, using: &rng))
        let y = (0..<n).map { _ in Int32.random(in: 0..<Int32(c), using: &rng) }
        let cw = (0..<c).map { _ in Double.random(in: 0.2...3, using: &rng) }
        let sw = (0..<n).map { _ in Double.random(in: 0...2, using: &rng) }
        let softRows = Array(stride(from: 1, to: n, by: 3))
        var probs = Matrix<Float>(rows: softRows.count, cols: c)
        for r in 0..<softRows.count {
            let raw = (0..<c).map { _ in Float.random(in: 0.01...1, using: &rng) }
            let s = raw.reduce(0, +)
            for k in 0..<c { probs[r, k] = raw[k] / s }
        }
        var model = LinearModel(numClasses: c, dim: d)
        model.weight = Matrix(rows: c, cols: d, data: standardNormals(c * d, using: &rng))
        model.bias = standardNormals(c, using: &rng)
        return (x, y, cw, sw, SoftTargets(rows: softRows, probabilities: probs), model)
    }

    /// Class weights `∝ n_c^(−p)`: the total weight stays `Σ n`, the ratio of two classes'
    /// weights is the inverse ratio of their counts to the `p`, an empty class weighs 0,
    /// `p = 1` is scikit-learn's "balanced" bit for bit and `p = 0` weighs every row 1.
    func testClassWeightsFollowTheirPower() {
        let counts: [Double] = [300, 75, 12, 0, 3]
        XCTAssertEqual(LogisticRegression.classWeights(classCounts: counts, power: 1),
                       LogisticRegression.balancedClassWeights(classCounts: counts))
        XCTAssertEqual(LogisticRegression.classWeights(classCounts: counts, power: 0), [1, 1, 1, 0, 1])
        for p in [0.25, 0.5, 0.75] {
            let w = LogisticRegression.classWeights(classCounts: counts, power: p)
            XCTAssertEqual(zip(w, counts).reduce(0) { $0 + $1.0 * $1.1 }, counts.reduce(0, +), accuracy: 1e-9, "p = \(p)")
            XCTAssertEqual(w[0] / w[1], pow(75.0 / 300, p), accuracy: 1e-12)
            XCTAssertEqual(w[2] / w[4], pow(3.0 / 12, p), accuracy: 1e-12)
            XCTAssertEqual(w[3], 0)
            XCTAssertTrue(w[0] < w[1] && w[1] < w[2] && w[2] < w[4], "fewer rows, more weight: \(w)")
        }
    }

    func testGradientMatchesFiniteDifferences() throws {
        for seed: UInt64 in [1, 2, 3] {
            let p = smallProblem(seed: seed)
            let l2 = 0.3
            let lr = LogisticRegression(precision: .double)
            let at = try lr.evaluate(model: p.model, features: p.x, labels: p.y, classWeights: p.cw,
                                     sampleWeights: p.sw, softTargets: p.soft, l2: l2)
            // Naive objective, written independently of the kernel (Double throughout).
            func naive(_ w: [Double], _ b: [Double]) -> Double {
                let n = p.x.rows, d = p.x.cols, c = p.model.numClasses
                var f = 0.0, total = 0.0
                for i in 0..<n {
                    var z = [Double](repeating: 0, count: c)
                    for k in 0..<c { z[k] = b[k]; for j in 0..<d { z[k] += w[k * d + j] * Double(p.x[i, j]) } }
                    let m = z.max()!
                    let lse = m + log(z.reduce(0) { $0 + exp($1 - m) })
                    var t = [Double](repeating: 0, count: c)
                    if let r = p.soft.rows.firstIndex(of: i) { for k in 0..<c { t[k] = Double(p.soft.probabilities[r, k]) } } else { t[Int(p.y[i])] = 1 }
                    let s = p.sw[i] * p.cw[Int(p.y[i])]
                    total += s
                    f += s * (lse - zip(t, z).reduce(0) { $0 + $1.0 * $1.1 })
                }
                return f / total + 0.5 * l2 * w.reduce(0) { $0 + $1 * $1 }
            }
            var w = p.model.weight.data.map(Double.init), b = p.model.bias.map(Double.init)
            XCTAssertEqual(at.objective, naive(w, b), accuracy: 1e-6 * abs(at.objective), "seed \(seed)")
            let h = 1e-5
            for i in w.indices {
                let w0 = w[i]
                w[i] = w0 + h; let fp = naive(w, b)
                w[i] = w0 - h; let fm = naive(w, b)
                w[i] = w0
                XCTAssertEqual(at.weightGradient.data[i], (fp - fm) / (2 * h), accuracy: 1e-7, "seed \(seed) ∂W[\(i)]")
            }
            for k in b.indices {
                let b0 = b[k]
                b[k] = b0 + h; let fp = naive(w, b)
                b[k] = b0 - h; let fm = naive(w, b)
                b[k] = b0
                XCTAssertEqual(at.biasGradient[k], (fp - fm) / (2 * h), accuracy: 1e-7, "seed \(seed) ∂b[\(k)]")
            }
            // Single precision agrees with double to Float round-off.
            let single = try LogisticRegression(precision: .single).evaluate(
                model: p.model, features: p.x, labels: p.y, classWeights: p.cw, sampleWeights: p.sw, softTargets: p.soft, l2: l2)
            XCTAssertEqual(single.objective, at.objective, accuracy: 1e-5 * abs(at.objective))
            for i in 0..<at.weightGradient.data.count {
                XCTAssertEqual(single.weightGradient.data[i], at.weightGradient.data[i], accuracy: 1e-5)
            }
        }
    }

    func testBlockingDoesNotChangeTheObjective() throws {
        // Several gemm blocks and softmax chunks against one block.
        let p = smallProblem(seed: 9, n: 1100, d: 7, c: 6)
        let one = try LogisticRegression(precision: .double, blockRows: 100_000).evaluate(
            model: p.model, features: p.x, labels: p.y, classWeights: p.cw, sampleWeights: p.sw, softTargets: p.soft, l2: 0.1)
        let many = try LogisticRegression(precision: .double, blockRows: 300).evaluate(
            model: p.model, features: p.x, labels: p.y, classWeights: p.cw, sampleWeights: p.sw, softTargets: p.soft, l2: 0.1)
        XCTAssertEqual(one.objective, many.objective, accuracy: 1e-12 * abs(one.objective))
        for i in 0..<one.weightGradient.data.count { XCTAssertEqual(one.weightGradient.data[i], many.weightGradient.data[i], accuracy: 1e-12) }
    }

    // MARK: Optimum

    func testWarmStartAndPreconditionerReachTheSameOptimum() throws {
        let p = smallProblem(seed: 4, n: 400, d: 8, c: 5)
        // Shift the features off the origin, as post-ReLU features are.
        var x = p.x
        for i in 0..<x.data.count { x.data[i] += 3 }
        let l2 = 1e-3
        let lr = LogisticRegression(gradientTolerance: 1e-10, maxIterations: 5000, precision: .double)
        let cold = try lr.solve(features: x, labels: p.y, classWeights: p.cw, sampleWeights: p.sw, softTargets: p.soft, l2: l2)
        XCTAssertLessThan(cold.gradientMaxNorm, 1e-8, "\(cold.stopReason)")
        let warm = try lr.solve(features: x, labels: p.y, classWeights: p.cw, sampleWeights: p.sw, softTargets: p.soft,
                                l2: l2, init: p.model)
        var plainSolver = lr
        plainSolver.preconditioner = .none
        let plain = try plainSolver.solve(features: x, labels: p.y, classWeights: p.cw, sampleWeights: p.sw, softTargets: p.soft, l2: l2)
        for other in [warm, plain] {
            XCTAssertEqual(other.objective, cold.objective, accuracy: 1e-10 * cold.objective)
            // W is unique (the penalty fixes the common shift); b only up to a common constant.
            for i in 0..<cold.model.weight.data.count {
                XCTAssertEqual(other.model.weight.data[i], cold.model.weight.data[i], accuracy: 1e-4)
            }
            let mb = cold.model.bias.reduce(0, +) / Float(cold.model.bias.count)
            let ob = other.model.bias.reduce(0, +) / Float(other.model.bias.count)
            for k in 0..<cold.model.bias.count {
                XCTAssertEqual(other.model.bias[k] - ob, cold.model.bias[k] - mb, accuracy: 1e-3)
            }
        }
        // Warm-starting from the optimum needs (almost) no work.
        let again = try lr.solve(features: x, labels: p.y, classWeights: p.cw, sampleWeights: p.sw, softTargets: p.soft,
                                 l2: l2, init: cold.model)
        XCTAssertLessThan(again.iterations, cold.iterations / 2)
        XCTAssertEqual(again.objective, cold.objective, accuracy: 1e-10 * cold.objective)
    }

    /// A path's later solve starts where the previous one stopped and reuses its last
    /// evaluation: at the same penalty it is already converged (no evaluation, the same
    /// objective bits); at a smaller penalty it reaches the optimum a cold solve reaches; and
    /// a path of one penalty is `solve`.
    func testPathReusesTheLastEvaluationAndReachesEachOptimum() throws {
        let p = smallProblem(seed: 6, n: 500, d: 9, c: 4)
        var x = p.x
        for i in 0..<x.data.count { x.data[i] += 2 }
        let lr = LogisticRegression(gradientTolerance: 1e-7, maxIterations: 5000, precision: .double)
        var path: [LogisticRegression.Solution] = []
        try lr.solvePath(features: x, labels: p.y, classWeights: p.cw, l2s: [1e-2, 1e-2, 1e-4]) { i, s in
            XCTAssertEqual(i, path.count)
            path.append(s)
        }
        XCTAssertGreaterThan(path[0].evaluations, 1)
        XCTAssertEqual(path[0].stopReason, .gradientTolerance)
        XCTAssertEqual(path[1].evaluations, 0, "the start is the previous solve's last evaluation")
        XCTAssertEqual(path[1].iterations, 0)
        XCTAssertEqual(path[1].objective, path[0].objective, "the same bits as the evaluation it reuses")
        let cold = try lr.solve(features: x, labels: p.y, classWeights: p.cw, l2: 1e-4)
        XCTAssertEqual(path[2].objective, cold.objective, accuracy: 1e-9 * cold.objective)
        for i in 0..<cold.model.weight.data.count { XCTAssertEqual(path[2].model.weight.data[i], cold.model.weight.data[i], accuracy: 1e-3) }
        var one: LogisticRegression.Solution? = nil
        try lr.solvePath(features: x, labels: p.y, classWeights: p.cw, l2s: [1e-4]) { _, s in one = s }
        XCTAssertEqual(one?.model, cold.model)
        XCTAssertEqual(one?.evaluations, cold.evaluations)
    }

    /// The solver's iteration sink sees every accepted iteration of every solve (numbered
    /// from 1 in each, the last one the solution's) and changes no bit of the result.
    func testIterationSinkSeesEveryIterationAndChangesNothing() throws {
        final class Seen: @unchecked Sendable { var its: [LBFGS.Iteration] = [] }
        let p = smallProblem(seed: 8, n: 400, d: 7, c: 3)
        let plain = LogisticRegression(gradientTolerance: 1e-6, maxIterations: 500)
        var reporting = plain
        let seen = Seen()
        reporting.iterations = { seen.its.append($0) }
        var a: [LogisticRegression.Solution] = [], b: [LogisticRegression.Solution] = []
        try plain.solvePath(features: p.x, labels: p.y, l2s: [1e-1, 1e-3]) { _, s in a.append(s) }
        try reporting.solvePath(features: p.x, labels: p.y, l2s: [1e-1, 1e-3]) { _, s in b.append(s) }
        XCTAssertEqual(a.map(\.model), b.map(\.model))
        XCTAssertEqual(seen.its.count, b[0].iterations + b[1].iterations)
        XCTAssertGreaterThan(b[1].iterations, 0)
        let first = Array(seen.its.prefix(b[0].iterations)), second = Array(seen.its.dropFirst(b[0].iterations))
        XCTAssertEqual(first.map(\.iteration), Array(1...b[0].iterations))
        XCTAssertEqual(second.map(\.iteration), Array(1...b[1].iterations))
        XCTAssertEqual(first.last?.gradientMaxNorm, b[0].gradientMaxNorm)
        XCTAssertEqual(second.last?.objective, b[1].objective)
        XCTAssertTrue(seen.its.allSatisfy { $0.gradientTolerance == 1e-6 && $0.maxIterations == 500 })
        // A call's own progress closure takes the place of the sink.
        seen.its = []
        var own = 0
        _ = try reporting.solve(features: p.x, labels: p.y, l2: 1e-1, progress: { _ in own += 1 })
        XCTAssertEqual(own, b[0].iterations)
        XCTAssertTrue(seen.its.isEmpty)
    }

    func testLBFGSMinimisesRosenbrock() {
        var options = LBFGS.Options(gradientTolerance: 1e-10, maxIterations: 500, memory: 7)
        options.relativeDecreaseTolerance = 0
        let r = LBFGS(options: options).minimize(x0: [-1.2, 1]) { x, g in
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            g[0] = -2 * a - 400 * x[0] * b
            g[1] = 200 * b
            return a * a + 100 * b * b
        }
        XCTAssertEqual(r.stopReason, .gradientTolerance)
        XCTAssertEqual(r.x[0], 1, accuracy: 1e-8)
        XCTAssertEqual(r.x[1], 1, accuracy: 1e-8)
        XCTAssertLessThan(r.evaluations, 200)
    }

    // MARK: Data errors

    func testRejectsBadData() {
        let p = smallProblem(seed: 5)
        let lr = LogisticRegression()
        var y = p.y; y[7] = 4
        XCTAssertThrowsError(try lr.fit(features: p.x, labels: y, numClasses: 4, l2: 0.1)) {
            XCTAssertEqual($0 as? LogisticRegressionError, .labelOutOfRange(row: 7, label: 4, numClasses: 4))
        }
        var x = p.x; x[3, 2] = .nan
        XCTAssertThrowsError(try lr.fit(features: x, labels: p.y, numClasses: 4, l2: 0.1)) {
            XCTAssertEqual($0 as? LogisticRegressionError, .nonFiniteFeature(row: 3, column: 2))
        }
        var sw = p.sw; sw[11] = -1
        XCTAssertThrowsError(try lr.fit(features: p.x, labels: p.y, numClasses: 4, sampleWeights: sw, l2: 0.1)) {
            XCTAssertEqual($0 as? LogisticRegressionError, .badSampleWeight(row: 11, value: -1))
        }
        var soft = p.soft; soft.probabilities[0, 0] += 0.5
        XCTAssertThrowsError(try lr.fit(features: p.x, labels: p.y, numClasses: 4, softTargets: soft, l2: 0.1)) {
            guard case .badSoftTarget(let row, _)? = $0 as? LogisticRegressionError else { return XCTFail("\($0)") }
            XCTAssertEqual(row, p.soft.rows[0])
        }
        XCTAssertThrowsError(try lr.fit(features: p.x, labels: p.y, numClasses: 4, sampleWeights: [Double](repeating: 0, count: p.x.rows), l2: 0.1)) {
            XCTAssertEqual($0 as? LogisticRegressionError, .zeroTotalWeight)
        }
        XCTAssertThrowsError(try lr.fit(features: p.x, labels: p.y, numClasses: 5, l2: 0.1, init: p.model))
    }
}

/// The converged regression gives the same predictions for any thread count, and weights
/// within 1e-6 (the products are thread-invariant; the bias gauge is fixed).
final class ThreadCountTests: XCTestCase {
    func testSameSolutionForOneAndTwoThreads() throws {
        let (_, xtr, ytr, xte, _, _) = try SklearnLRFixture.load()
        let before = blasThreadCount
        defer { setBLASThreadCount(before) }
        var models: [LinearModel] = []
        for threads in [1, 2] {
            setBLASThreadCount(threads)
            let cw = LogisticRegression.balancedClassWeights(labels: ytr, numClasses: 10)
            let total = zip(0..<ytr.count, ytr).reduce(0.0) { acc, e in acc + cw[Int(e.1)] }
            models.append(try LogisticRegression(gradientTolerance: 1e-5).fit(
                features: xtr, labels: ytr, numClasses: 10, classWeights: cw,
                l2: LogisticRegression.l2(sklearnC: 1, totalWeight: total)))
        }
        XCTAssertEqual(models[0].predict(xte), models[1].predict(xte))
        let dw = zip(models[0].weight.data, models[1].weight.data).map { abs($0 - $1) }.max()!
        let db = zip(models[0].bias, models[1].bias).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(dw, 1e-6); XCTAssertLessThanOrEqual(db, 1e-6)
        XCTAssertEqual(models[0].bias.reduce(0, +), 0, accuracy: 1e-5, "the biases sum to zero")
    }
}
