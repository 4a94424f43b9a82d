import Foundation
import Linalg
import Classifier

/// `afg-bench solver`: time for the converged solver (`LogisticRegression`, L-BFGS) to
/// reach `‖∇f‖∞ ≤ 1e-4` on the ImageNet-LT shape, against scikit-learn's lbfgs on the same
/// data in the same run (`bench/sklearn_lr.py`, which reads the raw files written here).
///
/// Data: `C = 1000` classes, `D = 512`, long-tailed counts
/// `n_c = round(5 + 1275·((C−1−c)/(C−1))^10.5)` (1280 down to 5, ≈116k rows, like
/// ImageNet-LT's 115,846), Gaussian clusters `x = m₀ + σ·u_c + e` with a common offset
/// `m₀ = 1` (features are not centred, like post-ReLU ones), `u_c, e ~ N(0, I)`, spread
/// `σ = 0.1` (`AFG_BENCH_SOLVER_SPREAD`; larger is more separable); seed 1.
/// Regularisation: scikit-learn's default `C = 1` (our `l2 = 1/N`).
///
/// Environment: `AFG_BENCH_SOLVER_SCALE` (default 1) scales the rows and classes;
/// `AFG_BENCH_SOLVER_SKLEARN=0` skips the scikit-learn run (run by `Peers`).
func benchSolver() throws {
    let env = ProcessInfo.processInfo.environment
    let scale = Double(env["AFG_BENCH_SOLVER_SCALE"] ?? "1") ?? 1
    let c = max(2, Int((1000 * scale).rounded()))
    let d = 512
    let counts = (0..<c).map { k in Int((5 + 1275 * pow(Double(c - 1 - k) / Double(c - 1), 10.5)).rounded()) }
    let n = counts.reduce(0, +)
    let spread = Float(env["AFG_BENCH_SOLVER_SPREAD"] ?? "0.1") ?? 0.1
    let sklearnC = 1.0, tol = 1e-4

    // Data.
    var rng = Xoshiro256(seed: 1)
    let centres: [Float] = standardNormals(c * d, using: &rng)
    var x = Matrix<Float>(rows: n, cols: d)
    var y = [Int32](repeating: 0, count: n)
    x.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
    var row = 0
    for k in 0..<c {
        for _ in 0..<counts[k] {
            for j in 0..<d { x.data[row * d + j] += 1 + spread * centres[k * d + j] }
            y[row] = Int32(k)
            row += 1
        }
    }
    print("data: \(n) × \(d), \(c) classes, spread \(spread), counts \(counts.first!)…\(counts.last!), sklearn C = \(sklearnC), l2 = 1/N")

    // Ours.
    let solver = LogisticRegression(gradientTolerance: tol, maxIterations: 10_000, memory: 10)
    let l2 = LogisticRegression.l2(sklearnC: sklearnC, totalWeight: Double(n))
    let t0 = DispatchTime.now().uptimeNanoseconds, cpu0 = processCPUSeconds()
    let sol = try solver.solve(features: x, labels: y, numClasses: c, l2: l2, progress: { it in
        if it.iteration % 10 == 0 {
            FileHandle.standardError.write("  afg iter \(it.iteration): f \(it.objective), ‖g‖∞ \(it.gradientMaxNorm), evals \(it.evaluations)\n".data(using: .utf8)!)
        }
    })
    let ours = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    let oursCPU = processCPUSeconds() - cpu0
    // Check the end point in double precision (the solver ran its gemms in single).
    let check = try LogisticRegression(precision: .double).evaluate(model: sol.model, features: x, labels: y, l2: l2)
    let gmax = max(check.weightGradient.data.map(abs).max() ?? 0, check.biasGradient.map(abs).max() ?? 0)
    let flopsPerEval = 4.0 * Double(n) * Double(d) * Double(c)
    print("afg lbfgs: \(fmt(ours, 1)) s wall, \(fmt(oursCPU, 1)) s CPU, \(sol.iterations) iterations, \(sol.evaluations) evaluations, stop \(sol.stopReason.rawValue)")
    print("afg lbfgs: objective \(String(format: "%.9f", check.objective)), ‖∇f‖∞ (float64 recheck) \(String(format: "%.2e", gmax))")
    print("afg lbfgs: \(fmt(flopsPerEval * Double(sol.evaluations) / ours / 1e9, 1)) GFLOP/s effective (gemm flops only)")
    fflush(stdout)

    guard env["AFG_BENCH_SOLVER_SKLEARN"] != "0" else { print("scikit-learn: skipped (AFG_BENCH_SOLVER_SKLEARN=0)"); return }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("afg-bench-solver-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let xPath = dir.appendingPathComponent("x.f32"), yPath = dir.appendingPathComponent("y.i32")
    try x.data.withUnsafeBytes { try Data($0).write(to: xPath) }
    try y.withUnsafeBytes { try Data($0).write(to: yPath) }
    guard let json = Peers.run("scikit-learn", script: "sklearn_lr.py",
                               ["--x", xPath.path, "--y", yPath.path, "--rows", "\(n)", "--dim", "\(d)",
                                "--C", "\(sklearnC)", "--tol", "\(tol)"]) else { return }
    let sk = json["seconds"] as? Double ?? .nan
    let skCPU = json["cpu_seconds"] as? Double ?? .nan
    let skObj = json["objective"] as? Double ?? .nan
    print("sklearn \(json["sklearn_version"] ?? "?") lbfgs: \(fmt(sk, 1)) s wall, \(fmt(skCPU, 1)) s CPU, \(json["n_iter"] ?? "?") iterations, converged \(json["converged"] ?? "?")")
    print("sklearn lbfgs: objective \(String(format: "%.9f", skObj)), ‖∇f‖∞ (float64 recheck) \(String(format: "%.2e", json["grad_max_norm"] as? Double ?? .nan))")
    print("objective difference (afg − sklearn) / sklearn: \(String(format: "%.2e", (check.objective - skObj) / skObj))")
    print("speed-up vs scikit-learn: \(fmt(sk / ours, 2))× wall, \(fmt(skCPU / oursCPU, 2))× CPU time (target ≥ 3×)")
    recordRatio("solver", "lbfgs to ‖∇f‖∞ ≤ 1e-4, wall", peer: "scikit-learn \(json["sklearn_version"] ?? "?")", afgSeconds: ours, peerSeconds: sk)
    recordRatio("solver", "lbfgs to ‖∇f‖∞ ≤ 1e-4, CPU", peer: "scikit-learn \(json["sklearn_version"] ?? "?")", afgSeconds: oursCPU, peerSeconds: skCPU)
    print("load average at the end: \((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?") on \(ProcessInfo.processInfo.activeProcessorCount) cores")
}

/// User + system CPU seconds of this process so far (all threads).
private func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}
