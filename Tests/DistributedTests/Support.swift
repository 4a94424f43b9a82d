import Foundation

/// The built `afg` binary, next to the test bundle in the build products folder.
let afgBinary: URL = {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidate = products.appendingPathComponent("afg")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("afg")
}()

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func shardFixture(_ name: String) -> String { repoRoot.appendingPathComponent("fixtures/shards/\(name)").path }

/// `mpirun` on PATH (or Debian's /usr/bin/mpirun), nil when Open MPI is not installed.
let mpirunPath: String? = {
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
    return dirs.map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// More ranks than cores, as root, no core binding (the test machine has two cores),
/// shared-memory transport only.
let mpirunFlags = ["--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "--mca", "btl", "self,vader"]

/// Runs `executable args`; returns exit status, stdout and stderr. A run still going after
/// `timeout` seconds is killed and reported as status −1 (a hung job fails, never blocks).
func runProcess(_ executable: String, _ args: [String], timeout: TimeInterval = 120) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    final class Fired: @unchecked Sendable { var value = false }
    let fired = Fired()
    let watchdog = DispatchWorkItem { if p.isRunning { fired.value = true; p.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    final class Box: @unchecked Sendable { var data = Data() }
    let o = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let e = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    watchdog.cancel()
    return (fired.value ? -1 : p.terminationStatus, String(decoding: o.data, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
