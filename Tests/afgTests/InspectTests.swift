import Foundation
import XCTest
import FeatureIO

/// The built `afg` binary, next to the test bundle in the build products folder.
let afgBinary: URL = {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidate = products.appendingPathComponent("afg")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("afg")
}()

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func h5Fixture(_ name: String) -> String { repoRoot.appendingPathComponent("fixtures/h5py/\(name)").path }

extension XCTestCase {
    /// The set-up of every CLI test: skips when the `afg` binary is not built, and makes a
    /// fresh folder (`afg-NAME-PID-UUID`) that is removed after the test.
    func scratchFolder(_ name: String) throws -> URL {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: afgBinary.path), "afg binary not built at \(afgBinary.path)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("afg-\(name)-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}

/// Runs `afg args...`; returns exit status, stdout and stderr.
func afg(_ args: String...) throws -> (status: Int32, out: String, err: String) { try afgArgs(args) }

/// Runs `afg` with `args`; returns exit status, stdout and stderr.
func afgArgs(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = afgBinary
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// `afg inspect` end to end: exact output on the h5py fixtures, exit codes on bad input.
final class InspectTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try scratchFolder("inspect")
    }

    func testPlainFixtureExactText() throws {
        let f = h5Fixture("f32_int32_plain.h5")
        let r = try afg("inspect", f, "--many", "2", "--few", "2")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
        XCTAssertEqual(r.out, """
        file: \(f)
        features: features, 9 × 3, float32
        labels: labels, int32
        classes: 7 (from the largest label + 1), 3 with no rows
        largest: class 2, 3 rows
        smallest: class 3, 0 rows
        imbalance factor: 3.00 (over classes with rows)
        many (n > 2): 2, medium (2 ≤ n ≤ 2): 1, few (n < 2): 4
        values: NaN 0, Inf 0, beyond ±4.61e+18 0, negative 12
        finite range: min -0.908851, max 0.850318, mean 0.0595742
        attributes: none
        class counts:
          0: 1
          1: 2
          2: 3
          3: 0
          4: 0
          5: 0
          6: 3

        """)
    }

    func testFloat16FixtureWithNamesAndAttributes() throws {
        let f = h5Fixture("f16_uint8_utf8names.h5")
        let r = try afg("inspect", f)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, """
        file: \(f)
        features: features, 12 × 5, float16
        labels: labels, uint8
        classes: 4 (from the num_classes attribute)
        largest: class 0 (café), 4 rows
        smallest: class 2 (日本), 2 rows
        imbalance factor: 2.00
        many (n > 100): 0, medium (20 ≤ n ≤ 100): 0, few (n < 20): 4
        values: NaN 0, Inf 0, beyond ±4.61e+18 0, negative 27
        finite range: min -5.57812, max 65504, mean 1091.83
        attributes:
          backbone = resnet32
          normalized = true
          num_classes = 4
          scale = 0.1
          split = train
        class counts:
          0 café: 4
          1 naïve: 3
          2 日本: 2
          3 straße: 3

        """)
    }

    func testCustomKeysAsJSON() throws {
        let f = h5Fixture("groups_custom_keys.h5")
        let r = try afg("inspect", f, "--features-key", "train/feats", "--labels-key", "/train/targets",
                        "--json", "--many", "4", "--few", "3")
        XCTAssertEqual(r.status, 0, r.err)
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["count"] as? Int, 15)
        XCTAssertEqual(j["dim"] as? Int, 4)
        XCTAssertEqual(j["featuresKey"] as? String, "train/feats")
        XCTAssertEqual(j["labelsKey"] as? String, "train/targets")
        XCTAssertEqual(j["labelType"] as? String, "int16")
        XCTAssertEqual(j["classCounts"] as? [Int], [5, 4, 0, 3, 3])
        XCTAssertEqual(j["numClasses"] as? Int, 5)
        XCTAssertEqual(j["manyClasses"] as? Int, 1)
        XCTAssertEqual(j["mediumClasses"] as? Int, 3)
        XCTAssertEqual(j["fewClasses"] as? Int, 1)
        XCTAssertEqual(j["emptyClasses"] as? Int, 1)
        XCTAssertEqual(j["imbalanceFactor"] as? Double, 5.0 / 3.0)
        XCTAssertEqual(j["attributes"] as? [String: String], ["num_classes": "5", "tukey_lambda": "0.5", "seeds": "[1, 2, 3]"])
        // The JSON decodes back into the library's summary, equal to a direct computation.
        let direct = try FeatureSummary.compute(path: f, keys: DatasetKeys(features: "train/feats", labels: "train/targets"),
                                                many: 4, few: 3)
        XCTAssertEqual(try JSONDecoder().decode(FeatureSummary.self, from: Data(r.out.utf8)), direct)
    }

    func testManyClassesListedOnRequest() throws {
        let c = 60
        let set = FeatureSet(features: (0..<(c * 2)).map { Float($0) }, dim: 1,
                             labels: (0..<(c * 2)).map { Int32($0 % c) }, numClasses: c)
        let p = dir.appendingPathComponent("sixty.h5").path
        try FeatureStore.writeFeatures(set, to: p)
        let short = try afg("inspect", p)
        XCTAssertEqual(short.status, 0, short.err)
        XCTAssertTrue(short.out.hasSuffix("class counts: 60 classes (list them with --per-class or --json)\n"), short.out)
        let long = try afg("inspect", p, "--per-class")
        XCTAssertTrue(long.out.hasSuffix("class counts:\n" + (0..<c).map { String(format: "  %2d: 2\n", $0) }.joined()), long.out)
        XCTAssertTrue(long.out.contains("  created_by = afg \(afgVersion)\n"))
    }

    func testMissingFile() throws {
        let p = dir.appendingPathComponent("nope.h5").path
        let r = try afg("inspect", p)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "Error: \(p): no such file\n")
    }

    func testNotHDF5() throws {
        let p = dir.appendingPathComponent("x.h5").path
        try "hello".write(toFile: p, atomically: false, encoding: .utf8)
        let r = try afg("inspect", p)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "Error: \(p): not an HDF5 file\n")
    }

    func testMissingDatasetListsExisting() throws {
        let f = h5Fixture("groups_custom_keys.h5")
        let r = try afg("inspect", f)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "Error: \(f): features: no such dataset; datasets in the file: test/feats, test/targets, "
                       + "train/feats, train/targets (choose with --features-key / --labels-key)\n")
    }

    func testLabelsOutOfRange() throws {
        let ok = (try? Process.run(URL(fileURLWithPath: "/usr/bin/python3"), arguments: ["-c", "import h5py"]))
        ok?.waitUntilExit()
        try XCTSkipUnless(ok?.terminationStatus == 0, "h5py not installed")
        let p = dir.appendingPathComponent("range.h5").path
        let w = try Process.run(URL(fileURLWithPath: "/usr/bin/python3"), arguments: ["-c", """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], "w") as f:
                f["features"] = np.zeros((5, 2), dtype=np.float32)
                f["labels"] = np.array([0, 1, 4, 2, 9], dtype=np.uint8)
                f.attrs["num_classes"] = 4
            """, p])
        w.waitUntilExit()
        XCTAssertEqual(w.terminationStatus, 0)
        let r = try afg("inspect", p)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "Error: \(p): labels: 2 labels outside 0..<4 (C from the num_classes attribute), first 4 at row 2\n")
    }

    func testCountMismatch() throws {
        let f = h5Fixture("groups_custom_keys.h5")
        // test/targets has 3 labels but the features key points at train (15 rows).
        let r = try afg("inspect", f, "--features-key", "train/feats", "--labels-key", "test/targets")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "Error: \(f): test/targets: 3 labels, but train/feats has 15 rows\n")
    }

    func testNaNReportedThenFails() throws {
        var x = [Float](repeating: 1, count: 12)
        x[7] = .nan
        x[8] = -.infinity
        let p = dir.appendingPathComponent("nan.h5").path
        try FeatureStore.writeFeatures(FeatureSet(features: x, dim: 3, labels: [0, 1, 0, 1], numClasses: 2), to: p)
        let r = try afg("inspect", p, "--json")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "Error: \(p): features: 2 non-finite values (1 NaN, 1 Inf), first at row 2 column 1\n")
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["nanCount"] as? Int, 1)
        XCTAssertEqual(j["infCount"] as? Int, 1)
        XCTAssertEqual(j["negativeCount"] as? Int, 1)
        XCTAssertEqual(j["firstNonFiniteRow"] as? Int, 2)
    }

    /// A value beyond ±2⁶²: counted in the report, then the reader's error; no command
    /// writes statistics of it.
    func testTooLargeReportedThenFails() throws {
        var x = [Float](repeating: 1, count: 12)
        x[4] = 1e30
        let p = dir.appendingPathComponent("huge.h5").path
        try FeatureStore.writeFeatures(FeatureSet(features: x, dim: 3, labels: [0, 1, 0, 1], numClasses: 2), to: p)
        let error = "Error: \(p): features: 1 value beyond ±4.61e+18, first 1e+30 at row 1 column 1: "
            + "their squares overflow 32-bit class statistics; rescale the features\n"
        let r = try afg("inspect", p)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, error)
        XCTAssertTrue(r.out.contains("values: NaN 0, Inf 0, beyond ±4.61e+18 1, negative 0\n"), r.out)
        let out = dir.appendingPathComponent("huge-stats.h5").path
        let c = try afg("calibrate", "--train", p, "--out", out, "--quiet")
        XCTAssertEqual(c.status, 1)
        XCTAssertEqual(c.err, error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testBadThresholds() throws {
        let r = try afg("inspect", h5Fixture("f32_int32_plain.h5"), "--many", "10", "--few", "50")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "Error: --few 50 must not exceed --many 10 + 1 (Few: n < few, Many: n > many)\n")
    }

    func testProgressOnStderrAndQuiet() throws {
        let n = 40_000, d = 200    // 32 MB of float32: more than one 16 MiB block
        let set = FeatureSet(features: [Float](repeating: 0.5, count: n * d), dim: d,
                             labels: (0..<n).map { Int32($0 % 3) }, numClasses: 3)
        let p = dir.appendingPathComponent("big.h5").path
        try FeatureStore.writeFeatures(set, to: p)
        let loud = try afg("inspect", p)
        XCTAssertEqual(loud.status, 0)
        XCTAssertTrue(loud.err.hasPrefix("inspect: "), loud.err)
        let quiet = try afg("inspect", p, "--quiet")
        XCTAssertEqual(quiet.err, "")
        XCTAssertEqual(quiet.out, loud.out)
        XCTAssertTrue(quiet.out.contains("features: features, 40000 × 200, float32\n"))
    }
}
