import Foundation
import XCTest
@testable import FeatureIO

/// The CLI on `.npz`, `.safetensors`, `.npy` and bare PyTorch heads: the same classifier
/// file bytes as the HDF5 path; `evaluate` of a head without counts; `afg export` against
/// the committed torch/safetensors reference; one-line refusals.
final class CLIFormatTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws {
        dir = try scratchFolder("formats")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Converts the fixtures' train / val / test to `ext` (our writers) and the head to a
    /// bare PyTorch state_dict (`fc.weight`, `fc.bias`; no counts, no attributes).
    func convert(_ ext: String) throws -> (train: String, val: String, test: String, head: String) {
        var out: [String] = []
        for split in ["train", "val", "test"] {
            let s = try FeatureStore.readFeatures(path: "\(fixtures)/\(split).h5")
            let sub = dir.appendingPathComponent(ext)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            let p = sub.appendingPathComponent("\(split).\(ext)").path
            try FeatureStore.writeFeatureArrays(s, to: p)
            out.append(p)
        }
        let h = try FeatureStore.readClassifier(path: "\(fixtures)/head.h5")
        XCTAssertNil(h.tukeyLambda, "the bare head must expect the same input as head.h5")
        let head = path("head-\(ext).safetensors")
        try SafeTensorsFile(tensors: ["fc.weight": StoredTensor(shape: [h.numClasses, h.dim], floats: h.weight),
                                      "fc.bias": StoredTensor(shape: [h.numClasses], floats: h.bias)]).write(path: head)
        return (out[0], out[1], out[2], head)
    }

    func train(_ out: String, train: String, val: String, teacher: String, method: String) throws {
        let generator = method == "glag" ? ["--solver", "sgd", "--head-threshold", "1000"] : []
        let r = try afgArgs(["train", "--method", method, "--train", train, "--val", val, "--teacher", teacher, "--out", out,
                             "--epochs", "2", "--seed", "3", "--quiet"] + generator)
        XCTAssertEqual(r.status, 0, r.err)
    }

    func testNpzSafetensorsNpyAndBareHeadsGiveTheHDF5ClassifierBytes() throws {
        for method in ["glag", "lws"] {
            let ref = path("ref-\(method).h5")
            try train(ref, train: "\(fixtures)/train.h5", val: "\(fixtures)/val.h5", teacher: "\(fixtures)/head.h5", method: method)
            let expected = try Data(contentsOf: URL(fileURLWithPath: ref))
            for ext in ["npz", "safetensors", "npy"] {
                let c = try convert(ext)
                let out = path("\(method)-\(ext).h5")
                try train(out, train: c.train, val: c.val, teacher: c.head, method: method)
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), expected, "\(method) on .\(ext) and a bare head")
            }
        }
    }

    func testEvaluateOfABareHead() throws {
        let c = try convert("npz")
        let full = try afg("evaluate", "--classifier", "\(fixtures)/head.h5", "--test", "\(fixtures)/test.h5")
        XCTAssertEqual(full.status, 0, full.err)
        // With the training counts from the training file: the same figures as head.h5.
        let counted = try afg("evaluate", "--classifier", c.head, "--train-counts-from", c.train, "--test", c.test)
        XCTAssertEqual(counted.status, 0, counted.err)
        func body(_ s: String) -> [Substring] { s.split(separator: "\n").dropFirst().map { $0 } }
        XCTAssertEqual(body(counted.out), body(full.out))
        // Without: overall and mean recall, groups unavailable.
        let bare = try afg("evaluate", "--classifier", c.head, "--test", c.test)
        XCTAssertEqual(bare.status, 0, bare.err)
        let lines = bare.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 4, bare.out)
        XCTAssertEqual(lines[1], body(full.out)[0])
        XCTAssertEqual(lines[2], "many / medium / few: unavailable (no class_counts in \(c.head); pass --train-counts-from TRAIN_FILE)")
        XCTAssertEqual(lines[3], body(full.out)[4])
    }

    /// `afg export` of the classifier fixtures/torch/make_export_fixture.py builds matches the
    /// file torch + safetensors wrote: tensor bytes exactly, header entries and metadata as JSON.
    func testExportMatchesTheTorchReference() throws {
        let (C, D) = (3, 4)
        let c = ClassifierFile(numClasses: C, dim: D, weight: (0..<(C * D)).map { Float($0) / 8 - 1 },
                               bias: (0..<C).map { Float($0) / 4 - 0.5 }, classCounts: [4, 2, 1], method: "glag",
                               tukeyLambda: 0.5, classNames: ["cat", "dög", "e\"mu"])
        let h5 = path("c.h5"), out = path("c.safetensors")
        try FeatureStore.writeClassifier(c, to: h5)
        let r = try afg("export", "--classifier", h5, "--out", out)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "wrote \(out): weight 3 × 4, bias 3, float32, Tukey λ 0.5\n")
        func split(_ p: String) throws -> (header: NSDictionary, data: Data) {
            let d = try Data(contentsOf: URL(fileURLWithPath: p))
            let n = Int(d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            let h = try XCTUnwrap(JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + n))) as? NSDictionary)
            return (h, d.subdata(in: (8 + n)..<d.count))
        }
        let ours = try split(out), ref = try split(repoRoot.appendingPathComponent("fixtures/torch/linear_export.safetensors").path)
        XCTAssertEqual(ours.data, ref.data)
        XCTAssertEqual(ours.header, ref.header)
        // And the .npz form reads back.
        let npz = path("c.npz")
        XCTAssertEqual(try afg("export", "--classifier", h5, "--out", npz).status, 0)
        XCTAssertEqual(try FeatureStore.readClassifier(path: npz).weight, c.weight)
        let bad = try afg("export", "--classifier", h5, "--out", path("c.pt"))
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.err, "Error: --out \(path("c.pt")): export writes .safetensors or .npz\n")
    }

    func testRefusalsAreOneLineWithoutUsage() throws {
        let fortran = repoRoot.appendingPathComponent("fixtures/numpy/fortran.npy").path
        let cases: [[String]] = [
            ["inspect", fortran],
            ["train", "--train", fortran, "--out", path("x.h5"), "--method", "ce"],
            ["evaluate", "--classifier", "\(fixtures)/train.h5", "--test", "\(fixtures)/test.h5"],
            ["calibrate", "--train", repoRoot.appendingPathComponent("fixtures/numpy/object_labels.npz").path, "--out", path("s.h5"), "--quiet"],
        ]
        for args in cases {
            let r = try afgArgs(args)
            XCTAssertEqual(r.status, 1, args.joined(separator: " "))
            XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, r.err)
            XCTAssertFalse(r.err.contains("Usage"), r.err)
        }
        let r = try afg("inspect", fortran)
        XCTAssertEqual(r.err, "Error: \(fortran): features: Fortran-order (column-major) array of shape [6, 4]; save it in C order (np.ascontiguousarray) first\n")
    }
}
