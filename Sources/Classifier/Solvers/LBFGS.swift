import Foundation
import Linalg

/// Limited-memory BFGS with a strong-Wolfe line search, for smooth unconstrained problems.
///
/// The two-loop recursion (Nocedal & Wright, *Numerical Optimization*, Alg. 7.4) with an
/// optional preconditioner as the initial inverse Hessian `H₀ = γ·P⁻¹`, `γ = sᵀy / yᵀP⁻¹y`
/// from the newest pair; the line search is the bracketing/zoom method with safeguarded
/// cubic interpolation (N&W Alg. 3.5/3.6) and the Wolfe constants of scipy's L-BFGS-B
/// (`c₁ = 1e-3`, `c₂ = 0.9`).
///
/// Stopping (like scipy's L-BFGS-B, which scikit-learn's `lbfgs` solver drives):
/// - `‖g‖∞ ≤ gradientTolerance` (converged),
/// - relative decrease `(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ relativeDecreaseTolerance`,
/// - `maxIterations` iterations, or a line search that cannot decrease `f` any more
///   (the best point found is kept).
///
/// Cost per iteration: one or more evaluations of `f` and `∇f` (usually one), plus
/// `O(m·n)` vector work, `n` the number of unknowns and `m` the memory.
public struct LBFGS: Sendable {
    /// Options; defaults suit a smooth, well-scaled problem.
    public struct Options: Sendable, Equatable {
        /// Stop when `max_i |∂f/∂x_i| ≤ gradientTolerance`.
        public var gradientTolerance: Double = 1e-6
        /// Stop when the relative decrease of `f` over one iteration falls to this.
        public var relativeDecreaseTolerance: Double = 64 * Double.ulpOfOne
        /// Iteration cap (an iteration is one accepted line-search step).
        public var maxIterations: Int = 1000
        /// Number of correction pairs kept (`m`).
        public var memory: Int = 10
        /// Function evaluations allowed per line search.
        public var maxLineSearchEvaluations: Int = 40
        /// Sufficient-decrease constant `c₁` (Armijo).
        public var c1: Double = 1e-3
        /// Curvature constant `c₂` (strong Wolfe: `|φ'(α)| ≤ c₂·|φ'(0)|`).
        public var c2: Double = 0.9

        public init(gradientTolerance: Double = 1e-6, maxIterations: Int = 1000, memory: Int = 10) {
            self.gradientTolerance = gradientTolerance
            self.maxIterations = maxIterations
            self.memory = memory
        }
    }

    /// Why the minimiser stopped.
    public enum StopReason: String, Sendable, Equatable, Codable {
        /// `‖g‖∞ ≤ gradientTolerance`.
        case gradientTolerance
        /// The relative decrease of `f` fell below `relativeDecreaseTolerance`.
        case relativeDecrease
        /// `maxIterations` reached.
        case maxIterations
        /// The line search found no acceptable step (round-off floor reached).
        case lineSearchFailed
    }

    /// One accepted iteration, for progress reports.
    public struct Iteration: Sendable {
        public var iteration: Int
        public var objective: Double
        public var gradientMaxNorm: Double
        public var evaluations: Int
        public var step: Double
        /// The solve stops once `gradientMaxNorm` is at or below this.
        public var gradientTolerance: Double
        /// The iteration cap.
        public var maxIterations: Int
        public init(iteration: Int, objective: Double, gradientMaxNorm: Double, evaluations: Int, step: Double,
                    gradientTolerance: Double, maxIterations: Int) {
            self.iteration = iteration; self.objective = objective; self.gradientMaxNorm = gradientMaxNorm
            self.evaluations = evaluations; self.step = step; self.gradientTolerance = gradientTolerance
            self.maxIterations = maxIterations
        }
    }

    /// The outcome of `minimize`.
    public struct Result: Sendable {
        /// The final point (the best one evaluated).
        public var x: [Double]
        /// `f(x)`.
        public var objective: Double
        /// `∇f(x)`.
        public var gradient: [Double]
        /// `‖∇f(x)‖∞`.
        public var gradientMaxNorm: Double
        public var iterations: Int
        /// Evaluations of `f` and `∇f` (each costs one call of the objective).
        public var evaluations: Int
        public var stopReason: StopReason
        /// True when the gradient tolerance was met.
        public var converged: Bool { stopReason == .gradientTolerance }
    }

    public var options: Options

    public init(options: Options = Options()) {
        precondition(options.memory >= 1, "LBFGS: memory must be ≥ 1")
        precondition(options.c1 > 0 && options.c1 < options.c2 && options.c2 < 1, "LBFGS: need 0 < c1 < c2 < 1")
        self.options = options
    }

    /// Minimises `f` from `x0`.
    ///
    /// - Parameters:
    ///   - x0: the starting point (`n` values).
    ///   - evaluate: writes `∇f(x)` into its second argument (`n` values, overwritten) and
    ///     returns `f(x)`. Must be deterministic.
    ///   - preconditioner: optional `v ← P⁻¹·v` in place, `P` symmetric positive definite
    ///     (an approximation of the Hessian up to scale); nil means `P = I`.
    ///   - start: `f(x0)` and `∇f(x0)` when the caller already has them (e.g. from the
    ///     previous solve of a path); the first evaluation is then skipped and not counted.
    ///   - progress: called after every accepted iteration.
    public func minimize(x0: [Double],
                         evaluate: (_ x: [Double], _ gradient: inout [Double]) -> Double,
                         start: (f: Double, gradient: [Double])? = nil,
                         preconditioner: ((inout [Double]) -> Void)? = nil,
                         progress: ((Iteration) -> Void)? = nil) -> Result {
        let n = x0.count
        precondition(start.map { $0.gradient.count == n } ?? true, "LBFGS: start gradient has the wrong length")
        var x = x0
        var g = start?.gradient ?? [Double](repeating: 0, count: n)
        var f = start?.f ?? evaluate(x, &g)
        var evaluations = start == nil ? 1 : 0
        var gmax = maxAbs(g)
        if gmax <= options.gradientTolerance || n == 0 {
            return Result(x: x, objective: f, gradient: g, gradientMaxNorm: gmax, iterations: 0,
                          evaluations: evaluations, stopReason: .gradientTolerance)
        }
        precondition(f.isFinite, "LBFGS: objective not finite at the starting point")

        var pairs = CorrectionPairs(memory: options.memory)
        var d = [Double](repeating: 0, count: n)
        var xTrial = x, gTrial = g
        var iteration = 0
        var stop: StopReason = .maxIterations

        while iteration < options.maxIterations {
            // Direction d = −H·g by the two-loop recursion.
            pairs.direction(g, into: &d, preconditioner: preconditioner)
            var dphi0 = dot(g, d)
            if !(dphi0 < 0) {
                // Not a descent direction (lost curvature information): restart from −P⁻¹g.
                pairs.forget()
                d = g
                preconditioner?(&d)
                scale(&d, -1)
                dphi0 = dot(g, d)
                if !(dphi0 < 0) { stop = .lineSearchFailed; break }
            }
            // First step: unit step in the quasi-Newton metric, or a step of length 1/‖d‖ at the start.
            let alpha0 = pairs.stored == 0 ? min(1.0, 1.0 / max(norm2(d), 1e-300)) : 1.0

            let ls = lineSearch(x: x, f0: f, dphi0: dphi0, d: d, alpha0: alpha0,
                                xTrial: &xTrial, gTrial: &gTrial, evaluate: evaluate)
            evaluations += ls.evaluations
            guard ls.accepted else { stop = .lineSearchFailed; break }
            let fOld = f
            pairs.add(x: x, xNew: xTrial, g: g, gNew: gTrial, preconditioner: preconditioner)
            swap(&x, &xTrial); swap(&g, &gTrial)
            f = ls.f
            iteration += 1
            gmax = maxAbs(g)
            progress?(Iteration(iteration: iteration, objective: f, gradientMaxNorm: gmax,
                                evaluations: evaluations, step: ls.alpha, gradientTolerance: options.gradientTolerance,
                                maxIterations: options.maxIterations))
            if gmax <= options.gradientTolerance { stop = .gradientTolerance; break }
            if (fOld - f) / max(abs(fOld), abs(f), 1) <= options.relativeDecreaseTolerance {
                stop = .relativeDecrease; break
            }
        }
        if iteration >= options.maxIterations && stop == .maxIterations { stop = .maxIterations }
        return Result(x: x, objective: f, gradient: g, gradientMaxNorm: gmax, iterations: iteration,
                      evaluations: evaluations, stopReason: stop)
    }

    // MARK: Correction pairs

    /// The L-BFGS memory: the last `m` correction pairs `s = x_{k+1} − x_k`,
    /// `y = ∇f_{k+1} − ∇f_k` in ring buffers, with `ρ = 1/sᵀy`, and the scale `γ` of `H₀`
    /// from the newest pair. Memory `2·m·n` doubles.
    private struct CorrectionPairs {
        let m: Int
        var sPairs: [[Double]]
        var yPairs: [[Double]]
        var rho: [Double]
        var alphaBuf: [Double]
        /// Pairs held (≤ m); the newest is in slot `newest` (−1 when none).
        var stored = 0, newest = -1
        var gamma = 1.0

        init(memory m: Int) {
            self.m = m
            sPairs = [[Double]](repeating: [], count: m)
            yPairs = [[Double]](repeating: [], count: m)
            rho = [Double](repeating: 0, count: m)
            alphaBuf = [Double](repeating: 0, count: m)
        }

        /// Drops every pair (the next direction is `−P⁻¹g`).
        mutating func forget() { stored = 0; newest = -1 }

        /// `d ← −H·g` by the two-loop recursion (N&W Alg. 7.4), `H₀ = γ·P⁻¹`
        /// (`P⁻¹g` alone while no pair is stored). O(m·n) plus one preconditioner call.
        mutating func direction(_ g: [Double], into d: inout [Double], preconditioner: ((inout [Double]) -> Void)?) {
            d = g
            if stored > 0 {
                for j in 0..<stored {
                    let i = (newest - j + m) % m
                    let a = rho[i] * dot(sPairs[i], d)
                    alphaBuf[i] = a
                    axpy(-a, yPairs[i], &d)
                }
            }
            preconditioner?(&d)
            if stored > 0 {
                scale(&d, gamma)
                for j in stride(from: stored - 1, through: 0, by: -1) {
                    let i = (newest - j + m) % m
                    let b = rho[i] * dot(yPairs[i], d)
                    axpy(alphaBuf[i] - b, sPairs[i], &d)
                }
            }
            scale(&d, -1)
        }

        /// Writes `s = xNew − x`, `y = gNew − g` into the oldest slot and keeps the pair
        /// (updating `ρ` and `γ = sᵀy / yᵀP⁻¹y`) when its curvature `sᵀy` is positive enough;
        /// else the slot is reused next time. O(n) plus one preconditioner call.
        mutating func add(x: [Double], xNew: [Double], g: [Double], gNew: [Double],
                          preconditioner: ((inout [Double]) -> Void)?) {
            let n = x.count
            // s = xTrial − x, y = gTrial − g; reuse the oldest slot.
            let slot = (newest + 1) % m
            if sPairs[slot].count != n {
                sPairs[slot] = [Double](repeating: 0, count: n)
                yPairs[slot] = [Double](repeating: 0, count: n)
            }
            for i in 0..<n {
                sPairs[slot][i] = xNew[i] - x[i]
                yPairs[slot][i] = gNew[i] - g[i]
            }
            let sy = dot(sPairs[slot], yPairs[slot])
            if sy > 1e-10 * norm2(sPairs[slot]) * norm2(yPairs[slot]) && sy > 0 {
                rho[slot] = 1 / sy
                newest = slot
                stored = min(stored + 1, m)
                if let pre = preconditioner {
                    var py = yPairs[slot]
                    pre(&py)
                    gamma = sy / dot(yPairs[slot], py)
                } else {
                    gamma = sy / dot(yPairs[slot], yPairs[slot])
                }
            }
        }
    }

    // MARK: Line search

    private struct LineSearchOutcome {
        var accepted: Bool
        var alpha: Double
        var f: Double
        var evaluations: Int
    }

    /// Strong-Wolfe line search along `d` from `x` (N&W Alg. 3.5 with the zoom of Alg. 3.6).
    /// On success `xTrial`/`gTrial` hold the accepted point and its gradient. When the
    /// budget runs out it accepts the best point that decreased `f`, if any.
    private func lineSearch(x: [Double], f0: Double, dphi0: Double, d: [Double], alpha0: Double,
                            xTrial: inout [Double], gTrial: inout [Double],
                            evaluate: (_ x: [Double], _ gradient: inout [Double]) -> Double) -> LineSearchOutcome {
        let c1 = options.c1, c2 = options.c2
        var evals = 0
        // Best decreasing point seen, as a fallback.
        var bestAlpha = 0.0, bestF = f0
        func phi(_ alpha: Double) -> (f: Double, dphi: Double) {
            for i in 0..<x.count { xTrial[i] = x[i] + alpha * d[i] }
            let fv = evaluate(xTrial, &gTrial)
            evals += 1
            let dp = dot(gTrial, d)
            if fv.isFinite && fv < bestF { bestF = fv; bestAlpha = alpha }
            return (fv.isFinite ? fv : .infinity, fv.isFinite ? dp : .nan)
        }
        func finish(_ alpha: Double, _ fv: Double) -> LineSearchOutcome {
            LineSearchOutcome(accepted: true, alpha: alpha, f: fv, evaluations: evals)
        }
        func fallback() -> LineSearchOutcome {
            guard bestAlpha > 0 else { return LineSearchOutcome(accepted: false, alpha: 0, f: f0, evaluations: evals) }
            let (fv, _) = phi(bestAlpha)  // recompute the gradient at the best point
            return LineSearchOutcome(accepted: fv < f0, alpha: bestAlpha, f: fv, evaluations: evals)
        }

        var lo = (a: 0.0, f: f0, dp: dphi0)
        var alpha = alpha0
        var hi: (a: Double, f: Double, dp: Double)? = nil
        // Bracketing phase.
        while evals < options.maxLineSearchEvaluations {
            let (fa, da) = phi(alpha)
            if fa > f0 + c1 * alpha * dphi0 || (lo.a > 0 && fa >= lo.f) || !da.isFinite {
                hi = (alpha, fa, da); break
            }
            if abs(da) <= -c2 * dphi0 { return finish(alpha, fa) }
            if da >= 0 {
                // Minimum bracketed between alpha (sufficient decrease, the new lo) and the previous point.
                let prev = lo
                lo = (alpha, fa, da); hi = prev
                break
            }
            // Extrapolate: cubic step clamped to [1.1·alpha, 4·alpha].
            let next = cubicMinimizer(lo.a, lo.f, lo.dp, alpha, fa, da)
            lo = (alpha, fa, da)
            let lower = 1.1 * alpha, upper = 4 * alpha
            alpha = next.map { min(max($0, lower), upper) } ?? upper
        }
        guard var h = hi else { return fallback() }
        // Zoom phase: lo satisfies sufficient decrease and has the lowest f; the minimiser lies between lo and hi.
        while evals < options.maxLineSearchEvaluations {
            let a = lo.a, b = h.a
            let width = abs(b - a)
            if width <= 1e-16 * max(abs(a), abs(b)) { break }
            var trial = h.dp.isFinite && h.f.isFinite ? cubicMinimizer(a, lo.f, lo.dp, b, h.f, h.dp) : nil
            if trial == nil || !(trial!.isFinite) { trial = quadraticMinimizer(a, lo.f, lo.dp, b, h.f) }
            let left = min(a, b), right = max(a, b)
            var t = trial ?? (a + b) / 2
            // Safeguard: stay at least 10% of the width away from either end.
            t = min(max(t, left + 0.1 * width), right - 0.1 * width)
            let (ft, dt) = phi(t)
            if ft > f0 + c1 * t * dphi0 || ft >= lo.f || !dt.isFinite {
                h = (t, ft, dt)
            } else {
                if abs(dt) <= -c2 * dphi0 { return finish(t, ft) }
                if dt * (h.a - lo.a) >= 0 { h = lo }
                lo = (t, ft, dt)
            }
        }
        return fallback()
    }

    /// Minimiser of the cubic interpolating `f` and `f'` at `a` and `b`, nil when it has none.
    private func cubicMinimizer(_ a: Double, _ fa: Double, _ da: Double, _ b: Double, _ fb: Double, _ db: Double) -> Double? {
        let d1 = da + db - 3 * (fa - fb) / (a - b)
        let disc = d1 * d1 - da * db
        guard disc >= 0 else { return nil }
        let d2 = (b > a ? 1.0 : -1.0) * disc.squareRoot()
        let denom = db - da + 2 * d2
        guard denom != 0 else { return nil }
        let t = b - (b - a) * (db + d2 - d1) / denom
        return t.isFinite ? t : nil
    }

    /// Minimiser of the quadratic through `f(a)`, `f'(a)` and `f(b)`, nil when not convex.
    private func quadraticMinimizer(_ a: Double, _ fa: Double, _ da: Double, _ b: Double, _ fb: Double) -> Double? {
        let h = b - a
        let curv = (fb - fa - da * h) / (h * h)
        guard curv > 0 else { return nil }
        return a - da / (2 * curv)
    }
}

// MARK: Vector helpers (BLAS level 1 on [Double])

@inline(__always) func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    if a.isEmpty { return 0 }
    return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in Double._dot(a.count, pa.baseAddress!, pb.baseAddress!) } }
}

@inline(__always) func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    precondition(x.count == y.count)
    if x.isEmpty { return }
    let n = x.count
    x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in Double._axpy(n, alpha, px.baseAddress!, py.baseAddress!) } }
}

@inline(__always) func scale(_ x: inout [Double], _ alpha: Double) {
    for i in x.indices { x[i] *= alpha }
}

@inline(__always) func norm2(_ x: [Double]) -> Double { dot(x, x).squareRoot() }

@inline(__always) func maxAbs(_ x: [Double]) -> Double {
    var m = 0.0
    for v in x { let a = abs(v); if a > m || a.isNaN { m = a } }
    return m
}
