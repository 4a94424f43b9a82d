import CMalloc

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
