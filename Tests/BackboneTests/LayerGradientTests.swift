import XCTest
import Linalg
@testable import Backbone

/// Every layer's backward against central finite differences of `L = Σ R ⊙ forward(x)`
/// for a fixed random `R`. Forward passes are Float, `L` is summed in Double; with
/// `ε = 1e-2` (smooth layers) the truncation error of a central difference is O(ε²·f''')
/// and the rounding error about `√(#outputs)·1e-7·|y| / ε` ≈ 1e-4, so a tolerance of
/// `2e-3 · max(1, |g|)` passes correct gradients and fails any wrong index or factor.
/// Piecewise-linear layers (ReLU, max pooling) get inputs on a grid with spacing
/// 0.05 > 2ε (no kink or tie is crossed by a perturbation).
final class LayerGradientTests: XCTestCase {
    func randomArray(_ n: Int, _ rng: inout Xoshiro256, scale: Float = 1) -> [Float] {
        standardNormals(n, using: &rng).map { (x: Float) in x * scale }
    }

    /// Inputs with distinct values at least 0.05 apart and at least 0.025 from zero.
    func gridArray(_ n: Int, _ rng: inout Xoshiro256) -> [Float] {
        var v = (0..<n).map { Float($0 - n / 2) * 0.05 + 0.025 }
        seededShuffle(&v, using: &rng)
        return v
    }

    func loss(_ layer: Layer, _ x: [Float], _ shape: Shape, _ r: [Float], training: Bool) -> Double {
        let y = x.withUnsafeBufferPointer { layer.forward($0.baseAddress!, shape, training: training) }
        var s = 0.0
        for i in 0..<r.count { s += Double(y[i]) * Double(r[i]) }
        return s
    }

    /// Checks input and parameter gradients of `layer` at `x`.
    func checkGradients(_ layer: Layer, shape: Shape, x: [Float], training: Bool = true, eps: Float = 1e-2, kinks: Bool = false,
                        samples: Int = 60, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
        var rng = Xoshiro256(seed: seed)
        let os = layer.outputShape(for: shape)
        let r = randomArray(os.count, &rng)
        for p in layer.parameters { p.zeroGrad() }
        var x = x
        _ = loss(layer, x, shape, r, training: training)
        let dx = r.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: layer.backward($0.baseAddress!), count: shape.count)) }
        let pgrads = layer.parameters.map { $0.gradients }
        var checked = 0, total = 0
        /// With `kinks` (ReLUs inside), a perturbation may cross a kink: the sample is
        /// skipped unless every ReLU's sign pattern and every max-pool choice is the same
        /// at x − ε, x and x + ε, where the loss is then smooth and the central
        /// difference valid.
        func compare(_ analytic: Float, _ f: (Float) -> Double, _ what: String) {
            total += 1
            let tol = 2e-3 * max(1, abs(Double(analytic)))
            let base = kinks ? activationPattern(layer) : []
            let lp = f(eps), pp = kinks ? activationPattern(layer) : []
            let lm = f(-eps), pm = kinks ? activationPattern(layer) : []
            _ = f(0)
            if kinks && (pp != base || pm != base) { return }
            let n1 = (lp - lm) / Double(2 * eps)
            checked += 1
            XCTAssertEqual(Double(analytic), n1, accuracy: tol, what, file: file, line: line)
        }
        for _ in 0..<samples {
            let i = Int(boundedRandom(UInt64(x.count), using: &rng))
            let old = x[i]
            compare(dx[i], { d in x[i] = old + d; defer { x[i] = old }; return self.loss(layer, x, shape, r, training: training) }, "dx[\(i)]")
        }
        for (k, p) in layer.parameters.enumerated() {
            for _ in 0..<min(samples, p.count * 2) {
                let i = Int(boundedRandom(UInt64(p.count), using: &rng))
                let old = p.value[i]
                compare(pgrads[k][i], { d in p.value[i] = old + d; defer { p.value[i] = old }; return self.loss(layer, x, shape, r, training: training) }, "\(p.name)[\(i)]")
            }
        }
        XCTAssertGreaterThan(checked, total * 6 / 10, "too many non-smooth samples", file: file, line: line)
    }

    /// Every ReLU's sign pattern and every max-pool's choices, in layer order.
    func activationPattern(_ layer: Layer) -> [Int32] {
        switch layer {
        case let r as ReLU: return (0..<r.count).map { r.out.pointer[$0] > 0 ? 1 : 0 }
        case let m as MaxPool2d: return m.argmax
        case let s as Sequential: return s.layers.flatMap { activationPattern($0.layer) }
        case let b as BasicBlock: return activationPattern(b.relu1) + activationPattern(b.relu2)
        default: return []
        }
    }

    func randomise(_ layer: Layer, _ rng: inout Xoshiro256) {
        for p in layer.parameters { p.values = randomArray(p.count, &rng, scale: 0.5).map { p.name == "weight" && p.shape.count == 1 ? 1 + $0 : $0 } }
    }

    func testConv2dGradientsAndForwardAgainstDirect() {
        var rng = Xoshiro256(seed: 7)
        // (cin, cout, k, stride, pad, bias, H, W, budget) — small budgets force chunking.
        let configs: [(Int, Int, Int, Int, Int, Bool, Int, Int, Int)] = [
            (2, 3, 3, 1, 1, false, 6, 5, 1 << 20), (3, 4, 3, 2, 1, true, 7, 8, 100),
            (4, 2, 1, 1, 0, true, 5, 5, 1 << 20), (2, 3, 2, 2, 0, false, 6, 6, 50), (1, 2, 5, 1, 2, true, 6, 7, 200),
        ]
        for (cin, cout, k, st, p, b, h, w, budget) in configs {
            let conv = Conv2d(cin, cout, kernel: k, stride: st, padding: p, bias: b, workspace: Workspace(columnBudget: budget))
            randomise(conv, &rng)
            let s = Shape(c: cin, n: 3, h: h, w: w)
            let x = randomArray(s.count, &rng)
            // Direct convolution.
            let os = conv.outputShape(for: s)
            let y = x.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: conv.forward($0.baseAddress!, s, training: true), count: os.count)) }
            let wt = conv.weight.values
            for co in 0..<cout { for n in 0..<s.n { for ho in 0..<os.h { for wo in 0..<os.w {
                var acc: Double = b ? Double(conv.bias!.value[co]) : 0
                for ci in 0..<cin { for ki in 0..<k { for kj in 0..<k {
                    let hi = ho * st - p + ki, wi = wo * st - p + kj
                    if hi >= 0 && hi < h && wi >= 0 && wi < w {
                        acc += Double(wt[((co * cin + ci) * k + ki) * k + kj]) * Double(x[((ci * s.n + n) * h + hi) * w + wi])
                    }
                } } }
                XCTAssertEqual(Double(y[((co * s.n + n) * os.h + ho) * os.w + wo]), acc, accuracy: 1e-4, "conv k\(k) s\(st) p\(p)")
            } } } }
            checkGradients(conv, shape: s, x: x)
        }
    }

    /// A convolution's output, input gradient and weight gradient have the same bits for
    /// any worker count (same, strided and pointwise kernels; budgets that chunk the batch).
    func testConv2dBitsDoNotDependOnTheWorkerCount() {
        for kernels in [ConvolutionKernels.oneDNN, .im2col] {
        for (cin, cout, k, st, p, budget) in [(3, 4, 3, 1, 1, 1 << 19), (3, 4, 3, 1, 1, 300), (4, 6, 3, 2, 1, 1 << 19),
                                              (4, 6, 3, 2, 1, 200), (5, 3, 1, 1, 0, 1 << 19)] {
            var results: [[Float]] = []
            for workers in [1, 2, 3] {
                var rng = Xoshiro256(seed: 23)
                let conv = Conv2d(cin, cout, kernel: k, stride: st, padding: p,
                                  workspace: Workspace(columnBudget: budget, workers: workers, kernels: kernels))
                randomise(conv, &rng)
                let s = Shape(c: cin, n: 19, h: 9, w: 7), os = conv.outputShape(for: s)
                let x = randomArray(s.count, &rng), dy = randomArray(os.count, &rng)
                var r: [Float] = []
                x.withUnsafeBufferPointer { xp in
                    r += Array(UnsafeBufferPointer(start: conv.forward(xp.baseAddress!, s, training: true), count: os.count))
                    dy.withUnsafeBufferPointer { r += Array(UnsafeBufferPointer(start: conv.backward($0.baseAddress!), count: s.count)) }
                }
                results.append(r + conv.weight.gradients)
            }
            for (i, r) in results.enumerated().dropFirst() {
                let differ = zip(r, results[0]).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }?.offset
                XCTAssertNil(differ, "\(kernels) conv k\(k) s\(st) budget \(budget): workers \(i + 1) against 1 differ at value \(differ ?? -1)")
            }
        }
        }
    }

    /// An empty batch (an MPI rank left without images) passes through either kernel.
    func testConv2dTakesAnEmptyBatch() {
        for kernels in [ConvolutionKernels.oneDNN, .im2col] {
            let conv = Conv2d(3, 4, kernel: 3, padding: 1, bias: true, workspace: Workspace(kernels: kernels))
            let s = Shape(c: 3, n: 0, h: 5, w: 5), x = [Float](repeating: 0, count: 1)
            x.withUnsafeBufferPointer { xp in
                _ = conv.forward(xp.baseAddress!, s, training: true)
                _ = conv.backward(xp.baseAddress!)
            }
            XCTAssertEqual(conv.weight.gradients, [Float](repeating: 0, count: conv.weight.count), "\(kernels)")
        }
    }

    /// oneDNN's kernels agree with the im2col kernels on the output, `dX` and `dW`
    /// (batches that leave a short last chunk, strided, pointwise, 5 × 5, bias, channel
    /// counts off the 16-lane blocks), and a backward pass after an inference forward
    /// (no kept blocked input) gives the same bits as after a training forward.
    func testOneDNNMatchesIm2col() throws {
        try XCTSkipIf(OneDNN.shared == nil, "libdnnl.so.2 is not installed")
        var rng = Xoshiro256(seed: 29)
        // (cin, cout, k, stride, pad, bias, n, H, W)
        for (cin, cout, k, st, p, b, n, h, w) in [(3, 16, 3, 1, 1, false, 37, 8, 8), (16, 32, 3, 2, 1, false, 19, 9, 9),
                                                  (5, 7, 1, 1, 0, true, 20, 5, 6), (1, 8, 5, 1, 2, true, 17, 7, 7),
                                                  (20, 12, 3, 1, 1, false, 3, 6, 5)] {
            let s = Shape(c: cin, n: n, h: h, w: w)
            var weights: [[Float]] = []
            var outs: [[[Float]]] = []
            let x = randomArray(s.count, &rng)
            for (kernels, training) in [(ConvolutionKernels.im2col, true), (.oneDNN, true), (.oneDNN, false)] {
                let conv = Conv2d(cin, cout, kernel: k, stride: st, padding: p, bias: b, workspace: Workspace(workers: 2, kernels: kernels))
                XCTAssertEqual(conv.workspace.kernels, kernels)
                if weights.isEmpty { randomise(conv, &rng); weights = conv.parameters.map(\.values) }
                for (param, v) in zip(conv.parameters, weights) { param.values = v }
                let os = conv.outputShape(for: s)
                var dyRng = Xoshiro256(seed: 31)
                let dy = randomArray(os.count, &dyRng)
                var y: [Float] = [], dx: [Float] = []
                x.withUnsafeBufferPointer { xp in
                    y = Array(UnsafeBufferPointer(start: conv.forward(xp.baseAddress!, s, training: training), count: os.count))
                    dy.withUnsafeBufferPointer { dx = Array(UnsafeBufferPointer(start: conv.backward($0.baseAddress!), count: s.count)) }
                }
                outs.append([y, dx] + conv.parameters.map(\.gradients))
            }
            for (part, name) in ["output", "dX", "dW", "dBias"].enumerated() where part < outs[0].count {
                let ref = outs[0][part], scale = ref.map(abs).max()!
                for (u, v) in zip(outs[1][part], ref) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(scale, 1), "\(name) k\(k) s\(st) n\(n)") }
                XCTAssertEqual(outs[2][part].map(\.bitPattern), outs[1][part].map(\.bitPattern), "\(name): inference forward then backward")
            }
        }
    }

    /// `SameColumns.gather` over any row range equals the generic `im2col` columns, bit for bit.
    func testSameColumnsMatchesIm2col() {
        var rng = Xoshiro256(seed: 17)
        for (c, n, h, w, k) in [(2, 3, 4, 5, 3), (1, 2, 3, 3, 5), (3, 2, 1, 4, 3), (2, 2, 6, 2, 3)] {
            let conv = Conv2d(c, 1, kernel: k, stride: 1, padding: k / 2)
            let s = Shape(c: c, n: n, h: h, w: w), kk = c * k * k, all = n * h * w
            let x = randomArray(s.count, &rng)
            var full = [Float](repeating: .nan, count: kk * all)
            x.withUnsafeBufferPointer { xp in full.withUnsafeMutableBufferPointer { conv.im2col(xp.baseAddress!, s, s, 0, n, $0.baseAddress!) } }
            let cols = SameColumns(channels: c, batch: n, height: h, width: w, kernel: k)
            for q0 in 0..<(n * h) { for q1 in (q0 + 1)...(n * h) {
                var part = [Float](repeating: .nan, count: kk * (q1 - q0) * w)
                x.withUnsafeBufferPointer { xp in part.withUnsafeMutableBufferPointer { cols.gather(xp.baseAddress!, rows: q0, q1, into: $0.baseAddress!) } }
                for r in 0..<kk { for j in 0..<((q1 - q0) * w) {
                    XCTAssertEqual(part[r * (q1 - q0) * w + j].bitPattern, full[r * all + q0 * w + j].bitPattern, "\(c)×\(n)×\(h)×\(w) k\(k) rows \(q0)..<\(q1)")
                } }
            } }
        }
    }

    func testBatchNormTrainingGradientsAndRunningStatistics() {
        var rng = Xoshiro256(seed: 8)
        let bn = BatchNorm2d(3, momentum: 0.1)
        randomise(bn, &rng)
        let s = Shape(c: 3, n: 4, h: 3, w: 2)
        let x = randomArray(s.count, &rng, scale: 2).map { $0 + 1 }
        checkGradients(bn, shape: s, x: x)
        // Running statistics: one fresh update from (0, 1) with momentum 0.1 and the unbiased variance.
        let fresh = BatchNorm2d(3, momentum: 0.1)
        _ = x.withUnsafeBufferPointer { fresh.forward($0.baseAddress!, s, training: true) }
        let m = s.perChannel
        for c in 0..<3 {
            let xs = x[(c * m)..<((c + 1) * m)].map(Double.init)
            let mean = xs.reduce(0, +) / Double(m)
            let varU = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(m - 1)
            XCTAssertEqual(Double(fresh.runningMean[c]), 0.1 * mean, accuracy: 1e-5)
            XCTAssertEqual(Double(fresh.runningVar[c]), 0.9 + 0.1 * varU, accuracy: 1e-5)
        }
        XCTAssertEqual(fresh.numBatchesTracked, 1)
        // Training output has zero mean and unit (biased) variance per channel when γ = 1, β = 0.
        let y = x.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: fresh.forward($0.baseAddress!, s, training: true), count: s.count)) }
        for c in 0..<3 {
            let ys = y[(c * m)..<((c + 1) * m)].map(Double.init)
            let mean = ys.reduce(0, +) / Double(m)
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            XCTAssertEqual(ys.map { $0 * $0 }.reduce(0, +) / Double(m), 1, accuracy: 1e-3)
        }
    }

    func testBatchNormInferenceGradients() {
        var rng = Xoshiro256(seed: 9)
        let bn = BatchNorm2d(2)
        randomise(bn, &rng)
        bn.runningMean = [0.3, -0.2]; bn.runningVar = [0.5, 2.0]
        let s = Shape(c: 2, n: 3, h: 2, w: 2)
        checkGradients(bn, shape: s, x: randomArray(s.count, &rng), training: false)
        let y = [Float](repeating: 1, count: s.count).withUnsafeBufferPointer { bn.forward($0.baseAddress!, s, training: false) }
        XCTAssertEqual(y[0], (1 - 0.3) / (0.5 + 1e-5).squareRoot() * bn.weight.value[0] + bn.bias.value[0], accuracy: 1e-5)
    }

    func testReLUMaxPoolAvgPoolLinearShortcutGradients() {
        var rng = Xoshiro256(seed: 10)
        let s = Shape(c: 2, n: 3, h: 6, w: 5)
        checkGradients(ReLU(), shape: s, x: gridArray(s.count, &rng), eps: 5e-3)
        checkGradients(MaxPool2d(kernel: 2), shape: s, x: gridArray(s.count, &rng), eps: 5e-3)
        checkGradients(MaxPool2d(kernel: 3, stride: 2), shape: s, x: gridArray(s.count, &rng), eps: 5e-3)
        checkGradients(GlobalAvgPool(), shape: s, x: randomArray(s.count, &rng))
        let lin = Linear(7, 4); randomise(lin, &rng)
        checkGradients(lin, shape: Shape(c: 7, n: 5, h: 1, w: 1), x: randomArray(35, &rng))
        let sc = ShortcutA(2, 4, stride: 2)
        XCTAssertEqual(sc.outputShape(for: s), Shape(c: 4, n: 3, h: 3, w: 3))
        checkGradients(sc, shape: s, x: randomArray(s.count, &rng))
        // Max pooling forward against a direct maximum.
        let mp = MaxPool2d(kernel: 2)
        let x = randomArray(s.count, &rng)
        let y = x.withUnsafeBufferPointer { mp.forward($0.baseAddress!, s, training: true) }
        XCTAssertEqual(y[0], [x[0], x[1], x[5], x[6]].max()!)
    }

    func testBasicBlockGradients() {
        var rng = Xoshiro256(seed: 11)
        for (cin, cout, stride) in [(2, 2, 1), (2, 4, 2)] {
            let block = BasicBlock(cin, cout, stride: stride, workspace: Workspace())
            randomise(block, &rng)
            let s = Shape(c: cin, n: 3, h: 4, w: 4)
            checkGradients(block, shape: s, x: randomArray(s.count, &rng), eps: 2e-3, kinks: true, samples: 40)
        }
    }

    func testLossGradient() {
        var rng = Xoshiro256(seed: 12)
        let C = 4, n = 5
        var z = randomArray(C * n, &rng)
        let labels: [Int32] = [0, 3, 1, 1, 2]
        let prior: [Float] = [0.5, 0.3, 0.15, 0.05].map { log($0) }
        var g = [Float](repeating: 0, count: C * n)
        func f(_ z: [Float]) -> Double {
            var gg = [Float](repeating: 0, count: C * n)
            return z.withUnsafeBufferPointer { logitAdjustedLoss(logits: $0.baseAddress!, labels: labels[...], logPrior: prior, tau: 0.7, grad: &gg).loss }
        }
        _ = z.withUnsafeBufferPointer { logitAdjustedLoss(logits: $0.baseAddress!, labels: labels[...], logPrior: prior, tau: 0.7, grad: &g) }
        for i in 0..<(C * n) {
            let old = z[i]
            z[i] = old + 1e-2; let a = f(z); z[i] = old - 1e-2; let b = f(z); z[i] = old
            XCTAssertEqual(Double(g[i]), (a - b) / 2e-2, accuracy: 1e-4)
        }
        // τ = 0 is plain cross-entropy: −log softmax(z)_y for sample 0.
        var g0 = [Float](repeating: 0, count: C * n)
        let ce = z.withUnsafeBufferPointer { logitAdjustedLoss(logits: $0.baseAddress!, labels: [0][...], logPrior: [0, 0, 0, 0], tau: 0, grad: &g0) }
        _ = ce
    }

    /// The whole network's parameter gradients through the loss (resnet8: one block per
    /// stage, both shortcut kinds; convnet; mlp).
    func testNetworkGradients() {
        for arch in [Architecture.resnet(depth: 8), .convnet, .mlp(hidden: 6, features: 5)] {
            var rng = Xoshiro256(seed: 13)
            let (c, h) = arch == .convnet ? (1, 8) : (arch == .resnet(depth: 8) ? (3, 8) : (10, 1))
            let net = Network(arch, numClasses: 3, inputChannels: c, inputHeight: h, inputWidth: h, using: &rng)
            let n = 4
            let x = randomArray(c * n * h * h, &rng)
            let labels: [Int32] = [0, 1, 2, 1]
            let prior: [Float] = [log(0.5), log(0.3), log(0.2)]
            var g = [Float](repeating: 0, count: 3 * n)
            func lossValue() -> Double {
                let (_, z) = x.withUnsafeBufferPointer { net.forward($0.baseAddress!, batch: n, training: true) }
                var gg = [Float](repeating: 0, count: 3 * n)
                return logitAdjustedLoss(logits: z, labels: labels[...], logPrior: prior, tau: 1, grad: &gg).loss
            }
            net.zeroGradients()
            let (_, z) = x.withUnsafeBufferPointer { net.forward($0.baseAddress!, batch: n, training: true) }
            _ = logitAdjustedLoss(logits: z, labels: labels[...], logPrior: prior, tau: 1, grad: &g)
            net.backward(g)
            var checked = 0, total = 0
            defer { XCTAssertGreaterThan(checked, total * 6 / 10, "\(arch): too many non-smooth samples") }
            for p in net.parameters {
                let grads = p.gradients
                for _ in 0..<3 {
                    let i = Int(boundedRandom(UInt64(p.count), using: &rng))
                    let old = p.value[i], eps: Float = 1e-3
                    _ = lossValue(); let base = activationPattern(net.features)
                    p.value[i] = old + eps; let a = lossValue(); let pa = activationPattern(net.features)
                    p.value[i] = old - eps; let b = lossValue(); let pb = activationPattern(net.features)
                    p.value[i] = old
                    let tol = 1e-3 * max(1, abs(Double(grads[i])))
                    let n1 = (a - b) / Double(2 * eps)
                    total += 1
                    if pa != base || pb != base { continue }   // a ReLU kink or max-pool tie was crossed
                    checked += 1
                    XCTAssertEqual(Double(grads[i]), n1, accuracy: tol, "\(arch) \(p.name)[\(i)] \(p.shape)")
                }
            }
        }
    }
}
