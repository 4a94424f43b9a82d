import CDNNL
import Linalg

// The one file that imports CDNNL: oneDNN's direct convolution kernels for `Conv2d`
// (the library's JIT picks AVX-512, AVX2 or older code for the processor;
// `ONEDNN_MAX_CPU_ISA=AVX2` caps it).
//
// Determinism: every primitive is created and run with one OpenMP thread, on chunks of
// `OneDNN.chunkImages` images. Backbone's workers take the chunks; each chunk writes only
// its own images' outputs and its own weight-gradient slot, and the slots are summed in
// chunk order. The bits therefore depend on the shapes and on the kernels the library
// picks for the processor, never on the thread count or the schedule.
//
// Layout: Backbone keeps activations as C × N × H × W. A chunk of images is, in oneDNN's
// terms, a plain strided tensor (n, c, h, w) with strides (H·W, N·H·W, W, 1); reorders
// move it into the blocked layout the kernels choose (`nChw16c` on AVX-512) in a
// per-worker scratch block that stays in cache, and back.

/// The library, opened on first use.
final class OneDNN: @unchecked Sendable {
    /// Images per chunk (the unit of work and of the weight-gradient sum).
    static let chunkImages = 16

    /// A batch of `n > 0` images in chunks: images per full chunk, the chunk count, and
    /// the last chunk's images.
    static func chunking(_ n: Int) -> (images: Int, count: Int, last: Int) {
        let nb = min(chunkImages, n), count = (n + nb - 1) / nb
        return (nb, count, n - (count - 1) * nb)
    }
    /// nil when libdnnl.so.2 (or one of its calls) is absent, or the CPU engine fails.
    static let shared: OneDNN? = OneDNN()

    let api: afg_dnnl_api
    let engine: dnnl_engine_t
    /// User-managed scratchpad: each call gets its worker's block, so primitives may run
    /// on any thread and at the same time.
    let attr: dnnl_primitive_attr_t

    private init?() {
        var api = afg_dnnl_api()
        guard afg_dnnl_load(&api) != 0 else { return nil }
        api.omp_set_num_threads(1)
        var engine: dnnl_engine_t?
        guard api.engine_create(&engine, dnnl_cpu, 0) == dnnl_success, let engine else { return nil }
        var attr: dnnl_primitive_attr_t?
        guard api.primitive_attr_create(&attr) == dnnl_success, let attr,
              api.primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success else { return nil }
        self.api = api; self.engine = engine; self.attr = attr
    }

    /// Runs on the calling thread from now on: oneDNN's OpenMP team size is per thread.
    func singleThreaded() { api.omp_set_num_threads(1) }

    func plain(_ dims: [Int64], strides: [Int64]) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        precondition(api.memory_desc_init_by_strides(&md, Int32(dims.count), dims, dnnl_f32, strides) == dnnl_success,
                     "oneDNN: strided descriptor \(dims)")
        return md
    }

    func tagged(_ dims: [Int64], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        precondition(api.memory_desc_init_by_tag(&md, Int32(dims.count), dims, dnnl_f32, tag) == dnnl_success,
                     "oneDNN: descriptor \(dims)")
        return md
    }

    func bytes(_ md: dnnl_memory_desc_t) -> Int { withUnsafePointer(to: md) { api.memory_desc_get_size($0) } }

    func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        withUnsafePointer(to: a) { pa in withUnsafePointer(to: b) { api.memory_desc_equal(pa, $0) != 0 } }
    }
}

/// One primitive with the descriptors of its arguments.
final class DNNLPrimitive {
    let dnn: OneDNN
    let primitive: dnnl_primitive_t
    let descriptor: dnnl_primitive_desc_t
    /// Bytes of user scratchpad the primitive needs (0: none).
    let scratchpadBytes: Int
    let scratchpad: dnnl_memory_desc_t

    /// Takes ownership of `pd`; nil (and `pd` destroyed) when the primitive cannot be made.
    init?(_ dnn: OneDNN, _ pd: dnnl_primitive_desc_t) {
        var p: dnnl_primitive_t?
        guard dnn.api.primitive_create(&p, pd) == dnnl_success, let p else { _ = dnn.api.primitive_desc_destroy(pd); return nil }
        self.dnn = dnn; primitive = p; descriptor = pd
        scratchpad = dnn.api.primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t()
        scratchpadBytes = dnn.bytes(scratchpad)
    }

    deinit { _ = dnn.api.primitive_destroy(primitive); _ = dnn.api.primitive_desc_destroy(descriptor) }

    func md(_ what: dnnl_query_t) -> dnnl_memory_desc_t {
        guard let p = dnn.api.primitive_desc_query_md(descriptor, what, 0) else { preconditionFailure("oneDNN: no descriptor \(what)") }
        return p.pointee
    }

    /// The implementation's name (`jit:avx512_core`, `brgconv:avx2`, ...).
    var implementation: String {
        var s: UnsafePointer<CChar>?
        guard dnn.api.primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &s) == dnnl_success, let s else { return "?" }
        return String(cString: s)
    }

    /// Runs the primitive on the calling thread with `args` (argument id, descriptor,
    /// data) and `scratch` as its scratchpad (at least `scratchpadBytes`).
    func run(_ args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)], scratch: UnsafeMutableRawPointer, stream: dnnl_stream_t) {
        let api = dnn.api
        var exec: [dnnl_exec_arg_t] = []
        exec.reserveCapacity(args.count + 1)
        defer { for e in exec { _ = api.memory_destroy(e.memory) } }
        func bind(_ arg: Int32, _ md: dnnl_memory_desc_t, _ data: UnsafeMutableRawPointer) {
            var m: dnnl_memory_t?, d = md
            precondition(api.memory_create(&m, &d, dnn.engine, data) == dnnl_success && m != nil, "oneDNN: memory")
            exec.append(dnnl_exec_arg_t(arg: arg, memory: m))
        }
        for (arg, md, data) in args { bind(arg, md, data) }
        if scratchpadBytes > 0 { bind(DNNL_ARG_SCRATCHPAD, scratchpad, scratch) }
        precondition(api.primitive_execute(primitive, stream, Int32(exec.count), exec) == dnnl_success, "oneDNN: execute")
        _ = api.stream_wait(stream)
    }
}

/// A reorder between two layouts of one tensor.
struct DNNLReorder {
    let primitive: DNNLPrimitive
    let from: dnnl_memory_desc_t, to: dnnl_memory_desc_t

    init?(_ dnn: OneDNN, from: dnnl_memory_desc_t, to: dnnl_memory_desc_t) {
        var pd: dnnl_primitive_desc_t?
        var a = from, b = to
        guard dnn.api.reorder_primitive_desc_create(&pd, &a, dnn.engine, &b, dnn.engine, dnn.attr) == dnnl_success, let pd,
              let p = DNNLPrimitive(dnn, pd) else { return nil }
        primitive = p; self.from = from; self.to = to
    }

    func run(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ w: DNNLWorkerScratch, scratch: UnsafeMutableRawPointer) {
        primitive.run([(DNNL_ARG_FROM, from, UnsafeMutableRawPointer(mutating: src)), (DNNL_ARG_TO, to, dst)], scratch: scratch,
                      stream: w.stream)
    }
}

/// 64-byte-aligned scratch that only grows (the kernels' blocked tensors), in working
/// memory (`allocateWorkingMemory`).
final class AlignedScratch {
    private(set) var pointer = allocateWorkingMemory(bytes: 64)
    private(set) var bytes = 64
    func ensure(_ n: Int) -> UnsafeMutableRawPointer {
        if n > bytes { releaseWorkingMemory(pointer); pointer = allocateWorkingMemory(bytes: n); bytes = n }
        return pointer
    }
    deinit { releaseWorkingMemory(pointer) }
}

/// The primitives of one convolution for one batch size and one chunk size: forward,
/// backward data and backward weights, and the reorders between Backbone's C × N × H × W
/// chunk and the layouts the kernels chose.
final class DNNLConvolutionPlan {
    let forward: DNNLPrimitive, backwardData: DNNLPrimitive, backwardWeights: DNNLPrimitive
    let srcIn: DNNLReorder, dstOut: DNNLReorder
    let weightsIn: DNNLReorder, weightsInForData: DNNLReorder, weightGradientOut: DNNLReorder
    /// nil when backward weights reads the forward's source layout.
    let srcInForWeights: DNNLReorder?
    let diffDstIn: DNNLReorder
    /// nil when backward data reads backward weights' `dY` layout.
    let diffDstInForData: DNNLReorder?
    let diffSrcOut: DNNLReorder
    /// Bytes of the largest blocked tensor, of the blocked input, and of the largest scratchpad.
    let blockBytes: Int, srcBytes: Int, scratchBytes: Int
    /// The blocked weights (forward, backward data), refreshed once per pass.
    let weights = AlignedScratch(), weightsForData = AlignedScratch()

    /// `batch` images in the whole tensor, `images` in this chunk.
    init?(_ dnn: OneDNN, conv c: Conv2d, input s: Shape, images: Int) {
        let os = c.outputShape(for: s)
        let (n, ci, co, k) = (Int64(images), Int64(c.inChannels), Int64(c.outChannels), Int64(c.kernel))
        let srcDims = [n, ci, Int64(s.h), Int64(s.w)], dstDims = [n, co, Int64(os.h), Int64(os.w)], wDims = [co, ci, k, k]
        let srcPlain = dnn.plain(srcDims, strides: [Int64(s.plane), Int64(s.perChannel), Int64(s.w), 1])
        let dstPlain = dnn.plain(dstDims, strides: [Int64(os.plane), Int64(os.perChannel), Int64(os.w), 1])
        let wPlain = dnn.tagged(wDims, dnnl_oihw)
        var srcAny = dnn.tagged(srcDims, dnnl_format_tag_any), dstAny = dnn.tagged(dstDims, dnnl_format_tag_any)
        var wAny = dnn.tagged(wDims, dnnl_format_tag_any)
        let strides = [Int64(c.stride), Int64(c.stride)], padL = [Int64(c.padding), Int64(c.padding)]
        // Right padding: what makes (size + padL + padR − k) / stride + 1 the output size.
        let padR = [Int64((os.h - 1) * c.stride + c.kernel - s.h - c.padding), Int64((os.w - 1) * c.stride + c.kernel - s.w - c.padding)]
        let api = dnn.api

        func make(_ desc: inout dnnl_convolution_desc_t, hint: dnnl_primitive_desc_t?) -> DNNLPrimitive? {
            var pd: dnnl_primitive_desc_t?
            guard withUnsafePointer(to: &desc, { api.primitive_desc_create(&pd, UnsafeRawPointer($0), dnn.attr, dnn.engine, hint) }) == dnnl_success,
                  let pd else { return nil }
            return DNNLPrimitive(dnn, pd)
        }
        var fd = dnnl_convolution_desc_t(), bd = dnnl_convolution_desc_t(), wd = dnnl_convolution_desc_t()
        guard api.convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &srcAny, &wAny, nil, &dstAny,
                                                strides, padL, padR) == dnnl_success,
              let f = make(&fd, hint: nil),
              api.convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &srcAny, &wAny, &dstAny, strides, padL, padR) == dnnl_success,
              let b = make(&bd, hint: f.descriptor),
              api.convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &srcAny, &wAny, nil, &dstAny,
                                                         strides, padL, padR) == dnnl_success,
              let w = make(&wd, hint: f.descriptor) else { return nil }
        forward = f; backwardData = b; backwardWeights = w

        let fSrc = f.md(dnnl_query_src_md), fW = f.md(dnnl_query_weights_md), fDst = f.md(dnnl_query_dst_md)
        let bW = b.md(dnnl_query_weights_md), bDst = b.md(dnnl_query_diff_dst_md), bSrc = b.md(dnnl_query_diff_src_md)
        let wSrc = w.md(dnnl_query_src_md), wDst = w.md(dnnl_query_diff_dst_md), wW = w.md(dnnl_query_diff_weights_md)
        guard let srcIn = DNNLReorder(dnn, from: srcPlain, to: fSrc), let dstOut = DNNLReorder(dnn, from: fDst, to: dstPlain),
              let weightsIn = DNNLReorder(dnn, from: wPlain, to: fW), let weightsInForData = DNNLReorder(dnn, from: wPlain, to: bW),
              let weightGradientOut = DNNLReorder(dnn, from: wW, to: wPlain),
              let diffDstIn = DNNLReorder(dnn, from: dstPlain, to: wDst),
              let diffSrcOut = DNNLReorder(dnn, from: bSrc, to: srcPlain) else { return nil }
        self.srcIn = srcIn; self.dstOut = dstOut; self.weightsIn = weightsIn; self.weightsInForData = weightsInForData
        self.weightGradientOut = weightGradientOut; self.diffDstIn = diffDstIn; self.diffSrcOut = diffSrcOut
        if dnn.equal(wSrc, fSrc) { srcInForWeights = nil } else {
            guard let r = DNNLReorder(dnn, from: srcPlain, to: wSrc) else { return nil }
            srcInForWeights = r
        }
        if dnn.equal(bDst, wDst) { diffDstInForData = nil } else {
            guard let r = DNNLReorder(dnn, from: dstPlain, to: bDst) else { return nil }
            diffDstInForData = r
        }
        srcBytes = (dnn.bytes(fSrc) + 63) / 64 * 64
        blockBytes = [fSrc, fDst, bDst, bSrc, wSrc, wDst, wW].map(dnn.bytes).max()!
        scratchBytes = max(1, [f, b, w, srcIn.primitive, dstOut.primitive, diffDstIn.primitive, diffSrcOut.primitive,
                               weightGradientOut.primitive].map(\.scratchpadBytes).max()!)
    }
}

/// Per-worker scratch of the oneDNN path: three blocked tensors, the weight gradient in
/// the kernels' layout, and the scratchpad.
final class DNNLWorkerScratch {
    let a = AlignedScratch(), b = AlignedScratch(), c = AlignedScratch(), gradient = AlignedScratch(), pad = AlignedScratch()
    /// The worker's stream (a CPU stream runs each call on the calling thread).
    let stream: dnnl_stream_t
    let dnn: OneDNN

    init?(_ dnn: OneDNN?) {
        guard let dnn else { return nil }
        var s: dnnl_stream_t?
        guard dnn.api.stream_create(&s, dnn.engine, UInt32(dnnl_stream_default_flags.rawValue)) == dnnl_success, let s else { return nil }
        stream = s; self.dnn = dnn
    }
    deinit { _ = dnn.api.stream_destroy(stream) }
}

extension Conv2d {
    /// The plans for this batch: the full chunk's and the last chunk's (nil when a
    /// primitive cannot be made, and the im2col kernels run instead).
    func dnnlPlans(_ dnn: OneDNN, _ s: Shape) -> DNNLPlans? {
        let (nb, _, tail) = OneDNN.chunking(s.n)
        func plan(_ images: Int) -> DNNLConvolutionPlan? {
            let key = DNNLPlanKey(shape: s, images: images)
            if let cached = dnnlPlanCache[key] { return cached }
            dnn.singleThreaded()
            let p = DNNLConvolutionPlan(dnn, conv: self, input: s, images: images)
            dnnlPlanCache[key] = .some(p)
            return p
        }
        guard let full = plan(nb), let last = plan(tail) else { return nil }
        return DNNLPlans(full: full, last: last)
    }

    /// `y = conv(x)` through oneDNN, chunk by chunk (no bias: the caller adds it). In
    /// training, the blocked input is kept for the backward pass.
    func dnnlForward(_ dnn: OneDNN, _ plans: DNNLPlans, _ x: UnsafePointer<Float>, _ s: Shape, _ y: UnsafeMutablePointer<Float>,
                     training: Bool) {
        let os = outputShape(for: s)
        let (nb, chunks, _) = OneDNN.chunking(s.n)
        let w0 = workspace.dnnlScratch[0]
        for p in plans.distinct {
            p.weightsIn.run(weight.value, p.weights.ensure(dnn.bytes(p.weightsIn.to)), w0, scratch: w0.pad.ensure(p.scratchBytes))
        }
        let stride = plans.full.srcBytes
        let kept = training ? blockedInput.ensure(stride * chunks) : nil
        parallelFor(chunks, threads: workspace.workers) { ch, w in
            dnn.singleThreaded()
            let p = ch == chunks - 1 ? plans.last : plans.full, sc = self.workspace.dnnlScratch[w]
            let n0 = ch * nb
            let src = kept.map { $0 + ch * stride } ?? sc.a.ensure(p.blockBytes)
            let dst = sc.b.ensure(p.blockBytes), pad = sc.pad.ensure(p.scratchBytes)
            p.srcIn.run(x + n0 * s.plane, src, sc, scratch: pad)
            p.forward.run([(DNNL_ARG_SRC, p.srcIn.to, src), (DNNL_ARG_WEIGHTS, p.weightsIn.to, p.weights.pointer),
                           (DNNL_ARG_DST, p.dstOut.from, dst)], scratch: pad, stream: sc.stream)
            p.dstOut.run(dst, y + n0 * os.plane, sc, scratch: pad)
        }
        blockedInputShape = training ? s : nil
    }

    /// Backward through oneDNN: adds the weight gradient to `weight.grad` (each chunk's
    /// in its own slot, summed in chunk order) and writes `dX` into `dx` when given.
    func dnnlBackward(_ dnn: OneDNN, _ plans: DNNLPlans, _ x: UnsafePointer<Float>, _ s: Shape, _ dy: UnsafePointer<Float>,
                      dx: UnsafeMutablePointer<Float>?) {
        let os = outputShape(for: s)
        let (nb, chunks, _) = OneDNN.chunking(s.n)
        let wcount = weight.count, slots = workspace.chunkGrads.ensure(chunks * wcount)
        let w0 = workspace.dnnlScratch[0]
        if dx != nil {
            for p in plans.distinct {
                p.weightsInForData.run(weight.value, p.weightsForData.ensure(dnn.bytes(p.weightsInForData.to)), w0,
                                       scratch: w0.pad.ensure(p.scratchBytes))
            }
        }
        // The forward's blocked input, when it was kept for this shape and backward
        // weights reads that layout.
        let stride = plans.full.srcBytes
        let kept = blockedInputShape == s && plans.full.srcInForWeights == nil && plans.last.srcInForWeights == nil
            ? blockedInput.pointer : nil
        parallelFor(chunks, threads: workspace.workers) { ch, w in
            dnn.singleThreaded()
            let p = ch == chunks - 1 ? plans.last : plans.full, sc = self.workspace.dnnlScratch[w]
            let n0 = ch * nb
            let ddst = sc.b.ensure(p.blockBytes), pad = sc.pad.ensure(p.scratchBytes)
            let gradient = sc.gradient.ensure(dnn.bytes(p.weightGradientOut.from))
            let srcReorder = p.srcInForWeights ?? p.srcIn
            let src: UnsafeMutableRawPointer
            if let kept { src = kept + ch * stride } else {
                src = sc.a.ensure(p.blockBytes)
                srcReorder.run(x + n0 * s.plane, src, sc, scratch: pad)
            }
            p.diffDstIn.run(dy + n0 * os.plane, ddst, sc, scratch: pad)
            p.backwardWeights.run([(DNNL_ARG_SRC, srcReorder.to, src), (DNNL_ARG_DIFF_DST, p.diffDstIn.to, ddst),
                                   (DNNL_ARG_DIFF_WEIGHTS, p.weightGradientOut.from, gradient)], scratch: pad, stream: sc.stream)
            p.weightGradientOut.run(gradient, slots + ch * wcount, sc, scratch: pad)
            if let dx {
                var dataDst = ddst
                if let r = p.diffDstInForData { dataDst = sc.c.ensure(p.blockBytes); r.run(dy + n0 * os.plane, dataDst, sc, scratch: pad) }
                let dsrc = sc.a.ensure(p.blockBytes)
                p.backwardData.run([(DNNL_ARG_DIFF_DST, p.diffDstInForData?.to ?? p.diffDstIn.to, dataDst),
                                    (DNNL_ARG_WEIGHTS, p.weightsInForData.to, p.weightsForData.pointer),
                                    (DNNL_ARG_DIFF_SRC, p.diffSrcOut.from, dsrc)], scratch: pad, stream: sc.stream)
                p.diffSrcOut.run(dsrc, dx + n0 * s.plane, sc, scratch: pad)
            }
        }
        addChunkGradients(slots, chunks: chunks)
    }
}

/// A batch's plans: its full chunks' and its last chunk's (the same plan when the last
/// chunk is full).
struct DNNLPlans {
    let full: DNNLConvolutionPlan, last: DNNLConvolutionPlan
    /// Each plan once.
    var distinct: [DNNLConvolutionPlan] { full === last ? [full] : [full, last] }
}

/// A plan's key: the input shape (its batch size sets the strides) and the chunk's images.
struct DNNLPlanKey: Hashable {
    let shape: Shape, images: Int
}
