import Linalg

/// How an epoch orders the rows it trains on. Each returns row indices for one epoch.
///
/// All are deterministic in the generator passed in; trainers key that generator by
/// `(seed, phase, epoch)` so an epoch's order does not depend on earlier epochs (which is
/// what makes `--resume` give the same classifier as an uninterrupted run).
public enum Sampler {
    /// Instance-balanced: a uniform random permutation of `0..<count` (Fisher–Yates). O(count).
    public static func instanceBalanced<G: RandomNumberGenerator>(count: Int, using rng: inout G) -> [Int] {
        var order = Array(0..<count)
        shuffle(&order, using: &rng)
        return order
    }

    /// Class-balanced (Kang et al.): `count` draws, each picks a class uniformly among the
    /// classes that have rows, then one of its rows uniformly (both with replacement).
    /// - Precondition: at least one label. O(count + N).
    public static func classBalanced<G: RandomNumberGenerator>(labels: [Int32], numClasses: Int, count: Int,
                                                               using rng: inout G) -> [Int] {
        precondition(!labels.isEmpty, "Sampler.classBalanced: no rows")
        var members = [[Int]](repeating: [], count: numClasses)
        for (i, y) in labels.enumerated() { members[Int(y)].append(i) }
        let present = members.filter { !$0.isEmpty }
        var order = [Int](repeating: 0, count: count)
        for k in 0..<count {
            let m = present[Int(rng.next(upperBound: UInt64(present.count)))]
            order[k] = m[Int(rng.next(upperBound: UInt64(m.count)))]
        }
        return order
    }

    /// The GLAG epoch: the `real` rows and `generated` rows (indices `real..<real+generated`)
    /// shuffled together. O(real + generated).
    public static func mixed<G: RandomNumberGenerator>(real: Int, generated: Int, using rng: inout G) -> [Int] {
        instanceBalanced(count: real + generated, using: &rng)
    }

    /// `q = ⌈epochRows / numClasses⌉`, the rows per class of a budget epoch.
    /// - Precondition: both positive.
    public static func budgetPerClass(epochRows: Int, numClasses: Int) -> Int {
        precondition(epochRows > 0 && numClasses > 0, "budgetPerClass: N=\(epochRows), C=\(numClasses)")
        return (epochRows + numClasses - 1) / numClasses
    }

    /// One epoch of the class-balanced budget (`TrainConfig.epochRows`).
    ///
    /// With `q = ⌈epochRows / C⌉`: a class with `n_c ≥ q` contributes `q` of its rows,
    /// drawn without replacement (partial Fisher–Yates over its rows in index order, class
    /// by class, from `rng`); a class with `0 < n_c < q` contributes all its rows and
    /// `q − n_c` generated rows; an empty class nothing. The real rows and the generated
    /// slots are then shuffled together, and the slots are numbered in order of appearance:
    /// entry `N + g` (`N = labels.count`) is the `g`-th row of the generated stream, so
    /// `g` runs 0, 1, 2, … along the order and a streaming consumer never looks back.
    ///
    /// - Returns: the order (`Σ_c min(n_c, q) + generated` entries) and the number of
    ///   generated slots, `Σ_{0<n_c<q} (q − n_c)` (what `FeatureGenerator` with `M = q` makes).
    /// - Complexity: O(N + q·C) time and memory.
    public static func budget<G: RandomNumberGenerator>(labels: [Int32], numClasses C: Int, epochRows: Int,
                                                        using rng: inout G) -> (order: [Int], generatedRows: Int) {
        let q = budgetPerClass(epochRows: epochRows, numClasses: C)
        let n = labels.count
        var counts = [Int](repeating: 0, count: C)
        for y in labels { counts[Int(y)] += 1 }
        var start = [Int](repeating: 0, count: C + 1)
        for c in 0..<C { start[c + 1] = start[c] + counts[c] }
        var members = [Int](repeating: 0, count: n)
        var fill = start
        for (i, y) in labels.enumerated() { members[fill[Int(y)]] = i; fill[Int(y)] += 1 }
        var generated = 0
        var order: [Int] = []
        order.reserveCapacity((0..<C).reduce(0) { $0 + (counts[$1] > 0 ? max(q, counts[$1]) : 0) })
        for c in 0..<C where counts[c] > 0 {
            let nc = counts[c], s = start[c]
            if nc <= q {
                order.append(contentsOf: members[s..<(s + nc)])
                generated += q - nc
            } else {
                for i in 0..<q {
                    let j = i + Int(rng.next(upperBound: UInt64(nc - i)))
                    members.swapAt(s + i, s + j)
                    order.append(members[s + i])
                }
            }
        }
        order.append(contentsOf: repeatElement(-1, count: generated))
        shuffle(&order, using: &rng)
        var g = 0
        for i in order.indices where order[i] < 0 { order[i] = n + g; g += 1 }
        return (order, generated)
    }

    /// In-place Fisher–Yates with `next(upperBound:)` (unbiased), so the permutation
    /// depends only on the generator's stream.
    public static func shuffle<G: RandomNumberGenerator>(_ a: inout [Int], using rng: inout G) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(rng.next(upperBound: UInt64(i + 1)))
            a.swapAt(i, j)
        }
    }
}
