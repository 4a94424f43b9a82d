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
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
        throw FeatureIOError(.writeFailed, file: path, problem: "folder \(folder) does not exist")
    }
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
