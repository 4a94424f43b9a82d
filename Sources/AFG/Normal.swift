import Foundation
import Linalg

/// xoshiro256** with the state of a `Linalg.Xoshiro256` (the same sequence), kept in this
/// module so the per-variate `next()` inlines into the sampler's loops.
struct InlineXoshiro {
    var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    @inline(__always) init(_ g: Xoshiro256) { (s0, s1, s2, s3) = g.state }

    @inline(__always) init(seed: UInt64, streams: [UInt64]) { self.init(Xoshiro256(seed: seed, streams: streams)) }

    @inline(__always) var generator: Xoshiro256 {
        var g = Xoshiro256(seed: 0)
        g.state = (s0, s1, s2, s3)
        return g
    }

    @inline(__always) mutating func next() -> UInt64 {
        let x = s1 &* 5
        let result = ((x << 7) | (x >> 57)) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform in (0, 1), as `Xoshiro256.nextOpenUnit`.
    @inline(__always) mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// Standard normal variates by the ziggurat method (Marsaglia & Tsang 2000, with
/// Doornik's 2005 independent bits for the block index and the coordinate), in single
/// precision: 256 blocks, and each 64-bit draw split into two 32-bit words, one variate
/// each (8 bits of block index, a 24-bit signed coordinate: a `Float` has 24 bits of
/// significand, so no output value is coarser than a Double coordinate would give).
/// Exact (rejection sampling, not an approximation): about 98.5 % of the words are
/// accepted by one table comparison; the rest go through the base strip's tail or the
/// wedge test, in Double. The sampler draws ~1000 normals per generated row, which is why
/// each one is worth two per draw.
///
/// The tables are immutable and computed once.
final class Ziggurat: @unchecked Sendable {
    static let shared = Ziggurat()

    static let blocks = 256
    static let r = 3.6541528853610088    // start of the right tail
    static let v = 4.92867323399e-3      // area of each block

    /// `x[0] = V/f(R)`, `x[1] = R`, …, `x[256] = 0` (block edges).
    let x: UnsafeMutablePointer<Double>
    /// `f[i] = exp(−x[i]²/2)`, the (unnormalised) density at the block edges.
    let f: UnsafeMutablePointer<Double>
    /// `x[i]·2⁻²³`: a coordinate `u` (an integer in `[−2²³, 2²³)`) maps to `u·xScaled[i]`.
    let xScaled: UnsafeMutablePointer<Float>
    /// `⌈2²³·x[i+1]/x[i]⌉`: a coordinate with `|u| < limit[i]` lies inside the curve.
    let limit: UnsafeMutablePointer<Int32>

    private init() {
        let c = Ziggurat.blocks
        x = .allocate(capacity: c + 1)
        f = .allocate(capacity: c + 1)
        xScaled = .allocate(capacity: c)
        limit = .allocate(capacity: c)
        var f = Foundation.exp(-0.5 * Ziggurat.r * Ziggurat.r)
        x[0] = Ziggurat.v / f
        x[1] = Ziggurat.r
        x[c] = 0
        for i in 2..<c {
            x[i] = (-2 * Foundation.log(Ziggurat.v / x[i - 1] + f)).squareRoot()
            f = Foundation.exp(-0.5 * x[i] * x[i])
        }
        for i in 0...c { self.f[i] = Foundation.exp(-0.5 * x[i] * x[i]) }
        for i in 0..<c {
            xScaled[i] = Float(x[i] * 0x1.0p-23)
            limit[i] = Int32((x[i + 1] / x[i] * 0x1.0p23).rounded(.up))
        }
    }

    deinit { x.deallocate(); f.deallocate(); xScaled.deallocate(); limit.deallocate() }

    /// The block index and the signed coordinate of one 32-bit word.
    @inline(__always)
    static func split(_ word: UInt32) -> (block: Int, u: Int32) { (Int(word & 0xFF), Int32(bitPattern: word) >> 8) }

    /// The rare path (≈1.5% of words): the base strip's tail or a wedge test, for block `i`
    /// and coordinate `u`; nil when the point is rejected. Further uniforms come from
    /// `rng`, one whole 64-bit draw each.
    @inline(never)
    func slow(_ i: Int, _ u: Int32, _ rng: inout InlineXoshiro) -> Float? {
        if i == 0 {
            // Marsaglia's tail algorithm beyond R.
            var a: Double, b: Double
            repeat {
                a = Foundation.log(rng.nextOpenUnit()) / Ziggurat.r
                b = Foundation.log(rng.nextOpenUnit())
            } while -2 * b < a * a
            return Float(u < 0 ? a - Ziggurat.r : Ziggurat.r - a)
        }
        // Wedge: accept x when a uniform height between f(x[i]) and f(x[i+1]) lies under f(x).
        let xv = Double(u) * 0x1.0p-23 * x[i]
        let h = f[i + 1] + rng.nextOpenUnit() * (f[i] - f[i + 1])
        return wedgeAccepts(i, xv, h) ? Float(xv) : nil
    }

    /// `h < exp(−xv²/2)`, exactly as computed, with `exp` called only when `h` is close:
    /// in `t = xv²`, `exp(−t/2)` is convex, so on the block `t ∈ [x[i+1]², x[i]²]` it lies
    /// above both end tangents and below the chord. The margin (10⁻⁹ relative) is far
    /// wider than the rounding of `exp` and of the bounds (about 10⁻¹⁵), so the answer is
    /// the one the plain test gives, bit for bit.
    @inline(__always)
    private func wedgeAccepts(_ i: Int, _ xv: Double, _ h: Double) -> Bool {
        let t = xv * xv, t1 = x[i + 1] * x[i + 1], t2 = x[i] * x[i], f1 = f[i + 1], f2 = f[i]
        let below = max(f1 * (1 - 0.5 * (t - t1)), f2 * (1 - 0.5 * (t - t2)))
        if h < below * (1 - 1e-9) { return true }
        let chord = f1 + (t - t1) / (t2 - t1) * (f2 - f1)
        if h > chord * (1 + 1e-9) { return false }
        return h < Foundation.exp(-0.5 * xv * xv)
    }

    /// Writes `count` values `scale·N(0,1)` to `out`. O(count).
    @inline(__always)
    func fill(_ out: UnsafeMutablePointer<Float>, count: Int, scale: Float, _ rng: inout InlineXoshiro) {
        draw(count, &rng) { q, z in out[q] = scale * z }
    }

    /// Adds `count` values `scale·N(0,1)` to `out`. O(count).
    @inline(__always)
    func add(_ out: UnsafeMutablePointer<Float>, count: Int, scale: Float, _ rng: inout InlineXoshiro) {
        draw(count, &rng) { q, z in out[q] += scale * z }
    }

    /// Calls `body(q, z)` with `count` standard normal values in order: the low word of
    /// each draw, then its high word (unused when `count` is reached on the low one). The
    /// generator's state stays in local variables (registers) and only the rare path sees
    /// a copy, which keeps the fast path free of stores and reloads of the state.
    @inline(__always)
    private func draw(_ count: Int, _ rng: inout InlineXoshiro, _ body: (Int, Float) -> Void) {
        let xs = xScaled, lim = limit
        var g = rng, q = 0
        while q < count {
            let bits = g.next()
            for half in 0..<2 where q < count {
                let (i, u) = Ziggurat.split(UInt32(truncatingIfNeeded: bits >> (32 * half)))
                if abs(u) < lim[i] { body(q, Float(u) * xs[i]); q += 1; continue }
                var t = g
                let z = slow(i, u, &t)
                g = t
                if let z { body(q, z); q += 1 }
            }
        }
        rng = g
    }
}

/// `n` standard normal values from the ziggurat sampler the generator uses (for tests
/// and for callers who want the same variates). Deterministic in `rng`. O(n).
public func zigguratNormals(_ n: Int, using rng: inout Xoshiro256) -> [Float] {
    var out = [Float](repeating: 0, count: n)
    if n == 0 { return out }
    var fast = InlineXoshiro(rng)
    out.withUnsafeMutableBufferPointer { Ziggurat.shared.fill($0.baseAddress!, count: n, scale: 1, &fast) }
    rng = fast.generator
    return out
}
