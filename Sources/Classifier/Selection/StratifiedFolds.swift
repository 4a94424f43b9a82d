import AFG
import Foundation
import Linalg

/// Stratified K-fold assignment, as scikit-learn's `StratifiedKFold(shuffle=True)` intends:
/// every fold holds about `1/K` of each class. The rows of each class are shuffled (own
/// Fisher–Yates on `Xoshiro256(seed:, streams: [class])`, so the folds are the same on every
/// toolchain) and dealt to the folds in turn; the deal continues from class to class, so fold
/// sizes differ by at most one. A class with fewer than `K` rows is absent from some folds.
/// Repetition `r > 0` of the same seed shuffles each class on another stream: another
/// assignment of the same rows, for a repeated cross-validation.
public struct StratifiedFolds: Sendable, Equatable {
    /// The fold count of every cross-validated choice of the command line (scikit-learn's
    /// `cv=5`).
    public static let defaultCount = 5
    /// The assignments a repeated cross-validation averages over (`LogitAdjustedRegression`'s
    /// choice of `C` and `τ`): with one or two held-out rows per Few class, one split's
    /// scores move its choice from seed to seed (docs/RESULTS.md).
    public static let defaultRepetitions = 3

    /// `K`.
    public let count: Int
    /// The fold of each row (`N` values in `0..<K`).
    public let fold: [Int]

    /// - Precondition: `k ≥ 2`, labels in `0..<numClasses`, `repetition ≥ 0`.
    /// - Complexity: O(N).
    public init(labels: [Int32], numClasses: Int, folds k: Int, seed: UInt64, repetition: Int = 0) {
        precondition(repetition >= 0, "StratifiedFolds: negative repetition")
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
            var rng = repetition == 0 ? Xoshiro256(seed: seed, streams: [0x5F01D, UInt64(c)])
                : Xoshiro256(seed: seed, streams: [0x5F01D, UInt64(c), UInt64(repetition)])
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

    /// Repetitions `1..<repetitions` of the assignment of `init(labels:numClasses:folds:seed:)`
    /// (the further splits of a repeated cross-validation; empty for one). O(N) each.
    public static func repeated(labels: [Int32], numClasses: Int, folds k: Int, seed: UInt64,
                                repetitions: Int = StratifiedFolds.defaultRepetitions) -> [StratifiedFolds] {
        (1..<max(1, repetitions)).map { StratifiedFolds(labels: labels, numClasses: numClasses, folds: k, seed: seed, repetition: $0) }
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
