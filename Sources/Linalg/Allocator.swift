import CMalloc
import Glibc

/// Lets freed blocks of up to 256 MiB go back to the heap for reuse instead of returning each
/// to the kernel, and keeps up to 512 MiB of free heap before trimming.
///
/// glibc maps every block above its threshold (128 KiB at start, raised up to 32 MiB as
/// blocks are freed) with its own `mmap`, and unmaps it on `free`. A process that allocates
/// and frees matrices of a few MiB in turn (generated batches, normals, chunk buffers)
/// page-faults every one of them in again, and the kernel zeroes each page. With this
/// setting `afg calibrate --generate` on the CIFAR-100-LT shape takes 11,700 → 8,900 page
/// faults and 9–15 % less wall time (docs/RESULTS.md, "Issue 17"). Process-wide: the
/// command-line tool calls it once, first; a library user decides for their own process.
/// Returns whether glibc accepted both settings.
@discardableResult
public func keepFreedBlocks() -> Bool {
    mallopt(M_MMAP_THRESHOLD, 256 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 512 << 20) == 1
}

/// Memory for a large working buffer (activations, gradients, blocked tensors): `bytes`
/// bytes aligned to 64, and when they span a transparent huge page (2 MiB) aligned to one
/// and marked `MADV_HUGEPAGE`, so the kernel maps them 2 MiB per fault instead of 4 KiB.
/// A ResNet-32 training epoch first touches about 1.2 GB of such buffers: 311,000 page
/// faults at 4 KiB, about 40,000 left with them on huge pages (docs/RESULTS.md, "Issue 32").
/// Where the kernel does not offer huge pages the advice is ignored.
/// Uninitialised; release with `releaseWorkingMemory`.
public func allocateWorkingMemory(bytes: Int) -> UnsafeMutableRawPointer {
    let hugePage = 2 << 20, large = bytes >= hugePage
    var p: UnsafeMutableRawPointer?
    guard posix_memalign(&p, large ? hugePage : 64, max(bytes, 1)) == 0, let p else {
        fatalError("allocateWorkingMemory: cannot allocate \(bytes) bytes")
    }
    if large { _ = madvise(p, (bytes + hugePage - 1) / hugePage * hugePage, MADV_HUGEPAGE) }
    return p
}

/// `count` uninitialised values of `T` in working memory (`allocateWorkingMemory`).
public func allocateWorkingMemory<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
    allocateWorkingMemory(bytes: max(count, 1) * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: max(count, 1))
}

/// Releases memory from `allocateWorkingMemory`.
public func releaseWorkingMemory(_ p: UnsafeMutableRawPointer) { free(p) }
