extension Matrix {
    /// The rows at `indices`, in that order: a `indices.count × cols` matrix.
    /// - Precondition: every index in `0..<rows` (programmer error: traps).
    /// - Complexity: O(indices.count · cols), one bulk copy per row.
    public func gatheringRows(_ indices: [Int]) -> Matrix {
        var out = Matrix(rows: indices.count, cols: cols)
        let d = cols
        if d == 0 { return out }
        data.withUnsafeBufferPointer { src in
            out.data.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    precondition(i >= 0 && i < rows, "gatheringRows: row \(i) outside 0..<\(rows)")
                    (dst.baseAddress! + r * d).update(from: src.baseAddress! + i * d, count: d)
                }
            }
        }
        return out
    }

    /// `[self; below]`: this matrix's rows followed by `below`'s, `(rows + below.rows) × cols`.
    /// - Precondition: the same column count (programmer error: traps).
    /// - Complexity: O((rows + below.rows) · cols), two bulk copies.
    public func stacked(above below: Matrix) -> Matrix {
        precondition(below.cols == cols || below.rows == 0, "stacked: \(cols) columns above \(below.cols)")
        var out = Matrix(rows: rows + below.rows, cols: cols)
        let n = rows * cols, g = below.rows * cols
        out.data.withUnsafeMutableBufferPointer { dst in
            data.withUnsafeBufferPointer { if n > 0 { dst.baseAddress!.update(from: $0.baseAddress!, count: n) } }
            below.data.withUnsafeBufferPointer { if g > 0 { (dst.baseAddress! + n).update(from: $0.baseAddress!, count: g) } }
        }
        return out
    }
}
