import AFG
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
/// command reads one), every output a new or regular file that is no input and no other
/// output (`FileArguments`).
func checkFiles(inputs: [FileArguments.Argument], folders: [FileArguments.Argument] = [],
                outputs: [FileArguments.Argument]) throws {
    try checkingSettings {
        for a in inputs { try FileArguments.checkInput(a) }
        for a in folders { try FileArguments.checkInput(a, allowFolder: true) }
        try FileArguments.checkOutputs(outputs, inputs: inputs + folders)
    }
}
