import AFG

/// A one-line CLI error: ArgumentParser prints `Error: <description>` and exits 1, with no
/// usage block. Every check of `validate()` and every run-time refusal throws one.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }

    /// A setting outside its interval, named by its flag: `--k must be ≥ 1 (got 0)`.
    init(_ e: SettingError) { description = "--\(e.description)" }
}

/// Runs `body`, turning a `SettingError` into the flag-named `CLIError`.
func checkingSettings(_ body: () throws -> Void) throws {
    do { try body() } catch let e as SettingError { throw CLIError(e) }
}
