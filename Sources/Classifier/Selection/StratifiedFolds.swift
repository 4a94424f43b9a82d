import AFG
import Foundation
import Linalg

/// Stratified K-fold assignment, as scikit-learn's `StratifiedKFold(shuffle=True)` intends:
/// every fold holds about `1/K` of each class. The rows of each class are shuffled (own
/// Fisher–Yates on `Xoshiro256(seed:, streams: [class])`, so the folds are the same on every
/// toolchain) and dealt to the folds in turn; the deal continues from class to class, so fold
/// sizes differ by at most one. A class with fewer than `K` rows is absent from some folds.
public struct StratifiedFolds: Sendable, Equatable {
    /// The fold count of every cross-validated choice of the command line (scikit-learn's
    /// `cv=5`).
    public static let defaultCount = 5

    /// `K`.
    public let count: Int
    /// The fold of each row (`N` values in `0..<K`).
    public let fold: [Int]

    /// - Precondition: `k ≥ 2`, labels in `0..<numClasses`.
    /// - Complexity: O(N).
    public init(labels: [Int32], numClasses: Int, folds k: Int, seed: UInt64) {
        precondition(k >= 2, "StratifiedFolds: need at least 2 folds")
        var byClass = [[Int]](repeating: [], count: numClasses)
        for (i, l) in labels.enumerated() {
            precondition(l >= 0 && Int(l) < numClasses, "StratifiedFolds: label \(l) outside 0..<\(numClasses)")
            byClass[Int(l)].append(i)
        }
        var fold = [Int](repeating: 0, count: labels.count)
        var next = 0
        for c in 0..<numClasses {
            var rows = byClass[c]
            var rng = Xoshiro256(seed: seed, streams: [0x5F01D, UInt64(c)])
            if rows.count > 1 {
                for i in stride(from: rows.count - 1, to: 0, by: -1) {
                    let j = Int(rng.next() % UInt64(i + 1))
                    rows.swapAt(i, j)
                }
            }
            for r in rows { fold[r] = next; next = (next + 1) % k }
        }
        count = k
        self.fold = fold
    }

    /// Given fold assignments: one rank's part of a global `StratifiedFolds` (rows spread
    /// over the processes of a job). Precondition: `k ≥ 2`, every value in `0..<k`.
    public init(count k: Int, fold: [Int]) {
        precondition(k >= 2 && fold.allSatisfy { (0..<k).contains($0) }, "StratifiedFolds: folds outside 0..<\(k)")
        count = k
        self.fold = fold
    }

    /// Rows held out in fold `f` (increasing). O(N).
    public func heldOut(_ f: Int) -> [Int] { fold.indices.filter { fold[$0] == f } }
    /// Rows trained on in fold `f` (increasing). O(N).
    public func training(_ f: Int) -> [Int] { fold.indices.filter { fold[$0] != f } }
}
