import CMPI
import Linalg
import Foundation

/// The processes of one job: `size` ranks numbered `0..<size`, and the collectives
/// `afg` needs over them (sum, broadcast, gather of Double and Float buffers; a clean
/// abort).
///
/// `Ranks.single` is one process: rank 0 of 1, every collective the identity, and MPI is
/// never touched (no `MPI_Init`, no runtime needed). `Ranks.start()` initialises MPI only
/// when an MPI launcher started the process (`Launch.isMPI`). Every MPI call goes
/// through `MPICalls` (`MPI.swift`), the one file that speaks to the C library.
///
/// Collectives must be called by every rank in the same order (MPI's rule); they are
/// called from one thread only (MPI is initialised `MPI_THREAD_FUNNELED`).
///
/// Determinism: `sum` is a reduce to rank 0 followed by a broadcast, so every rank holds
/// the very same bits (an `MPI_Allreduce` may round differently on different ranks), and
/// for a fixed rank count the reduction order is fixed: same inputs, same bytes.
public final class Ranks: @unchecked Sendable {
    /// This process's rank, in `0..<size`.
    public let rank: Int
    /// The number of processes of the job.
    public let size: Int
    /// Whether MPI was initialised (false for `single`).
    public let usesMPI: Bool
    private var finished = false

    init(rank: Int, size: Int, usesMPI: Bool) {
        self.rank = rank; self.size = size; self.usesMPI = usesMPI
    }

    /// One process, no MPI: every collective is the identity.
    public static let single = Ranks(rank: 0, size: 1, usesMPI: false)

    /// Rank 0, the rank that writes the job's files and prints its report.
    public var isRoot: Bool { rank == 0 }

    /// `MPI_Init_thread` (funneled) when an MPI launcher started this process, else `single`.
    /// - Throws: `DistributedError` when MPI cannot be initialised.
    public static func start(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Ranks {
        guard Launch.isMPI(environment) else { return .single }
        let (rank, size) = try MPICalls.initialize()
        return Ranks(rank: rank, size: size, usesMPI: true)
    }

    /// `MPI_Finalize` (once; nothing for `single`). Call after the last collective.
    public func finish() {
        guard usesMPI, !finished else { return }
        finished = true
        MPICalls.finalize()
    }

    /// Prints `message` as one line on stderr (`Error: rank R: …` under MPI), then ends
    /// the whole job: `MPI_Abort` (every rank is killed by the launcher) or, in one process,
    /// `exit(code)`.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        let line = usesMPI ? "Error: rank \(rank): \(message)\n" : "Error: \(message)\n"
        FileHandle.standardError.write(line.data(using: .utf8)!)
        guard usesMPI else { exit(code) }
        MPICalls.abort(code: code)
    }

    // MARK: - Collectives

    /// `x ← Σ_ranks x`, elementwise; every rank ends with the same bits.
    /// - Precondition: every rank passes the same count.
    /// - Complexity: a reduce plus a broadcast of `x.count` doubles (≈ 2·8·count bytes
    ///   per rank on a tree, `log₂ size` steps each).
    public func sum(_ x: inout [Double]) {
        guard usesMPI, size > 1, !x.isEmpty else { return }
        MPICalls.reduceSum(&x, root: 0, isRoot: isRoot)
        MPICalls.broadcast(&x, root: 0)
    }

    /// `x ← Σ_ranks x` on rank 0 only (a reduce: half the traffic of `sum`); the other
    /// ranks' `x` is left unspecified. For results only rank 0 uses (what it writes).
    public func sumToRoot(_ x: inout [Double]) {
        guard usesMPI, size > 1, !x.isEmpty else { return }
        MPICalls.reduceSum(&x, root: 0, isRoot: isRoot)
    }

    /// `x ← Σ_ranks x` for Float buffers (accumulated in Float by MPI: prefer Double).
    public func sum(_ x: inout [Float]) {
        guard usesMPI, size > 1, !x.isEmpty else { return }
        MPICalls.reduceSum(&x, root: 0, isRoot: isRoot)
        MPICalls.broadcast(&x, root: 0)
    }

    /// Copies `root`'s `x` to every rank. Precondition: every rank passes the same count.
    public func broadcast(_ x: inout [Double], from root: Int = 0) {
        guard usesMPI, size > 1, !x.isEmpty else { return }
        MPICalls.broadcast(&x, root: root)
    }

    /// Copies `root`'s `x` to every rank. Precondition: every rank passes the same count.
    public func broadcast(_ x: inout [Float], from root: Int = 0) {
        guard usesMPI, size > 1, !x.isEmpty else { return }
        MPICalls.broadcast(&x, root: root)
    }

    /// The buffers of every rank, concatenated in rank order, on `root` (nil elsewhere).
    /// Counts may differ between ranks.
    /// - Throws: `DistributedError` when the total exceeds MPI's 32-bit counts.
    public func gather(_ x: [Double], to root: Int = 0) throws -> [Double]? {
        guard usesMPI, size > 1 else { return x }
        return try MPICalls.gather(x, root: root, all: false, rank: rank, size: size)
    }

    /// Float version of `gather(_:to:)`.
    public func gather(_ x: [Float], to root: Int = 0) throws -> [Float]? {
        guard usesMPI, size > 1 else { return x }
        return try MPICalls.gather(x, root: root, all: false, rank: rank, size: size)
    }

    /// The buffers of every rank, concatenated in rank order, on every rank.
    /// - Complexity: every rank receives the total: memory `Σ count` on each.
    public func allGather(_ x: [Double]) throws -> [Double] {
        guard usesMPI, size > 1 else { return x }
        return try MPICalls.gather(x, root: 0, all: true, rank: rank, size: size)!
    }

    /// Float version of `allGather(_:)`.
    public func allGather(_ x: [Float]) throws -> [Float] {
        guard usesMPI, size > 1 else { return x }
        return try MPICalls.gather(x, root: 0, all: true, rank: rank, size: size)!
    }

    /// `s ← Σ_ranks s` in double-double: a reduce to rank 0 with a non-commutative
    /// double-double addition (MPI applies it in rank order), then a broadcast, so every
    /// rank holds the same bits, and the rounded sums are those of one process adding the
    /// same terms (`CompensatedSum`). Every rank passes the same count.
    /// - Complexity: a reduce plus a broadcast of `2·count` doubles (twice `sum`'s bytes).
    public func combine(_ s: inout CompensatedSum) {
        guard usesMPI, size > 1 else { return }
        let n = s.count
        var pairs = [Double](repeating: 0, count: 2 * n)
        for i in 0..<n { pairs[2 * i] = s.hi[i]; pairs[2 * i + 1] = s.lo[i] }
        MPICalls.reducePairs(&pairs, root: 0, isRoot: isRoot)
        MPICalls.broadcast(&pairs, root: 0)
        for i in 0..<n { s.hi[i] = pairs[2 * i]; s.lo[i] = pairs[2 * i + 1] }
    }

    /// Runs `body` on every rank, then agrees on the outcome: when any rank threw, the
    /// lowest such rank prints its error (one line naming the rank) and aborts the job,
    /// so a fault that several ranks meet at once (a missing file) prints once. Every rank
    /// must call it at the same point.
    public func agree<T>(_ body: () throws -> T) -> T {
        var result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        var failed = [Double](repeating: 0, count: size)
        if case .failure = result { failed[rank] = 1 }
        sum(&failed)
        guard let first = failed.firstIndex(where: { $0 != 0 }) else {
            if case .success(let v) = result { return v }
            preconditionFailure("agree: a failure no rank reported")
        }
        if first == rank, case .failure(let e) = result { abort("\(e)") }
        // Another rank prints and aborts; wait for the launcher to end this one.
        MPICalls.barrier()
        abort("rank \(first) failed")
    }
}

/// How the process was started.
public enum Launch {
    /// True when an MPI launcher started this process: `mpirun` / `mpiexec` (Open MPI sets
    /// `OMPI_COMM_WORLD_SIZE`), or Slurm's `srun` with PMIx or PMI-2 (`PMIX_RANK`, `PMI_RANK`).
    public static func isMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains { environment[$0] != nil }
    }
}

/// An MPI call that failed, with MPI's own text: `MPI_Init_thread: <reason>`.
public struct DistributedError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Rows `0..<n` split into `size` contiguous ranges as evenly as possible: rank `r` holds
/// `[r·n/size, (r+1)·n/size)`. O(1).
public func rowRange(of rank: Int, size: Int, rows n: Int) -> Range<Int> {
    precondition(size > 0 && rank >= 0 && rank < size && n >= 0, "rowRange: rank \(rank) of \(size), \(n) rows")
    return (rank * n / size)..<((rank + 1) * n / size)
}
