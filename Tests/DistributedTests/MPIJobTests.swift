import AFG
import Classifier
import FeatureIO
import Foundation
import Linalg
import XCTest

/// `mpirun -np N afg …` (N = 1, 2, 3, oversubscribed on this machine) against one process
/// on the concatenated file, on the sharded fixtures of `fixtures/shards` (514 rows, D = 16,
/// 8 classes, shards a / b / c of 200 / 170 / 144 rows). Open MPI comes from `make setup`:
/// a missing `mpirun` is a failure, not a skip.
final class MPIJobTests: XCTestCase {
    var dir: URL!
    let shards = ["a.h5", "b.h5", "c.h5"].map(shardFixture)
    let all = shardFixture("all.h5")
    let test = shardFixture("test.h5")

    override func setUpWithError() throws {
        // A failure, not a skip: `make setup` installs Open MPI, `make test` builds afg.
        _ = try XCTUnwrap(FileManager.default.isExecutableFile(atPath: afgBinary.path) ? afgBinary : nil,
                          "afg not built at \(afgBinary.path)")
        _ = try XCTUnwrap(mpirunPath, "mpirun not found: `make setup` installs openmpi-bin")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("afg-mpi-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(at: dir!) }
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `--train a --train b --train c`.
    var shardFlags: [String] { shards.flatMap { ["--train", $0] } }

    func testCalibrateStatisticsAndBalancedRowsMatchOneProcess() throws {
        let one = try runProcess(afgBinary.path, ["calibrate", "--train", all, "--out", path("one.h5"), "--generate", path("one-b.h5"),
                                          "--seed", "3", "--quiet"])
        XCTAssertEqual(one.status, 0, one.err)
        let reference = try FeatureStore.readStatistics(path: path("one.h5"))
        let referenceRows = try FeatureStore.readFeatures(path: path("one-b.h5"))
        for n in 1...3 {
            // N = 2 also reads one file split by rows; the others read their own shards.
            let inputs = n == 2 ? ["--train", all] : shardFlags
            let r = try mpirun(n, ["calibrate"] + inputs + ["--out", path("s\(n).h5"), "--generate", path("b\(n).h5"),
                                   "--seed", "3", "--quiet"])
            XCTAssertEqual(r.status, 0, "np \(n): \(r.err)")
            let s = try FeatureStore.readStatistics(path: path("s\(n).h5"))
            XCTAssertEqual(s.counts, reference.counts, "np \(n)")
            XCTAssertEqual(s.tukeyLambda, reference.tukeyLambda, "np \(n)")
            assertClose(s.means, reference.means, relative: 1e-6, "np \(n) means")
            assertClose(s.covariances!, reference.covariances!, relative: 1e-6, "np \(n) covariances")
            // Generated rows come from per-row streams: the one-process rows, bit for bit.
            let b = try FeatureStore.readFeatures(path: path("b\(n).h5"))
            XCTAssertEqual(b.labels, referenceRows.labels, "np \(n)")
            XCTAssertEqual(b.features, referenceRows.features, "np \(n): balanced rows differ from one process")
            XCTAssertEqual(try FeatureStore.readColumn(path: path("b\(n).h5"), key: "is_generated"),
                           try FeatureStore.readColumn(path: path("one-b.h5"), key: "is_generated"))
        }
    }

    func testLBFGSWeightsAndTestPredictionsMatchOneProcess() throws {
        let common = ["--method", "crt", "--solver", "lbfgs", "--C", "1", "--val", test, "--quiet"]
        let one = try runProcess(afgBinary.path, ["train", "--train", all, "--out", path("one.h5")] + common)
        XCTAssertEqual(one.status, 0, one.err)
        let reference = try FeatureStore.readClassifier(path: path("one.h5"))
        let referencePredictions = try predictions(of: reference)
        for n in 1...3 {
            let r = try mpirun(n, ["train"] + shardFlags + ["--out", path("c\(n).h5")] + common)
            XCTAssertEqual(r.status, 0, "np \(n): \(r.err)")
            let c = try FeatureStore.readClassifier(path: path("c\(n).h5"))
            XCTAssertEqual(c.classCounts, reference.classCounts, "np \(n)")
            XCTAssertEqual(c.method, "crt-lbfgs-balanced")
            assertClose(c.weight, reference.weight, absolute: 1e-6, "np \(n) weights")
            assertClose(c.bias, reference.bias, absolute: 1e-6, "np \(n) biases")
            XCTAssertEqual(try predictions(of: c), referencePredictions, "np \(n): test predictions differ")
            // The report (rank 0 only) scores the whole validation set.
            XCTAssertEqual(r.out.split(separator: "\n").last, one.out.split(separator: "\n").last, "np \(n)")
        }
    }

    /// `--C 1` on 30,000 rows in three shards of 10,000: the rows move to the solver's
    /// block boundaries (8,192 rows), so rank 0 solves on rows 0..<16384, rank 1 on
    /// 16384..<24576 and rank 2 on the rest at np 3 (every rank holds rows), and the
    /// double-double sums make the solve the one-process solve: the bar is 1e-6 on
    /// the weights with the same predictions; the bits agree.
    func testLBFGSAcrossRanksIsTheOneProcessSolve() throws {
        let (c, d) = (8, 16)
        var rng = Xoshiro256(seed: 7, stream: 1)
        func gaussian() -> Float {
            Float((-2 * Foundation.log(rng.nextOpenUnit())).squareRoot() * cos(2 * Double.pi * rng.nextOpenUnit()))
        }
        let means = (0..<(c * d)).map { _ in 1.2 * gaussian() }
        func rows(_ n: Int) -> FeatureSet {
            var x = [Float](), y = [Int32]()
            for i in 0..<n {
                // Long-tailed: class k (the trailing ones of i) twice as frequent as class k + 1.
                let label = Int32(min(c - 1, (~i).trailingZeroBitCount))
                y.append(label)
                for j in 0..<d { x.append(means[Int(label) * d + j] + gaussian()) }
            }
            return FeatureSet(features: x, dim: d, labels: y, numClasses: c, classNames: (0..<c).map { "c\($0)" })
        }
        let all = rows(30_000), held = rows(3_000)
        try FeatureStore.writeFeatures(all, to: path("all.h5"))
        try FeatureStore.writeFeatures(held, to: path("held.h5"))
        for (k, name) in ["a", "b", "c"].enumerated() {
            let part = (k * 10_000 * d)..<((k + 1) * 10_000 * d)
            try FeatureStore.writeFeatures(FeatureSet(features: Array(all.features[part]), dim: d,
                                                      labels: Array(all.labels[(k * 10_000)..<((k + 1) * 10_000)]),
                                                      numClasses: c, classNames: all.classNames), to: path("\(name).h5"))
        }
        let common = ["--method", "crt", "--solver", "lbfgs", "--C", "1", "--quiet"]
        let one = try runProcess(afgBinary.path, ["train", "--train", path("all.h5"), "--out", path("one.h5")] + common)
        XCTAssertEqual(one.status, 0, one.err)
        let reference = try FeatureStore.readClassifier(path: path("one.h5"))
        let x = Matrix(rows: held.count, cols: d, data: held.features)
        func predict(_ f: ClassifierFile) -> [Int32] {
            LinearModel(weight: Matrix(rows: f.numClasses, cols: f.dim, data: f.weight), bias: f.bias).predict(x)
        }
        for n in 2...3 {
            let r = try mpirun(n, ["train", "--train", path("a.h5"), "--train", path("b.h5"), "--train", path("c.h5"),
                                   "--out", path("m\(n).h5")] + common)
            XCTAssertEqual(r.status, 0, "np \(n): \(r.err)")
            let m = try FeatureStore.readClassifier(path: path("m\(n).h5"))
            XCTAssertEqual(m.classCounts, reference.classCounts, "np \(n)")
            assertClose(m.weight, reference.weight, absolute: 1e-6, "np \(n) weights")
            assertClose(m.bias, reference.bias, absolute: 1e-6, "np \(n) biases")
            XCTAssertEqual(predict(m), predict(reference), "np \(n): predictions differ")
        }
    }

    /// Validation rows that repeat training rows held by another rank are found across
    /// ranks: the note and the validation score are one process's (five rows of shard c,
    /// the last shard, before the held-out rows).
    func testRepeatedValidationRowsAreFoundOnEveryRank() throws {
        let c = try FeatureStore.readFeatures(path: shards[2]), val = try FeatureStore.readFeatures(path: shardFixture("val.h5"))
        let k = 5, mixed = path("mixed.h5")
        try FeatureStore.writeFeatures(FeatureSet(features: Array(c.features[..<(k * c.dim)]) + val.features, dim: val.dim,
                                                  labels: Array(c.labels[..<k]) + val.labels, numClasses: val.numClasses,
                                                  classNames: val.classNames), to: mixed)
        let common = ["--method", "crt", "--solver", "lbfgs", "--C", "1", "--val", mixed, "--json", "--quiet"]
        func report(_ r: (status: Int32, out: String, err: String)) throws -> (notes: [String], validation: [String: Double]) {
            XCTAssertEqual(r.status, 0, r.err)
            let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
            let v = try XCTUnwrap(j["validation"] as? [String: Any])
            return (j["notes"] as? [String] ?? [], v.compactMapValues { $0 as? Double })
        }
        let one = try report(runProcess(afgBinary.path, ["train", "--train", all, "--out", path("one.h5")] + common))
        let note = "\(k) of \(k + val.count) validation rows repeat a training row (the same features): the validation score leaves them out"
        XCTAssertTrue(one.notes.contains(note), "\(one.notes)")
        for n in 2...3 {
            let m = try report(mpirun(n, ["train"] + shardFlags + ["--out", path("m\(n).h5")] + common))
            XCTAssertTrue(m.notes.contains(note), "np \(n): \(m.notes)")
            XCTAssertEqual(m.validation["rows"], one.validation["rows"], "np \(n)")
            XCTAssertEqual(try XCTUnwrap(m.validation["meanPerClassRecall"]), try XCTUnwrap(one.validation["meanPerClassRecall"]),
                           accuracy: 1e-9, "np \(n)")
        }
    }

    /// `--C auto` (the default with `--val`): the one-process folds over train + val, every
    /// fit and held-out score summed across ranks; the same C and the same classifier.
    func testCrossValidatedCMatchesOneProcess() throws {
        let common = ["--method", "crt", "--solver", "lbfgs", "--val", test, "--json", "--quiet"]
        let one = try runProcess(afgBinary.path, ["train", "--train", all, "--out", path("one.h5")] + common)
        XCTAssertEqual(one.status, 0, one.err)
        let reference = try FeatureStore.readClassifier(path: path("one.h5"))
        let referenceC = try chosenC(one.out)
        for n in 2...3 {
            let r = try mpirun(n, ["train"] + shardFlags + ["--out", path("cv\(n).h5")] + common)
            XCTAssertEqual(r.status, 0, "np \(n): \(r.err)")
            XCTAssertEqual(try chosenC(r.out), referenceC, "np \(n): chosen C")
            let c = try FeatureStore.readClassifier(path: path("cv\(n).h5"))
            XCTAssertEqual(c.classCounts, reference.classCounts, "np \(n): train + val counts")
            assertClose(c.weight, reference.weight, absolute: 1e-4, "np \(n) weights")
            XCTAssertEqual(try predictions(of: c), try predictions(of: reference), "np \(n): test predictions differ")
            // The grid's scores: equal where the solves are well conditioned; at C ≥ 100 the
            // nearly separable folds stop the solver at its tolerance on iterates that differ
            // by more than rounding, and a held-out row or two may flip (< 0.01 in mean recall).
            let (g, g1) = (try gridScores(c.configJSON), try gridScores(reference.configJSON))
            XCTAssertEqual(g.count, 9)
            for (a, b) in zip(g, g1) { XCTAssertEqual(a, b, accuracy: 0.01, "np \(n): grid score") }
            XCTAssertEqual(Array(g.prefix(5)), Array(g1.prefix(5)), "np \(n): grid scores up to C = 1")
        }
    }

    func gridScores(_ config: String) throws -> [Double] {
        let o = try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any]
        return try XCTUnwrap(o?["grid"] as? [[String: Any]], config).compactMap { $0["cv_mean_recall"] as? Double }
    }

    /// Plain `--method glag` (the converged solver): C* by the distributed cross-validation,
    /// the one-process generated rows split by rank, one distributed solve.
    func testGeneratedRegressionMatchesOneProcess() throws {
        let common = ["--method", "glag", "--val", test, "--json", "--quiet"]
        let one = try runProcess(afgBinary.path, ["train", "--train", all, "--out", path("one.h5")] + common)
        XCTAssertEqual(one.status, 0, one.err)
        let reference = try FeatureStore.readClassifier(path: path("one.h5"))
        XCTAssertEqual(reference.method, "glag-lbfgs")
        for n in 2...3 {
            let r = try mpirun(n, ["train"] + shardFlags + ["--out", path("g\(n).h5")] + common)
            XCTAssertEqual(r.status, 0, "np \(n): \(r.err)")
            XCTAssertEqual(try chosenC(r.out), try chosenC(one.out), "np \(n): C")
            let c = try FeatureStore.readClassifier(path: path("g\(n).h5"))
            XCTAssertEqual(c.configJSON, reference.configJSON, "np \(n): record")
            XCTAssertEqual(c.classCounts, reference.classCounts, "np \(n)")
            assertClose(c.weight, reference.weight, absolute: 1e-4, "np \(n) weights")
            XCTAssertEqual(c.rawWeight == nil, reference.rawWeight == nil, "np \(n): two views")
            if let r = c.rawWeight, let q = reference.rawWeight { assertClose(r, q, absolute: 1e-4, "np \(n) raw weights") }
            XCTAssertEqual(try predictions(of: c), try predictions(of: reference), "np \(n): test predictions differ")
        }
    }

    func chosenC(_ json: String) throws -> Double {
        let o = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return try XCTUnwrap((o?["chosen"] as? [String: Any])?["C"] as? Double, json)
    }

    func testARankWithoutRowsTakesPartInTheSolve() throws {
        // 2 rows on 3 ranks: rank 0 holds none, yet sums its (zero) part at every step. Solved
        // tightly: at the default tolerance the iterates of two summation orders stop up to
        // ~1e-4 apart on this ill-conditioned problem, on some BLAS kernels.
        let a = try FeatureStore.readFeatures(path: all)
        let other = a.labels.firstIndex { $0 != a.labels[0] }!      // two classes: a well-posed problem
        let two = FeatureSet(features: Array(a.features[0..<a.dim] + a.features[(other * a.dim)..<((other + 1) * a.dim)]),
                             dim: a.dim, labels: [a.labels[0], a.labels[other]], numClasses: a.numClasses, classNames: a.classNames)
        try FeatureStore.writeFeatures(two, to: path("two.h5"))
        let args = ["train", "--method", "crt", "--solver", "lbfgs", "--train", path("two.h5"), "--tolerance", "1e-9", "--quiet"]
        let one = try runProcess(afgBinary.path, args + ["--out", path("one.h5")])
        XCTAssertEqual(one.status, 0, one.err)
        let r = try mpirun(3, args + ["--out", path("three.h5")])
        XCTAssertEqual(r.status, 0, r.err)
        let reference = try FeatureStore.readClassifier(path: path("one.h5"))
        let c = try FeatureStore.readClassifier(path: path("three.h5"))
        assertClose(c.weight, reference.weight, absolute: 1e-4, "weights")
        XCTAssertEqual(c.classCounts, reference.classCounts)
    }

    func testEvaluateSumsTheConfusionAndThePairedCountsAcrossRanks() throws {
        let trained = try runProcess(afgBinary.path, ["train", "--method", "crt", "--solver", "lbfgs", "--train", all,
                                               "--out", path("c.h5"), "--quiet"])
        XCTAssertEqual(trained.status, 0, trained.err)
        let other = try runProcess(afgBinary.path, ["train", "--method", "ce", "--solver", "lbfgs", "--tolerance", "1e-2",
                                                    "--train", all, "--out", path("d.h5"), "--quiet"])
        XCTAssertEqual(other.status, 0, other.err)
        // --compare adds the paired counts, summed across ranks as the confusion is.
        let args = ["evaluate", "--classifier", path("c.h5"), "--compare", path("d.h5"), "--test", test, "--json"]
        let one = try runProcess(afgBinary.path, args)
        XCTAssertEqual(one.status, 0, one.err)
        for n in 2...3 {
            let r = try mpirun(n, args)
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertEqual(r.out, one.out, "np \(n): evaluate differs from one process")
        }
    }

    func testAShardThatCannotBeReadEndsTheJobWithOneLineAndNoOutput() throws {
        let missing = path("missing.h5")
        let r = try mpirun(3, ["calibrate", "--train", shards[0], "--train", missing, "--train", shards[2],
                               "--out", path("s.h5"), "--generate", path("b.h5"), "--quiet"])
        XCTAssertNotEqual(r.status, 0)
        let ours = r.err.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(ours, ["Error: rank 1: \(missing): no such file"], r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "files left behind")
    }

    func testShardsThatDisagreeAcrossRanksAreRefused() throws {
        let bad = shardFixture("bad-dim.h5")
        let r = try mpirun(2, ["train", "--method", "crt", "--solver", "lbfgs", "--train", shards[0], "--train", bad,
                               "--out", path("c.h5"), "--quiet"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.err.split(separator: "\n").filter { $0.hasPrefix("Error:") },
                       ["Error: rank 1: \(bad): feature dimension 15, rank 0's files have 16"], r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testARankThatDiesEndsTheJobWithNoOutput() throws {
        // Rank 1 is a process that kills itself: rank 0 (afg) must not wait forever, nor write.
        let r = try runProcess(mpirunPath!, mpirunFlags + ["-np", "1", afgBinary.path, "calibrate"] + shardFlags
                            + ["--out", path("s.h5"), "--quiet", ":", "-np", "1", "sh", "-c", "sleep 1; kill -9 $$"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("rank 1"), r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testPathsThatDoNotRunDistributedAreRefusedUnderMPI() throws {
        let cases: [([String], String)] = [
            (["--method", "glag", "--select-on-val", "--val", test], "under mpirun, --select-on-val runs in one process"),
            (["--method", "glag", "--rounds", "3"], "under mpirun, --rounds runs in one process"),
            (["--method", "lws"], "under mpirun, lws runs in one process (its scales are not data-parallel)"),
            (["--method", "glag", "--epoch-rows", "100"], "under mpirun, --epoch-rows runs in one process"),
            (["--method", "ce", "--checkpoint-every", "2"], "under mpirun, train does not checkpoint: drop --resume / --checkpoint-every"),
        ]
        for (flags, message) in cases {
            let r = try mpirun(2, ["train", "--train", all, "--out", path("g.h5")] + flags)
            XCTAssertNotEqual(r.status, 0, "\(flags)")
            // afg's one line (rank 0 only); mpirun's own banner may come before or after it.
            XCTAssertEqual(r.err.split(separator: "\n").filter { $0.hasPrefix("Error:") }, ["Error: " + message], "\(flags)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    /// Data-parallel SGD: every rank draws the global epoch order, trains on its rows of
    /// each mini-batch (its real rows, its blocks of the generated rows) and the gradients
    /// are summed before one update; the result is one process's up to summation order.
    func testSGDGLAGWithKDIsDataParallelAndMatchesOneProcess() throws {
        let head = try runProcess(afgBinary.path, ["train", "--method", "ce", "--solver", "lbfgs", "--C", "1", "--train", all,
                                                   "--out", path("head.h5"), "--quiet"])
        XCTAssertEqual(head.status, 0, head.err)
        let common = ["--method", "glag", "--solver", "sgd", "--teacher", path("head.h5"), "--val", test, "--epochs", "12",
                      "--seed", "5", "--quiet"]
        let one = try runProcess(afgBinary.path, ["train", "--train", all, "--out", path("one.h5")] + common)
        XCTAssertEqual(one.status, 0, one.err)
        let reference = try FeatureStore.readClassifier(path: path("one.h5"))
        let referenceAccuracy = try accuracy(of: reference)
        for n in 1...3 {
            let inputs = n == 2 ? ["--train", all] : shardFlags   // N = 2 splits one file by rows
            let r = try mpirun(n, ["train"] + inputs + ["--out", path("g\(n).h5")] + common)
            XCTAssertEqual(r.status, 0, "np \(n): \(r.err)")
            let c = try FeatureStore.readClassifier(path: path("g\(n).h5"))
            XCTAssertEqual(c.classCounts, reference.classCounts, "np \(n)")
            XCTAssertEqual(c.method, "glag")
            assertClose(c.weight, reference.weight, absolute: 1e-4, "np \(n) weights")
            assertClose(c.bias, reference.bias, absolute: 1e-4, "np \(n) biases")
            XCTAssertEqual(try accuracy(of: c), referenceAccuracy, accuracy: 0.1, "np \(n): test accuracy (points)")
        }
        // Sanity of the comparison itself: another seed is another classifier.
        let other = try runProcess(afgBinary.path, ["train", "--train", all, "--out", path("seed6.h5")] + common.dropLast(3) + ["--seed", "6", "--quiet"])
        XCTAssertEqual(other.status, 0, other.err)
        let w6 = try FeatureStore.readClassifier(path: path("seed6.h5")).weight
        XCTAssertGreaterThan(zip(w6, reference.weight).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testSGDBaselinesAreDataParallel() throws {
        for method in ["crt", "ce", "tailcalib"] {
            let common = ["--method", method, "--solver", "sgd", "--epochs", "8", "--quiet"]
            let one = try runProcess(afgBinary.path, ["train", "--train", all, "--out", path("\(method)-1.h5")] + common)
            XCTAssertEqual(one.status, 0, one.err)
            let r = try mpirun(3, ["train"] + shardFlags + ["--out", path("\(method)-3.h5")] + common)
            XCTAssertEqual(r.status, 0, "\(method): \(r.err)")
            let a = try FeatureStore.readClassifier(path: path("\(method)-3.h5")), b = try FeatureStore.readClassifier(path: path("\(method)-1.h5"))
            assertClose(a.weight, b.weight, absolute: 1e-4, "\(method) weights")
            XCTAssertEqual(try predictions(of: a), try predictions(of: b), "\(method): test predictions differ")
        }
    }

    func testExtractSplitsTheImagesByRank() throws {
        // 30 RGB 4 × 4 images, 3 classes, and a one-epoch MLP checkpoint (one process).
        let (n, h, w, c) = (30, 4, 4, 3)
        var pixels = [UInt8](repeating: 0, count: n * h * w * c)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: (i * 37 + (i / 48) * 11) % 256) }
        let labels = (0..<n).map { Int32($0 % 3) }
        try FeatureStore.writeImages(ImageFile(height: h, width: w, channels: c, pixels: pixels, labels: labels, numClasses: 3,
                                               attributes: ["mean": "0.5,0.5,0.5", "std": "0.25,0.25,0.25"]), to: path("img.h5"))
        let pre = try runProcess(afgBinary.path, ["pretrain", "--arch", "mlp", "--data", path("img.h5"), "--out", path("ck.safetensors"),
                                                  "--epochs", "1", "--batch-size", "8", "--quiet"])
        XCTAssertEqual(pre.status, 0, pre.err)
        let args = ["extract", "--checkpoint", path("ck.safetensors"), "--data", path("img.h5"), "--quiet"]
        let one = try runProcess(afgBinary.path, args + ["--out", path("one.h5")])
        XCTAssertEqual(one.status, 0, one.err)
        let reference = try FeatureStore.readFeatures(path: path("one.h5"))
        for np in 2...3 {
            let r = try mpirun(np, args + ["--out", path("x\(np).h5")])
            XCTAssertEqual(r.status, 0, r.err)
            let x = try FeatureStore.readFeatures(path: path("x\(np).h5"))
            XCTAssertEqual(x.labels, reference.labels, "np \(np)")
            assertClose(x.features, reference.features, relative: 1e-5, "np \(np) features")
            // "head accuracy 0.xxxx (…s": the accuracy over every rank's images.
            func accuracy(_ out: String) -> Substring? { out.split(separator: "\n").last?.prefix(20) }
            XCTAssertEqual(accuracy(r.out), accuracy(one.out), r.out)
        }
    }

    // MARK: helpers

    /// The predicted class of every row of `test.h5` under the classifier's recorded λ (and,
    /// for a two-view classifier, its `raw_weight` head on the raw rows).
    func predictions(of c: ClassifierFile) throws -> [Int32] {
        let set = try FeatureStore.readFeatures(path: test)
        let raw = Matrix(rows: set.count, cols: set.dim, data: set.features)
        var x = raw
        if let l = c.tukeyLambda { try Tukey.apply(&x, lambda: l) }
        let w = Matrix(rows: c.numClasses, cols: c.dim, data: c.weight)
        guard let r = c.rawWeight else { return LinearModel(weight: w, bias: c.bias).predict(x) }
        return LinearModel(weight: .horizontalJoin(w, Matrix(rows: c.numClasses, cols: c.dim, data: r)), bias: c.bias)
            .predict(.horizontalJoin(x, raw))
    }

    /// Test accuracy in points.
    func accuracy(of c: ClassifierFile) throws -> Double {
        let labels = try FeatureStore.readFeatures(path: test).labels
        let p = try predictions(of: c)
        return 100 * Double(zip(p, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    func mpirun(_ n: Int, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try runProcess(mpirunPath!, mpirunFlags + ["-np", "\(n)", afgBinary.path] + args)
    }
}

/// `|a − b| ≤ relative · max|b|` (or `≤ absolute`), elementwise, naming the worst entry.
func assertClose(_ a: [Float], _ b: [Float], relative: Double? = nil, absolute: Double? = nil, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let scale = b.map { abs(Double($0)) }.max() ?? 0
    let bound = absolute ?? relative! * max(scale, .leastNormalMagnitude)
    var worst = 0.0, at = 0
    for i in 0..<min(a.count, b.count) where abs(Double(a[i]) - Double(b[i])) > worst {
        worst = abs(Double(a[i]) - Double(b[i])); at = i
    }
    XCTAssertLessThanOrEqual(worst, bound, "\(what): entry \(at) differs by \(worst) (bound \(bound))", file: file, line: line)
}
