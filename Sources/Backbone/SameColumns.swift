/// im2col for the stride-1 "same" convolutions (odd `k`, `padding = k/2`, so `Ho = H`,
/// `Wo = W`): all but two of a CIFAR ResNet's convolutions and all of the convnet's,
/// forward and (through the flipped kernel) backward to the input.
///
/// The batch's output rows `q = n·H + h` are cut into ranges `q0..<q1` small enough for
/// the column block to stay in the core's L2 cache between the gather and the `sgemm`
/// that reads it; a range may start or end inside an image.
///
/// For kernel offset `(ki, kj)` a column row is the input plane shifted by
/// `(ki − p)·W + (kj − p)` floats, so within one image the valid output rows form one
/// contiguous run: one `memcpy` per (column row, image), plus zeroed rows above/below
/// the image and `≤ 2p` zeroed entries per output row where the run wraps. The values
/// are those of the generic `Conv2d.im2col` loops.
///
/// Layout: `x` is `C × N × H × W`; `col` is `C·k² × (q1 − q0)·W`, row `(c·k + ki)·k + kj`,
/// column `(q − q0)·W + w`, holding `x[c, n, h + ki − p, w + kj − p]` (0 outside).
/// - Complexity: `C·k²·(q1 − q0)·W` stores.
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
        let k = kernel, p = kernel / 2, H = height, W = width, plane = H &* W, cols = (q1 &- q0) &* W
        let nFirst = q0 / H, nLast = (q1 &- 1) / H
        for c in 0..<channels {
            for ki in 0..<k {
                let (hlo, hhi) = rows(ki)
                for kj in 0..<k {
                    let off = kj &- p
                    let wlo = max(0, -off), whi = max(wlo, W &- max(0, off))
                    let rowBase = col + ((c &* k &+ ki) &* k &+ kj) &* cols
                    for n in nFirst...nLast {
                        // This image's rows h0..<h1 sit at column (n·H + h − q0)·W.
                        let h0 = max(0, q0 &- n &* H), h1 = min(H, q1 &- n &* H)
                        let dst = rowBase + (n &* H &+ h0 &- q0) &* W   // row h0
                        let v0 = max(h0, hlo), v1 = min(h1, hhi)
                        if v1 <= v0 || whi <= wlo {
                            dst.update(repeating: 0, count: (h1 &- h0) &* W)
                            continue
                        }
                        if v0 > h0 { dst.update(repeating: 0, count: (v0 &- h0) &* W) }
                        if v1 < h1 { (dst + (v1 &- h0) &* W).update(repeating: 0, count: (h1 &- v1) &* W) }
                        // One run over the valid rows: d[j] = s[j] for plane index j in [v0·W + wlo, (v1−1)·W + whi).
                        let d = dst - h0 &* W
                        let s = x + (c &* batch &+ n) &* plane + (ki &- p) &* W + off
                        let a = v0 &* W &+ wlo, b = (v1 &- 1) &* W &+ whi
                        (d + a).update(from: s + a, count: b &- a)
                        // The run wrapped across row ends: zero the columns that lie in the
                        // padding, one strided pass per column (a loop along a row would
                        // become a `memset` call per row).
                        var w = 0
                        while w < W {
                            if w == wlo { w = whi; continue }
                            var j = v0 &* W &+ w
                            let end = v1 &* W
                            while j < end { d[j] = 0; j &+= W }
                            w &+= 1
                        }
                    }
                }
            }
        }
    }
}
