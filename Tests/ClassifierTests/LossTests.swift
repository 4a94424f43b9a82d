import XCTest
import Linalg
@testable import Classifier

/// Reference loss in Double, written from the formulas in Loss.swift's doc comment.
func referenceLoss(logits z: [Double], rows: Int, classes c: Int, labels: [Int32], weights: [Double]?,
                   offsets: [Double]?, teacher: [Double]?, kdRows: [Bool]?, kdWeight: Double, temperature: Double) -> Double {
    var total = 0.0
    for i in 0..<rows {
        let row = (0..<c).map { z[i * c + $0] + (offsets?[$0] ?? 0) }
        let m = row.max()!
        let lse = log(row.map { exp($0 - m) }.reduce(0, +)) + m
        total += (weights?[i] ?? 1) * (lse - row[Int(labels[i])])
        if let t = teacher, kdRows?[i] == true, kdWeight != 0 {
            let ts = (0..<c).map { t[i * c + $0] / temperature }, ss = (0..<c).map { z[i * c + $0] / temperature }
            let mt = ts.max()!, ms = ss.max()!
            let lt = log(ts.map { exp($0 - mt) }.reduce(0, +)) + mt
            let ls = log(ss.map { exp($0 - ms) }.reduce(0, +)) + ms
            var kl = 0.0
            for j in 0..<c { let qt = exp(ts[j] - lt); kl += qt * ((ts[j] - lt) - (ss[j] - ls)) }
            total += kdWeight * temperature * temperature * kl
        }
    }
    return total / Double(rows)
}

final class LossTests: XCTestCase {
    func testFastExpAccuracy() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let e = FastExp.exp1(x), r = Float(exp(Double(x)))
            worst = max(worst, abs(e - r) / r)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 5e-7, "relative error of the polynomial exp")
        var v = SIMD16<Float>(); for i in 0..<16 { v[i] = Float(i) * 1.3 - 10 }
        let e = FastExp.exp16(v)
        for i in 0..<16 { XCTAssertEqual(e[i], FastExp.exp1(v[i]), "vector and scalar paths agree") }
    }

    /// The SGD step's fused pass (vector body, scalar tail, concurrent ranges) gives each
    /// element exactly the scalar update `v ← v + wd·w`, `w ← w − lr·v`.
    func testDecayAndStepMatchesTheScalarUpdate() {
        for count in [37, 65_539, 70_001] {   // ranges that do not split on 16-float boundaries
            var rng = Xoshiro256(seed: UInt64(count))
            var v = (0..<count).map { _ in Float(rng.nextOpenUnit() * 2 - 1) }
            var w = (0..<count).map { _ in Float(rng.nextOpenUnit() * 2 - 1) }
            var rv = v, rw = w
            for j in 0..<count { rv[j] = rv[j] + 5e-4 * rw[j]; rw[j] -= 0.1 * rv[j] }
            v.withUnsafeMutableBufferPointer { pv in
                w.withUnsafeMutableBufferPointer { pw in
                    SGDEngine.decayAndStep(velocity: pv.baseAddress!, weight: pw.baseAddress!, count: count, wd: 5e-4, lr: 0.1)
                }
            }
            let badV = (0..<count).first { v[$0] != rv[$0] }, badW = (0..<count).first { w[$0] != rw[$0] }
            XCTAssertNil(badV, "velocity of \(count) elements differs from the scalar update at index \(badV ?? -1)")
            XCTAssertNil(badW, "weight of \(count) elements differs from the scalar update at index \(badW ?? -1)")
        }
    }

    /// The two-add rounding equals the library's round-half-to-even on every value `exp`'s
    /// argument reduction can see (`|x·log₂e| ≤ 128`): ties, near-ties and a dense sweep, and
    /// the vector and scalar exps agree bit for bit on the same sweep.
    func testFastExpRoundingMatchesLibraryRounding() {
        var values: [Float] = []
        for k in -130...130 {
            let t = Float(k) + 0.5
            values += [t, t.nextUp, t.nextDown, Float(k), Float(k).nextUp, Float(k).nextDown]
        }
        var x: Float = -128
        while x < 128 { values.append(x); x += 0.000_731 }
        for chunk in stride(from: 0, to: values.count - 15, by: 16) {
            var v = SIMD16<Float>()
            for i in 0..<16 { v[i] = values[chunk + i] }
            let r = FastExp.roundToNearestEven(v)
            for i in 0..<16 where r[i] != v[i].rounded(.toNearestOrEven) {
                XCTFail("round(\(v[i])) = \(r[i]), library \(v[i].rounded(.toNearestOrEven))"); return
            }
            let e = FastExp.exp16(v * 0.69314718)
            for i in 0..<16 where e[i].bitPattern != FastExp.exp1(v[i] * 0.69314718).bitPattern {
                XCTFail("exp16 and exp1 differ at \(v[i] * 0.69314718)"); return
            }
        }
    }

    /// Every loss of the family: the kernel's gradient against central finite differences
    /// of the Double reference, and its value against the reference value.
    func testGradientsAgainstFiniteDifferences() {
        let rows = 6, c = 21   // 21 > 16 exercises the vector body and the scalar tail
        var rng = Xoshiro256(seed: 3)
        let z = (0..<(rows * c)).map { _ in rng.nextOpenUnit() * 6 - 3 }
        let t = (0..<(rows * c)).map { _ in rng.nextOpenUnit() * 6 - 3 }
        let labels = (0..<rows).map { _ in Int32(rng.next(upperBound: UInt64(c))) }
        let counts = (0..<c).map { 1 + $0 * $0 }
        let logPrior = LossKind.offsets(tau: 1, classCounts: counts).map(Double.init)
        let weights = (0..<rows).map { _ in 0.2 + rng.nextOpenUnit() * 2 }
        let kdRows = (0..<rows).map { $0 % 2 == 0 }
        struct Case { var name: String; var offsets: [Double]?; var weights: [Double]?; var kd: Double; var temp: Double }
        let gra = GradualSchedule(maxValue: 1.5, gamma: 3)
        let graTau = LossKind.graLoss(gra).tau(at: 13, totalEpochs: 20)
        let cases = [
            Case(name: "cross-entropy", offsets: nil, weights: nil, kd: 0, temp: 1),
            Case(name: "logit-adjusted τ=0.7", offsets: logPrior.map { 0.7 * $0 }, weights: nil, kd: 0, temp: 1),
            Case(name: "GraLoss τ(13/20)", offsets: logPrior.map { graTau * $0 }, weights: nil, kd: 0, temp: 1),
            Case(name: "balanced softmax", offsets: logPrior, weights: nil, kd: 0, temp: 1),
            Case(name: "sample weights", offsets: nil, weights: weights, kd: 0, temp: 1),
            Case(name: "KD T=2", offsets: nil, weights: nil, kd: 0.8, temp: 2),
            Case(name: "KD T=1 + weights + LA", offsets: logPrior.map { 0.5 * $0 }, weights: weights, kd: 1.3, temp: 1),
        ]
        XCTAssertGreaterThan(graTau, 0); XCTAssertLessThan(graTau, 1.5)
        for k in cases {
            var g = z.map(Float.init)
            var scratch = [Float](repeating: 0, count: rows * c)
            let off = k.offsets?.map(Float.init), w = k.weights?.map(Float.init)
            let tf = t.map(Float.init)
            let kdIndex = kdRows.map { $0 ? Int32(0) : -1 }
            let (ce, kdl) = g.withUnsafeMutableBufferPointer { pg in
                scratch.withUnsafeMutableBufferPointer { ps in
                    labels.withUnsafeBufferPointer { pl in
                        tf.withUnsafeBufferPointer { pt in
                            kdIndex.withUnsafeBufferPointer { pk in
                                (off ?? []).withUnsafeBufferPointer { po in
                                    (w ?? []).withUnsafeBufferPointer { pw in
                                        LossKernel.run(LossBatch(rows: rows, classes: c, logits: pg.baseAddress!, labels: pl.baseAddress!,
                                                                 weights: w == nil ? nil : pw.baseAddress!, offsets: off == nil ? nil : po.baseAddress!,
                                                                 teacherLogits: k.kd == 0 ? nil : pt.baseAddress!, kdIndex: k.kd == 0 ? nil : pk.baseAddress!,
                                                                 kdWeight: Float(k.kd), kdTemperature: Float(k.temp), normaliser: Float(rows),
                                                                 scratch: ps.baseAddress!), parallel: false)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            func L(_ zz: [Double]) -> Double {
                referenceLoss(logits: zz, rows: rows, classes: c, labels: labels, weights: k.weights, offsets: k.offsets,
                              teacher: t, kdRows: kdRows, kdWeight: k.kd, temperature: k.temp)
            }
            XCTAssertEqual(ce + kdl, L(z), accuracy: 1e-5 * max(1, abs(L(z))), k.name)
            if k.kd != 0 { XCTAssertGreaterThan(kdl, 0, k.name) }
            let h = 1e-5
            for idx in 0..<(rows * c) {
                var zp = z, zm = z
                zp[idx] += h; zm[idx] -= h
                let fd = (L(zp) - L(zm)) / (2 * h)
                XCTAssertEqual(Double(g[idx]), fd, accuracy: 2e-6 + 1e-4 * abs(fd), "\(k.name) entry \(idx)")
            }
        }
    }

    /// One engine step with momentum 0: `ΔW = −lr·(∇_W L + wd·W)`, `Δb = −lr·∇_b L`,
    /// with `∇` from finite differences of the Double reference through the model.
    func testEngineStepIsAGradientStep() {
        let n = 10, d = 7, c = 5
        var rng = Xoshiro256(seed: 5)
        var x = Matrix<Float>(rows: n, cols: d)
        x.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        var w = Matrix<Float>(rows: c, cols: d)
        w.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        let b = (0..<c).map { _ in Float(rng.nextOpenUnit() - 0.5) }
        let labels = (0..<n).map { Int32($0 % c) }
        let counts = [40, 20, 10, 5, 2]
        let lr: Float = 0.01, wd: Float = 0.01
        for loss in [LossKind.crossEntropy, .balancedSoftmax, .logitAdjusted(tau: 0.4)] {
            let e = SGDEngine(model: LinearModel(weight: w, bias: b),
                              config: SGDConfig(learningRate: lr, momentum: 0, weightDecay: wd, batchSize: n, epochs: 1))
            e.parallelLoss = false
            e.runEpoch(TrainingRows(real: x, realLabels: labels), order: Array(0..<n), epoch: 0, loss: loss, classCounts: counts)
            let off = LossKind.offsets(tau: loss.tau(at: 0, totalEpochs: 1), classCounts: counts).map(Double.init)
            func L(_ wd: [Double], _ bd: [Double]) -> Double {
                var z = [Double](repeating: 0, count: n * c)
                for i in 0..<n { for k in 0..<c { var s = bd[k]; for j in 0..<d { s += Double(x[i, j]) * wd[k * d + j] }; z[i * c + k] = s } }
                return referenceLoss(logits: z, rows: n, classes: c, labels: labels, weights: nil, offsets: off,
                                     teacher: nil, kdRows: nil, kdWeight: 0, temperature: 1)
            }
            let w0 = w.data.map(Double.init), b0 = b.map(Double.init)
            let h = 1e-5
            for idx in 0..<(c * d) {
                var p = w0, m = w0; p[idx] += h; m[idx] -= h
                let grad = (L(p, b0) - L(m, b0)) / (2 * h) + Double(wd) * w0[idx]
                XCTAssertEqual(Double(e.model.weight.data[idx]), w0[idx] - Double(lr) * grad, accuracy: 1e-6, "W[\(idx)] \(loss)")
            }
            for k in 0..<c {
                var p = b0, m = b0; p[k] += h; m[k] -= h
                let grad = (L(w0, p) - L(w0, m)) / (2 * h)
                XCTAssertEqual(Double(e.model.bias[k]), b0[k] - Double(lr) * grad, accuracy: 1e-6, "b[\(k)] \(loss)")
            }
        }
    }

    /// KD through the engine: the term enters only on rows of flagged classes; a teacher
    /// equal to the student gives zero KD loss and gradient (the KL minimum).
    func testKDOnlyOnFlaggedClasses() {
        let n = 8, d = 4, c = 3
        var rng = Xoshiro256(seed: 11)
        var x = Matrix<Float>(rows: n, cols: d)
        x.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        var w = Matrix<Float>(rows: c, cols: d)
        w.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        let model = LinearModel(weight: w, bias: [0.1, 0.2, -0.3])
        var other = model; other.bias = [1, -1, 0.5]; other.weight.data = other.weight.data.map { -$0 }
        let labels = (0..<n).map { Int32($0 % c) }
        // Two epochs, γ = 0: at epoch 1 the KD weight is 5 · 1/2.
        let cfg = SGDConfig(learningRate: 0.1, momentum: 0, weightDecay: 0, batchSize: n, epochs: 2)
        let kdSet = KDSettings(schedule: .init(maxValue: 5, gamma: 0), temperature: 2)
        func run(teacher: LinearModel?, flags: [Bool]) -> (LinearModel, EpochStats) {
            let e = SGDEngine(model: model, config: cfg, teacher: teacher, kd: teacher == nil ? nil : kdSet)
            let rows = TrainingRows(real: x, realLabels: labels, teacherFeatures: teacher == nil ? nil : x, kdClasses: flags)
            let s = e.runEpoch(rows, order: Array(0..<n), epoch: 1, loss: .crossEntropy, classCounts: [1, 1, 1])
            return (e.model, s)
        }
        let (plain, _) = run(teacher: nil, flags: [true, true, true])
        let (none, sNone) = run(teacher: other, flags: [false, false, false])
        let (same, sSame) = run(teacher: model, flags: [true, true, true])
        let (kd, sKD) = run(teacher: other, flags: [true, false, false])
        XCTAssertEqual(none, plain); XCTAssertEqual(sNone.kdLoss, 0)
        XCTAssertEqual(sSame.kdLoss, 0, accuracy: 1e-6)
        for (a, b) in zip(plain.weight.data, same.weight.data) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertGreaterThan(sKD.kdLoss, 0)
        XCTAssertNotEqual(kd, plain)
    }

    /// The teacher's logits computed once for a run (`TrainingRows.teacherLogits`) train the
    /// same student as the teacher's product on every batch (to rounding), KD rows and
    /// non-KD rows mixed, with a teacher on other features than the student's.
    func testTeacherLogitsComputedOnceTrainTheSameStudent() {
        let n = 300, d = 6, dt = 5, c = 4
        var rng = Xoshiro256(seed: 21)
        var x = Matrix<Float>(rows: n, cols: d), raw = Matrix<Float>(rows: n, cols: dt)
        x.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        raw.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        var wt = Matrix<Float>(rows: c, cols: dt)
        wt.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        let teacher = LinearModel(weight: wt, bias: [0.3, -0.2, 0.1, 0])
        let labels = (0..<n).map { Int32(($0 * 7) % c) }
        let flags = [true, false, true, true]
        let cfg = SGDConfig(learningRate: 0.05, batchSize: 32, epochs: 3)
        let kd = KDSettings(schedule: .init(maxValue: 2, gamma: 0), temperature: 2)
        func train(cached: Bool) -> (LinearModel, Double) {
            let e = SGDEngine(model: LinearModel(numClasses: c, dim: d), config: cfg, teacher: teacher, kd: kd)
            let rows = TrainingRows(real: x, realLabels: labels, teacherFeatures: cached ? nil : raw, kdClasses: flags,
                                    teacherLogits: cached ? teacher.logits(raw) : nil)
            var total = 0.0
            for epoch in 0..<3 {
                var g = Xoshiro256(seed: 5, streams: [UInt64(epoch)])
                total += e.runEpoch(rows, order: Sampler.instanceBalanced(count: n, using: &g), epoch: epoch,
                                    loss: .crossEntropy, classCounts: [75, 75, 75, 75]).kdLoss
            }
            return (e.model, total)
        }
        let (a, kdA) = train(cached: false), (b, kdB) = train(cached: true)
        XCTAssertGreaterThan(kdA, 0.01)
        XCTAssertEqual(kdA, kdB, accuracy: 1e-5 * kdA)
        for (u, v) in zip(a.weight.data + a.bias, b.weight.data + b.bias) { XCTAssertEqual(u, v, accuracy: 1e-5) }
        // Without the KD term the student differs: the comparison above sees the term.
        let plain = SGDEngine(model: LinearModel(numClasses: c, dim: d), config: cfg)
        for epoch in 0..<3 {
            var g = Xoshiro256(seed: 5, streams: [UInt64(epoch)])
            plain.runEpoch(TrainingRows(real: x, realLabels: labels), order: Sampler.instanceBalanced(count: n, using: &g),
                           epoch: epoch, loss: .crossEntropy, classCounts: [75, 75, 75, 75])
        }
        XCTAssertGreaterThan(zip(plain.model.weight.data, a.weight.data).map { abs($0 - $1) }.max()!, 1e-3)
    }
}
