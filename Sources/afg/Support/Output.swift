import Foundation
import Classifier

/// Where progress and notes go: one line each on stderr, nothing with `--quiet`.
struct Console {
    var quiet: Bool

    /// One line on stderr (unless quiet).
    func line(_ s: String) { if !quiet { Console.stderr(s) } }

    /// One line on stderr, even when quiet (warnings about the command line itself).
    static func stderr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

/// Progress on stderr (one line, rewritten), silenced by `--quiet`.
struct ProgressLine {
    var quiet: Bool
    var lastDraw = 0.0
    mutating func draw(_ text: String, force: Bool = false) {
        if quiet { return }
        let now = Date().timeIntervalSince1970
        if !force && now - lastDraw < 0.2 { return }
        lastDraw = now
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }
    mutating func finish() { if !quiet { FileHandle.standardError.write(Data("\n".utf8)) } }
    static func bar(_ done: Int, _ total: Int, width: Int = 24) -> String {
        let k = total > 0 ? min(width, done * width / total) : width
        return "[" + String(repeating: "#", count: k) + String(repeating: ".", count: width - k) + "]"
    }
}

/// In-epoch progress of `afg train` (`SGDConfig.progress`): a bar, rows/s and the
/// epoch's ETA, drawn only once an epoch has run 2 s (short epochs print nothing) and
/// cleared before the epoch's own line. Called on the training thread only.
final class EpochProgress: @unchecked Sendable {
    private var line: ProgressLine
    private var epoch = -1
    private var start = Date()
    private var drawn = false

    init(quiet: Bool) { line = ProgressLine(quiet: quiet) }

    func report(_ p: BatchProgress) {
        if p.epoch != epoch { clear(); epoch = p.epoch; start = Date() }
        let secs = Date().timeIntervalSince(start)
        guard secs >= 2, p.rowsDone > 0 else { return }
        let rate = Double(p.rowsDone) / secs
        let eta = Double(p.rowsTotal - p.rowsDone) / max(rate, 1e-9)
        line.draw("epoch \(p.epoch + 1) \(ProgressLine.bar(p.rowsDone, p.rowsTotal)) \(p.rowsDone)/\(p.rowsTotal) rows  \(String(format: "%.0f", rate)) rows/s  ETA \(String(format: "%.0f", eta))s")
        drawn = true
    }

    /// Erases the progress line (if one was drawn), so the next line starts clean.
    func clear() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); drawn = false }
        epoch = -1
    }
}

/// Progress of a long lbfgs fit, once it has run 2 s: the step (`FitData.progress`), on a
/// cross-validation path its bar and ETA from the solves finished, and the running solve's
/// iteration, objective and `‖∇f‖∞` against the tolerance it stops at
/// (`LogisticRegression.iterations`); outside a path, the ETA of the solve from the rate at
/// which `log ‖∇f‖∞` has fallen. On a terminal one line, rewritten and cleared before any
/// other line; in a log or a pipe a plain line every `logEvery` seconds. Nothing with
/// `--quiet`. Called on the fitting thread only.
final class FitProgressLine: @unchecked Sendable {
    private var lastDraw = -Double.infinity
    private let start: Date
    private var drawn = false
    private let quiet: Bool
    private let terminal: Bool
    private let clock: () -> Date
    private let write: (String) -> Void
    /// Seconds between the plain lines written to a log or a pipe.
    static let logEvery: TimeInterval = 10
    /// Seconds between redraws on a terminal.
    static let redrawEvery: TimeInterval = 0.2
    private var step = FitProgress(done: 0, total: 0, step: "fitting")
    private var pathStart: Date
    /// The running solve: its first iteration's time and `‖∇f‖∞`, and its last iteration.
    private var solveStart: Date, firstGradient = 0.0
    private var last: LBFGS.Iteration?

    /// - Parameters:
    ///   - terminal: whether stderr is a terminal (one rewritten line) or a log.
    ///   - clock: the time now; `write`: where the text goes (stderr).
    init(quiet: Bool, terminal: Bool = isatty(2) != 0, clock: @escaping () -> Date = Date.init,
         write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.quiet = quiet; self.terminal = terminal; self.clock = clock; self.write = write
        start = clock(); pathStart = start; solveStart = start
    }

    func report(_ p: FitProgress) {
        if p.total != step.total || p.done < step.done || (p.total > 0 && p.done == 0) { pathStart = clock() }
        step = p
        last = nil
        draw()
    }

    func iteration(_ it: LBFGS.Iteration) {
        if last.map({ it.iteration <= $0.iteration }) ?? true { solveStart = clock(); firstGradient = it.gradientMaxNorm }
        last = it
        draw()
    }

    /// The line for the current state at `now`.
    private func text(now: Date) -> String {
        var parts = [step.step]
        if step.total > 0 {
            let done = step.done, secs = now.timeIntervalSince(pathStart)
            var s = "\(ProgressLine.bar(done, step.total)) \(done)/\(step.total) solves"
            if done > 0 { s += "  ETA \(String(format: "%.0f", secs / Double(done) * Double(step.total - done)))s" }
            parts.append(s)
        }
        if let it = last {
            parts.append("iteration \(it.iteration)  f = \(String(format: "%.6g", it.objective))  ‖∇f‖∞ = "
                         + String(format: "%.2e (stops at %.0e)", it.gradientMaxNorm, it.gradientTolerance))
            if step.total == 0, let eta = FitProgressLine.solveETA(it, firstGradient: firstGradient,
                                                                  seconds: now.timeIntervalSince(solveStart)) {
                parts.append("ETA ≈ \(String(format: "%.0f", eta))s")
            }
        }
        return parts.joined(separator: "  ")
    }

    /// Seconds left in a solve at iteration `it` (`it.iteration ≥ 2`), `seconds` after its
    /// first iteration, whose `‖∇f‖∞` was `firstGradient`: the iterations until the
    /// tolerance at the mean rate of decrease of `log ‖∇f‖∞` so far (at most the iteration
    /// cap), at the mean time per iteration. nil before a rate is known. O(1).
    static func solveETA(_ it: LBFGS.Iteration, firstGradient: Double, seconds: TimeInterval) -> Double? {
        let k = Double(it.iteration - 1)
        guard k >= 1, it.gradientMaxNorm > 0, firstGradient > it.gradientMaxNorm, it.gradientTolerance > 0 else { return nil }
        let rate = log(firstGradient / it.gradientMaxNorm) / k
        let left = min(max(0, log(it.gradientMaxNorm / it.gradientTolerance) / rate), Double(it.maxIterations - it.iteration))
        return left * seconds / k
    }

    private func draw() {
        guard !quiet else { return }
        let now = clock(), secs = now.timeIntervalSince(start)
        guard secs >= 2, secs - lastDraw >= (terminal ? FitProgressLine.redrawEvery : FitProgressLine.logEvery) else { return }
        lastDraw = secs
        if terminal {
            write("\r\u{1B}[K" + text(now: now))
            drawn = true
        } else {
            write(text(now: now) + "\n")
        }
    }

    /// Erases the progress line (if one was drawn), so the next line starts clean.
    func clear() {
        if drawn { write("\r\u{1B}[K"); drawn = false }
    }
}

/// The one JSON encoder: sorted keys (the same value gives the same text); `pretty` for
/// what a person reads on stdout, compact for records stored in files. Non-finite numbers
/// are written as the strings "nan", "inf", "-inf".
func encodeJSON<T: Encodable>(_ v: T, pretty: Bool = true) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try e.encode(v), as: UTF8.self)
}

/// `87.78%`, or `n/a`.
func pct(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a" }

/// The headline figures of `Metrics`, for JSON output.
struct Summary: Encodable {
    var overall: Double, many: Double?, medium: Double?, few: Double?, meanPerClassRecall: Double, rows: Int
    /// From the evaluated rows alone (`Metrics.overallStandardError`, `.meanPerClassRecallStandardError`).
    var overallStandardError: Double, meanPerClassRecallStandardError: Double
    var groupSizes: [String: Int], thresholds: ShotThresholds
    init(_ m: Metrics) {
        overall = m.overall; many = m.many; medium = m.medium; few = m.few
        meanPerClassRecall = m.meanPerClassRecall; rows = m.rows; groupSizes = m.groupSizes; thresholds = m.thresholds
        overallStandardError = m.overallStandardError; meanPerClassRecallStandardError = m.meanPerClassRecallStandardError
    }

    /// `overall …  many …  medium …  few …  mean recall …`.
    static func line(_ m: Metrics) -> String {
        "overall \(pct(m.overall))  many \(pct(m.many))  medium \(pct(m.medium))  few \(pct(m.few))  mean recall \(pct(m.meanPerClassRecall))"
    }
}
