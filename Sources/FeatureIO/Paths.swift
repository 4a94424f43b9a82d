import Foundation

/// A file argument that cannot be used: one line naming the flag, the path and the rule.
public struct PathError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The checks every command makes on its file arguments before it opens any of them.
///
/// Inputs must be regular files (or, where a command reads a folder of image files,
/// folders): a FIFO would block the open forever and a device would stream without end.
/// Outputs must be new files or regular files, and no output may be the same file as an
/// input or as another output. Sameness is decided by device and inode after resolving
/// links (`stat`), and, for outputs that do not exist yet, by the resolved folder and the
/// name, so `o/s.h5`, `./o/s.h5` and a link to `o` are one file.
public enum FileArguments {
    /// One file argument: its flag (`--train`) and path.
    public typealias Argument = (flag: String, path: String)

    /// Refuses an input that exists but is not a regular file (or a folder, when
    /// `allowFolder`). A missing input is left to the reader, which names it.
    /// - Complexity: one `stat`.
    public static func checkInput(_ a: Argument, allowFolder: Bool = false) throws {
        var st = stat()
        guard stat(a.path, &st) == 0 else { return }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFREG || (allowFolder && kind == S_IFDIR) { return }
        throw PathError("\(a.flag) \(a.path): is \(describe(kind)), not a regular file")
    }

    /// Refuses outputs that are links or existing non-regular files, that are the same
    /// file as one of `inputs`, or that repeat another output.
    /// - Complexity: a few `stat` / `realpath` calls per argument.
    public static func checkOutputs(_ outputs: [Argument], inputs: [Argument]) throws {
        for o in outputs {
            var lst = stat()
            if lstat(o.path, &lst) == 0 {
                let kind = lst.st_mode & S_IFMT
                if kind == S_IFLNK { throw PathError("\(o.flag) \(o.path): is a symbolic link; afg writes regular files only") }
                if kind != S_IFREG {
                    throw PathError("\(o.flag) \(o.path): is \(describe(kind)), not a regular file; afg writes regular files only")
                }
            }
        }
        let outIDs = outputs.map { identity(of: $0.path) }
        for (i, o) in outputs.enumerated() {
            for a in inputs where identity(of: a.path) == outIDs[i] {
                throw PathError("\(o.flag) \(o.path) is the same file as \(a.flag) \(a.path): an input is never overwritten")
            }
            for j in 0..<i where outIDs[j] == outIDs[i] {
                throw PathError("\(o.flag) \(o.path) is the same file as \(outputs[j].flag) \(outputs[j].path): two outputs cannot share a file")
            }
        }
    }

    /// Refuses two of `inputs` that are the same existing file (device and inode, after
    /// links), so `a.h5`, `./a.h5` and a link to it are one file; `why(later, earlier)` says
    /// what reading it twice would do. A missing input is left to the reader.
    /// - Complexity: one `stat` per argument, then O(n²) comparisons.
    public static func checkDistinct(_ inputs: [Argument], why: (_ later: Argument, _ earlier: Argument) -> String) throws {
        let ids = inputs.map { identity(of: $0.path) }
        for i in inputs.indices {
            guard case .inode = ids[i] else { continue }
            if let j = (0..<i).first(where: { ids[$0] == ids[i] }) {
                throw PathError("\(inputs[i].flag) \(inputs[i].path) is the same file as \(inputs[j].flag) \(inputs[j].path): \(why(inputs[i], inputs[j]))")
            }
        }
    }

    /// What names a file: device and inode when it exists, else the resolved folder and name.
    enum Identity: Equatable {
        case inode(dev: UInt64, ino: UInt64)
        case name(String)
    }

    static func identity(of path: String) -> Identity {
        var st = stat()
        if stat(path, &st) == 0 { return .inode(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino)) }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let resolved = realpath(folder, &buf) != nil ? String(cString: buf) : folder
        return .name(resolved + "/" + url.lastPathComponent)
    }

    static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a folder"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }
}
