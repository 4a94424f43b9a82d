import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An output's temporary file: `.afg-<16 hex digits>.tmp` in the output's folder (a name
/// only afg writes, 25 bytes whatever the output's name, so any legal output name works),
/// created new and held with an exclusive open-file-description lock (`F_OFD_SETLKW`)
/// from creation until it is renamed into place or removed. The lock dies with the
/// process that holds it, whatever PID namespace or host that process is in, so
/// `removeStaleTemporaries` removes exactly the temporaries whose writer is gone.
/// SIGINT, SIGTERM and SIGHUP remove every live temporary (`installInterruptCleanup`).
///
/// A temporary for a path that is itself a live temporary of this process (a writer handed
/// `OutputSet`'s temporary) is that file, written in place: its lock is kept, and renaming
/// is left to the owner.
///
/// On network file systems the lock is only as good as the server's lock support (NFSv4
/// and Lustre honour POSIX locks; a mount with `nolock` does not): docs/FORMAT.md.
public final class TemporaryFile {
    /// The temporary's path.
    public let path: String
    /// The output it becomes.
    public let target: String
    private var fd: Int32
    private var finished: Bool

    /// Creates and locks a new temporary for `target` (after sweeping the folder's stale ones).
    /// - Throws: `FeatureIOError(.writeFailed)` if the folder is missing or not writable.
    public init(for target: String) throws {
        self.target = target
        if TemporaryRegistry.isLive(target) {
            path = target; fd = -1; finished = true
            return
        }
        let folder = try checkFolderExists(for: target)
        // From the create to the registration the file is on disk but unknown to the
        // signal handler: this thread takes no SIGINT / SIGTERM / SIGHUP meanwhile, and a
        // handler on another thread waits for the count of such windows to reach zero.
        let window = TemporaryRegistry.openCreationWindow()
        defer { TemporaryRegistry.closeCreationWindow(window) }
        while true {
            let candidate = folder + "/" + TemporaryFile.prefix + String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) + TemporaryFile.suffix
            let f = open(candidate, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if f < 0 {
                if errno == EEXIST { continue }
                throw FeatureIOError(.writeFailed, file: target, problem: "cannot create a temporary file in \(folder): \(String(cString: strerror(errno)))")
            }
            // A sweeper may take the lock (and remove the name) between the create and
            // our lock: then the file has no link left, and we start over.
            var st = stat()
            guard lockFile(f, wait: true), fstat(f, &st) == 0, st.st_nlink > 0 else { close(f); continue }
            path = candidate; fd = f; finished = false
            TemporaryRegistry.add(candidate, target: target)
            return
        }
    }

    /// Renames the temporary over the target. - Throws: `.writeFailed` if the rename fails
    /// (the temporary is then removed).
    public func commit() throws {
        guard !finished else { return }
        guard rename(path, target) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw FeatureIOError(.writeFailed, file: target, problem: "cannot rename the temporary file into place: \(reason)")
        }
        release()
    }

    /// Removes the temporary (an abandoned write).
    public func discard() {
        guard !finished else { return }
        unlink(path)
        release()
    }

    private func release() {
        TemporaryRegistry.remove(path)
        close(fd)
        finished = true
    }

    deinit { discard() }

    static let prefix = ".afg-", suffix = ".tmp"

    /// True for the names `TemporaryFile` gives: `.afg-` + 16 lowercase hex digits + `.tmp`.
    static func isTemporaryName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard u.count == prefix.utf8.count + 16 + suffix.utf8.count, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return false }
        return u[prefix.utf8.count..<(prefix.utf8.count + 16)].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// `F_OFD_SETLK(W)`: Linux's open-file-description locks (per open file, not per process,
/// so closing another descriptor of the file, as HDF5 does, keeps them).
private let ofdSetLock: Int32 = 37, ofdSetLockWait: Int32 = 38

/// Takes an exclusive lock on the whole of `fd` (waiting for it when `wait`); false if it is
/// held elsewhere (or locks are unsupported).
private func lockFile(_ fd: Int32, wait: Bool) -> Bool {
    var l = flock()
    l.l_type = Int16(F_WRLCK)
    l.l_whence = Int16(SEEK_SET)
    l.l_start = 0
    l.l_len = 0
    l.l_pid = 0
    while true {
        if fcntl(fd, wait ? ofdSetLockWait : ofdSetLock, &l) == 0 { return true }
        if errno != EINTR { return false }
    }
}

/// Writes a file atomically: `body` writes to a `TemporaryFile` in the same folder, which
/// is renamed over `path` only after `body` returns. If `body` throws (or the process dies),
/// any earlier file at `path` is left untouched and the temporary file is removed (after a
/// SIGKILL, by the next write's sweep of the folder).
///
/// `body` must have closed the temporary file before it returns.
/// - Throws: `FeatureIOError(.writeFailed)` if the folder is missing or the rename fails,
///   or whatever `body` throws.
public func writeAtomically(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
    let tmp = try TemporaryFile(for: path)
    do {
        try body(tmp.path)
    } catch {
        tmp.discard()
        throw error
    }
    try tmp.commit()
}

/// Writes `contents` (UTF-8) to `path` atomically (see `writeAtomically(to:_:)`); for the
/// JSON and text outputs of the CLI.
public func writeAtomically(contents: String, to path: String) throws {
    try writeAtomically(to: path) { tmp in
        do {
            try contents.write(toFile: tmp, atomically: false, encoding: .utf8)
        } catch {
            throw FeatureIOError(.writeFailed, file: path, problem: "cannot write: \(ioReason(error))")
        }
    }
}

/// The folder that would hold `path`, after removing its stale temporaries
/// (`removeStaleTemporaries`). - Throws: `FeatureIOError(.writeFailed)` if it is missing.
@discardableResult
func checkFolderExists(for path: String) throws -> String {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
        throw FeatureIOError(.writeFailed, file: path, problem: "folder \(folder) does not exist")
    }
    removeStaleTemporaries(in: folder)
    return folder
}

/// Removes the temporaries of dead writers in `folder`: files named as `TemporaryFile`
/// names them whose lock this process can take (a live writer, in any process, PID
/// namespace or host sharing the folder, holds it). Every other file is left alone.
/// Returns the names removed.
/// - Complexity: one directory listing; an open and a lock attempt per afg temporary.
@discardableResult
public func removeStaleTemporaries(in folder: String) -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
    var removed: [String] = []
    for name in names where TemporaryFile.isTemporaryName(name) {
        let full = folder + "/" + name
        var before = stat(), st = stat()
        guard lstat(full, &before) == 0, before.st_mode & S_IFMT == S_IFREG else { continue }
        let fd = open(full, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { continue }
        defer { close(fd) }
        // Locked (and still the file at this name): its writer is gone.
        guard lockFile(fd, wait: false), fstat(fd, &st) == 0, st.st_ino == before.st_ino, st.st_dev == before.st_dev else { continue }
        if unlink(full) == 0 { removed.append(name) }
    }
    return removed
}

/// Several output files written as one: each is written in full under its temporary
/// name (`temporary(for:)`), and `commit()` renames them all into place, back to back,
/// only when every one was written. Abandoned (not committed), the temporaries are
/// removed and every earlier file is untouched: both or neither.
public final class OutputSet {
    private var pending: [TemporaryFile] = []

    public init() {}

    /// The temporary name to write `path` under (a locked `TemporaryFile`).
    public func temporary(for path: String) throws -> String {
        let t = try TemporaryFile(for: path)
        pending.append(t)
        return t.path
    }

    /// Renames every temporary into place. - Throws: `.writeFailed` if a rename fails
    /// (the temporaries not yet renamed are removed).
    public func commit() throws {
        for (i, t) in pending.enumerated() {
            do { try t.commit() } catch {
                for q in pending[i...] { q.discard() }
                throw error
            }
        }
    }

    deinit { for t in pending { t.discard() } }
}

// MARK: - The registry of live temporaries

/// The live temporaries of this process: their targets (for messages) and, in a fixed
/// table of C strings that a signal handler may read, their paths.
enum TemporaryRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var targets: [String: String] = [:]
    static let capacity = 256
    /// Slots of `strdup`ed paths; a removed path's string is not freed, so a signal
    /// handler that read the pointer never reads freed memory (a few bytes per output).
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()

    /// How many threads are between creating a temporary and registering it (read by the
    /// signal handler, which waits for zero; changed under `lock`).
    nonisolated(unsafe) static let creating: UnsafeMutablePointer<Int> = {
        let p = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// The signals the handler takes.
    static let interrupts = [SIGINT, SIGTERM, SIGHUP]

    /// Blocks `interrupts` on this thread and counts a creation under way; returns the
    /// thread's previous signal mask for `closeCreationWindow`.
    static func openCreationWindow() -> sigset_t {
        var block = sigset_t(), old = sigset_t()
        sigemptyset(&block)
        for s in interrupts { sigaddset(&block, s) }
        pthread_sigmask(SIG_BLOCK, &block, &old)
        lock.lock(); creating.pointee += 1; lock.unlock()
        return old
    }

    /// Ends the creation (registered or failed) and restores the thread's signal mask, so
    /// a signal that arrived meanwhile is taken now, with the temporary registered.
    static func closeCreationWindow(_ old: sigset_t) {
        lock.lock(); creating.pointee -= 1; lock.unlock()
        var mask = old
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }

    static func add(_ path: String, target: String) {
        lock.lock(); defer { lock.unlock() }
        targets[path] = target
        if let i = (0..<capacity).first(where: { slots[$0] == nil }) { slots[i] = strdup(path) }
    }

    static func remove(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        targets[path] = nil
        if let i = (0..<capacity).first(where: { slots[$0].map { strcmp($0, path) == 0 } ?? false }) { slots[i] = nil }
    }

    static func isLive(_ path: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return targets[path] != nil
    }

    /// The output a live temporary becomes (followed through nested temporaries), or
    /// `path` itself.
    static func userPath(_ path: String) -> String {
        lock.lock(); defer { lock.unlock() }
        var p = path
        while let t = targets[p] { p = t }
        return p
    }
}

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove this process's live
/// temporaries (after any creation under way on another thread has registered its file),
/// print one line on stderr and exit with 128 + the signal number. Only async-signal-safe
/// calls (`sched_yield`, `unlink`, `write`, `_exit`) run in the handler.
public func installInterruptCleanup() {
    _ = TemporaryRegistry.slots
    _ = TemporaryRegistry.creating
    for s in TemporaryRegistry.interrupts {
        var a = sigaction()
        a.__sigaction_handler.sa_handler = { sig in
            // A temporary being created on another thread (which blocks these signals
            // meanwhile) is registered within microseconds: wait for it.
            while TemporaryRegistry.creating.pointee > 0 { sched_yield() }
            for i in 0..<TemporaryRegistry.capacity { if let p = TemporaryRegistry.slots[i] { unlink(p) } }
            let message: StaticString
            switch sig {
            case SIGINT: message = "afg: interrupted (SIGINT); its temporary files are removed\n"
            case SIGTERM: message = "afg: terminated (SIGTERM); its temporary files are removed\n"
            default: message = "afg: hung up (SIGHUP); its temporary files are removed\n"
            }
            _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
            _exit(128 + sig)
        }
        sigemptyset(&a.sa_mask)
        a.sa_flags = 0
        sigaction(s, &a, nil)
    }
}

/// The system's reason for a failed Foundation file operation (`strerror` of its POSIX
/// error), rather than Foundation's `NSCocoaErrorDomain` text.
func ioReason(_ error: Error) -> String {
    let e = error as NSError
    if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
    if let u = e.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(u.code)))
    }
    return e.localizedDescription
}
