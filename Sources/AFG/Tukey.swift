import Foundation
import Linalg

/// A value outside the domain of Tukey's ladder of powers.
public enum TukeyError: Error, Equatable, CustomStringConvertible {
    /// Negative entries with a fractional `λ` (`x^λ` undefined). `firstRow` counts from 0.
    case negativeInput(count: Int, firstRow: Int)
    /// Zero or negative entries with `λ ≤ 0` (`log 0` and `0^λ` are infinite).
    case nonPositiveInput(count: Int, firstRow: Int)
    /// NaN or infinite entries.
    case nonFiniteInput(count: Int, firstRow: Int)
    /// A NaN or infinite `λ` or shift.
    case nonFiniteParameter(String)

    public var description: String {
        switch self {
        case let .negativeInput(n, r):
            return "Tukey transform: \(n) negative feature value(s), first in row \(r); a fractional lambda needs non-negative features (post-ReLU), or pass a shift"
        case let .nonPositiveInput(n, r):
            return "Tukey transform: \(n) zero or negative feature value(s), first in row \(r); lambda <= 0 (log or negative power) needs positive features, or pass a shift"
        case let .nonFiniteParameter(what):
            return "Tukey: \(what) must be finite"
        case let .nonFiniteInput(n, r):
            return "Tukey transform: \(n) NaN or infinite feature value(s), first in row \(r)"
        }
    }
}

/// Tukey's ladder of powers (method.md step 1), element-wise:
/// `z̃ = (z + shift)^λ` for `λ ≠ 0`, `z̃ = log(z + shift)` for `λ = 0` (`shift` defaults to 0).
///
/// Domain rule: with a fractional `λ` every `z + shift` must be `≥ 0`; with `λ ≤ 0`
/// (log, negative powers) every `z + shift` must be `> 0`; integer `λ > 0` accepts any
/// real. Violations throw with their count and the first offending row, and leave the
/// input unchanged (the scan runs before any value is written).
public enum Tukey {
    public enum Settings {
        public static let lambda = Setting<Float>("tukey", "Tukey λ applied to every feature file (0 = log).", default: 0.5, .finite)
        public static let shift = Setting<Float>(
            "shift", "Add this before the Tukey transform (needed for negative features with a fractional λ).",
            default: nil, .finite)
    }

    /// Transforms `x` (`N × dim` values, row-major) in place.
    ///
    /// - Precondition: `dim > 0`, `x.count` a multiple of `dim` (programmer errors).
    /// - Throws: `TukeyError` (data errors), with the input untouched.
    /// - Complexity: O(N·D), two passes.
    public static func apply(_ x: inout [Float], dim: Int, lambda: Float, shift: Float? = nil) throws {
        precondition(dim > 0 && x.count % dim == 0, "Tukey.apply: \(x.count) values are not rows of \(dim)")
        guard lambda.isFinite else { throw TukeyError.nonFiniteParameter("λ (\(lambda))") }
        let s = shift ?? 0
        guard s.isFinite else { throw TukeyError.nonFiniteParameter("the shift (\(s))") }
        let isInteger = lambda == lambda.rounded()
        let needPositive = lambda <= 0
        let needNonNegative = !isInteger
        try x.withUnsafeMutableBufferPointer { p in
            let n = p.count
            // Scan first: report every problem of one kind with the first row it occurs in.
            // A vectorised pass decides whether every value is valid; only otherwise does the
            // counting scan below run.
            let lowest: Float = needPositive ? .leastNonzeroMagnitude : needNonNegative ? 0 : -.greatestFiniteMagnitude
            if allWithin(p, shift: s, lowest: lowest) { transform(p, lambda: lambda, shift: s); return }
            var bad = 0, firstBad = -1, nonFinite = 0, firstNonFinite = -1
            for i in 0..<n {
                let v = p[i] + s
                if !v.isFinite {
                    nonFinite += 1
                    if firstNonFinite < 0 { firstNonFinite = i / dim }
                } else if (needPositive && !(v > 0)) || (needNonNegative && v < 0) {
                    bad += 1
                    if firstBad < 0 { firstBad = i / dim }
                }
            }
            if nonFinite > 0 { throw TukeyError.nonFiniteInput(count: nonFinite, firstRow: firstNonFinite) }
            if bad > 0 {
                throw needPositive ? TukeyError.nonPositiveInput(count: bad, firstRow: firstBad)
                                   : TukeyError.negativeInput(count: bad, firstRow: firstBad)
            }
            transform(p, lambda: lambda, shift: s)
        }
    }

    /// Whether every `p[i] + shift` lies in `[lowest, greatestFiniteMagnitude]` (NaN never
    /// does), 16 values at a time. O(n).
    private static func allWithin(_ p: UnsafeMutableBufferPointer<Float>, shift s: Float, lowest: Float) -> Bool {
        guard let base = p.baseAddress else { return true }
        let n = p.count
        var ok = SIMDMask<SIMD16<Int32>>(repeating: true)
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) + SIMD16(repeating: s)
            ok = ok .& (v .>= SIMD16(repeating: lowest)) .& (v .<= SIMD16(repeating: .greatestFiniteMagnitude))
            i += 16
        }
        var tail = true
        while i < n { let v = base[i] + s; tail = tail && v >= lowest && v <= .greatestFiniteMagnitude; i += 1 }
        return tail && all(ok)
    }

    /// `p[i] ← (p[i] + shift)^λ` (log for λ = 0) on validated values. O(n).
    private static func transform(_ p: UnsafeMutableBufferPointer<Float>, lambda: Float, shift s: Float) {
        let n = p.count
        if lambda == 1 {
            if s != 0 { for i in 0..<n { p[i] += s } }
        } else if lambda == 0.5 {
            for i in 0..<n { p[i] = (p[i] + s).squareRoot() }
        } else if lambda == 0 {
            for i in 0..<n { p[i] = Float(Foundation.log(Double(p[i] + s))) }
        } else if lambda == 2 {
            for i in 0..<n { let v = p[i] + s; p[i] = v * v }
        } else {
            let l = Double(lambda)
            for i in 0..<n { p[i] = Float(Foundation.pow(Double(p[i] + s), l)) }
        }
    }

    /// Transforms the rows of `m` (`N × D`) in place. See `apply(_:dim:lambda:shift:)`.
    public static func apply(_ m: inout Matrix<Float>, lambda: Float, shift: Float? = nil) throws {
        if m.rows == 0 || m.cols == 0 { return }
        try apply(&m.data, dim: m.cols, lambda: lambda, shift: shift)
    }
}
