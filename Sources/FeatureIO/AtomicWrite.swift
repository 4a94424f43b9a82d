import Foundation

/// Writes a file atomically: `body` writes to `<path>.tmp-<pid>` in the same folder,
/// which is renamed over `path` only after `body` returns. If `body` throws (or the
/// process dies), any earlier file at `path` is left untouched and the temporary file is
/// removed (on throw).
///
/// `body` must have closed the temporary file before it returns.
/// - Throws: `FeatureIOError(.writeFailed)` if the folder is missing or the rename fails,
///   or whatever `body` throws.
public func writeAtomically(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
    try checkFolderExists(for: path)
    let tmp = temporaryPath(for: path)
    do {
        try body(tmp)
    } catch {
        unlink(tmp)
        throw error
    }
    guard rename(tmp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(tmp)
        throw FeatureIOError(.writeFailed, file: path, problem: "cannot rename the temporary file into place: \(reason)")
    }
}

/// Writes `contents` (UTF-8) to `path` atomically (see `writeAtomically(to:_:)`); for the
/// JSON and text outputs of the CLI.
public func writeAtomically(contents: String, to path: String) throws {
    try writeAtomically(to: path) { tmp in
        do {
            try contents.write(toFile: tmp, atomically: false, encoding: .utf8)
        } catch {
            throw FeatureIOError(.writeFailed, file: path, problem: "cannot write: \(error.localizedDescription)")
        }
    }
}

/// The temporary name `writeAtomically` uses for `path`: `<path>.tmp-<pid>`.
public func temporaryPath(for path: String) -> String {
    "\(path).tmp-\(getpid())"
}

/// Throws `FeatureIOError(.writeFailed)` if the folder that would hold `path` is missing;
/// removes the stale temporary files of killed runs there (`removeStaleTemporaries`).
func checkFolderExists(for path: String) throws {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
        throw FeatureIOError(.writeFailed, file: path, problem: "folder \(folder) does not exist")
    }
    removeStaleTemporaries(in: folder)
}

/// Removes the temporary files (`NAME.tmp-PID`, see `temporaryPath(for:)`) in `folder`
/// whose process is gone: what a killed run of any command left behind. Files of live
/// processes, and every other file, are left alone. Returns the names removed.
/// - Complexity: one directory listing and one `kill(pid, 0)` per candidate.
@discardableResult
public func removeStaleTemporaries(in folder: String) -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
    var removed: [String] = []
    for name in names {
        guard let r = name.range(of: ".tmp-", options: .backwards) else { continue }
        let digits = name[r.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let pid = Int32(digits) else { continue }
        if pid == getpid() { continue }
        if kill(pid, 0) == 0 || errno == EPERM { continue }   // alive (or not ours to signal)
        var st = stat()
        let full = folder + "/" + name
        guard lstat(full, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
        if unlink(full) == 0 { removed.append(name) }
    }
    return removed
}

/// Several output files written as one: each is written in full under its temporary
/// name (`temporary(for:)`), and `commit()` renames them all into place, back to back,
/// only when every one was written. Abandoned (not committed), the temporaries are
/// removed and every earlier file is untouched: both or neither.
public final class OutputSet {
    private var pending: [(temporary: String, path: String)] = []
    private var committed = false

    public init() {}

    /// The temporary name to write `path` under (`<path>.tmp-<pid>`).
    public func temporary(for path: String) throws -> String {
        try checkFolderExists(for: path)
        let t = temporaryPath(for: path)
        pending.append((t, path))
        return t
    }

    /// Renames every temporary into place. - Throws: `.writeFailed` if a rename fails
    /// (the temporaries not yet renamed are removed).
    public func commit() throws {
        committed = true
        for (i, p) in pending.enumerated() where rename(p.temporary, p.path) != 0 {
            let reason = String(cString: strerror(errno))
            for q in pending[i...] { unlink(q.temporary) }
            throw FeatureIOError(.writeFailed, file: p.path, problem: "cannot rename the temporary file into place: \(reason)")
        }
    }

    deinit { if !committed { for p in pending { unlink(p.temporary) } } }
}
