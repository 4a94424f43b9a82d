import Foundation
import XCTest
import FeatureIO

/// The refusals of issue-style hostile use, end to end: outputs that would overwrite an
/// input or are not regular files, FIFOs as inputs (no hang), a full disk (no crash, no
/// leftover), calibrate's pair, divergence and the memory plan.
/// Each case: one line on stderr, exit 1, and no output file.
final class ReliabilityTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws {
        dir = try scratchFolder("rel")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A copy of a fixture in the test folder (so a bug cannot damage the committed file).
    func copy(_ name: String) throws -> String {
        let to = path(name)
        try FileManager.default.copyItem(atPath: "\(fixtures)/\(name)", toPath: to)
        return to
    }

    func assertRefused(_ r: (status: Int32, out: String, err: String), _ needle: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, r.err, file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err, file: file, line: line)
        XCTAssertTrue(r.err.contains(needle), r.err, file: file, line: line)
    }

    func testOutputsNeverOverwriteInputs() throws {
        let train = try copy("train.h5"), val = try copy("val.h5"), head = try copy("head.h5"), test = try copy("test.h5")
        let before = try Data(contentsOf: URL(fileURLWithPath: train))
        for (flag, target) in [("--train", train), ("--val", val), ("--teacher", head)] {
            let r = try afg("train", "--method", "crt", "--epochs", "1", "--train", train, "--val", val, "--teacher", head,
                            "--out", target, "--quiet")
            assertRefused(r, "is the same file as \(flag)")
        }
        // Another spelling of the same file, and a link to its folder.
        let sub = path("sub")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path("link"), withDestinationPath: sub)
        assertRefused(try afg("calibrate", "--train", train, "--out", "\(sub)/s.h5", "--generate", "\(sub)/./s.h5"),
                      "two outputs cannot share a file")
        assertRefused(try afg("calibrate", "--train", train, "--out", "\(sub)/s.h5", "--generate", path("link") + "/s.h5"),
                      "two outputs cannot share a file")
        assertRefused(try afg("calibrate", "--train", train, "--out", dir.path + "/sub/../train.h5"), "is the same file as --train")
        // evaluate --plot over its inputs.
        let clf = path("c.h5")
        XCTAssertEqual(try afg("train", "--method", "crt", "--epochs", "1", "--train", train, "--out", clf, "--quiet").status, 0)
        assertRefused(try afg("evaluate", "--classifier", clf, "--test", test, "--plot", test), "is the same file as --test")
        assertRefused(try afg("evaluate", "--classifier", clf, "--test", test, "--plot", clf), "is the same file as --classifier")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: train)), before)
    }

    /// One file given twice among the feature files a command pools (by another spelling or
    /// a link) is refused before any work, saying what reading it twice would do.
    func testOneFileTwiceAmongPooledInputsIsRefused() throws {
        let train = try copy("train.h5"), val = try copy("val.h5"), test = try copy("test.h5")
        try FileManager.default.createSymbolicLink(atPath: path("v.h5"), withDestinationPath: val)
        let out = path("o.h5")
        assertRefused(try afg("train", "--method", "crt", "--train", train, "--val", train, "--out", out),
                      "--val \(train) is the same file as --train \(train): --val rows must be rows the classifier does not train on")
        assertRefused(try afg("train", "--method", "glag", "--select-on-val", "--train", val, "--val", path("v.h5"), "--out", out),
                      "--val \(path("v.h5")) is the same file as --train \(val)")
        assertRefused(try afg("train", "--method", "crt", "--train", train, "--train", dir.path + "/./train.h5", "--out", out),
                      "is the same file as --train \(train): its rows would count twice")
        assertRefused(try afg("calibrate", "--train", val, "--train", path("v.h5"), "--out", out), "its rows would count twice")
        assertRefused(try afg("evaluate", "--classifier", "\(fixtures)/head.h5", "--test", test, "--test", test),
                      "--test \(test) is the same file as --test \(test): its rows would count twice")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Validation rows with the features of a training row are not held out: a copy of the
    /// training file as `--val` is refused; with a validation file holding some training
    /// rows the validation score is the one without them, with a note saying how many.
    func testValidationRowsThatRepeatTrainingRowsAreLeftOut() throws {
        let train = try FeatureStore.readFeatures(path: "\(fixtures)/train.h5")
        let val = try FeatureStore.readFeatures(path: "\(fixtures)/val.h5")
        let copied = path("copy.h5"), mixed = path("mixed.h5")
        try FileManager.default.copyItem(atPath: "\(fixtures)/train.h5", toPath: copied)
        assertRefused(try afg("train", "--method", "crt", "--train", "\(fixtures)/train.h5", "--val", copied, "--out", path("o.h5")),
                      "\(copied): features: every one of its \(train.count) rows repeats a row of --train")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.h5")))
        // 37 training rows (their labels too) before the validation rows.
        let d = train.dim, k = 37
        try FeatureStore.writeFeatures(FeatureSet(features: Array(train.features[..<(k * d)]) + val.features, dim: d,
                                                  labels: Array(train.labels[..<k]) + val.labels, numClasses: val.numClasses,
                                                  classNames: val.classNames), to: mixed)
        func run(_ v: String, _ out: String) throws -> [String: Any] {
            let r = try afg("train", "--method", "crt", "--epochs", "2", "--train", "\(fixtures)/train.h5", "--val", v,
                            "--out", out, "--seed", "3", "--json", "--quiet")
            XCTAssertEqual(r.status, 0, r.err)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        }
        let a = try run(mixed, path("a.h5")), b = try run("\(fixtures)/val.h5", path("b.h5"))
        let note = "\(k) of \(k + val.count) validation rows repeat a training row (the same features): the validation score leaves them out"
        XCTAssertTrue((a["notes"] as? [String] ?? []).contains(note), "\(a["notes"] ?? "no notes")")
        XCTAssertFalse((b["notes"] as? [String] ?? []).contains { $0.contains("repeat a training row") })
        let va = try XCTUnwrap(a["validation"] as? [String: Any]), vb = try XCTUnwrap(b["validation"] as? [String: Any])
        XCTAssertEqual(va["rows"] as? Int, val.count)
        XCTAssertEqual(va["meanPerClassRecall"] as? Double, vb["meanPerClassRecall"] as? Double)
        XCTAssertEqual(FileManager.default.contents(atPath: path("a.h5")), FileManager.default.contents(atPath: path("b.h5")))
    }

    /// Training rows of one class are refused (no classifier to fit); a class without
    /// training rows (a gap in the labels) is fitted around, with a note saying so.
    func testOneClassIsRefusedAndAnEmptyClassIsNoted() throws {
        let train = try FeatureStore.readFeatures(path: "\(fixtures)/train.h5")
        let one = path("one.h5"), gap = path("gap.h5")
        try FeatureStore.writeFeatures(FeatureSet(features: train.features, dim: train.dim,
                                                  labels: [Int32](repeating: 4, count: train.count), numClasses: train.numClasses), to: one)
        assertRefused(try afg("train", "--method", "glag", "--train", one, "--out", path("o.h5")),
                      "\(one): labels: every row is class 4: a classifier needs training rows of at least two classes")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.h5")))
        // Class 2's rows relabelled 3: class 2 has none.
        try FeatureStore.writeFeatures(FeatureSet(features: train.features, dim: train.dim,
                                                  labels: train.labels.map { $0 == 2 ? 3 : $0 }, numClasses: train.numClasses), to: gap)
        let r = try afg("train", "--method", "crt", "--epochs", "2", "--train", gap, "--out", path("g.h5"), "--json", "--quiet")
        XCTAssertEqual(r.status, 0, r.err)
        let notes = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])["notes"] as? [String]
        XCTAssertTrue((notes ?? []).contains("1 of \(train.numClasses) classes has no training rows (class 2): the classifier has nothing to learn them from"),
                      "\(notes ?? [])")
        let full = try afg("train", "--method", "crt", "--epochs", "2", "--train", "\(fixtures)/train.h5", "--out", path("f.h5"), "--json", "--quiet")
        XCTAssertFalse(full.out.contains("no training rows"), full.out)
    }

    func testOutputsMustBeRegularFiles() throws {
        let fifo = path("fifo"), link = path("link.h5")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path("elsewhere.h5"))
        for (out, needle) in [(fifo, "is a FIFO"), (link, "is a symbolic link"), ("/dev/full", "is a character device"),
                              (dir.path, "is a folder")] {
            assertRefused(try afg("train", "--method", "crt", "--train", "\(fixtures)/train.h5", "--out", out, "--quiet"), needle)
        }
        var st = stat()
        XCTAssertEqual(lstat("/dev/full", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "the device node is untouched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("elsewhere.h5")))
    }

    func testFIFOInputIsRefusedNotWaitedOn() throws {
        let fifo = path("in.h5")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        assertRefused(try afg("inspect", fifo), "is a FIFO, not a regular file")
        assertRefused(try afg("train", "--method", "crt", "--train", fifo, "--out", path("o.h5")), "--train \(fifo): is a FIFO")
        assertRefused(try afg("calibrate", "--train", fifo, "--out", path("o.h5")), "is a FIFO")
        assertRefused(try afg("evaluate", "--classifier", "\(fixtures)/head.h5", "--test", fifo), "is a FIFO")
    }

    /// A full disk (here: a file-size limit, so no mount is needed): one line, exit 1, no
    /// crash, no temporary left, the earlier file untouched. Calibrate's two files: neither.
    func testFullDiskIsAOneLineRefusal() throws {
        let out = path("x.h5")
        XCTAssertEqual(try afg("train", "--method", "crt", "--epochs", "1", "--train", "\(fixtures)/train.h5", "--out", out,
                               "--quiet").status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        func limited(_ kb: Int, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
            try shell("ulimit -f \(kb); trap '' XFSZ; exec '\(afgBinary.path)' " + args.map { "'\($0)'" }.joined(separator: " "))
        }
        let r = try limited(8, ["train", "--method", "crt", "--epochs", "2", "--train", "\(fixtures)/train.h5", "--out", out, "--quiet"])
        assertRefused(r, "\(out): closing the file failed (disk full?)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), before)
        let s = path("s.h5"), b = path("b.h5")
        let c = try limited(2000, ["calibrate", "--train", "\(fixtures)/train.h5", "--out", s, "--generate", b, "--quiet"])
        XCTAssertEqual(c.status, 1, c.err)
        XCTAssertEqual(c.err.split(separator: "\n").count, 1, c.err)
        XCTAssertTrue(c.err.contains(b), c.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: s), "the statistics file alone would not belong to any balanced file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: b))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["x.h5"])
    }

    func testDivergenceStopsWithOneLine() throws {
        let out = path("d.h5")
        let r = try afg("train", "--method", "crt", "--epochs", "2", "--lr", "1e30", "--train", "\(fixtures)/train.h5",
                        "--out", out, "--quiet")
        assertRefused(r, "training diverged in epoch 1")
        XCTAssertTrue(r.err.contains("lower --lr"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testPlansThatDoNotFitAreRefusedBeforeReading() throws {
        let out = path("m.h5")
        for extra in [["--batch-size", "1000000000000"], ["--method", "glag", "--target-per-class", "1000000000000"],
                      ["--method", "glag", "--epoch-rows", "1000000000000"], ["--max-memory", "1M"]] {
            let r = try afgArgs(["train", "--method", "crt", "--train", "\(fixtures)/train.h5", "--out", out, "--quiet"] + extra)
            assertRefused(r, "this run needs about")
        }
        let c = try afg("calibrate", "--train", "\(fixtures)/train.h5", "--out", out, "--generate", path("g.h5"),
                        "--target-per-class", "1000000000000")
        assertRefused(c, "this run needs about")
        // A label of 16,777,215 without num_classes: C × C class matrices of 1 PB.
        let big = path("big.h5")
        try FeatureStore.writeFeatures(FeatureSet(features: [0.5, 0.25, 1, 2], dim: 2, labels: [0, 16_777_215],
                                                  numClasses: 16_777_216), to: big)
        assertRefused(try afg("calibrate", "--train", big, "--out", out), "class-by-class matrices")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Few rows in many dimensions: the converged solver's (D+1)² preconditioner (2.3 GB at
    /// D = 12,000) dominates the plan, though the rows themselves are 1.4 MB.
    func testTheSolversSquareMatricesAreInThePlan() throws {
        let d = 12_000, n = 30, wide = path("wide.h5"), out = path("w.h5")
        try FeatureStore.writeFeatures(FeatureSet(features: (0..<(n * d)).map { Float($0 % 7) }, dim: d,
                                                  labels: (0..<n).map { Int32($0 % 3) }, numClasses: 3), to: wide)
        let r = try afg("train", "--method", "crt", "--solver", "lbfgs", "--C", "1", "--train", wide, "--out", out,
                        "--max-memory", "512M", "--quiet")
        assertRefused(r, "the solver's preconditioner")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}

/// Runs `script` with /bin/sh; returns exit status, stdout and stderr.
func shell(_ script: String) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
