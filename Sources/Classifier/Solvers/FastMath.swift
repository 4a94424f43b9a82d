import Foundation

/// Vectorised `exp` for the softmax kernels (the one hot non-BLAS loop of a training step).
///
/// Cephes `expf` scheme: `x = n·ln2 + r`, `|r| ≤ ln2/2`, a degree-5 minimax polynomial
/// for `exp(r)`, and `2ⁿ` assembled in the exponent bits. Relative error about 2 ulp over
/// `[-87, 88]`; inputs below −87.3 return about 1e-38 (not 0), above 88.7 are clamped.
/// Deterministic: the same input gives the same bits on every call and thread.
@usableFromInline
enum FastExp {
    @usableFromInline static let lo: Float = -87.33
    @usableFromInline static let hi: Float = 88.7

    /// `1.5·2²³`: adding it to a float of magnitude < 2²² rounds it to an integer (the FPU's
    /// round-to-nearest-even) and subtracting it gives that integer back, exactly.
    @usableFromInline static let roundingShift: Float = 12_582_912

    /// `v.rounded(.toNearestOrEven)` for `|v| < 2²²`, bit for bit, in two vector adds. The
    /// library rounding is not a vector instruction on the baseline x86-64 target (no
    /// SSE4.1): it compiles to 16 `rintf` calls, a third of the softmax's time.
    @inline(__always) @usableFromInline
    static func roundToNearestEven(_ v: SIMD16<Float>) -> SIMD16<Float> {
        (v + roundingShift) - roundingShift
    }

    /// The scalar `roundToNearestEven`, the same two adds.
    @inline(__always) @usableFromInline
    static func roundToNearestEven(_ v: Float) -> Float { (v + roundingShift) - roundingShift }

    @inline(__always) @usableFromInline
    static func exp16(_ xIn: SIMD16<Float>) -> SIMD16<Float> {
        // Clamp by compare-and-blend (the generic `clamped`/`pointwiseMin` are not inlined).
        var x = xIn.replacing(with: lo, where: xIn .< lo)
        x = x.replacing(with: hi, where: x .> hi)
        let n = roundToNearestEven(x * 1.44269504088896341)
        x = x - n * 0.693359375
        x = x + n * 2.12194440e-4
        let z = x * x
        var p = SIMD16<Float>(repeating: 1.9875691500e-4)
        p = p * x + 1.3981999507e-3
        p = p * x + 8.3334519073e-3
        p = p * x + 4.1665795894e-2
        p = p * x + 1.6666665459e-1
        p = p * x + 5.0000001201e-1
        p = p * z + x + 1
        // 2ⁿ without a float→int conversion: n + 127 + 1.5·2²³ is exact and holds n + 127
        // in its low mantissa bits; shifting left by 23 drops everything else.
        let biased = unsafeBitCast(n + 12_583_039, to: SIMD16<UInt32>.self) &<< 23
        return p * unsafeBitCast(biased, to: SIMD16<Float>.self)
    }

    @inline(__always) @usableFromInline
    static func exp1(_ xIn: Float) -> Float {
        if xIn.isNaN { return xIn }   // NaN in, NaN out (the trainer reports divergence); no trap below
        var x = min(max(xIn, lo), hi)
        let n = roundToNearestEven(x * 1.44269504088896341)
        x = x - n * 0.693359375
        x = x + n * 2.12194440e-4
        let z = x * x
        var p: Float = 1.9875691500e-4
        p = p * x + 1.3981999507e-3
        p = p * x + 8.3334519073e-3
        p = p * x + 4.1665795894e-2
        p = p * x + 1.6666665459e-1
        p = p * x + 5.0000001201e-1
        p = p * z + x + 1
        return p * Float(bitPattern: UInt32(truncatingIfNeeded: (Int32(n) &+ 127) &<< 23))
    }

    /// `out[j] = exp(scale·(a[j] (+ b[j])) − shift)` for `j < n`; returns `Σ out[j]`
    /// (summed in a fixed order). `b` may be nil. `out` may alias `a`.
    @inline(__always) @usableFromInline
    static func expShifted(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, scale: Float, shift: Float,
                           _ out: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var j = 0
        let ra = UnsafeRawPointer(a), ro = UnsafeMutableRawPointer(out)
        if let b = b {
            let rb = UnsafeRawPointer(b)
            while j + 16 <= n {
                let v = ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                    + rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                let e = exp16(v * scale - shift)
                ro.storeBytes(of: e, toByteOffset: j * 4, as: SIMD16<Float>.self)
                acc += e; j += 16
            }
        } else {
            while j + 16 <= n {
                let v = ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                let e = exp16(v * scale - shift)
                ro.storeBytes(of: e, toByteOffset: j * 4, as: SIMD16<Float>.self)
                acc += e; j += 16
            }
        }
        var s = acc.sum()
        while j < n {
            let e = exp1((a[j] + (b?[j] ?? 0)) * scale - shift)
            out[j] = e; s += e; j += 1
        }
        return s
    }

    /// `max_j scale·(a[j] (+ b[j]))` (16 lanes at a time; NaN-free input assumed).
    @inline(__always) @usableFromInline
    static func maxOf(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, scale: Float, _ n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: -.infinity)
        var j = 0
        let ra = UnsafeRawPointer(a)
        if let b = b {
            let rb = UnsafeRawPointer(b)
            while j + 16 <= n {
                let v = (ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
                         + rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)) * scale
                acc = acc.replacing(with: v, where: v .> acc); j += 16
            }
        } else {
            while j + 16 <= n {
                let v = ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self) * scale
                acc = acc.replacing(with: v, where: v .> acc); j += 16
            }
        }
        var m = acc.max()
        while j < n { m = max(m, (a[j] + (b?[j] ?? 0)) * scale); j += 1 }
        return m
    }

    /// `a[j] *= s` for `j < n`.
    @inline(__always) @usableFromInline
    static func scale(_ a: UnsafeMutablePointer<Float>, by s: Float, _ n: Int) {
        var j = 0
        let ra = UnsafeMutableRawPointer(a)
        while j + 16 <= n {
            ra.storeBytes(of: ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self) * s, toByteOffset: j * 4, as: SIMD16<Float>.self)
            j += 16
        }
        while j < n { a[j] *= s; j += 1 }
    }
}
