import AFG
import Linalg

/// Sums a Float buffer elementwise across the processes of a job, in place, the same bits
/// on every process (the Float form of `SumAcrossRanks`).
public typealias SumFloatsAcrossRanks = (inout [Float]) -> Void

/// Where this process's training rows sit in a data set split across the processes of a
/// job (MPI ranks), for synchronous data-parallel SGD (`Trainer.share`).
///
/// Every rank draws the same epoch order over the *global* rows (the samplers run on
/// `globalLabels`, with the same seeds as one process), and at each step trains on the
/// entries of the global mini-batch it holds: its contiguous range of real rows
/// (`firstRow ..< firstRow + localRows`) and its contiguous range of the epoch's generated
/// rows (`FeatureGenerator.generateBlocks`, the per-row streams of the one-process epoch).
/// The weight and bias gradients of the step are summed across ranks (`sumFloats`) before the
/// one momentum update every rank applies, so the iterates are one process's up to the
/// order of the sums. Normalisation is by the global batch size.
///
/// In one process there is no share (`Trainer.share == nil`) and nothing of this runs.
public struct RowShare {
    /// This rank and the number of ranks.
    public var rank: Int, size: Int
    /// The labels of every row of the data set, in global order (the same on every rank).
    public var globalLabels: [Int32]
    /// The global index of this rank's first real row.
    public var firstRow: Int
    /// This rank's real rows (`firstRow ..< firstRow + localRows`).
    public var localRows: Int
    /// Every rank's transformed rows in global order (`N × D`), for the generator of
    /// `glag` / `tailcalib` (it needs the seed rows of every tail class); nil for the
    /// other methods.
    public var allFeatures: Matrix<Float>?
    /// Sums a buffer across ranks, the same bits on every rank, in the same call order.
    public var sum: SumAcrossRanks
    /// The same for Float buffers: the per-step gradient (`C·(D+1)` floats, half the bytes
    /// of Doubles; a sum of a few Float partials loses nothing a Float gemm has not).
    public var sumFloats: SumFloatsAcrossRanks

    public init(rank: Int, size: Int, globalLabels: [Int32], firstRow: Int, localRows: Int,
                allFeatures: Matrix<Float>? = nil, sum: @escaping SumAcrossRanks,
                sumFloats: @escaping SumFloatsAcrossRanks) {
        precondition(size > 0 && (0..<size).contains(rank), "RowShare: rank \(rank) of \(size)")
        precondition(firstRow >= 0 && localRows >= 0 && firstRow + localRows <= globalLabels.count,
                     "RowShare: rows \(firstRow)..<\(firstRow + localRows) of \(globalLabels.count)")
        precondition(allFeatures.map { $0.rows == globalLabels.count } ?? true, "RowShare: all features rows")
        self.rank = rank; self.size = size; self.globalLabels = globalLabels
        self.firstRow = firstRow; self.localRows = localRows; self.allFeatures = allFeatures
        self.sum = sum; self.sumFloats = sumFloats
    }

    /// `N`, the global row count.
    public var globalCount: Int { globalLabels.count }

    /// Maps a global epoch order (real rows `0..<N`, generated rows `N + g`) to this rank's
    /// `TrainingRows` indices: real row `i` to `i − firstRow`, generated row `g` in
    /// `generated` to `localRows + g − generated.lowerBound`, and every other entry (another
    /// rank's row) to −1, which `SGDEngine` counts in the step's batch but does not train on.
    /// O(order.count).
    public func localOrder(_ order: [Int], generated: Range<Int> = 0..<0) -> [Int] {
        let n = globalCount, lo = firstRow, hi = firstRow + localRows
        return order.map { i in
            if i < n { return (lo..<hi).contains(i) ? i - lo : -1 }
            let g = i - n
            return generated.contains(g) ? localRows + g - generated.lowerBound : -1
        }
    }

    /// This rank's generated rows of an epoch: the rows of its contiguous range of the
    /// generator's internal blocks (`rowRange` over `blockCount`), clipped to `G`.
    public func generatedRange(blockCount: Int, blockRows: Int, generatedRows: Int) -> (blocks: Range<Int>, rows: Range<Int>) {
        let b = (rank * blockCount / size)..<((rank + 1) * blockCount / size)
        return (b, min(b.lowerBound * blockRows, generatedRows)..<min(b.upperBound * blockRows, generatedRows))
    }
}
