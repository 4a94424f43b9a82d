import Foundation
import XCTest
import FeatureIO

/// The options of every subcommand, as the binary declares them (`afg settings --json`:
/// names, defaults, accepted words and the interval of each setting, read back from the
/// `Setting` declarations). Hidden spellings are not listed.
struct DeclaredOption {
    var command: String
    var name: String
    var isFlag: Bool
    var allValues: [String]
    var help: String
    var defaultText: String?
    /// (lower, lowerClosed, upper, upperClosed); nil when the option declares none.
    var interval: (lo: Double?, loClosed: Bool, hi: Double?, hiClosed: Bool)?

    /// Whether the setting takes whole numbers: an integral default, or none and integral bounds.
    var integer: Bool {
        if let d = defaultText { return !d.contains(".") && !d.contains("e") && Double(d) != nil }
        return [interval?.lo, interval?.hi].allSatisfy { $0.map { $0 == $0.rounded() } ?? true }
    }

    /// A value inside the interval and other than the default, for a numeric setting.
    func validNonDefault() -> String? {
        guard let iv = interval else { return nil }
        let d = defaultText.flatMap(Double.init)
        var candidates: [Double] = []
        if let d { candidates += [d / 10, d * 10, d + 1, d / 2, d * 2] }
        candidates += [2, 300, 0.3]
        for c in candidates {
            let v = integer ? c.rounded() : c
            if let d, v == d { continue }
            if let lo = iv.lo, iv.loClosed ? v < lo : v <= lo { continue }
            if let hi = iv.hi, iv.hiClosed ? v > hi : v >= hi { continue }
            return integer ? String(Int(v)) : String(v)
        }
        return nil
    }

    /// A value outside the interval; nil when every finite number is inside.
    func outside() -> String? {
        guard let iv = interval else { return nil }
        func fmt(_ v: Double) -> String { integer ? String(Int(v)) : String(v) }
        if let lo = iv.lo { return fmt(iv.loClosed ? lo - 1 : lo) }
        if let hi = iv.hi { return fmt(iv.hiClosed ? hi + 1 : hi) }
        return integer ? nil : "nan"
    }
}

/// Every declared option of every subcommand.
func declaredOptions() throws -> [DeclaredOption] {
    let r = try afg("settings", "--json")
    let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.err)
    let commands = try XCTUnwrap(root["commands"] as? [String: [[String: Any]]])
    return commands.sorted { $0.key < $1.key }.flatMap { command, options in
        options.map { o in
            let iv = o["interval"] as? [String: Any]
            return DeclaredOption(command: command, name: o["name"] as? String ?? "", isFlag: o["kind"] as? String == "flag",
                                  allValues: o["values"] as? [String] ?? [], help: o["help"] as? String ?? "",
                                  defaultText: o["default"] as? String,
                                  interval: iv.map { ($0["lower"] as? Double, $0["lower_closed"] as? Bool ?? true,
                                                      $0["upper"] as? Double, $0["upper_closed"] as? Bool ?? true) })
        }
    }
}

/// Tests generated from the declarations: every setting of every subcommand refuses a
/// value outside its interval with one line, and on every path of `afg train` every
/// accepted flag changes what the run gives (the classifier, stdout or stderr) or is
/// refused with one line.
final class TrainFlagTests: XCTestCase {
    var dir: URL!
    let shards = repoRoot.appendingPathComponent("fixtures/shards").path

    override func setUpWithError() throws {
        dir = try scratchFolder("flags")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Whether a run was refused: a non-zero exit with one `Error:` line on stderr.
    func refused(_ r: (status: Int32, out: String, err: String)) -> Bool {
        let lines = r.err.split(separator: "\n", omittingEmptySubsequences: true)
        return r.status != 0 && lines.count == 1 && lines[0].hasPrefix("Error: ")
    }

    func testEveryOutOfIntervalSettingIsRefusedWithOneLine() throws {
        let clf = path("c.h5")
        XCTAssertEqual(try afg("train", "--method", "ce", "--epochs", "2", "--train", "\(shards)/all.h5", "--out", clf, "--quiet").status, 0)
        let base: [String: [String]] = [
            "inspect": ["\(shards)/all.h5"],
            "calibrate": ["--train", "\(shards)/all.h5", "--out", path("s.h5"), "--generate", path("g.h5")],
            "train": ["--method", "glag", "--train", "\(shards)/all.h5", "--val", "\(shards)/val.h5", "--out", path("o.h5")],
            "evaluate": ["--classifier", clf, "--test", "\(shards)/test.h5"],
        ]
        var checked = 0
        for o in try declaredOptions() {
            guard let bad = o.outside() else { continue }
            let args = try XCTUnwrap(base[o.command], "afg \(o.command) declares --\(o.name) with an interval: add its base arguments here")
            let r = try afgArgs([o.command] + args + ["--\(o.name)", bad])
            XCTAssertTrue(refused(r), "afg \(o.command) --\(o.name) \(bad): status \(r.status), stderr \(r.err)")
            XCTAssertTrue(r.err.contains("--\(o.name)"), "afg \(o.command) --\(o.name) \(bad): the error names another flag: \(r.err)")
            // The value given apart (`--seed -1`, not `--seed=-1`) is read as the value, so the
            // line names it, not a missing value.
            XCTAssertTrue(r.err.contains(bad), "afg \(o.command) --\(o.name) \(bad): the error does not name the value: \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.h5")), "a refused run wrote its output")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 30, "too few declared settings found: the dump's format changed?")
        let seed = try afgArgs(["train"] + base["train"]! + ["--seed", "-1"])
        XCTAssertTrue(refused(seed) && seed.err.contains("'-1' is invalid for '--seed"), seed.err)
        // A negative number after a flag is that flag's value, refused as one.
        let flag = try afgArgs(["train"] + base["train"]! + ["--quiet", "-1"])
        XCTAssertTrue(refused(flag) && flag.err.contains("'--quiet' does not take any value"), flag.err)
    }

    /// `--many` and `--few` are refused with the hint that fits the run: without `--val`
    /// nothing is grouped; on a run that trains on the validation rows, the score is
    /// cross-validated.
    func testGroupFlagsAreRefusedWithTheHintOfTheirPath() throws {
        let data = ["train", "--method", "crt", "--solver", "lbfgs", "--train", "\(shards)/all.h5", "--out", path("o.h5")]
        for (flag, value) in [("--many", "100"), ("--few", "5")] {
            let alone = try afgArgs(data + ["--C", "1", flag, value])
            XCTAssertTrue(refused(alone), alone.err)
            XCTAssertTrue(alone.err.contains("(no --val: nothing is grouped; pass them to afg evaluate)"), alone.err)
            let pooled = try afgArgs(data + ["--val", "\(shards)/val.h5", flag, value])
            XCTAssertTrue(refused(pooled), pooled.err)
            XCTAssertTrue(pooled.err.contains("refits on every labelled row"), pooled.err)
        }
    }

    /// What one run gave: the classifier's arrays (nil when refused), stdout without
    /// timings and paths, stderr with every number masked (rates and times vary).
    struct Result: Equatable {
        var refused: Bool
        var weights: [[Float]]
        var lambda: Float?
        var counts: [Int]?
        var classNames: [String]?
        var stdout: String
        var stderr: String
    }

    func run(_ args: [String], out: String) throws -> Result {
        try? FileManager.default.removeItem(atPath: out)
        let r = try afgArgs(["train"] + args + ["--out", out])
        if r.status != 0 {
            XCTAssertTrue(refused(r), "afg train \(args.joined(separator: " ")): not one line: \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a refused run wrote \(out)")
            return Result(refused: true, weights: [], lambda: nil, counts: nil, classNames: nil, stdout: "", stderr: "")
        }
        let f = try FeatureStore.readClassifier(path: out)
        // Progress lines (a run past 2 s) depend on the clock, not on the flags.
        func masked(_ s: String) -> String {
            s.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("  iteration ") && !$0.contains(" solves") }
                .joined(separator: "\n")
                .replacingOccurrences(of: out, with: "OUT").replacingOccurrences(of: #"[0-9]+(\.[0-9]+)?"#, with: "#", options: .regularExpression)
        }
        let stdout = r.out.replacingOccurrences(of: out, with: "OUT")
            .replacingOccurrences(of: #", [0-9.]+ s\)"#, with: ")", options: .regularExpression)
            .replacingOccurrences(of: #""seconds" : [0-9.e-]+"#, with: "", options: .regularExpression)
        return Result(refused: false, weights: [f.weight, f.bias, f.rawWeight ?? []], lambda: f.tukeyLambda, counts: f.classCounts,
                      classNames: f.classNames, stdout: stdout, stderr: masked(r.err))
    }

    /// Every path of `afg train` (method × solver × mode, with and without a teacher and
    /// validation rows), every declared option with a valid non-default value.
    func testEveryAcceptedFlagChangesTheRunOnEveryPath() throws {
        let head = path("head.h5")
        XCTAssertEqual(try afg("train", "--method", "ce", "--epochs", "3", "--train", "\(shards)/all.h5", "--out", head, "--quiet").status, 0)
        let data = ["--train", "\(shards)/all.h5"], val = ["--val", "\(shards)/val.h5"], teacher = ["--teacher", head]
        let paths: [[String]] = [
            ["--method", "ce"] + val, ["--method", "crt"] + val, ["--method", "balanced-softmax"] + val,
            ["--method", "lws"] + teacher + val, ["--method", "lws"] + val, ["--method", "tau-norm"] + teacher + val,
            ["--method", "logit-adjust"] + teacher + val, ["--method", "tailcalib"] + val,
            ["--method", "glag", "--solver", "sgd"] + teacher + val,
            ["--method", "glag", "--solver", "sgd", "--select-on-val"] + teacher + val,
            ["--method", "ce", "--solver", "lbfgs"], ["--method", "crt", "--solver", "lbfgs"] + val,
            ["--method", "logit-adjust", "--solver", "lbfgs"] + val, ["--method", "balanced-softmax", "--solver", "lbfgs"],
            ["--method", "glag"] + val, ["--method", "glag"],
            ["--method", "glag", "--rounds", "3"] + val, ["--method", "glag", "--select-on-val"] + val,
        ]
        // Options that choose the path or name its files.
        let structural: Set<String> = ["method", "solver", "train", "val", "teacher", "out", "help", "version"]
        // Their effect is on a run that is killed (the checkpoint is removed at the end), or
        // on inputs whose class names disagree (a waiver; ClassNameTests).
        let sideEffectOnly: Set<String> = ["checkpoint-every", "class-names-may-differ"]
        let options = try declaredOptions().filter { $0.command == "train" && !structural.contains($0.name) }
        XCTAssertGreaterThan(options.count, 40)
        var accepted = 0, refusals = 0
        for p in paths {
            let a = path("a.h5"), b = path("b.h5")
            let baseline = try run(data + p, out: a)
            XCTAssertFalse(baseline.refused, "base path \(p) refused")
            for o in options where !p.contains("--\(o.name)") {
                var given = ["--\(o.name)"]
                if !o.isFlag {
                    let value: String?
                    switch o.name {
                    case "tukey": value = "0.25"
                    case "seed": value = "7"
                    case "C": value = "10"
                    case "rounds": value = "2"
                    case "epoch-rows": value = "300"
                    case "head-key": value = "fc"
                    case "max-memory": value = "1K"
                    case "features-key", "labels-key", "class-names-key": value = "missing"
                    default: value = o.allValues.first { $0 != o.defaultText } ?? o.validNonDefault()
                    }
                    given.append(try XCTUnwrap(value, "no valid non-default value for --\(o.name): \(o.help)"))
                }
                let r = try run(data + p + given, out: b)
                if r.refused { refusals += 1; continue }
                accepted += 1
                if sideEffectOnly.contains(o.name) { continue }
                // --quiet silences stderr: a run that prints nothing there is quiet already.
                if o.name == "quiet" && baseline.stderr.isEmpty { continue }
                XCTAssertNotEqual(r, baseline, "afg train \(p.joined(separator: " ")) \(given.joined(separator: " ")): accepted, and changes nothing")
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refusals, 100)
    }
}
