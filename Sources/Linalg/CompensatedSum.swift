/// A vector of running sums kept in double-double arithmetic: entry `i` is `hi[i] + lo[i]`,
/// about 106 significant bits, updated with Knuth's error-free TwoSum.
///
/// Why: a sum split into parts (the row blocks of one process, or the blocks of each MPI
/// rank and then the ranks) is rounded differently for each split in plain Double. In
/// double-double every grouping of the same terms is accurate to about `n·2⁻¹⁰⁶·Σ|terms|`,
/// so `rounded()` is the correctly rounded exact sum, the same Double for every split,
/// unless the exact sum lies within that distance of a rounding boundary. The solvers that
/// must take the same steps in one process and under MPI accumulate in this type
/// (`LogisticRegression`).
///
/// No fast-math: Swift does not reassociate floating-point expressions, which TwoSum needs.
public struct CompensatedSum: Sendable, Equatable {
    /// The leading parts (`hi[i] == hi[i] + lo[i]` in Double after every update).
    public var hi: [Double]
    /// The trailing parts.
    public var lo: [Double]

    /// `count` zero sums.
    public init(count: Int) {
        hi = [Double](repeating: 0, count: count)
        lo = [Double](repeating: 0, count: count)
    }

    /// Sums given by their parts (`hi.count == lo.count`), e.g. another rank's.
    public init(hi: [Double], lo: [Double]) {
        precondition(hi.count == lo.count, "CompensatedSum: \(hi.count) leading and \(lo.count) trailing parts")
        self.hi = hi; self.lo = lo
    }

    public var count: Int { hi.count }

    /// `sum[i] += value`. O(1), about 10 flops.
    @inlinable @inline(__always)
    public mutating func add(_ value: Double, at i: Int) {
        CompensatedSum.add(value, to: &hi[i], &lo[i])
    }

    /// `sum[offset + k] += values[k]` for every `k`. O(values.count).
    @inlinable
    public mutating func add<T: BinaryFloatingPoint>(_ values: UnsafeBufferPointer<T>, at offset: Int = 0) {
        precondition(offset >= 0 && offset + values.count <= count, "CompensatedSum: \(values.count) values at \(offset) of \(count)")
        hi.withUnsafeMutableBufferPointer { h in
            lo.withUnsafeMutableBufferPointer { l in
                for k in 0..<values.count { CompensatedSum.add(Double(values[k]), to: &h[offset + k], &l[offset + k]) }
            }
        }
    }

    /// `sum[i] += other[i]` for every `i`, in double-double. O(count).
    public mutating func add(_ other: CompensatedSum) {
        precondition(other.count == count, "CompensatedSum: adding \(other.count) sums to \(count)")
        add(hi: other.hi, lo: other.lo, at: 0)
    }

    /// `sum[offset + k] += hi[k] + lo[k]`, in double-double. O(hi.count).
    public mutating func add(hi h2: ArraySlice<Double>, lo l2: ArraySlice<Double>, at offset: Int) {
        precondition(h2.count == l2.count && offset + h2.count <= count, "CompensatedSum: parts do not fit")
        var i = offset
        for (a, b) in zip(h2, l2) {
            CompensatedSum.add(pair: (a, b), to: &hi[i], &lo[i])
            i += 1
        }
    }

    /// `sum[offset + k] += hi[k] + lo[k]` (arrays).
    public mutating func add(hi h2: [Double], lo l2: [Double], at offset: Int) {
        add(hi: h2[...], lo: l2[...], at: offset)
    }

    /// The sums rounded to Double.
    public func rounded() -> [Double] { zip(hi, lo).map { $0 + $1 } }

    /// `(hi, lo) += value`: the one update of a double-double sum by a Double. O(1).
    @inlinable @inline(__always)
    public static func add(_ value: Double, to hi: inout Double, _ lo: inout Double) {
        let (s, e) = twoSum(hi, value)
        (hi, lo) = fastTwoSum(s, e + lo)
    }

    /// `(hi, lo) += pair.0 + pair.1`: the one addition of two double-double sums (also the
    /// MPI reduction's, `Ranks.combine`). O(1).
    @inlinable @inline(__always)
    public static func add(pair: (Double, Double), to hi: inout Double, _ lo: inout Double) {
        let (s, e) = twoSum(hi, pair.0)
        (hi, lo) = fastTwoSum(s, e + lo + pair.1)
    }

    /// `(s, e)` with `s = fl(a + b)` and `s + e = a + b` exactly (Knuth).
    @inlinable @inline(__always)
    public static func twoSum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b
        let bb = s - a
        return (s, (a - (s - bb)) + (b - bb))
    }

    /// TwoSum for `|a| ≥ |b|` (or `a = 0`), as after `twoSum` (Dekker).
    @inlinable @inline(__always)
    public static func fastTwoSum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b
        return (s, b - (s - a))
    }
}

/// Combines every rank's `CompensatedSum` in rank order, in double-double, leaving every
/// rank the same bits (`Ranks.combine`); nil, or the identity, in one process.
public typealias CombineAcrossRanks = (inout CompensatedSum) -> Void
