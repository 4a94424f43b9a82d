import Foundation
import XCTest
@testable import FeatureIO

/// The committed h5py fixtures (fixtures/h5py, written by fixtures/make_fixtures.py).
let fixtureDir: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fixtures/h5py")

func fixture(_ name: String) -> String { fixtureDir.appendingPathComponent(name).path }

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("afg-fio-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// A small deterministic generator for test data (SplitMix64); tests report the seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random feature set: N × D normal-ish values, labels covering 0..<C (every class
/// present when N ≥ C), optional names with non-ASCII characters.
func randomSet(n: Int, d: Int, c: Int, seed: UInt64, names: Bool = true) -> FeatureSet {
    var rng = SplitMix64(seed: seed)
    let x = (0..<(n * d)).map { _ in Float.random(in: -3...3, using: &rng) }
    let y = (0..<n).map { i in i < c ? Int32(i) : Int32.random(in: 0..<Int32(c), using: &rng) }
    return FeatureSet(features: x, dim: d, labels: y, numClasses: c,
                      classNames: names ? (0..<c).map { "class-\($0)-é" } : nil,
                      attributes: ["split": "train", "backbone": "resnet32"])
}

/// Writes a malformed or unusual file straight through the HDF5 wrapper (the public
/// writers only produce valid files).
func writeRaw(_ path: String, _ body: (H5File) throws -> Void) throws {
    let f = try H5File.create(path)
    try body(f)
    try f.close()
}

/// Runs `body` and returns the FeatureIOError it throws (failing the test otherwise).
func expectError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> FeatureIOError? {
    do {
        try body()
        XCTFail("expected a FeatureIOError", file: file, line: line)
        return nil
    } catch let e as FeatureIOError {
        XCTAssertFalse(e.description.contains("\n"), "error is not one line: \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected a FeatureIOError, got \(error)", file: file, line: line)
        return nil
    }
}

/// True if `python3 -c "import h5py"` works.
let h5pyAvailable: Bool = (try? runPython("import h5py")).map { $0.status == 0 } ?? false

/// The system's Python (`make setup` installs Debian's python3-h5py for it), else the
/// first `python3` on PATH.
let systemPython: (URL, [String]) = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
    ? (URL(fileURLWithPath: "/usr/bin/python3"), []) : (URL(fileURLWithPath: "/usr/bin/env"), ["python3"])

/// Runs `python3 -c script args...` (the system's Python), returning exit status and stdout.
func runPython(_ script: String, _ args: [String] = []) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = systemPython.0
    p.arguments = systemPython.1 + ["-c", script] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
