import Foundation
import Linalg

/// The shape of an activation batch in the backbone's internal **C × N × H × W** layout
/// (channel-major: every channel's values for the whole batch are contiguous).
///
/// Channel-major storage turns a convolution over the whole batch into one matrix
/// product `W (Cout × Cin·k·k) · col (Cin·k·k × N·Ho·Wo)` whose result is already the
/// next layer's input, and makes batch normalisation's per-channel sums contiguous.
/// Vector inputs (the `mlp`) and pooled features are `D × N × 1 × 1`.
public struct Shape: Equatable, Hashable, CustomStringConvertible, Sendable {
    public var c: Int, n: Int, h: Int, w: Int
    public init(c: Int, n: Int, h: Int, w: Int) { self.c = c; self.n = n; self.h = h; self.w = w }
    /// `h · w`.
    public var plane: Int { h * w }
    /// Values per channel over the batch, `n · h · w`.
    public var perChannel: Int { n * h * w }
    /// Total values, `c · n · h · w`.
    public var count: Int { c * n * h * w }
    public var description: String { "\(c)×\(n)×\(h)×\(w)" }
}

/// A heap block of `Float`s that only grows, so pointers into it stay valid for one
/// training step (forward, then backward) whatever the batch size of later steps.
/// Every layer owns its output and input-gradient blocks; nothing is allocated per step
/// once the largest batch has been seen.
public final class FloatBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(count: Int = 0) {
        capacity = max(count, 1)
        pointer = FloatBuffer.zeros(capacity)
    }
    deinit { releaseWorkingMemory(pointer) }

    /// Makes room for `count` values (contents are lost when it grows) and returns the pointer.
    @discardableResult
    public func ensure(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            releaseWorkingMemory(pointer)
            capacity = count
            pointer = FloatBuffer.zeros(count)
        }
        return pointer
    }

    /// `count` zeros in working memory (huge pages for large buffers).
    private static func zeros(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = allocateWorkingMemory(Float.self, count: count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// The first `count` values as an array (tests and set-up code).
    public func array(_ count: Int) -> [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// A learnable tensor: value, gradient (accumulated by `backward`, zeroed by the
/// optimiser), and whether weight decay applies.
public final class Parameter {
    /// The PyTorch `state_dict` leaf name within its module (`weight`, `bias`).
    public let name: String
    /// PyTorch shape (`[Cout, Cin, kh, kw]` for a convolution).
    public let shape: [Int]
    public let count: Int
    public let value: UnsafeMutablePointer<Float>
    public let grad: UnsafeMutablePointer<Float>

    public init(name: String, shape: [Int], initial: Float = 0) {
        self.name = name; self.shape = shape
        count = shape.reduce(1, *)
        value = .allocate(capacity: max(count, 1)); value.initialize(repeating: initial, count: max(count, 1))
        grad = .allocate(capacity: max(count, 1)); grad.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { value.deallocate(); grad.deallocate() }

    public var values: [Float] {
        get { Array(UnsafeBufferPointer(start: value, count: count)) }
        set { precondition(newValue.count == count, "Parameter \(name): \(newValue.count) values for \(shape)"); value.update(from: newValue, count: count) }
    }
    public var gradients: [Float] { Array(UnsafeBufferPointer(start: grad, count: count)) }
    public func zeroGrad() { grad.update(repeating: 0, count: count) }

    /// Kaiming-normal initialisation (`std = sqrt(2 / fanIn)`), as PyTorch's
    /// `kaiming_normal_` used by the CIFAR ResNets.
    func kaimingNormal<G: RandomNumberGenerator>(fanIn: Int, using rng: inout G) {
        let std = (2.0 / Double(max(fanIn, 1))).squareRoot()
        var i = 0
        while i < count {
            let u1 = rng.nextOpenUnitB(), u2 = rng.nextOpenUnitB()
            let r = (-2.0 * log(u1)).squareRoot()
            value[i] = Float(std * r * cos(2 * .pi * u2))
            if i + 1 < count { value[i + 1] = Float(std * r * sin(2 * .pi * u2)) }
            i += 2
        }
    }

    /// Uniform in `[-bound, bound]` (PyTorch's default `Linear` initialisation uses
    /// `bound = 1/sqrt(fanIn)`).
    func uniform<G: RandomNumberGenerator>(bound: Double, using rng: inout G) {
        for i in 0..<count { value[i] = Float((2 * rng.nextOpenUnitB() - 1) * bound) }
    }
}

extension RandomNumberGenerator {
    @inline(__always) mutating func nextOpenUnitB() -> Double {
        (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// A non-learned tensor of a module's state (batch-norm running statistics).
public final class StateTensor {
    public let name: String
    public let shape: [Int]
    public var values: [Float]
    public init(name: String, shape: [Int], initial: Float) {
        self.name = name; self.shape = shape
        values = [Float](repeating: initial, count: shape.reduce(1, *))
    }
}


// MARK: - Vectorised reductions (SIMD lanes reassociate the sums; blocks of 4096 values
// are flushed into Double, so the rounding error stays near Float epsilon per block).

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}
@inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// `Σ p[i]`. O(n).
func vsum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0, i = 0
    while i < n {
        let end = min(n, i + 4096)
        var acc = SIMD8<Float>(repeating: 0)
        while i + 8 <= end { acc += load8(p + i); i += 8 }
        var s = acc.sum()
        while i < end { s += p[i]; i += 1 }
        total += Double(s)
    }
    return total
}

/// `Σ (p[i] − c)²`. O(n).
func vsumSquares(_ p: UnsafePointer<Float>, _ n: Int, centre c: Float) -> Double {
    var total = 0.0, i = 0
    let cv = SIMD8<Float>(repeating: c)
    while i < n {
        let end = min(n, i + 4096)
        var acc = SIMD8<Float>(repeating: 0)
        while i + 8 <= end { let d = load8(p + i) - cv; acc += d * d; i += 8 }
        var s = acc.sum()
        while i < end { let d = p[i] - c; s += d * d; i += 1 }
        total += Double(s)
    }
    return total
}

/// `Σ a[i]·b[i]`. O(n).
func vdot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0, i = 0
    while i < n {
        let end = min(n, i + 4096)
        var acc = SIMD8<Float>(repeating: 0)
        while i + 8 <= end { acc += load8(a + i) * load8(b + i); i += 8 }
        var s = acc.sum()
        while i < end { s += a[i] * b[i]; i += 1 }
        total += Double(s)
    }
    return total
}
