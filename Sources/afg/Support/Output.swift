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

/// Progress of a cross-validated fit (`FitData.progress`): the step, a bar and the ETA,
/// drawn on a terminal only (a log or a pipe gets the finished lines alone), once the fit
/// has run 2 s, and cleared before any other line.
final class FitProgressLine: @unchecked Sendable {
    private var line: ProgressLine
    private let start = Date()
    private var drawn = false
    /// A terminal and no `--quiet`: otherwise nothing is ever written, not even a clear.
    private let shown: Bool

    init(quiet: Bool) {
        shown = !quiet && isatty(2) != 0
        line = ProgressLine(quiet: !shown)
    }

    func report(_ p: FitProgress) {
        let secs = Date().timeIntervalSince(start)
        guard shown, secs >= 2, p.done > 0 else { return }
        let eta = secs / Double(p.done) * Double(p.total - p.done)
        line.draw("\(p.step)  \(ProgressLine.bar(p.done, p.total)) \(p.done)/\(p.total) solves  ETA \(String(format: "%.0f", eta))s")
        drawn = true
    }

    /// Erases the progress line (if one was drawn), so the next line starts clean.
    func clear() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); drawn = false }
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
    var groupSizes: [String: Int], thresholds: ShotThresholds
    init(_ m: Metrics) {
        overall = m.overall; many = m.many; medium = m.medium; few = m.few
        meanPerClassRecall = m.meanPerClassRecall; rows = m.rows; groupSizes = m.groupSizes; thresholds = m.thresholds
    }

    /// `overall …  many …  medium …  few …  mean recall …`.
    static func line(_ m: Metrics) -> String {
        "overall \(pct(m.overall))  many \(pct(m.many))  medium \(pct(m.medium))  few \(pct(m.few))  mean recall \(pct(m.meanPerClassRecall))"
    }
}
