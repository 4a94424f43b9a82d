/// im2col for the stride-1 "same" convolutions (odd `k`, `padding = k/2`, so `Ho = H`,
/// `Wo = W`): all but two of a CIFAR ResNet's convolutions and all of the convnet's,
/// forward and (through the flipped kernel) backward to the input.
///
/// The batch's output rows `q = n·H + h` are cut into ranges `q0..<q1` small enough for
/// the column block to stay in the core's L2 cache between the gather and the `sgemm`
/// that reads it; a range may start or end inside an image.
///
/// For kernel offset `(ki, kj)` a column row is the channel's batch (`N·H·W` contiguous
/// floats, rows `q = n·H + h`) shifted by `(ki − p)·W + (kj − p)` floats, so the whole
/// range is one `memcpy` per column row; then the rows that read across an image's top or
/// bottom edge (`≤ p` per image) are zeroed, and the `≤ 2p` columns that read across a
/// row's end, one strided pass per column. The values are those of the generic
/// `Conv2d.im2col` loops.
///
/// Layout: `x` is `C × N × H × W`; `col` is `C·k² × (q1 − q0)·W`, row `(c·k + ki)·k + kj`,
/// column `(q − q0)·W + w`, holding `x[c, n, h + ki − p, w + kj − p]` (0 outside).
/// - Complexity: `C·k²·(q1 − q0)·W` stores, in `C·k²` copies plus the zeroing.
struct SameColumns {
    let channels: Int, batch: Int, height: Int, width: Int, kernel: Int

    /// Output rows `lo..<hi` that read input rows inside the image for kernel row `ki`.
    @inline(__always) func rows(_ ki: Int) -> (lo: Int, hi: Int) {
        let o = ki - kernel / 2
        let lo = min(height, max(0, -o))
        return (lo, max(lo, min(height, height - o)))
    }

    /// Fills `col` for output rows `q0..<q1` of `x`.
    /// - Precondition: `0 ≤ q0 < q1 ≤ batch·height`; `col` holds `channels·k²·(q1 − q0)·W` floats.
    func gather(_ x: UnsafePointer<Float>, rows q0: Int, _ q1: Int, into col: UnsafeMutablePointer<Float>) {
        let k = kernel, p = kernel / 2, H = height, W = width, cols = (q1 &- q0) &* W
        let total = batch &* H &* W
        for c in 0..<channels {
            let xc = x + c &* total
            for ki in 0..<k {
                for kj in 0..<k {
                    let off = kj &- p, shift = (ki &- p) &* W &+ off
                    let row = col + ((c &* k &+ ki) &* k &+ kj) &* cols
                    // row[j − q0·W] = xc[j + shift] for the j whose source lies in the channel.
                    let a = min(max(q0 &* W, -shift), q1 &* W), b = max(a, min(q1 &* W, total &- shift))
                    let d = row - q0 &* W
                    if a > q0 &* W { row.update(repeating: 0, count: a &- q0 &* W) }
                    (d + a).update(from: xc + (a &+ shift), count: b &- a)
                    if b < q1 &* W { (d + b).update(repeating: 0, count: q1 &* W &- b) }
                    zeroEdges(d, rows: q0, q1, ki: ki, kj: kj)
                }
            }
        }
    }

    /// Zeroes the entries of one column row (`d` indexed by `q·W + w`) that read outside
    /// their image: rows `h` with `h + ki − p ∉ 0..<H` and columns `w + kj − p ∉ 0..<W`.
    /// - Complexity: O(`p·W` per image + `p·(q1 − q0)`).
    @inline(__always)
    func zeroEdges(_ d: UnsafeMutablePointer<Float>, rows q0: Int, _ q1: Int, ki: Int, kj: Int) {
        let p = kernel / 2, H = height, W = width
        let (hlo, hhi) = rows(ki)
        if hlo > 0 || hhi < H {
            for n in (q0 / H)...((q1 &- 1) / H) {
                let h0 = max(0, q0 &- n &* H), h1 = min(H, q1 &- n &* H), base = d + n &* H &* W
                if hlo > h0 { (base + h0 &* W).update(repeating: 0, count: (min(hlo, h1) &- h0) &* W) }
                if hhi < h1 { let r = max(hhi, h0); (base + r &* W).update(repeating: 0, count: (h1 &- r) &* W) }
            }
        }
        let off = kj &- p
        let wlo = max(0, -off), whi = max(wlo, W &- max(0, off))
        var w = 0
        while w < W {
            if w == wlo { w = whi; continue }
            var j = q0 &* W &+ w
            let end = q1 &* W
            while j < end { d[j] = 0; j &+= W }
            w &+= 1
        }
    }
}
