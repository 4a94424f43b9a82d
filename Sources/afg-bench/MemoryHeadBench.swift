import Classifier
import Foundation
import Linalg

/// `afg-bench memory-head`: the memory head's log-posteriors (`MemoryHead.logPosteriors`,
/// what `afg evaluate` and the recommended command's folds spend on it) against the same
/// computation written in NumPy (`bench/memory_head.py`), on the same rows in the same run;
/// the two outputs are compared entry by entry.
///
/// Data: a fortunes-like head, `C = 40` classes, `D = 384`, class `c` of
/// `round(10 + 990·((C−1−c)/(C−1))^3)` rows (1000 down to 10, ≈ 10.7k in all), Gaussian
/// clusters, and 4,096 query rows; temperature 0.05; seed 1. Both sides centre and scale
/// the query rows by the head's centre and time that too.
func benchMemoryHead() throws {
    let c = 40, d = 384, queries = 4096, t = 0.05
    let counts = (0..<c).map { k in Int((10 + 990 * pow(Double(c - 1 - k) / Double(c - 1), 3)).rounded()) }
    var rng = Xoshiro256(seed: 1)
    let centres: [Float] = standardNormals(c * d, using: &rng)
    func rows(_ n: Int, classOf: (Int) -> Int) -> (Matrix<Float>, [Int32]) {
        var x = Matrix<Float>(rows: n, cols: d), y = [Int32](repeating: 0, count: n)
        x.data.withUnsafeMutableBufferPointer { fillStandardNormal($0, using: &rng) }
        for i in 0..<n {
            let k = classOf(i)
            y[i] = Int32(k)
            for j in 0..<d { x.data[i * d + j] = 0.5 * x.data[i * d + j] + centres[k * d + j] }
        }
        return (x, y)
    }
    let starts = counts.reduce(into: [0]) { $0.append($0.last! + $1) }
    let (x, y) = rows(starts.last!) { i in starts.lastIndex { $0 <= i }! }
    let (q, _) = rows(queries) { $0 % c }
    let head = MemoryHead(fitting: x, labels: y, numClasses: c, temperature: t, weight: 0.5)
    var ours = Matrix<Float>(rows: 0, cols: 0)
    let seconds = bestTime { ours = head.logPosteriors(q) }
    let flops = 2.0 * Double(queries) * Double(x.rows) * Double(d)
    print("memory head: \(queries) queries × \(x.rows) rows × \(d), \(c) classes, T = \(t)")
    print("afg memory head: \(fmt(seconds, 3)) s (\(fmt(flops / seconds / 1e9, 1)) GFLOP/s of similarities, \(fmt(Double(queries) * Double(x.rows) / seconds / 1e6, 1)) M exponentials/s)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("afg-bench-memory-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let paths = ["q.f32", "m.f32", "y.i32", "c.f32", "out.f32"].map { dir.appendingPathComponent($0) }
    try q.data.withUnsafeBytes { try Data($0).write(to: paths[0]) }
    try head.rows.data.withUnsafeBytes { try Data($0).write(to: paths[1]) }
    try y.withUnsafeBytes { try Data($0).write(to: paths[2]) }
    try head.center.withUnsafeBytes { try Data($0).write(to: paths[3]) }
    guard let json = Peers.run("numpy", script: "memory_head.py",
                               ["--query", paths[0].path, "--memory", paths[1].path, "--labels", paths[2].path,
                                "--center", paths[3].path, "--out", paths[4].path,
                                "--rows", "\(queries)", "--memory-rows", "\(x.rows)", "--dim", "\(d)", "--classes", "\(c)",
                                "--temperature", "\(t)"]) else { return }
    let theirs = try Data(contentsOf: paths[4]).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    let gap = zip(ours.data, theirs).map { abs(Double($0) - Double($1)) }.max() ?? .nan
    print("numpy \(json["numpy_version"] ?? "?"): \(fmt(json["seconds"] as? Double ?? .nan, 3)) s; largest difference from afg's log-posteriors \(String(format: "%.1e", gap))")
    recordRatio("memory-head", "log-posteriors, \(queries) × \(x.rows)", peer: "numpy \(json["numpy_version"] ?? "?")",
                afgSeconds: seconds, peerSeconds: json["seconds"] as? Double ?? .nan)
}
