import Linalg

/// A linear classifier `g(z) = W z + b`: the stage-two model every trainer produces.
///
/// `weight` is `C × D` (row `c` is class `c`'s weight vector), row-major; `bias` has `C`
/// entries. A value type: trainers copy it in, update it, and return it.
public struct LinearModel: Equatable, Sendable {
    /// `C × D`, row-major.
    public var weight: Matrix<Float>
    /// `C` biases.
    public var bias: [Float]

    /// Wraps a weight matrix and bias. Traps when `bias.count != weight.rows` (programmer error).
    public init(weight: Matrix<Float>, bias: [Float]) {
        precondition(bias.count == weight.rows, "LinearModel: \(bias.count) biases for \(weight.rows) classes")
        self.weight = weight
        self.bias = bias
    }

    /// The model whose logits are `(1 − w)·a(z) + w·b(z)`: `(1 − w)·W_a + w·W_b`, likewise
    /// the biases (a logit average of two classifiers of the same shape, still linear).
    /// - Precondition: equal shapes. O(C·D).
    public static func blend(_ a: LinearModel, _ b: LinearModel, weight w: Double) -> LinearModel {
        precondition(a.weight.rows == b.weight.rows && a.weight.cols == b.weight.cols, "LinearModel.blend: shapes differ")
        if w == 0 { return a }
        if w == 1 { return b }
        let u = Float(1 - w), v = Float(w)
        return LinearModel(weight: Matrix(rows: a.weight.rows, cols: a.weight.cols,
                                          data: zip(a.weight.data, b.weight.data).map { u * $0 + v * $1 }),
                           bias: zip(a.bias, b.bias).map { u * $0 + v * $1 })
    }

    /// The two-view model whose logits are `w·t(T(x)) + (1 − w)·r(x)`: `t` reads the
    /// transformed rows `T(x)`, `r` the raw rows `x`, and the result reads the joined rows
    /// `[T(x) | x]` (`Matrix.horizontalJoin`): weight `[w·W_t | (1 − w)·W_r]`, bias
    /// `w·b_t + (1 − w)·b_r`. A classifier file stores the two halves as `weight` and
    /// `raw_weight` (docs/FORMAT.md).
    /// - Shapes: `t` is `C × D_t`, `r` is `C × D_r`; the result is `C × (D_t + D_r)`.
    /// - Precondition: equal class counts. O(C·(D_t + D_r)).
    public static func twoView(transformed t: LinearModel, raw r: LinearModel, weight w: Double) -> LinearModel {
        precondition(t.numClasses == r.numClasses, "LinearModel.twoView: \(t.numClasses) and \(r.numClasses) classes")
        let v = Float(w), u = Float(1 - w)
        var joined = Matrix.horizontalJoin(t.weight, r.weight)
        let a = t.dim, d = joined.cols
        for k in 0..<joined.rows {
            for j in 0..<d { joined.data[k * d + j] *= j < a ? v : u }
        }
        return LinearModel(weight: joined, bias: zip(t.bias, r.bias).map { v * $0 + u * $1 })
    }

    /// The two halves of a model read on `[T(x) | x]` (the inverse of `twoView`'s join):
    /// the first `transformedDim` columns and the rest, the bias staying with the first.
    /// O(C·D).
    public func splitViews(transformedDim a: Int) -> (transformed: LinearModel, raw: Matrix<Float>) {
        precondition(a >= 0 && a <= dim, "LinearModel.splitViews: \(a) columns of \(dim)")
        let c = numClasses, d = dim
        var t = Matrix<Float>(rows: c, cols: a), r = Matrix<Float>(rows: c, cols: d - a)
        for k in 0..<c {
            for j in 0..<a { t.data[k * a + j] = weight.data[k * d + j] }
            for j in a..<d { r.data[k * (d - a) + j - a] = weight.data[k * d + j] }
        }
        return (LinearModel(weight: t, bias: bias), r)
    }

    /// The zero model (every logit 0) for `numClasses` classes in `dim` dimensions.
    public init(numClasses: Int, dim: Int) {
        precondition(numClasses > 0 && dim >= 0, "LinearModel: bad shape \(numClasses)×\(dim)")
        self.weight = Matrix(rows: numClasses, cols: dim)
        self.bias = [Float](repeating: 0, count: numClasses)
    }

    /// `C`.
    public var numClasses: Int { weight.rows }
    /// `D`.
    public var dim: Int { weight.cols }

    /// Logits `X·Wᵀ + 1·bᵀ`.
    /// - Shapes: `x` is `N × D`; the result is `N × C`, row-major.
    /// - Complexity: `2·N·D·C` flops (one gemm).
    public func logits(_ x: Matrix<Float>) -> Matrix<Float> {
        precondition(x.cols == dim, "LinearModel.logits: features have \(x.cols) columns, model expects \(dim)")
        var out = Matrix<Float>(rows: x.rows, cols: numClasses)
        if x.rows == 0 { return out }
        let c = numClasses
        for i in 0..<x.rows { for j in 0..<c { out.data[i * c + j] = bias[j] } }
        BLAS.gemm(x, weight, transposeB: true, beta: 1, into: &out)
        return out
    }

    /// The arg-max class of each row (the lowest index on ties).
    /// - Shapes: `x` is `N × D`; returns `N` labels in `0..<C`.
    /// - Complexity: `2·N·D·C` flops. Rows are processed in blocks, so memory stays
    ///   `O(block·C)` for any `N`.
    public func predict(_ x: Matrix<Float>) -> [Int32] {
        precondition(x.cols == dim, "LinearModel.predict: features have \(x.cols) columns, model expects \(dim)")
        let n = x.rows, c = numClasses, d = dim
        var labels = [Int32](repeating: 0, count: n)
        let block = 4096
        var buf = [Float](repeating: 0, count: min(n, block) * c)
        var start = 0
        while start < n {
            let rows = min(block, n - start)
            for i in 0..<rows { for j in 0..<c { buf[i * c + j] = bias[j] } }
            if d > 0 { x.data.withUnsafeBufferPointer { px in
                weight.data.withUnsafeBufferPointer { pw in
                    buf.withUnsafeMutableBufferPointer { pb in
                        Float._gemm(false, true, rows, c, d, 1, px.baseAddress! + start * d, d,
                                    pw.baseAddress!, d, 1, pb.baseAddress!, c)
                    }
                }
            } }
            for i in 0..<rows {
                var best = 0
                var bestValue = buf[i * c]
                for j in 1..<max(c, 1) where buf[i * c + j] > bestValue { best = j; bestValue = buf[i * c + j] }
                labels[start + i] = Int32(best)
            }
            start += rows
        }
        return labels
    }

    /// Post-hoc logit adjustment (Menon et al.): the model whose logits are
    /// `f_c − τ·log π_c`, `π` the class frequencies of `classCounts` (`LossKind.offsets`:
    /// a class without rows is taken at `π = 1/(2N)`); only the bias moves. O(C).
    public func logitAdjusted(tau: Double, classCounts: [Int]) -> LinearModel {
        var out = self
        let o = LossKind.offsets(tau: tau, classCounts: classCounts)
        for c in 0..<numClasses { out.bias[c] -= o[c] }
        return out
    }
}
