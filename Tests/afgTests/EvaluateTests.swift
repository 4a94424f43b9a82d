import Foundation
import XCTest
import FeatureIO

/// `afg evaluate --compare`: each compared classifier scores exactly what it scores alone,
/// the plot draws one bar group per classifier, and mismatched files fail with one line.
final class EvaluateTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws {
        dir = try scratchFolder("evaluate")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func json(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    func testCompareMatchesSeparateEvaluations() throws {
        let a = path("crt.h5"), b = path("lr.h5"), svg = path("plot.svg")
        XCTAssertEqual(try afg("train", "--method", "crt", "--epochs", "2", "--train", "\(fixtures)/train.h5", "--out", a, "--quiet").status, 0)
        XCTAssertEqual(try afg("train", "--method", "ce", "--solver", "lbfgs", "--no-tukey", "--tolerance", "1e-2",
                               "--train", "\(fixtures)/train.h5", "--out", b, "--quiet").status, 0)
        let both = try afg("evaluate", "--classifier", a, "--compare", b, "--test", "\(fixtures)/test.h5", "--plot", svg, "--json")
        XCTAssertEqual(both.status, 0, both.err)
        let alone = try afg("evaluate", "--classifier", b, "--test", "\(fixtures)/test.h5", "--json")
        let compared = try XCTUnwrap(try json(both.out)["compared"] as? [[String: Any]])
        XCTAssertEqual(compared.count, 1)
        let s1 = try XCTUnwrap(compared[0]["summary"] as? [String: Any]), s2 = try XCTUnwrap(try json(alone.out)["summary"] as? [String: Any])
        // b has no Tukey λ while a has 0.5: each is scored under its own transform.
        XCTAssertEqual(s1["overall"] as? Double, s2["overall"] as? Double)
        XCTAssertEqual(s1["meanPerClassRecall"] as? Double, s2["meanPerClassRecall"] as? Double)
        // The paired difference is the compared classifier's figure minus the first's, with a
        // standard error from the rows: positive, and below either figure's own.
        let first = try XCTUnwrap(try json(both.out)["summary"] as? [String: Any])
        let paired = try XCTUnwrap(compared[0]["againstFirst"] as? [String: Any])
        let o1 = try XCTUnwrap(s1["overall"] as? Double), o0 = try XCTUnwrap(first["overall"] as? Double)
        XCTAssertEqual(try XCTUnwrap(paired["overallDifference"] as? Double), o1 - o0, accuracy: 1e-12)
        let pse = try XCTUnwrap(paired["overallStandardError"] as? Double)
        let se0 = try XCTUnwrap(first["overallStandardError"] as? Double), se1 = try XCTUnwrap(s1["overallStandardError"] as? Double)
        XCTAssertGreaterThan(pse, 0)
        XCTAssertLessThan(pse, (se0 * se0 + se1 * se1).squareRoot(), "two classifiers of the same rows agree on most of them")
        XCTAssertEqual(se0, (o0 * (1 - o0) / 10_000).squareRoot(), accuracy: 1e-12, "the fixture's 10,000 test rows")
        let text = try XCTUnwrap(String(contentsOfFile: svg, encoding: .utf8))
        XCTAssertEqual(text.components(separatedBy: "<g fill=").count - 1, 2)
        XCTAssertTrue(text.contains("crt: top-1"))
    }

    /// Plain lbfgs glag on non-negative (Tukey) features writes a two-view classifier:
    /// `evaluate` scores `weight·√x + raw_weight·x + bias`, exactly as computed here from the
    /// files; `--single-head` writes one head; a two-view file is refused as a teacher and
    /// exported with its second head.
    func testTwoViewClassifierIsScoredOnBothViews() throws {
        let a = path("two.h5"), b = path("one.h5")
        XCTAssertEqual(try afg("train", "--method", "glag", "--train", "\(fixtures)/train.h5", "--val", "\(fixtures)/val.h5",
                               "--out", a, "--tolerance", "1e-2", "--quiet").status, 0)
        XCTAssertEqual(try afg("train", "--method", "glag", "--single-head", "--train", "\(fixtures)/train.h5", "--val", "\(fixtures)/val.h5",
                               "--out", b, "--tolerance", "1e-2", "--quiet").status, 0)
        let f = try FeatureStore.readClassifier(path: a), g = try FeatureStore.readClassifier(path: b)
        let raw = try XCTUnwrap(f.rawWeight, "two views on Tukey features")
        XCTAssertNil(g.rawWeight)
        XCTAssertEqual(f.tukeyLambda, 0.5)
        XCTAssertTrue(f.configJSON.contains("\"blend_view\":\"raw\""), f.configJSON)
        let test = try FeatureStore.readFeatures(path: "\(fixtures)/test.h5")
        let c = f.numClasses, d = f.dim
        var correct = 0
        for i in 0..<test.count {
            var best = 0, bestValue = -Double.infinity
            for k in 0..<c {
                var z = Double(f.bias[k])
                for j in 0..<d {
                    let x = Double(test.features[i * d + j])
                    z += Double(f.weight[k * d + j]) * Double(Float(x).squareRoot()) + Double(raw[k * d + j]) * x
                }
                if z > bestValue { bestValue = z; best = k }
            }
            if best == Int(test.labels[i]) { correct += 1 }
        }
        let r = try afg("evaluate", "--classifier", a, "--compare", b, "--test", "\(fixtures)/test.h5", "--json")
        XCTAssertEqual(r.status, 0, r.err)
        let j = try json(r.out)
        XCTAssertEqual(j["rawHead"] as? Bool, true)
        let overall = try XCTUnwrap((j["summary"] as? [String: Any])?["overall"] as? Double)
        XCTAssertEqual(overall, Double(correct) / Double(test.count), accuracy: 1.5 / Double(test.count), "at most one near-tie apart")
        XCTAssertGreaterThan(overall, 0.8)
        let teacher = try afg("train", "--method", "glag", "--solver", "sgd", "--epochs", "1", "--teacher", a,
                              "--train", "\(fixtures)/train.h5", "--out", path("t.h5"), "--quiet")
        XCTAssertEqual(teacher.status, 1)
        XCTAssertEqual(teacher.err.split(separator: "\n").count, 1, teacher.err)
        XCTAssertTrue(teacher.err.contains("raw_weight") && teacher.err.contains("--single-head"), teacher.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("t.h5")))
        XCTAssertEqual(try afg("export", "--classifier", a, "--out", path("two.npz")).status, 0)
        XCTAssertEqual(try FeatureStore.readClassifier(path: path("two.npz")).rawWeight, raw)
    }

    func testMismatchedCompareFailsWithOneLine() throws {
        let a = path("a.h5")
        XCTAssertEqual(try afg("train", "--method", "ce", "--epochs", "1", "--train", "\(fixtures)/train.h5", "--out", a, "--quiet").status, 0)
        var f = try FeatureStore.readClassifier(path: a)
        f.classCounts![0] += 1
        let b = path("b.h5")
        try FeatureStore.writeClassifier(f, to: b)
        let r = try afg("evaluate", "--classifier", a, "--compare", b, "--test", "\(fixtures)/test.h5", "--plot", path("p.svg"))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("other class counts"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("p.svg")))
    }
}

/// The memory head: `evaluate` scores `(1 − w)·log softmax(logits) + w·log p(c | x)`, as
/// computed here from its definition; the recommended command records the folds' choice and
/// `--no-memory-head` writes a linear classifier; a file with a memory head is not a teacher.
final class MemoryHeadCommandTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws { dir = try scratchFolder("memory-head") }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testEvaluateMixesTheMemoryHeadIntoTheScores() throws {
        let linear = path("lr.h5")
        XCTAssertEqual(try afg("train", "--method", "ce", "--solver", "lbfgs", "--no-tukey", "--tolerance", "1e-2",
                               "--train", "\(fixtures)/train.h5", "--out", linear, "--quiet").status, 0)
        var f = try FeatureStore.readClassifier(path: linear)
        let train = try FeatureStore.readFeatures(path: "\(fixtures)/train.h5")
        let test = try FeatureStore.readFeatures(path: "\(fixtures)/val.h5")
        let c = f.numClasses, d = f.dim, m = 400, t = 0.05, w = 0.6
        // The memory: the first m training rows, centred by their mean and of unit length.
        let mean = (0..<d).map { j in (0..<m).reduce(0.0) { $0 + Double(train.features[$1 * d + j]) } / Double(m) }
        func unit(_ x: [Float], _ i: Int, _ centre: [Double]) -> [Double] {
            let v = (0..<d).map { Double(x[i * d + $0]) - centre[$0] }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return n > 0 ? v.map { $0 / n } : v
        }
        let rows = (0..<m).map { unit(train.features, $0, mean) }
        f.memory = .init(center: mean.map(Float.init), rows: rows.flatMap { $0.map(Float.init) },
                         labels: Array(train.labels.prefix(m)), temperature: t, weight: w)
        let mixed = path("mixed.h5")
        try FeatureStore.writeClassifier(f, to: mixed)
        var correct = 0, linearCorrect = 0
        for i in 0..<test.count {
            let z = (0..<c).map { k in (0..<d).reduce(Double(f.bias[k])) { $0 + Double(f.weight[k * d + $1]) * Double(test.features[i * d + $1]) } }
            let top = z.max()!, lz = top + log(z.reduce(0) { $0 + exp($1 - top) })
            let u = unit(test.features, i, mean)
            var density = [Double](repeating: -1e4, count: c)
            for k in 0..<c {
                let s = (0..<m).filter { Int(train.labels[$0]) == k }.map { j in zip(u, rows[j]).reduce(0) { $0 + $1.0 * $1.1 } / t }
                guard let sm = s.max() else { continue }
                density[k] = sm + log(s.reduce(0) { $0 + exp($1 - sm) }) - log(Double(s.count))
            }
            let dt = density.max()!, ld = dt + log(density.reduce(0) { $0 + exp($1 - dt) })
            let score = (0..<c).map { (1 - w) * (z[$0] - lz) + w * (density[$0] - ld) }
            if score.indices.max(by: { score[$0] < score[$1] }) == Int(test.labels[i]) { correct += 1 }
            if z.indices.max(by: { z[$0] < z[$1] }) == Int(test.labels[i]) { linearCorrect += 1 }
        }
        func overall(_ classifier: String) throws -> Double {
            let r = try afg("evaluate", "--classifier", classifier, "--test", "\(fixtures)/val.h5", "--json")
            XCTAssertEqual(r.status, 0, r.err)
            let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
            return try XCTUnwrap((j["summary"] as? [String: Any])?["overall"] as? Double)
        }
        let n = Double(test.count)
        XCTAssertEqual(try overall(mixed), Double(correct) / n, accuracy: 2.5 / n, "at most two near-ties apart")
        XCTAssertEqual(try overall(linear), Double(linearCorrect) / n, accuracy: 1.5 / n)
        XCTAssertNotEqual(correct, linearCorrect, "the head changes predictions")
        let teacher = try afg("train", "--method", "glag", "--solver", "sgd", "--epochs", "1", "--teacher", mixed,
                              "--train", "\(fixtures)/train.h5", "--out", path("t.h5"), "--quiet")
        XCTAssertEqual(teacher.status, 1)
        XCTAssertEqual(teacher.err.split(separator: "\n").count, 1, teacher.err)
        XCTAssertTrue(teacher.err.contains("memory head") && teacher.err.contains("--no-memory-head"), teacher.err)
        XCTAssertEqual(try afg("export", "--classifier", mixed, "--out", path("mixed.npz")).status, 0)
        XCTAssertEqual(try FeatureStore.readClassifier(path: path("mixed.npz")).memory, f.memory)
    }

    func testTheRecommendedCommandRecordsTheChoiceAndTheFlagTurnsItOff() throws {
        let on = path("on.h5"), off = path("off.h5")
        let common = ["train", "--method", "glag", "--select-on-val", "--train", "\(fixtures)/train.h5", "--val", "\(fixtures)/val.h5",
                      "--tolerance", "1e-2", "--quiet"]
        let a = try afgArgs(common + ["--out", on]), b = try afgArgs(common + ["--out", off, "--no-memory-head"])
        XCTAssertEqual(a.status, 0, a.err); XCTAssertEqual(b.status, 0, b.err)
        let f = try FeatureStore.readClassifier(path: on), g = try FeatureStore.readClassifier(path: off)
        XCTAssertNil(g.memory)
        XCTAssertFalse(g.configJSON.contains("\"memory\""), g.configJSON)
        XCTAssertTrue(f.configJSON.contains("\"memory\":{\"cv_mean_recall\""), f.configJSON)
        let train = try FeatureStore.readFeatures(path: "\(fixtures)/train.h5"), val = try FeatureStore.readFeatures(path: "\(fixtures)/val.h5")
        if let m = f.memory {
            let all = train.labels + val.labels
            XCTAssertEqual(m.labels, all.sorted(), "every labelled row, grouped by class")
            XCTAssertTrue([0.25, 0.5, 0.75].contains(m.weight), "\(m.weight)")
        } else {
            XCTAssertEqual(f.weight, g.weight, "weight 0: the same linear classifier")
        }
        let refused = try afg("train", "--method", "glag", "--train", "\(fixtures)/train.h5", "--out", path("x.h5"), "--no-memory-head")
        XCTAssertEqual(refused.status, 1, refused.err)
        XCTAssertEqual(refused.err.split(separator: "\n").count, 1, refused.err)
        XCTAssertTrue(refused.err.contains("--no-memory-head applies to --method glag --solver lbfgs --select-on-val"), refused.err)
    }
}
