import Foundation
import Linalg

/// One entry of a module's state, named as in PyTorch's `state_dict`
/// (`layer1.0.bn1.running_mean`). Reading and writing go through closures so that
/// parameters, running statistics and the integer batch counter share one list.
public struct StateSlot {
    public enum Kind: Sendable { case parameter, buffer, counter }
    public let name: String
    public let shape: [Int]
    public let kind: Kind
    /// The current values (a counter as one value).
    public let get: () -> [Double]
    /// Replaces the values; precondition: `count == shape.product`.
    public let set: ([Double]) -> Void
}

/// A network layer with an explicit forward and backward pass on the CPU.
///
/// Contract: `forward` reads `x` (shape `shape`, C × N × H × W) and returns a pointer to
/// the layer's own output block; the layer keeps `x` for `backward`, so the caller must
/// not overwrite it until `backward` ran. `backward(dy)` takes the gradient of the loss
/// with respect to the last output and returns the gradient with respect to the last
/// input (a pointer into the layer's own block), and **adds** the parameter gradients to
/// `Parameter.grad`. When `needsInputGradient` is false (the first layer), the returned
/// pointer's contents are unspecified and the input-gradient work is skipped.
/// Buffers only grow: after the largest batch, no step allocates.
public protocol Layer: AnyObject {
    func outputShape(for input: Shape) -> Shape
    func forward(_ x: UnsafePointer<Float>, _ shape: Shape, training: Bool) -> UnsafeMutablePointer<Float>
    func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float>
    var needsInputGradient: Bool { get set }
    /// Learnable tensors, in `stateSlots` order.
    var parameters: [Parameter] { get }
    /// The layer's state-dict entries, names prefixed with `prefix` (`"layer1.0."`).
    func stateSlots(prefix: String) -> [StateSlot]
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public func stateSlots(prefix: String) -> [StateSlot] { [] }
}

func parameterSlot(_ p: Parameter, prefix: String) -> StateSlot {
    StateSlot(name: prefix + p.name, shape: p.shape, kind: .parameter,
              get: { p.values.map(Double.init) }, set: { p.values = $0.map(Float.init) })
}

/// Scratch memory shared by the convolutions of one network (the im2col block).
/// Not thread-safe: one network runs one batch at a time.
public final class Workspace {
    /// Worker threads for the convolutions: each takes chunks (ranges of output rows for
    /// stride-1 same convolutions, whole images otherwise) with its own im2col block,
    /// calling single-threaded `sgemm` (`withSingleThreadedBLAS`). Results depend on
    /// neither the schedule nor the count: the shapes and `columnBudget` fix the chunks,
    /// and with them the summation order of the weight gradients.
    public let workers: Int
    let cols: [FloatBuffer]
    /// One weight-gradient slot per chunk of a convolution's backward pass.
    let chunkGrads = FloatBuffer()
    /// The convolutions' kernels.
    public let kernels: ConvolutionKernels
    /// Per-worker blocks of the oneDNN kernels.
    let dnnlScratch: [DNNLWorkerScratch]
    /// Upper bound on one worker's im2col block, in floats: the batch is processed in
    /// chunks (row ranges or images) whose columns fit, so the block stays cache-friendly.
    public var columnBudget: Int
    /// `kernels` falls back to `.im2col` when oneDNN cannot be loaded.
    public init(columnBudget: Int = 1 << 19, workers: Int = availableProcessorCount, kernels: ConvolutionKernels = .preferred) {
        self.columnBudget = columnBudget
        self.workers = max(1, workers)
        cols = (0..<self.workers).map { _ in FloatBuffer() }
        // oneDNN needs the library and a stream per worker; otherwise the im2col kernels.
        let scratch = kernels == .oneDNN ? (0..<self.workers).compactMap { _ in DNNLWorkerScratch(OneDNN.shared) } : []
        self.kernels = scratch.count == self.workers ? kernels : .im2col
        dnnlScratch = scratch
    }
}

/// How `Conv2d` computes.
public enum ConvolutionKernels: String, Sendable {
    /// oneDNN's direct kernels (libdnnl.so.2, opened on first use): several times faster
    /// than im2col + sgemm on the small-channel convolutions of the CIFAR ResNets.
    case oneDNN = "oneDNN"
    /// im2col (or shifted plane copies) and one OpenBLAS `sgemm` per chunk.
    case im2col = "im2col"

    /// oneDNN when the library loads, else im2col.
    public static var preferred: ConvolutionKernels { OneDNN.shared == nil ? .im2col : .oneDNN }
}

/// Runs `body` with OpenBLAS on one thread (restoring the previous count after): the
/// backbone parallelises over images itself, and OpenBLAS's own threads would compete
/// with its workers (and spin in `sched_yield` on a loaded machine).
public func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
    let before = blasThreadCount
    if before != 1 { setBLASThreadCount(1) }
    defer { if before != 1 { setBLASThreadCount(before) } }
    return try body()
}

// MARK: - Convolution

/// 2-D convolution, PyTorch's `Conv2d(cin, cout, k, stride, padding, bias)` (square
/// kernel, zero padding, no dilation or groups). Weight `[Cout, Cin, k, k]`.
///
/// Forward per chunk of images: im2col (`Cin·k² × n·Ho·Wo`), then one `sgemm`
/// `W (Cout × Cin·k²) · col` written straight into the C × N × Ho × Wo output.
/// Backward recomputes im2col (no per-layer column storage), `dW += dY·colᵀ`, then
/// for stride-1 "same" kernels `dX = W′ (Cin × Cout·k²) · im2col(dY)` with the flipped
/// kernel `W′` (the transposed convolution is itself a same convolution), otherwise
/// `dcol = Wᵀ·dY` then col2im. 1 × 1, stride-1, unpadded kernels skip im2col.
/// Stride-1 same kernels build their columns with `SameColumns` (shifted plane copies).
/// Each worker's product is one OpenBLAS call (`_gemmOneCall`: `_gemm`'s blocks would
/// repack the weights per block), except the strided forward product, which keeps
/// `_gemm`'s blocks (and with them the bits its PyTorch fixture was checked against).
/// - Complexity: `2·N·Ho·Wo·Cout·Cin·k²` flops forward, twice that backward.
public final class Conv2d: Layer {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var needsInputGradient = true
    let workspace: Workspace
    let out = FloatBuffer(), dx = FloatBuffer(), flipped = FloatBuffer()
    var input: UnsafePointer<Float>?
    var inShape = Shape(c: 0, n: 0, h: 0, w: 0)
    /// oneDNN plans by input shape and chunk size (nil: the im2col kernels for that shape).
    var dnnlPlanCache: [DNNLPlanKey: DNNLConvolutionPlan?] = [:]
    /// The last training forward's input in the kernels' blocked layout, chunk by chunk
    /// (oneDNN), and its shape (nil when none is kept).
    let blockedInput = AlignedScratch()
    var blockedInputShape: Shape?

    public init(_ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false,
                workspace: Workspace = Workspace()) {
        precondition(cin > 0 && cout > 0 && kernel > 0 && stride > 0 && padding >= 0, "Conv2d: bad configuration")
        inChannels = cin; outChannels = cout; self.kernel = kernel; self.stride = stride; self.padding = padding
        weight = Parameter(name: "weight", shape: [cout, cin, kernel, kernel])
        self.bias = bias ? Parameter(name: "bias", shape: [cout]) : nil
        self.workspace = workspace
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }
    public func stateSlots(prefix: String) -> [StateSlot] { parameters.map { parameterSlot($0, prefix: prefix) } }

    public func outputShape(for s: Shape) -> Shape {
        precondition(s.c == inChannels, "Conv2d: input has \(s.c) channels, expected \(inChannels)")
        let ho = (s.h + 2 * padding - kernel) / stride + 1, wo = (s.w + 2 * padding - kernel) / stride + 1
        precondition(ho > 0 && wo > 0, "Conv2d: input \(s) too small for kernel \(kernel)")
        return Shape(c: outChannels, n: s.n, h: ho, w: wo)
    }

    /// The oneDNN library and this shape's plans, when the workspace uses oneDNN.
    func oneDNNPlans(_ s: Shape) -> (OneDNN, DNNLPlans)? {
        guard s.n > 0, workspace.kernels == .oneDNN, let dnn = OneDNN.shared, let plans = dnnlPlans(dnn, s) else { return nil }
        return (dnn, plans)
    }

    var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
    /// Stride 1, odd kernel, `padding = k/2`: the output has the input's size and im2col
    /// is a shifted copy of each plane (`SameColumns`).
    var isSame: Bool { stride == 1 && kernel > 1 && kernel % 2 == 1 && 2 * padding == kernel - 1 }
    var kdim: Int { inChannels * kernel * kernel }

    /// Chunks a batch is split into at least (when it has that many images or rows),
    /// whatever the worker count: the partition, and with it the order in which the
    /// chunks' weight gradients are summed, depends on the shapes and `columnBudget` only,
    /// so a run gives the same bits on any number of threads.
    static let minimumChunks = 8

    /// Images per chunk: within the column budget, and at least `minimumChunks` chunks.
    func chunkImages(_ os: Shape) -> Int {
        let spread = (os.n + Self.minimumChunks - 1) / Self.minimumChunks
        return max(1, min(spread, workspace.columnBudget / max(kdim * os.plane, 1)))
    }

    /// Output rows (`q = n·H + h`) per chunk of a same convolution: the column block of
    /// `rowsK` rows stays within the budget, and there are at least `minimumChunks` chunks.
    func chunkRows(_ os: Shape, rowsK: Int) -> Int {
        let total = os.n * os.h
        let spread = (total + Self.minimumChunks - 1) / Self.minimumChunks
        return max(1, min(spread, workspace.columnBudget / max(rowsK * os.w, 1)))
    }

    /// Runs `body(worker, chunk, firstImage, imageCount)` over the batch's chunks of
    /// `chunkImages(os)` images; workers take the next chunk when they finish one.
    func forEachChunk(_ os: Shape, _ body: (Int, Int, Int, Int) -> Void) {
        let nb = chunkImages(os)
        let chunks = (os.n + nb - 1) / nb
        parallelFor(chunks, threads: workspace.workers) { ch, w in let n0 = ch * nb; body(w, ch, n0, min(nb, os.n - n0)) }
    }

    /// Runs `body(worker, chunk, q0, q1)` over the `⌈total / rows⌉` ranges of `rows`
    /// output rows out of `total`. Workers take the next range when they finish one, so
    /// a core slowed by other load does not hold the others back; `body` must write only
    /// its range's outputs (or its `chunk`'s slot), which keeps results independent of
    /// the schedule.
    func forEachRowRange(total: Int, rows: Int, _ body: (Int, Int, Int, Int) -> Void) {
        let chunks = (total + rows - 1) / rows
        parallelFor(chunks, threads: workspace.workers) { ch, w in body(w, ch, ch * rows, min(total, ch * rows + rows)) }
    }

    /// `weight.grad += Σ_ch slots[ch]`, summed in chunk order (entries split over the workers).
    func addChunkGradients(_ slots: UnsafeMutablePointer<Float>, chunks: Int) {
        let gw = weight.grad, wcount = weight.count
        parallelRanges(wcount, costPerItem: chunks) { r in
            for ch in 0..<chunks {
                let src = UnsafePointer(slots + ch * wcount)
                var i = r.lowerBound
                while i + 8 <= r.upperBound { store8(load8(gw + i) + load8(src + i), gw + i); i += 8 }
                while i < r.upperBound { gw[i] += src[i]; i += 1 }
            }
        }
    }

    func addBias(_ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        if let b = bias {
            parallelRanges(outChannels, costPerItem: ldy) { r in
                for c in r { let bc = b.value[c], row = y + c * ldy; for i in 0..<ldy { row[i] += bc } }
            }
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        let os = outputShape(for: s)
        input = x; inShape = s
        let y = out.ensure(os.count)
        let ldy = os.perChannel, K = kdim, w = UnsafePointer(weight.value)
        if let (dnn, plans) = oneDNNPlans(s) {
            dnnlForward(dnn, plans, x, s, y, training: training)
            addBias(y, ldy)
            return y
        }
        if isSame {
            let rows = chunkRows(os, rowsK: K), W = os.w
            for b in workspace.cols { b.ensure(K * rows * W) }
            let cols = SameColumns(channels: inChannels, batch: s.n, height: s.h, width: s.w, kernel: kernel)
            forEachRowRange(total: os.n * os.h, rows: rows) { wk, _, q0, q1 in
                let col = self.workspace.cols[wk].pointer
                cols.gather(x, rows: q0, q1, into: col)
                Float._gemmOneCall(false, false, self.outChannels, (q1 - q0) * W, K, 1, w, K, UnsafePointer(col), (q1 - q0) * W,
                            0, y + q0 * W, ldy)
            }
            addBias(y, ldy)
            return y
        }
        let nb = chunkImages(os)
        if !isPointwise { for b in workspace.cols { b.ensure(K * nb * os.plane) } }
        forEachChunk(os) { wk, _, n0, cnt in
            let cols = cnt * os.plane
            if self.isPointwise {
                Float._gemm(false, false, self.outChannels, cols, K, 1, w, K, x + n0 * s.plane, s.perChannel, 0, y + n0 * os.plane, ldy)
            } else {
                let col = self.workspace.cols[wk].pointer
                self.im2col(x, s, os, n0, cnt, col, parallel: false)
                Float._gemm(false, false, self.outChannels, cols, K, 1, w, K, UnsafePointer(col), cols, 0, y + n0 * os.plane, ldy)
            }
        }
        addBias(y, ldy)
        return y
    }

    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
        let s = inShape, os = outputShape(for: s)
        let ldy = os.perChannel, K = kdim
        let dxp = dx.ensure(s.count)
        let w = UnsafePointer(weight.value)
        let wcount = outChannels * K
        let need = needsInputGradient
        if let (dnn, plans) = oneDNNPlans(s) {
            dnnlBackward(dnn, plans, x, s, dy, dx: need ? dxp : nil)
        } else if isSame {
            // dX is the same convolution of dY with the flipped, transposed kernel
            // W′ (Cin × Cout·k²): one well-shaped GEMM per range, no col2im.
            let KT = outChannels * kernel * kernel, W = os.w
            let rows = chunkRows(os, rowsK: need ? max(K, KT) : K)
            for b in workspace.cols { b.ensure((need ? max(K, KT) : K) * rows * W) }
            let wt = UnsafePointer(need ? flippedWeight() : weight.value)
            let xcols = SameColumns(channels: inChannels, batch: s.n, height: s.h, width: s.w, kernel: kernel)
            let dycols = SameColumns(channels: outChannels, batch: os.n, height: os.h, width: os.w, kernel: kernel)
            // Each range's dW goes to its own slot; the slots are summed in range order below.
            let chunks = (os.n * os.h + rows - 1) / rows
            let slots = workspace.chunkGrads.ensure(chunks * wcount)
            forEachRowRange(total: os.n * os.h, rows: rows) { wk, ch, q0, q1 in
                let col = self.workspace.cols[wk].pointer, dW = slots + ch * wcount, cols = (q1 - q0) * W
                xcols.gather(x, rows: q0, q1, into: col)
                Float._gemmOneCall(false, true, self.outChannels, K, cols, 1, dy + q0 * W, ldy, UnsafePointer(col), cols, 0, dW, K)
                if need {
                    dycols.gather(dy, rows: q0, q1, into: col)
                    Float._gemmOneCall(false, false, self.inChannels, cols, KT, 1, wt, KT, UnsafePointer(col), cols, 0, dxp + q0 * W, s.perChannel)
                }
            }
            addChunkGradients(slots, chunks: chunks)
        } else {
            let nb = chunkImages(os)
            let slots = workspace.chunkGrads.ensure((os.n + nb - 1) / nb * wcount)
            if !isPointwise { for b in workspace.cols { b.ensure(K * nb * os.plane) } }
            forEachChunk(os) { wk, ch, n0, cnt in
                let cols = cnt * os.plane, dW = slots + ch * wcount
                let dyc = dy + n0 * os.plane
                if self.isPointwise {
                    Float._gemmOneCall(false, true, self.outChannels, K, cols, 1, dyc, ldy, x + n0 * s.plane, s.perChannel, 0, dW, K)
                    if need { Float._gemmOneCall(true, false, K, cols, self.outChannels, 1, w, K, dyc, ldy, 0, dxp + n0 * s.plane, s.perChannel) }
                } else {
                    let col = self.workspace.cols[wk].pointer
                    self.im2col(x, s, os, n0, cnt, col, parallel: false)
                    Float._gemmOneCall(false, true, self.outChannels, K, cols, 1, dyc, ldy, UnsafePointer(col), cols, 0, dW, K)
                    if need {
                        Float._gemmOneCall(true, false, K, cols, self.outChannels, 1, w, K, dyc, ldy, 0, col, cols)
                        self.col2im(UnsafePointer(col), s, os, n0, cnt, dxp, parallel: false)
                    }
                }
            }
            addChunkGradients(slots, chunks: (os.n + nb - 1) / nb)
        }
        if let b = bias {
            for c in 0..<outChannels { var acc: Float = 0; let row = dy + c * ldy; for i in 0..<ldy { acc += row[i] }; b.grad[c] += acc }
        }
        return dxp
    }

    /// `W′[ci, (co·k + a)·k + b] = W[co, ci, k−1−a, k−1−b]` (`Cin × Cout·k²`, row-major):
    /// the kernel of the same convolution that maps `dY` to `dX`; rows of `W′` split over
    /// the workers. O(Cout·Cin·k²).
    func flippedWeight() -> UnsafeMutablePointer<Float> {
        let k = kernel, kk = k * k, ci = inChannels, co = outChannels
        let f = flipped.ensure(ci * co * kk), w = UnsafePointer(weight.value)
        parallelRanges(ci, costPerItem: co * kk) { rows in
            for i in rows { for o in 0..<co { for a in 0..<k { for b in 0..<k {
                f[i * co * kk + (o * k + a) * k + b] = w[((o * ci + i) * k + (k - 1 - a)) * k + (k - 1 - b)]
            } } } }
        }
        return f
    }

    /// Valid output range `lo..<hi` along one axis for kernel offset `k`: the outputs
    /// whose input index `o·stride − padding + k` lies in `0..<size`.
    @inline(__always)
    func validRange(_ k: Int, size: Int, outSize: Int) -> (Int, Int) {
        // o·s − p + k ≥ 0  ⇔  o ≥ ceil((p − k)/s);   o·s − p + k ≤ size − 1  ⇔  o ≤ floor((size − 1 + p − k)/s)
        let a = padding - k
        let lo = a <= 0 ? 0 : (a + stride - 1) / stride
        let b = size - 1 + padding - k
        let hi = b < 0 ? 0 : min(outSize, b / stride + 1)
        return (min(lo, hi), hi)
    }

    /// `col[(ci·k + ki)·k + kj, (n − n0)·Ho·Wo + ho·Wo + wo] = x[ci, n, ho·s − p + ki, wo·s − p + kj]` (0 outside).
    func im2col(_ x: UnsafePointer<Float>, _ s: Shape, _ os: Shape, _ n0: Int, _ cnt: Int, _ col: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        let k = kernel, st = stride, p = padding
        let H = s.h, W = s.w, Ho = os.h, Wo = os.w, plane = Ho * Wo, cols = cnt * plane
        parallelRanges(kdim, costPerItem: parallel ? cols : 0) { rows in
            for r in rows {
                let ci = r / (k * k), ki = (r / k) % k, kj = r % k
                let (wlo, whi) = validRange(kj, size: W, outSize: Wo)
                let (hlo, hhi) = validRange(ki, size: H, outSize: Ho)
                let dstRow = col + r * cols
                for n in 0..<cnt {
                    let src = x + ((ci * s.n + n0 + n) * H) * W
                    let dst = dstRow + n * plane
                    for ho in 0..<Ho {
                        let d = dst + ho * Wo
                        if ho < hlo || ho >= hhi { d.update(repeating: 0, count: Wo); continue }
                        let srow = src + (ho * st - p + ki) * W
                        for wo in 0..<wlo { d[wo] = 0 }
                        if st == 1 {
                            let src1 = srow + (kj - p)
                            for wo in wlo..<whi { d[wo] = src1[wo] }
                        } else {
                            for wo in wlo..<whi { d[wo] = srow[wo * st - p + kj] }
                        }
                        for wo in whi..<Wo { d[wo] = 0 }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: `dx[ci, n, hi, wi] = Σ col[...]` over the kernel
    /// positions that read it. Overwrites the chunk's images of `dx`.
    func col2im(_ col: UnsafePointer<Float>, _ s: Shape, _ os: Shape, _ n0: Int, _ cnt: Int, _ dx: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        let k = kernel, st = stride, p = padding
        let H = s.h, W = s.w, Ho = os.h, Wo = os.w, plane = Ho * Wo, cols = cnt * plane
        parallelRanges(inChannels, costPerItem: parallel ? k * k * cols : 0) { chans in
            for ci in chans {
                let base = dx + (ci * s.n + n0) * H * W
                base.update(repeating: 0, count: cnt * H * W)
                for ki in 0..<k { for kj in 0..<k {
                    let r = (ci * k + ki) * k + kj
                    let (wlo, whi) = validRange(kj, size: W, outSize: Wo)
                    let (hlo, hhi) = validRange(ki, size: H, outSize: Ho)
                    let srcRow = col + r * cols
                    for n in 0..<cnt {
                        let dimg = base + n * H * W
                        let src = srcRow + n * plane
                        for ho in hlo..<hhi {
                            let drow = dimg + (ho * st - p + ki) * W
                            let srow = src + ho * Wo
                            if st == 1 {
                                let off = -p + kj
                                for wo in wlo..<whi { drow[wo + off] += srow[wo] }
                            } else {
                                for wo in wlo..<whi { drow[wo * st - p + kj] += srow[wo] }
                            }
                        }
                    }
                } }
            }
        }
    }
}

// MARK: - Batch normalisation

/// What `BatchNorm2d` applies to its affine output in the same pass (the fusions of
/// `BasicBlock`): nothing, `max(·, 0)`, or `max(· + r, 0)` with `r` of the input's shape.
/// Each is computed in the order of the separate layers (`(v·γ + β) + r`, then Swift's
/// `max(·, 0)`), so a fused pass gives the separate layers' bits.
enum BatchNormEpilogue {
    case none, relu, residualReLU(UnsafePointer<Float>)
}

/// PyTorch's `BatchNorm2d` (also `BatchNorm1d` on `D × N × 1 × 1` input).
///
/// Training: normalise with the batch mean and the *biased* batch variance, and update
/// `running ← (1 − momentum)·running + momentum·batch` with the *unbiased* variance
/// for `running_var`; `num_batches_tracked` counts the updates. Inference uses the
/// running statistics. Weight (γ) starts at 1, bias (β) at 0.
/// - Complexity: O(C·N·H·W) per pass.
public final class BatchNorm2d: Layer {
    public let channels: Int
    public let momentum: Float, eps: Float
    public let weight: Parameter, bias: Parameter
    public var runningMean: [Float], runningVar: [Float]
    public var numBatchesTracked: Int64 = 0
    public var needsInputGradient = true
    let out = FloatBuffer(), dx = FloatBuffer(), xhat = FloatBuffer()
    var invStd: [Float]
    var shape = Shape(c: 0, n: 0, h: 0, w: 0)
    var lastTraining = true
    /// The last input (inference-mode backward recomputes `x̂` from it).
    var input: UnsafePointer<Float>?

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        self.channels = channels; self.momentum = momentum; self.eps = eps
        weight = Parameter(name: "weight", shape: [channels], initial: 1)
        bias = Parameter(name: "bias", shape: [channels], initial: 0)
        runningMean = [Float](repeating: 0, count: channels)
        runningVar = [Float](repeating: 1, count: channels)
        invStd = [Float](repeating: 1, count: channels)
    }

    public var parameters: [Parameter] { [weight, bias] }
    public func stateSlots(prefix: String) -> [StateSlot] {
        [parameterSlot(weight, prefix: prefix), parameterSlot(bias, prefix: prefix),
         StateSlot(name: prefix + "running_mean", shape: [channels], kind: .buffer,
                   get: { self.runningMean.map(Double.init) }, set: { self.runningMean = $0.map(Float.init) }),
         StateSlot(name: prefix + "running_var", shape: [channels], kind: .buffer,
                   get: { self.runningVar.map(Double.init) }, set: { self.runningVar = $0.map(Float.init) }),
         StateSlot(name: prefix + "num_batches_tracked", shape: [], kind: .counter,
                   get: { [Double(self.numBatchesTracked)] }, set: { self.numBatchesTracked = Int64($0[0]) })]
    }

    public func outputShape(for s: Shape) -> Shape {
        precondition(s.c == channels, "BatchNorm2d: input has \(s.c) channels, expected \(channels)")
        return s
    }

    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        forward(x, s, training: training, epilogue: .none, into: out.ensure(s.count))
    }

    /// Batch norm followed by `epilogue` in one pass, written to `y` (`s.count` floats,
    /// not the layer's own block). `backward` then takes the gradient with respect to the
    /// normalised values *before* the epilogue (`BasicBlock` applies the ReLU's mask,
    /// or passes it to `backward(_:reluOutput:)`).
    @discardableResult
    func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool, epilogue: BatchNormEpilogue,
                 into y: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        _ = outputShape(for: s)
        shape = s; lastTraining = training; input = x
        if training {
            precondition(s.perChannel > 1, "BatchNorm2d: training needs more than one value per channel (got \(s))")
            trainingForward(x, s.perChannel, epilogue, y)
            numBatchesTracked += 1
        } else {
            for c in 0..<channels { invStd[c] = 1 / (runningVar[c] + eps).squareRoot() }
            let g = weight.value, b = bias.value, m = s.perChannel
            runningMean.withUnsafeBufferPointer { rm in
                invStd.withUnsafeBufferPointer { inv in
                    parallelRanges(channels, costPerItem: m) { r in
                        for c in r {
                            let scale = g[c] * inv[c], shift = b[c] - rm[c] * scale
                            Self.affine(x + c * m, m, scale: scale, shift: shift, epilogue.offset(c * m), into: y + c * m)
                        }
                    }
                }
            }
        }
        return y
    }

    /// Batch statistics, running-statistics update, `x̂` and the output, per channel.
    func trainingForward(_ x: UnsafePointer<Float>, _ m: Int, _ epilogue: BatchNormEpilogue, _ y: UnsafeMutablePointer<Float>) {
        let g = weight.value, b = bias.value
        let xh = xhat.ensure(channels * m)
        let mom = momentum, eps = eps
        runningMean.withUnsafeMutableBufferPointer { rm in
            runningVar.withUnsafeMutableBufferPointer { rv in
                invStd.withUnsafeMutableBufferPointer { inv in
                    parallelRanges(channels, costPerItem: m) { r in
                        for c in r {
                            let xc = x + c * m
                            let mean = vsum(xc, m) / Double(m)
                            // Centred second pass (no cancellation); the centre is the
                            // Float mean, and the remaining offset is corrected exactly.
                            let mf = Float(mean), off = mean - Double(mf)
                            let ss = max(0, vsumSquares(xc, m, centre: mf) - Double(m) * off * off)
                            let istd = Float(1 / (ss / Double(m) + Double(eps)).squareRoot())
                            inv[c] = istd
                            Self.normalize(xc, m, mean: mf, istd: istd, gamma: g[c], beta: b[c], xhat: xh + c * m,
                                           epilogue.offset(c * m), into: y + c * m)
                            rm[c] = (1 - mom) * rm[c] + mom * mf
                            rv[c] = (1 - mom) * rv[c] + mom * Float(ss / Double(m - 1))
                        }
                    }
                }
            }
        }
    }

    /// One channel in training: `x̂ = (x − μ)·istd`, `y = epilogue(x̂·γ + β)`. O(m).
    @inline(__always)
    static func normalize(_ xc: UnsafePointer<Float>, _ m: Int, mean: Float, istd: Float, gamma: Float, beta: Float,
                          xhat xhc: UnsafeMutablePointer<Float>, _ epilogue: BatchNormEpilogue, into yc: UnsafeMutablePointer<Float>) {
        let mv = SIMD8<Float>(repeating: mean), iv = SIMD8<Float>(repeating: istd)
        let gv = SIMD8<Float>(repeating: gamma), bv = SIMD8<Float>(repeating: beta)
        var i = 0
        while i + 8 <= m {
            let v = (load8(xc + i) - mv) * iv
            store8(v, xhc + i); store8(epilogue.apply8(v * gv + bv, i), yc + i); i += 8
        }
        while i < m { let v = (xc[i] - mean) * istd; xhc[i] = v; yc[i] = epilogue.apply(v * gamma + beta, i); i += 1 }
    }

    /// One channel in inference: `y = epilogue(x·scale + shift)`. O(m).
    @inline(__always)
    static func affine(_ xc: UnsafePointer<Float>, _ m: Int, scale: Float, shift: Float, _ epilogue: BatchNormEpilogue,
                       into yc: UnsafeMutablePointer<Float>) {
        let sv = SIMD8<Float>(repeating: scale), tv = SIMD8<Float>(repeating: shift)
        var i = 0
        while i + 8 <= m { store8(epilogue.apply8(load8(xc + i) * sv + tv, i), yc + i); i += 8 }
        while i < m { yc[i] = epilogue.apply(xc[i] * scale + shift, i); i += 1 }
    }

    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        backward(dy, reluOutput: nil)
    }

    /// `backward` of batch norm followed by a ReLU whose output is `reluOutput` (the
    /// `.relu` epilogue's `y`): the gradient is masked where `y ≤ 0` on the fly, with the
    /// bits of `ReLU.backward` then `backward`. `nil`: plain batch norm.
    func backward(_ dy: UnsafePointer<Float>, reluOutput mask: UnsafePointer<Float>?) -> UnsafeMutablePointer<Float> {
        let s = shape, m = s.perChannel
        let dxp = dx.ensure(s.count)
        let g = weight.value, gg = weight.grad, bg = bias.grad
        let need = needsInputGradient
        if lastTraining {
            let xh = UnsafePointer(xhat.pointer)
            invStd.withUnsafeBufferPointer { inv in
                parallelRanges(channels, costPerItem: m) { r in
                    for c in r {
                        let dyc = dy + c * m, xhc = xh + c * m, mc = mask.map { $0 + c * m }
                        let (sdy, sdyx) = maskedSums(dyc, xhc, mc, m)
                        gg[c] += Float(sdyx); bg[c] += Float(sdy)
                        if need {
                            Self.inputGradient(dyc, xhc, mc, m, k: g[c] * inv[c], a: Float(sdy / Double(m)),
                                               b: Float(sdyx / Double(m)), into: dxp + c * m)
                        }
                    }
                }
            }
        } else {
            precondition(mask == nil, "BatchNorm2d: a fused ReLU's backward needs training mode")
            inferenceBackward(dy, m, dxp)
        }
        return dxp
    }

    /// One channel of the training-mode input gradient: `dx = k·(d − a − x̂·b)` with `d` the
    /// (masked) output gradient. O(m).
    @inline(__always)
    static func inputGradient(_ dyc: UnsafePointer<Float>, _ xhc: UnsafePointer<Float>, _ mc: UnsafePointer<Float>?, _ m: Int,
                              k: Float, a: Float, b: Float, into dxc: UnsafeMutablePointer<Float>) {
        let kv = SIMD8<Float>(repeating: k), av = SIMD8<Float>(repeating: a), bv = SIMD8<Float>(repeating: b)
        var i = 0
        while i + 8 <= m { store8(kv * (masked8(dyc, mc, i) - av - load8(xhc + i) * bv), dxc + i); i += 8 }
        while i < m { dxc[i] = k * (masked(dyc, mc, i) - a - xhc[i] * b); i += 1 }
    }

    /// Inference mode: `y = γ·(x − μ_run)·invStd + β`, an affine map per channel, so
    /// `dγ = Σ dy·x̂` with `x̂` recomputed from the kept input, `dβ = Σ dy`, `dx = dy·γ·invStd`.
    func inferenceBackward(_ dy: UnsafePointer<Float>, _ m: Int, _ dxp: UnsafeMutablePointer<Float>) {
        guard let x = input else { preconditionFailure("BatchNorm2d.backward before forward") }
        let g = weight.value, gg = weight.grad, bg = bias.grad
        for c in 0..<channels {
            let dyc = dy + c * m, xc = x + c * m, mu = runningMean[c], inv = invStd[c]
            var sdy = 0.0, sdyx = 0.0
            for i in 0..<m { sdy += Double(dyc[i]); sdyx += Double(dyc[i]) * Double((xc[i] - mu) * inv) }
            gg[c] += Float(sdyx); bg[c] += Float(sdy)
            if needsInputGradient { let k = g[c] * inv; let dxc = dxp + c * m; for i in 0..<m { dxc[i] = dyc[i] * k } }
        }
    }
}

extension BatchNormEpilogue {
    /// The epilogue for the values from flat index `offset` on.
    @inline(__always) func offset(_ k: Int) -> BatchNormEpilogue {
        if case .residualReLU(let r) = self { return .residualReLU(r + k) }
        return self
    }
    /// Applied to 8 values at index `i`: `max(v, 0)` as Swift's `max` (`+0` where `0 ≥ v`).
    @inline(__always) func apply8(_ v: SIMD8<Float>, _ i: Int) -> SIMD8<Float> {
        let zero = SIMD8<Float>(repeating: 0)
        switch self {
        case .none: return v
        case .relu: return v.replacing(with: zero, where: zero .>= v)
        case .residualReLU(let r): let z = v + load8(r + i); return z.replacing(with: zero, where: zero .>= z)
        }
    }
    @inline(__always) func apply(_ v: Float, _ i: Int) -> Float {
        switch self {
        case .none: return v
        case .relu: return max(v, 0)
        case .residualReLU(let r): return max(v + r[i], 0)
        }
    }
}

/// `d[i]`, or 0 where the ReLU output `mask[i] ≤ 0` (as `ReLU.backward`).
@inline(__always) func masked8(_ d: UnsafePointer<Float>, _ mask: UnsafePointer<Float>?, _ i: Int) -> SIMD8<Float> {
    guard let mask else { return load8(d + i) }
    let zero = SIMD8<Float>(repeating: 0)
    return load8(d + i).replacing(with: zero, where: load8(mask + i) .<= zero)
}
@inline(__always) func masked(_ d: UnsafePointer<Float>, _ mask: UnsafePointer<Float>?, _ i: Int) -> Float {
    guard let mask else { return d[i] }
    return mask[i] > 0 ? d[i] : 0
}

/// `(Σ d[i], Σ d[i]·x̂[i])` over one pass, `d` masked by `mask` when given: the bits of
/// `vsum` and `vdot` on the masked gradient. O(m).
func maskedSums(_ d: UnsafePointer<Float>, _ xh: UnsafePointer<Float>, _ mask: UnsafePointer<Float>?, _ n: Int) -> (Double, Double) {
    var total = 0.0, totalX = 0.0, i = 0
    while i < n {
        let end = min(n, i + 4096)
        var acc = SIMD8<Float>(repeating: 0), accX = SIMD8<Float>(repeating: 0)
        while i + 8 <= end { let v = masked8(d, mask, i); acc += v; accX += v * load8(xh + i); i += 8 }
        var s = acc.sum(), sx = accX.sum()
        while i < end { let v = masked(d, mask, i); s += v; sx += v * xh[i]; i += 1 }
        total += Double(s); totalX += Double(sx)
    }
    return (total, totalX)
}

// MARK: - Element-wise and pooling

/// `max(x, 0)`. Backward passes the gradient where the output is positive.
public final class ReLU: Layer {
    public var needsInputGradient = true
    let out = FloatBuffer(), dx = FloatBuffer()
    var count = 0
    public init() {}
    public func outputShape(for s: Shape) -> Shape { s }
    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        count = s.count
        let y = out.ensure(count)
        parallelRanges(count) { r in for i in r { y[i] = max(x[i], 0) } }
        return y
    }
    /// The output block for input shape `s` when another layer writes this ReLU's output
    /// in its own pass (`BatchNorm2d`'s ReLU epilogues); `backward` then works as after `forward`.
    func fusedOutput(_ s: Shape) -> UnsafeMutablePointer<Float> { count = s.count; return out.ensure(count) }
    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let d = dx.ensure(count), y = UnsafePointer(out.pointer)
        parallelRanges(count) { r in
            var i = r.lowerBound
            let zero = SIMD8<Float>(repeating: 0)
            while i + 8 <= r.upperBound {
                store8(load8(dy + i).replacing(with: zero, where: load8(y + i) .<= zero), d + i); i += 8
            }
            while i < r.upperBound { d[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
        }
        return d
    }
}

/// Max pooling with a square window and stride, no padding (`MaxPool2d(k, s)`); the
/// output size is `⌊(H − k)/s⌋ + 1`. Ties go to the first maximum in row-major order.
public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int
    public var needsInputGradient = true
    let out = FloatBuffer(), dx = FloatBuffer()
    var argmax: [Int32] = []
    var inShape = Shape(c: 0, n: 0, h: 0, w: 0)
    public init(kernel: Int, stride: Int? = nil) {
        precondition(kernel > 0, "MaxPool2d: kernel must be positive")
        self.kernel = kernel; self.stride = stride ?? kernel
    }
    public func outputShape(for s: Shape) -> Shape {
        precondition(s.h >= kernel && s.w >= kernel, "MaxPool2d: input \(s) smaller than kernel \(kernel)")
        return Shape(c: s.c, n: s.n, h: (s.h - kernel) / stride + 1, w: (s.w - kernel) / stride + 1)
    }
    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        let os = outputShape(for: s)
        inShape = s
        let y = out.ensure(os.count)
        if argmax.count < os.count { argmax = [Int32](repeating: 0, count: os.count) }
        let k = kernel, st = stride
        argmax.withUnsafeMutableBufferPointer { am in
            parallelRanges(s.c * s.n, costPerItem: s.plane) { planes in
                for pl in planes {
                    let src = x + pl * s.plane, dst = y + pl * os.plane, a = am.baseAddress! + pl * os.plane
                    for ho in 0..<os.h { for wo in 0..<os.w {
                        var bi = ho * st * s.w + wo * st, best = src[bi]
                        for ki in 0..<k { for kj in 0..<k {
                            let idx = (ho * st + ki) * s.w + wo * st + kj
                            if src[idx] > best { best = src[idx]; bi = idx }
                        } }
                        dst[ho * os.w + wo] = best; a[ho * os.w + wo] = Int32(bi)
                    } }
                }
            }
        }
        return y
    }
    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let s = inShape, os = outputShape(for: s)
        let d = dx.ensure(s.count)
        argmax.withUnsafeBufferPointer { am in
            parallelRanges(s.c * s.n, costPerItem: s.plane) { planes in
                for pl in planes {
                    let dst = d + pl * s.plane, g = dy + pl * os.plane, a = am.baseAddress! + pl * os.plane
                    dst.update(repeating: 0, count: s.plane)
                    for i in 0..<os.plane { dst[Int(a[i])] += g[i] }
                }
            }
        }
        return d
    }
}

/// Global average pooling: `C × N × H × W → C × N × 1 × 1` (the feature vector of the
/// CIFAR ResNets: `F.avg_pool2d(out, out.size()[3])`).
public final class GlobalAvgPool: Layer {
    public var needsInputGradient = true
    let out = FloatBuffer(), dx = FloatBuffer()
    var inShape = Shape(c: 0, n: 0, h: 0, w: 0)
    public init() {}
    public func outputShape(for s: Shape) -> Shape { Shape(c: s.c, n: s.n, h: 1, w: 1) }
    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        inShape = s
        let y = out.ensure(s.c * s.n), p = s.plane, inv = 1 / Float(p)
        parallelRanges(s.c * s.n, costPerItem: p) { r in
            for i in r { var acc: Float = 0; let src = x + i * p; for j in 0..<p { acc += src[j] }; y[i] = acc * inv }
        }
        return y
    }
    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let s = inShape, p = s.plane, inv = 1 / Float(p)
        let d = dx.ensure(s.count)
        parallelRanges(s.c * s.n, costPerItem: p) { r in
            for i in r { let g = dy[i] * inv; (d + i * p).update(repeating: g, count: p) }
        }
        return d
    }
}

/// Fully connected layer on `D × N × 1 × 1` input, PyTorch's `Linear(in, out)`:
/// `y = W·x + b`, weight `[out, in]`. Forward and backward are one `sgemm` each.
public final class Linear: Layer {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter, bias: Parameter
    public var needsInputGradient = true
    let out = FloatBuffer(), dx = FloatBuffer()
    var input: UnsafePointer<Float>?
    var n = 0
    public init(_ inFeatures: Int, _ outFeatures: Int) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        weight = Parameter(name: "weight", shape: [outFeatures, inFeatures])
        bias = Parameter(name: "bias", shape: [outFeatures])
    }
    public var parameters: [Parameter] { [weight, bias] }
    public func stateSlots(prefix: String) -> [StateSlot] { parameters.map { parameterSlot($0, prefix: prefix) } }
    public func outputShape(for s: Shape) -> Shape {
        precondition(s.c * s.h * s.w == inFeatures, "Linear: input \(s) does not have \(inFeatures) features")
        precondition(s.h == 1 && s.w == 1, "Linear: input \(s) must be pooled to 1×1 first")
        return Shape(c: outFeatures, n: s.n, h: 1, w: 1)
    }
    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        _ = outputShape(for: s)
        input = x; n = s.n
        let y = out.ensure(outFeatures * n)
        for o in 0..<outFeatures { (y + o * n).update(repeating: bias.value[o], count: n) }
        Float._gemm(false, false, outFeatures, n, inFeatures, 1, weight.value, inFeatures, x, n, 1, y, n)
        return y
    }
    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        Float._gemm(false, true, outFeatures, inFeatures, n, 1, dy, n, x, n, 1, weight.grad, inFeatures)
        for o in 0..<outFeatures { var acc: Float = 0; for i in 0..<n { acc += dy[o * n + i] }; bias.grad[o] += acc }
        let d = dx.ensure(inFeatures * n)
        if needsInputGradient { Float._gemm(true, false, inFeatures, n, outFeatures, 1, weight.value, inFeatures, dy, n, 0, d, n) }
        return d
    }
}

// MARK: - Containers

/// Layers applied in order. Each entry's `name` prefixes its state-dict entries
/// (`"layer1"` gives `layer1.0.conv1.weight` through nested containers); stateless
/// layers use an empty name.
public final class Sequential: Layer {
    public let layers: [(name: String, layer: Layer)]
    var shapes: [Shape] = []
    public var needsInputGradient: Bool {
        get { layers.first?.layer.needsInputGradient ?? true }
        set { layers.first?.layer.needsInputGradient = newValue }
    }
    public init(_ layers: [(String, Layer)]) { self.layers = layers.map { (name: $0.0, layer: $0.1) } }
    public var parameters: [Parameter] { layers.flatMap { $0.layer.parameters } }
    public func stateSlots(prefix: String) -> [StateSlot] {
        layers.flatMap { $0.layer.stateSlots(prefix: $0.name.isEmpty ? prefix : prefix + $0.name + ".") }
    }
    public func outputShape(for s: Shape) -> Shape { layers.reduce(s) { $1.layer.outputShape(for: $0) } }
    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        var p = UnsafeMutablePointer(mutating: x), sh = s
        for (_, l) in layers { p = l.forward(p, sh, training: training); sh = l.outputShape(for: sh) }
        return p
    }
    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        var g = UnsafeMutablePointer(mutating: dy)
        for (_, l) in layers.reversed() { g = l.backward(g) }
        return g
    }
}

/// The option-A shortcut of the CIFAR ResNets (He et al. 2016, §4.2): subsample by
/// `stride` and zero-pad channels equally on both sides,
/// `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`.
public final class ShortcutA: Layer {
    public let inChannels: Int, outChannels: Int, stride: Int
    public var needsInputGradient = true
    let out = FloatBuffer(), dx = FloatBuffer()
    var inShape = Shape(c: 0, n: 0, h: 0, w: 0)
    public init(_ cin: Int, _ cout: Int, stride: Int) {
        precondition(cout >= cin && (cout - cin) % 2 == 0, "ShortcutA: cannot pad \(cin) channels to \(cout) evenly")
        inChannels = cin; outChannels = cout; self.stride = stride
    }
    var pad: Int { (outChannels - inChannels) / 2 }
    public func outputShape(for s: Shape) -> Shape {
        Shape(c: outChannels, n: s.n, h: (s.h + stride - 1) / stride, w: (s.w + stride - 1) / stride)
    }
    /// Output planes `(c, n)` split over the workers (`parallelRanges`): padding planes
    /// zeroed, the others subsampled. O(`Cout·N·Ho·Wo`).
    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        let os = outputShape(for: s)
        inShape = s
        let y = out.ensure(os.count), pad = pad, inChannels = inChannels, stride = stride
        parallelRanges(outChannels * s.n, costPerItem: os.plane) { planes in
            for pl in planes {
                let dst = y + pl * os.plane, c = pl / s.n - pad
                if c < 0 || c >= inChannels { dst.update(repeating: 0, count: os.plane); continue }
                let src = x + (pl - pad * s.n) * s.plane
                for ho in 0..<os.h { for wo in 0..<os.w { dst[ho * os.w + wo] = src[ho * stride * s.w + wo * stride] } }
            }
        }
        return y
    }
    /// Input-gradient planes `(c, n)` split over the workers: each zeroed, then the
    /// subsampled positions set. O(`Cin·N·H·W`).
    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let s = inShape, os = outputShape(for: s)
        let d = dx.ensure(s.count), pad = pad, stride = stride
        parallelRanges(inChannels * s.n, costPerItem: s.plane) { planes in
            for pl in planes {
                let dst = d + pl * s.plane, src = dy + (pl + pad * s.n) * os.plane
                dst.update(repeating: 0, count: s.plane)
                for ho in 0..<os.h { for wo in 0..<os.w { dst[ho * stride * s.w + wo * stride] = src[ho * os.w + wo] } }
            }
        }
        return d
    }
}

/// The CIFAR ResNet basic block: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`,
/// 3 × 3 convolutions, option-A shortcut when the stride or width changes.
/// Each batch norm writes its ReLU's output in the same pass (`BatchNormEpilogue`; the
/// second adds the shortcut first), and `bn1`'s backward applies `relu1`'s mask itself.
public final class BasicBlock: Layer {
    public let conv1: Conv2d, bn1: BatchNorm2d, relu1 = ReLU(), conv2: Conv2d, bn2: BatchNorm2d
    public let shortcut: ShortcutA?
    let relu2 = ReLU()
    let dx = FloatBuffer()
    var inShape = Shape(c: 0, n: 0, h: 0, w: 0)
    public var needsInputGradient: Bool {
        get { conv1.needsInputGradient }
        set { conv1.needsInputGradient = newValue; shortcut?.needsInputGradient = newValue }
    }

    public init(_ cin: Int, _ cout: Int, stride: Int, workspace: Workspace) {
        conv1 = Conv2d(cin, cout, kernel: 3, stride: stride, padding: 1, workspace: workspace)
        bn1 = BatchNorm2d(cout)
        conv2 = Conv2d(cout, cout, kernel: 3, stride: 1, padding: 1, workspace: workspace)
        bn2 = BatchNorm2d(cout)
        shortcut = (stride != 1 || cin != cout) ? ShortcutA(cin, cout, stride: stride) : nil
    }
    public var parameters: [Parameter] { conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters }
    public func stateSlots(prefix: String) -> [StateSlot] {
        conv1.stateSlots(prefix: prefix + "conv1.") + bn1.stateSlots(prefix: prefix + "bn1.")
            + conv2.stateSlots(prefix: prefix + "conv2.") + bn2.stateSlots(prefix: prefix + "bn2.")
    }
    public func outputShape(for s: Shape) -> Shape { conv2.outputShape(for: conv1.outputShape(for: s)) }

    public func forward(_ x: UnsafePointer<Float>, _ s: Shape, training: Bool) -> UnsafeMutablePointer<Float> {
        inShape = s
        let s1 = conv1.outputShape(for: s)
        var a = conv1.forward(x, s, training: training)
        a = bn1.forward(a, s1, training: training, epilogue: .relu, into: relu1.fusedOutput(s1))
        a = conv2.forward(a, s1, training: training)
        let sc: UnsafePointer<Float> = shortcut.map { UnsafePointer($0.forward(x, s, training: training)) } ?? x
        return bn2.forward(a, s1, training: training, epilogue: .residualReLU(sc), into: relu2.fusedOutput(s1))
    }

    public func backward(_ dy: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let dz = UnsafePointer(relu2.backward(dy))
        var g = bn2.backward(dz)
        g = conv2.backward(g)
        g = bn1.backward(g, reluOutput: UnsafePointer(relu1.out.pointer))
        let d1 = UnsafePointer(conv1.backward(g))
        let count = inShape.count
        let d = dx.ensure(count)
        if !needsInputGradient { return d }
        let d2: UnsafePointer<Float> = shortcut.map { UnsafePointer($0.backward(dz)) } ?? dz
        parallelRanges(count) { r in for i in r { d[i] = d1[i] + d2[i] } }
        return d
    }
}
