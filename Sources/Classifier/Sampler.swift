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
