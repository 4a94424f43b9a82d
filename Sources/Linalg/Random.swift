/// Seeded randomness. Nothing in the project uses global or system randomness: every
/// stochastic function takes `inout some RandomNumberGenerator`, and the CLI's `--seed`
/// builds one of these.

/// xoshiro256** (Blackman & Vigna): fast, 256-bit state, passes BigCrush.
///
/// `init(seed:stream:)` derives independent streams from one seed through SplitMix64, so
/// work split into numbered pieces (class `c`, sample `i`, epoch `e`) can draw from
/// `stream` = the piece's number and get the same values whatever the batch size or
/// thread count.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    @inlinable
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = SplitMix64(state: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        // Mix the stream in twice so nearby (seed, stream) pairs do not collide.
        sm.state = sm.next() &+ stream &* 0x9E37_79B9_7F4A_7C15
        state = (sm.next(), sm.next(), sm.next(), sm.next())
        if state == (0, 0, 0, 0) { state.0 = 1 }
    }

    /// A stream keyed by several numbers (e.g. `[epoch, class, sample]`). Inlinable, so a
    /// literal key list at the call site (the sampler's one per generated row) need not be
    /// allocated.
    @inlinable
    public init(seed: UInt64, streams: [UInt64]) {
        var key: UInt64 = 0x243F_6A88_85A3_08D3
        for s in streams {
            var sm = SplitMix64(state: key ^ s)
            key = sm.next()
        }
        self.init(seed: seed, stream: key)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public static func == (a: Xoshiro256, b: Xoshiro256) -> Bool { a.state == b.state }
}

/// SplitMix64, used to seed `Xoshiro256`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RandomNumberGenerator {
    /// A uniform `Double` in the open interval (0, 1) (53 random bits, never 0).
    @inline(__always)
    public mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// Fills `buffer` with independent standard normal values (Box–Muller on 53-bit
/// uniforms), deterministically from `rng`. O(n).
public func fillStandardNormal<T: BinaryFloatingPoint, G: RandomNumberGenerator>(
    _ buffer: UnsafeMutableBufferPointer<T>, using rng: inout G
) {
    var i = 0
    let n = buffer.count
    while i < n {
        let u1 = rng.nextOpenUnit(), u2 = rng.nextOpenUnit()
        let r = (-2.0 * _log(u1)).squareRoot()
        let theta = 2.0 * Double.pi * u2
        buffer[i] = T(r * _cos(theta))
        if i + 1 < n { buffer[i + 1] = T(r * _sin(theta)) }
        i += 2
    }
}

/// Standard normal values as a new array.
public func standardNormals<T: BinaryFloatingPoint, G: RandomNumberGenerator>(_ n: Int, using rng: inout G) -> [T] {
    var out = [T](repeating: 0, count: n)
    out.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
    return out
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { Glibc.sin(x) }
#else
import Foundation
@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { Foundation.sin(x) }
#endif
