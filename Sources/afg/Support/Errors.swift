import AFG
import Foundation
import FeatureIO

/// A one-line CLI error: ArgumentParser prints `Error: <description>` and exits 1, with no
/// usage block. Every check of `validate()` and every run-time refusal throws one.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }

    /// A setting outside its interval, named by its flag: `--k must be ≥ 1 (got 0)`.
    init(_ e: SettingError) { description = "--\(e.description)" }
}

/// Runs `body`, turning a `SettingError` (a setting outside its interval) or a
/// `PathError` (a file argument that cannot be used) into the one-line `CLIError`.
func checkingSettings(_ body: () throws -> Void) throws {
    do { try body() } catch let e as SettingError { throw CLIError(e) } catch let e as PathError { throw CLIError(e.description) }
}

/// The file checks of `validate()`: every input a regular file (or a folder where the
/// command reads one), no two of the `rows` inputs (the feature files whose rows a
/// command pools: training shards, validation shards, test shards) the same file, every
/// output a non-empty name of a new or regular file that is no input and no other output
/// (`FileArguments`). `outputs` are written as HDF5, so a name afg's readers take for
/// another format (`.npz`, `.npy`, `.safetensors`) is refused before any work (`afg
/// export` writes those); `otherOutputs` (SVG plots, safetensors checkpoints, exported
/// arrays) are named by their commands' own rules.
func checkFiles(inputs: [FileArguments.Argument], rows: [FileArguments.Argument] = [], folders: [FileArguments.Argument] = [],
                outputs: [FileArguments.Argument], otherOutputs: [FileArguments.Argument] = []) throws {
    for o in outputs + otherOutputs where o.path.isEmpty { throw CLIError("\(o.flag): empty file name") }
    for o in outputs where ArrayFileFormat(path: o.path) != .hdf5 {
        let ext = (o.path as NSString).pathExtension
        throw CLIError("\(o.flag) \(o.path): this file is written as HDF5, but afg reads a .\(ext) name as \(ArrayFileFormat(path: o.path).rawValue); name it .h5 (afg export converts a classifier to .npz or .safetensors)")
    }
    try checkingSettings {
        for a in inputs { try FileArguments.checkInput(a) }
        try FileArguments.checkDistinct(rows) { later, earlier in
            later.flag == earlier.flag ? "its rows would count twice"
                : "\(later.flag) rows must be rows the classifier does not train on"
        }
        for a in folders { try FileArguments.checkInput(a, allowFolder: true) }
        try FileArguments.checkOutputs(outputs + otherOutputs, inputs: inputs + folders)
    }
}

/// Creates folder `path` and any missing parents (`mkdir -p`).
/// - Throws: `CLIError` naming the flag, the path and the system's reason (`Not a
///   directory`, `Permission denied`, …).
func createFolder(_ path: String, flag: String) throws {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
        var st = stat()
        if stat(prefix, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { continue }
        if mkdir(prefix, 0o777) != 0 && errno != EEXIST {
            throw CLIError("\(flag) \(path): cannot create the folder: \(String(cString: strerror(errno)))")
        }
    }
}
