import Dispatch
import Foundation

// The package's one parallel-for: every concurrent loop of the libraries, the CLI and the
// benchmarks goes through `parallelFor` (or `parallelRanges`, built on it), and this is the
// only file that calls `concurrentPerform`. Results never depend on the schedule: a body
// writes only its own item's outputs (or its thread's scratch), and any sum over items is
// taken afterwards, in item order, by the caller.

/// The processors this process may run on: the CPUs of its affinity mask (`Cpus_allowed`
/// of `/proc/self/status`), so that an MPI rank bound to one core (`mpirun --bind-to core`)
/// or a process under `taskset` runs one thread per core it owns; the active processor
/// count where the mask cannot be read.
public let availableProcessorCount: Int = {
    let all = ProcessInfo.processInfo.activeProcessorCount
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return all }
    let bits = line.dropFirst("Cpus_allowed:".count).reduce(0) { n, ch in
        n + (ch.hexDigitValue.map { $0.nonzeroBitCount } ?? 0)
    }
    return bits > 0 ? min(bits, max(all, 1)) : all
}()

/// The next item of one `parallelFor`, shared by its threads.
private final class NextItem: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    /// Returns the current item and advances past it.
    func take() -> Int { lock.lock(); defer { lock.unlock() }; let v = value; value += 1; return v }
}

/// Runs `body(item, thread)` once for every `item` in `0..<count`, on at most `threads`
/// threads at a time (default: `availableProcessorCount`). Each thread takes the next
/// item, in increasing order, when it finishes one, so a thread that starts late or is
/// preempted leaves the rest to the others instead of making them wait.
///
/// `thread` is in `0..<min(threads, count)`, and no two bodies that run at the same time
/// share it: it indexes per-thread scratch. Which thread runs which item is free, so a
/// body must write only its item's outputs (or its thread's scratch); the items are the
/// partition of the work, and they alone decide the bits. With one thread, or
/// `count ≤ 1`, the items run in order on the caller's thread (`thread` 0).
/// - Precondition: `threads ≥ 1`; `count ≤ 0` runs nothing.
/// - Complexity: the bodies, plus one lock round trip per item.
public func parallelFor(_ count: Int, threads: Int = availableProcessorCount, _ body: (_ item: Int, _ thread: Int) -> Void) {
    precondition(threads >= 1, "parallelFor: threads must be at least 1")
    let workers = min(threads, count)
    if workers <= 1 {
        for i in 0..<max(count, 0) { body(i, 0) }
        return
    }
    let next = NextItem()
    DispatchQueue.concurrentPerform(iterations: workers) { thread in
        while true {
            let item = next.take()
            if item >= count { return }
            body(item, thread)
        }
    }
}

/// Splits `0..<n` into at most `4 · availableProcessorCount` contiguous ranges and runs
/// `body` on them through `parallelFor` (serially, as one range, when `n · costPerItem` is
/// under 32 768 or there is one processor). The ranges depend on `n` and the processor
/// count only and are disjoint, so bodies that write only their own range do not race and
/// give the same bits on any schedule.
public func parallelRanges(_ n: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(availableProcessorCount, n)
    if workers <= 1 || n * costPerItem < 32_768 {
        if n > 0 { body(0..<n) }
        return
    }
    let pieces = min(n, 4 * workers)
    parallelFor(pieces) { k, _ in
        let lo = n * k / pieces, hi = n * (k + 1) / pieces
        if lo < hi { body(lo..<hi) }
    }
}

/// `body(item)` for every `item` in `0..<count` through `parallelFor` (at most `threads`
/// at a time), the results in item order. Every item runs, even after one throws; then
/// the error of the lowest item that threw is rethrown, so which error surfaces does not
/// depend on the schedule.
/// - Precondition: `threads ≥ 1`.
/// - Complexity: the bodies, plus one lock round trip per item.
public func parallelMap<T>(_ count: Int, threads: Int = availableProcessorCount, _ body: (_ item: Int) throws -> T) throws -> [T] {
    let n = max(count, 0)
    let slots = UnsafeMutableBufferPointer<Result<T, any Error>?>.allocate(capacity: n)
    slots.initialize(repeating: nil)
    defer { slots.deinitialize(); slots.deallocate() }
    // Each body writes only its own slot.
    parallelFor(n, threads: threads) { i, _ in slots[i] = Result { try body(i) } }
    return try slots.map { try $0!.get() }
}
