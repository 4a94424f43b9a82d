import Classifier
import Foundation
import XCTest
@testable import afg

/// `FitProgressLine` on a clock the test moves: when it writes, what, and how.
final class FitProgressLineTests: XCTestCase {
    final class Sink: @unchecked Sendable {
        var now = Date(timeIntervalSince1970: 1_000_000)
        var written: [String] = []
    }

    func make(quiet: Bool = false, terminal: Bool) -> (FitProgressLine, Sink) {
        let s = Sink()
        return (FitProgressLine(quiet: quiet, terminal: terminal, clock: { s.now }, write: { s.written.append($0) }), s)
    }

    func iteration(_ k: Int, gradient: Double) -> LBFGS.Iteration {
        LBFGS.Iteration(iteration: k, objective: 1.5, gradientMaxNorm: gradient, evaluations: k, step: 1,
                        gradientTolerance: 1e-4, maxIterations: 2000)
    }

    /// In a log: nothing in the first 2 s, then one plain line, then none until 10 s later;
    /// the line names the step, the iteration, the gradient against its tolerance and an ETA
    /// from the gradient's rate of decrease.
    func testALogGetsAPlainLineEveryTenSecondsAfterTheFirstTwo() {
        let (p, s) = make(terminal: false)
        p.report(FitProgress(done: 0, total: 0, step: "the regression at C = 1.0"))
        p.iteration(iteration(1, gradient: 1e-1))
        s.now += 1.9
        p.iteration(iteration(2, gradient: 1e-2))
        XCTAssertEqual(s.written, [], "nothing before 2 s")
        s.now += 0.1
        p.iteration(iteration(3, gradient: 1e-3))
        XCTAssertEqual(s.written.count, 1)
        // From 1e-1 to 1e-3 in 2 iterations and 2 s: one decade per iteration and second;
        // 1 decade left to 1e-4, so 1 s.
        XCTAssertEqual(s.written[0], "the regression at C = 1.0  iteration 3  f = 1.5  ‖∇f‖∞ = 1.00e-03 (stops at 1e-04)  ETA ≈ 1s\n")
        s.now += 9.9
        p.iteration(iteration(4, gradient: 5e-4))
        XCTAssertEqual(s.written.count, 1, "at most one line per 10 s")
        s.now += 0.1
        p.iteration(iteration(5, gradient: 4e-4))
        XCTAssertEqual(s.written.count, 2)
        p.clear()
        XCTAssertEqual(s.written.count, 2, "a log has no line to erase")
        XCTAssertFalse(s.written.joined().contains("\u{1B}"))
    }

    /// On a path: the bar, the solves done and the ETA from them; a new solve restarts the
    /// iteration count shown.
    func testAPathShowsItsSolvesAndTheirETA() {
        let (p, s) = make(terminal: false)
        p.report(FitProgress(done: 0, total: 10, step: "C by cross-validation: fold 1/5, C = 0.0001"))
        s.now += 4
        p.report(FitProgress(done: 2, total: 10, step: "C by cross-validation: fold 1/5, C = 0.01"))
        XCTAssertEqual(s.written, ["C by cross-validation: fold 1/5, C = 0.01  [####....................] 2/10 solves  ETA 16s\n"])
        s.now += 10
        p.iteration(iteration(7, gradient: 2e-3))
        XCTAssertEqual(s.written.last, "C by cross-validation: fold 1/5, C = 0.01  [####....................] 2/10 solves  ETA 56s  iteration 7  f = 1.5  ‖∇f‖∞ = 2.00e-03 (stops at 1e-04)\n")
    }

    /// On a terminal: one line rewritten in place (at most 5 times a second) and erased by
    /// `clear`; with --quiet nothing at all.
    func testATerminalLineIsRewrittenAndErased() {
        let (p, s) = make(terminal: true)
        p.report(FitProgress(done: 0, total: 0, step: "generating the balanced set"))
        p.clear()
        XCTAssertEqual(s.written, [], "nothing drawn, nothing erased")
        s.now += 2
        p.report(FitProgress(done: 0, total: 0, step: "generating the balanced set"))
        s.now += 0.1
        p.iteration(iteration(1, gradient: 1))
        XCTAssertEqual(s.written, ["\r\u{1B}[Kgenerating the balanced set"])
        s.now += 0.1
        p.iteration(iteration(2, gradient: 0.5))
        XCTAssertEqual(s.written.count, 2)
        XCTAssertTrue(s.written[1].hasPrefix("\r\u{1B}[Kgenerating the balanced set  iteration 2"), s.written[1])
        p.clear()
        XCTAssertEqual(s.written.last, "\r\u{1B}[K")

        let (q, t) = make(quiet: true, terminal: true)
        t.now += 60
        q.report(FitProgress(done: 1, total: 2, step: "x"))
        q.iteration(iteration(3, gradient: 1))
        q.clear()
        XCTAssertEqual(t.written, [])
    }
}
