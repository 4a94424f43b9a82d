import Foundation
import XCTest
import FeatureIO

/// `afg train` end to end on the bundled Fashion-MNIST-LT fixtures: `--select-on-val`
/// (SGD and lbfgs) prints valid JSON naming the arg-max setting, records it in the file,
/// is byte-reproducible, and refuses contradictory flags with one line and exit 1.
final class TrainTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws {
        dir = try scratchFolder("train")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The recommended command, or with `--solver sgd` its SGD grid (which reads the teacher,
    /// the epochs and a validation report's cut points).
    func select(_ out: String, _ extra: String...) throws -> (status: Int32, out: String, err: String) {
        let sgd = extra.starts(with: ["--solver", "sgd"])
        let sgdOnly = ["--teacher", "\(fixtures)/head.h5", "--epochs", "2", "--many", "999", "--few", "200"]
        let args = ["train", "--method", "glag", "--select-on-val", "--head-threshold", "1000",
                    "--train", "\(fixtures)/train.h5", "--val", "\(fixtures)/val.h5",
                    "--out", out, "--seed", "5", "--json", "--quiet"] + (sgd ? sgdOnly : []) + extra
        return try afgArgs(args)
    }

    func testSGDSelectionPicksTheArgMaxAndIsReproducible() throws {
        let a = path("a.h5"), b = path("b.h5")
        let r = try select(a, "--solver", "sgd")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let grid = try XCTUnwrap(j["selectionGrid"] as? [String: Double])
        XCTAssertEqual(Set(grid.keys), ["stage-one-b0.6", "stage-one-b1.0", "balanced-b0.6", "balanced-b1.0", "no-kd-b0.6", "no-kd-b1.0"])
        let chosen = try XCTUnwrap(j["selected"] as? String)
        XCTAssertEqual(grid[chosen], grid.values.max())
        // The file's own validation score is the chosen setting's.
        let v = try XCTUnwrap(j["validation"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(v["meanPerClassRecall"] as? Double), grid[chosen]!, accuracy: 1e-12)
        let file = try FeatureStore.readClassifier(path: a)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(file.configJSON.utf8)) as? [String: Any], file.configJSON)
        let selection = try XCTUnwrap(config["selection"] as? [String: Any])
        XCTAssertEqual(selection["chosen"] as? String, chosen)
        XCTAssertEqual((selection["grid"] as? [Any])?.count, 6)
        XCTAssertEqual(try select(b, "--solver", "sgd").status, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b), "same seed, same bytes")
    }

    /// The recommended command (lbfgs, the default with --select-on-val): cross-validated on
    /// train + val, the candidates and C recorded, the choice the documented rule's, the same
    /// bytes twice.
    func testCrossValidatedSelectionRecordsItsChoiceAndIsReproducible() throws {
        let a = path("l.h5"), b = path("m.h5")
        let r = try select(a, "--tolerance", "1e-2")
        XCTAssertEqual(r.status, 0, r.err)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        let chosen = try XCTUnwrap(j["selected"] as? String)
        XCTAssertEqual(j["method"] as? String, "glag-cv")
        let file = try FeatureStore.readClassifier(path: a)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(file.configJSON.utf8)) as? [String: Any], file.configJSON)
        // The file's counts are the training split's (evaluation groups by them); the rows
        // fitted, train + val, are recorded apart.
        XCTAssertEqual((config["fitted_class_counts"] as? [Int])?.reduce(0, +), 15639, "trained on train + val")
        XCTAssertLessThan(try XCTUnwrap(file.classCounts).reduce(0, +), 15639)
        XCTAssertNil(j["validation"], "no validation score for rows the classifier trained on")
        let cv = try XCTUnwrap(j["crossValidation"] as? [String: Any])
        XCTAssertEqual(cv["folds"] as? Int, 5)
        XCTAssertEqual(cv["rows"] as? Int, 15639)
        XCTAssertEqual(config["chosen"] as? String, chosen)
        let cands = try XCTUnwrap(config["candidates"] as? [[String: Any]])
        // --tukey auto on non-negative features: raw and transformed spaces, the generated
        // set, then logit adjustment (on the transformed space, τ recorded).
        XCTAssertEqual(cands.compactMap { $0["name"] as? String },
                       ["balanced-lr (raw features)", "balanced-lr (Tukey λ = 0.5)", "generated-lr", "logit-adjusted-lr"])
        XCTAssertTrue((config["selection"] as? String)?.contains("against the generated blend (non-negative features)") == true,
                      file.configJSON)
        XCTAssertEqual((config["C_paths"] as? [Any])?.count, 2)
        XCTAssertEqual(file.tukeyLambda == nil, chosen.contains("raw"), "the file's λ is the chosen space's")
        XCTAssertEqual(try select(b, "--tolerance", "1e-2").status, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b), "same seed, same bytes")
        // The fixture keeps the blend, and a kept blend is plain glag's classifier (same C*/3,
        // generator, seed and rows).
        XCTAssertEqual(chosen, "generated-lr")
        let g = path("plain.h5")
        let p = try afg("train", "--method", "glag", "--head-threshold", "1000", "--train", "\(fixtures)/train.h5",
                        "--val", "\(fixtures)/val.h5", "--out", g, "--seed", "5", "--tolerance", "1e-2", "--quiet")
        XCTAssertEqual(p.status, 0, p.err)
        let plain = try FeatureStore.readClassifier(path: g)
        XCTAssertEqual(plain.weight, file.weight)
        XCTAssertEqual(plain.bias, file.bias)
        XCTAssertNotNil(plain.rawWeight, "two views: the blend's regression reads the raw features")
        XCTAssertEqual(plain.rawWeight, file.rawWeight)
    }

    /// The recommended command on sharded training files (non-negative, so the raw rows are a
    /// candidate space and the blend's second view) writes the heads one file of the same
    /// rows gives.
    func testSelectionOnShardsMatchesOneFile() throws {
        let shards = repoRoot.appendingPathComponent("fixtures/shards").path
        func run(_ trains: [String], _ out: String) throws -> ClassifierFile {
            let r = try afgArgs(["train", "--method", "glag", "--select-on-val", "--val", "\(shards)/test.h5", "--out", out,
                                 "--tolerance", "1e-2", "--quiet"] + trains.flatMap { ["--train", "\(shards)/\($0)"] })
            XCTAssertEqual(r.status, 0, r.err)
            return try FeatureStore.readClassifier(path: out)
        }
        let sharded = try run(["a.h5", "b.h5", "c.h5"], path("sharded.h5")), one = try run(["all.h5"], path("one.h5"))
        XCTAssertEqual(sharded.weight, one.weight)
        XCTAssertEqual(sharded.bias, one.bias)
        XCTAssertEqual(sharded.rawWeight, one.rawWeight)
    }

    /// On signed features (the shards fixture centred) logit adjustment stands: the record
    /// names it, and when it is chosen the record gives its square-root class weights, its
    /// `C` and `τ` (`--method logit-adjust` stays unweighted: another classifier).
    func testSelectionOnSignedFeaturesStandsOnLogitAdjustment() throws {
        let all = try FeatureStore.readFeatures(path: repoRoot.appendingPathComponent("fixtures/shards/all.h5").path)
        var x = all.features
        let d = all.dim, n = all.count
        for j in 0..<d {
            let mean = (0..<n).reduce(0.0) { $0 + Double(x[$1 * d + j]) } / Double(n)
            for i in 0..<n { x[i * d + j] -= Float(mean) }
        }
        let signed = path("signed.h5")
        try FeatureStore.writeFeatures(FeatureSet(features: x, dim: d, labels: all.labels, numClasses: all.numClasses,
                                                  classNames: all.classNames), to: signed)
        let r = try afg("train", "--method", "glag", "--select-on-val", "--train", signed, "--out", path("sel.h5"), "--json", "--quiet")
        XCTAssertEqual(r.status, 0, r.err)
        let file = try FeatureStore.readClassifier(path: path("sel.h5"))
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(file.configJSON.utf8)) as? [String: Any], file.configJSON)
        XCTAssertTrue((config["selection"] as? String)?.contains("against the logit adjustment (signed features)") == true,
                      file.configJSON)
        let cands = try XCTUnwrap(config["candidates"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        XCTAssertEqual(cands, ["balanced-lr", "generated-lr", "logit-adjusted-lr"])
        XCTAssertNil(file.tukeyLambda, "signed features are not transformed")
        guard config["chosen"] as? String == "logit-adjusted-lr" else { return }
        XCTAssertEqual(config["class_weight"] as? String, "n_c^-0.5", file.configJSON)
        XCTAssertNotNil(config["tau"] as? Double, file.configJSON)
        let la = try afg("train", "--method", "logit-adjust", "--solver", "lbfgs", "--train", signed, "--out", path("la.h5"),
                         "--quiet")
        XCTAssertEqual(la.status, 0, la.err)
        let direct = try FeatureStore.readClassifier(path: path("la.h5"))
        let laConfig = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(direct.configJSON.utf8)) as? [String: Any])
        XCTAssertEqual(laConfig["class_weight"] as? String, "none", direct.configJSON)
    }

    /// `--C auto` (the default with --val on lbfgs): the grid printed and recorded, the chosen C
    /// the best mean; `--C` must be auto or a positive finite number.
    func testCAutoCrossValidatesAndBadValuesAreRefused() throws {
        let out = path("c.h5")
        let r = try afg("train", "--method", "crt", "--solver", "lbfgs", "--train", "\(fixtures)/train.h5",
                        "--val", "\(fixtures)/val.h5", "--out", out, "--tolerance", "1e-2")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("by 5-fold cross-validation"), r.err)
        XCTAssertEqual(r.err.components(separatedBy: "C = ").count - 1, 10, r.err)   // the note + 9 grid lines
        let file = try FeatureStore.readClassifier(path: out)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(file.configJSON.utf8)) as? [String: Any], file.configJSON)
        let grid = try XCTUnwrap(config["grid"] as? [[String: Double]])
        XCTAssertEqual(grid.count, 9)
        let best = grid.max { $0["cv_mean_recall"]! < $1["cv_mean_recall"]! }!
        XCTAssertEqual(config["C"] as? Double, best["C"])
        for bad in ["nan", "inf", "0", "-1", "abc"] {
            let e = try afg("train", "--method", "crt", "--solver", "lbfgs", "--C=\(bad)", "--train", "\(fixtures)/train.h5",
                            "--out", path("bad.h5"), "--quiet")
            XCTAssertEqual(e.status, 1, bad)
            XCTAssertEqual(e.err.split(separator: "\n").count, 1, e.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.h5")))
        }
    }

    /// Plain `--method glag` runs on the converged solver (one generated set + regression, C*/3);
    /// an SGD-only flag (--epoch-rows) keeps it on SGD.
    func testPlainGLAGDefaultsToTheConvergedGeneratedSetRegression() throws {
        let out = path("g.h5")
        let r = try afg("train", "--method", "glag", "--train", "\(fixtures)/train.h5", "--val", "\(fixtures)/val.h5",
                        "--out", out, "--tolerance", "1e-2", "--json")
        XCTAssertEqual(r.status, 0, r.err)
        let file = try FeatureStore.readClassifier(path: out)
        XCTAssertEqual(file.method, "glag-lbfgs")
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(file.configJSON.utf8)) as? [String: Any], file.configJSON)
        XCTAssertEqual(config["method"] as? String, "one generated set + unweighted regression")
        let gen = try XCTUnwrap(config["generator"] as? [String: Any])
        XCTAssertEqual(gen["head_threshold"] as? Int, 2000, "⌈n_max/3⌉ of train + val (n_max 6000)")
        XCTAssertTrue(r.err.contains("the generated set uses C*/3"), r.err)
        let s = try afg("train", "--method", "glag", "--epochs", "1", "--epoch-rows", "2000", "--train", "\(fixtures)/train.h5",
                        "--out", path("s.h5"), "--quiet")
        XCTAssertEqual(s.status, 0, s.err)
        XCTAssertEqual(try FeatureStore.readClassifier(path: path("s.h5")).method, "glag")
    }

    func testContradictoryFlagsFailWithOneLine() throws {
        for (extra, needle) in [(["--no-kd"], "drop --no-kd"), (["--checkpoint-every", "1"], "--checkpoint-every applies to a single --solver sgd training")] {
            let out = path("x.h5")
            let r = try select(out, "--solver", "sgd", extra[0], extra.count > 1 ? extra[1] : "--quiet")
            XCTAssertEqual(r.status, 1, "\(extra)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
            XCTAssertTrue(r.err.contains(needle), r.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        let r = try afg("train", "--method", "glag", "--solver", "sgd", "--select-on-val", "--train", "\(fixtures)/train.h5",
                        "--out", path("y.h5"), "--quiet")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("--select-on-val on --solver sgd chooses on --val"), r.err)
        let c = try afg("train", "--method", "crt", "--select-on-val", "--train", "\(fixtures)/train.h5", "--val", "\(fixtures)/val.h5",
                        "--out", path("z.h5"), "--quiet")
        XCTAssertEqual(c.status, 1)
        XCTAssertTrue(c.err.contains("applies to --method glag"), c.err)
        let e = try afg("train", "--method", "glag", "--solver", "lbfgs", "--epoch-rows", "100", "--train", "\(fixtures)/train.h5",
                        "--out", path("e.h5"), "--quiet")
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.err.contains("--epoch-rows applies to --solver sgd"), e.err)
        for extra in [["--method", "crt"], ["--method", "glag", "--solver", "sgd"], ["--method", "glag", "--rounds", "2"]] {
            let h = try afgArgs(["train", "--single-head", "--train", "\(fixtures)/train.h5", "--out", path("h.h5"), "--quiet"] + extra)
            XCTAssertEqual(h.status, 1, "\(extra)")
            XCTAssertEqual(h.err.split(separator: "\n").count, 1, h.err)
            XCTAssertTrue(h.err.contains("--single-head applies to --method glag --solver lbfgs"), h.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("h.h5")))
        }
    }

    /// Every numeric option of `afg train` outside its interval (NaN and ±∞ included) fails
    /// in `validate()` with one line naming the flag, before any file is read.
    func testOptionsOutsideTheirIntervalFailBeforeReading() throws {
        let missing = path("missing.h5")
        for (flag, value) in [("--lr", "inf"), ("--lr", "0"), ("--momentum", "nan"), ("--momentum", "1"), ("--weight-decay", "-1"),
                              ("--batch-size", "0"), ("--epochs", "0"), ("--kd-max", "nan"), ("--kd-max", "-1"),
                              ("--kd-temperature", "0"), ("--kd-gamma", "nan"), ("--beta-step", "-1"), ("--beta-step", "nan"),
                              ("--lws-lr", "nan"), ("--tolerance", "nan"), ("--C", "0"), ("--rounds", "0"), ("--tukey", "nan"),
                              ("--k", "0"), ("--target-per-class", "0"), ("--epoch-rows", "0"), ("--many", "-1"),
                              ("--blend", "nan"), ("--blend", "1.5"), ("--blend", "-0.1")] {
            let r = try afg("train", "--method", "glag", "--train", missing, "--out", path("o.h5"), "\(flag)=\(value)")
            XCTAssertEqual(r.status, 1, "\(flag) \(value): \(r.err)")
            XCTAssertTrue(r.err.hasPrefix("Error: \(flag) must be "), "\(flag) \(value): \(r.err)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        }
    }

    /// A value that does not parse for its option's type is one line (no help or usage block).
    func testUnparsableOptionValuesAreOneLine() throws {
        for (flag, value) in [("--rounds", "nan"), ("--head-threshold", "99999999999999999999"), ("--epochs", "1.5")] {
            let r = try afg("train", "--method", "glag", "--train", "\(fixtures)/train.h5", "--out", path("u.h5"), "\(flag)=\(value)")
            XCTAssertEqual(r.status, 64, r.err)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
            XCTAssertTrue(r.err.hasPrefix("Error: ") && r.err.contains(flag), r.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("u.h5")))
        }
    }

    /// Old and new flag spellings of the generator give the same classifier file.
    func testHiddenAliasesGiveTheSameFile() throws {
        let common = ["train", "--method", "glag", "--solver", "sgd", "--train", "\(fixtures)/train.h5", "--epochs", "1", "--head-threshold", "1000",
                      "--quiet"]
        let a = path("a.h5"), b = path("b.h5")
        let old = try afgArgs(common + ["--out", a, "--beta", "0.9", "--per-class", "3000"])
        XCTAssertEqual(old.status, 0, old.err)
        XCTAssertTrue(old.err.contains("deprecated"), old.err)
        let new = try afgArgs(common + ["--out", b, "--initial-beta", "0.9", "--target-per-class", "3000"])
        XCTAssertEqual(new.status, 0, new.err)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))
    }
}
