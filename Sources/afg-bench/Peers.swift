import Foundation

/// The Python peers (PyTorch CPU, scikit-learn, tailcalib): the one place that picks their
/// interpreter and runs them, and the table of afg-versus-peer ratios printed at the end
/// of a run.
///
/// The interpreter is `$AFG_BENCH_PYTHON`; `make bench` sets it to `.venv-bench/bin/python`,
/// the environment `make bench-env` builds from `bench/requirements.txt` (exact pins).
/// Without the variable, `.venv-bench/bin/python` under the package root is used when it
/// exists. A peer whose interpreter is missing is reported as skipped, never guessed.
enum Peers {
    /// The package root (scripts live in `bench/`), found from this source file.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The interpreter every peer runs under, or nil (with the reason) when there is none.
    static let python: Result<String, PeerMissing> = {
        let env = ProcessInfo.processInfo.environment["AFG_BENCH_PYTHON"]
        let path = env ?? root.appendingPathComponent(".venv-bench/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            return .failure(PeerMissing(reason: env == nil
                ? "no \(path) (run `make bench-env`, or set AFG_BENCH_PYTHON)"
                : "AFG_BENCH_PYTHON=\(path) is not an executable"))
        }
        return .success(path)
    }()

    struct PeerMissing: Error { let reason: String }

    /// Runs `bench/SCRIPT args...` with the peers' interpreter from the package root and
    /// returns the last line of its standard output that parses as a JSON object. On
    /// failure prints `LABEL: skipped|failed (reason)` and returns nil. Blocks until the
    /// peer exits (its stderr passes through).
    static func run(_ label: String, script: String, _ args: [String]) -> [String: Any]? {
        let python: String
        switch Peers.python {
        case .success(let p): python = p
        case .failure(let m): print("\(label): skipped (\(m.reason))"); return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [root.appendingPathComponent("bench/\(script)").path] + args
        p.currentDirectoryURL = root
        let out = Pipe()
        p.standardOutput = out
        do { try p.run() } catch { print("\(label): failed (cannot start \(python): \(error))"); return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0,
              let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            print("\(label): failed (exit \(p.terminationStatus)): \(text.suffix(300))")
            return nil
        }
        if let err = json["error"] as? String { print("\(label): skipped (\(err))"); return nil }
        return json
    }
}

/// One afg-versus-peer comparison: the same work timed on both sides in this run.
struct PeerRatio {
    let benchmark: String
    let task: String
    let peer: String
    let afgSeconds: Double
    let peerSeconds: Double
    /// peer time / afg time: above 1, afg is faster.
    var speedup: Double { peerSeconds / afgSeconds }
}

/// The comparisons of this run, in the order measured (the benchmarks run one at a time
/// on the main thread).
nonisolated(unsafe) var peerRatios: [PeerRatio] = []

/// Records a comparison for the summary and prints its ratio line at once.
func recordRatio(_ benchmark: String, _ task: String, peer: String, afgSeconds: Double, peerSeconds: Double) {
    let r = PeerRatio(benchmark: benchmark, task: task, peer: peer, afgSeconds: afgSeconds, peerSeconds: peerSeconds)
    peerRatios.append(r)
    print("ratio \(task): \(peer) \(fmt(peerSeconds, 3)) s / afg \(fmt(afgSeconds, 3)) s = \(fmt(r.speedup, 2))×")
}

/// The summary table: one row per comparison (peer time / afg time; above 1 means afg is
/// faster), then the load average, since the machine may be shared.
func printRatioSummary() {
    print("== afg versus peers (time ratio peer / afg; > 1: afg faster)")
    guard !peerRatios.isEmpty else { print("no peer ran"); return }
    let w0 = max(9, peerRatios.map(\.benchmark.count).max()!), w1 = max(4, peerRatios.map(\.task.count).max()!)
    let w2 = max(4, peerRatios.map(\.peer.count).max()!)
    func pad(_ s: String, _ w: Int) -> String { s.padding(toLength: w, withPad: " ", startingAt: 0) }
    print("\(pad("benchmark", w0))  \(pad("task", w1))  \(pad("peer", w2))     afg s    peer s   ratio")
    for r in peerRatios {
        let num = [fmt(r.afgSeconds, 3), fmt(r.peerSeconds, 3)].map { String(repeating: " ", count: max(0, 9 - $0.count)) + $0 }
        print("\(pad(r.benchmark, w0))  \(pad(r.task, w1))  \(pad(r.peer, w2))  \(num[0]) \(num[1])  \(fmt(r.speedup, 2))×")
    }
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    print("load average at the end: \(load) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
}
