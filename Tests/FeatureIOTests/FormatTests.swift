import Foundation
import XCTest
@testable import FeatureIO

/// `.npz`, `.npy` and `.safetensors` feature files and heads: every format and dtype reads
/// to the same `FeatureSet` as HDF5; Fortran-order and pickled arrays are refused with one
/// line naming file and array; `exportClassifier` round-trips.
final class FormatTests: XCTestCase {
    static let numpyDir = fixtureDir.deletingLastPathComponent().appendingPathComponent("numpy")
    static let fmnist = fixtureDir.deletingLastPathComponent().appendingPathComponent("fmnist-lt")
    func numpy(_ name: String) -> String { Self.numpyDir.appendingPathComponent(name).path }

    /// x[i, j] = (4 i + j) / 8 - 1, labels [0, 2, 1, 2, 0, 1] (fixtures/numpy/make_fixtures.py).
    let expectedX: [Float] = (0..<24).map { Float($0) / 8 - 1 }
    let expectedY: [Int32] = [0, 2, 1, 2, 0, 1]

    func testEveryDtypeOfTheNumPyAndSafetensorsFixturesReadsTheSameValues() throws {
        let files = ["f32_int64_stored.npz": "float32", "f16_uint16_deflated.npz": "float16", "f64_int8.npz": "float64",
                     "f32_uint64.npz": "float32", "f16_int32.npy": "float16", "bf16_int8.safetensors": "bfloat16",
                     "f64_int64.safetensors": "float64"]
        for (name, type) in files.sorted(by: { $0.key < $1.key }) {
            let s = try FeatureStore.readFeatures(path: numpy(name))
            XCTAssertEqual(s.features, expectedX, name)
            XCTAssertEqual(s.labels, expectedY, name)
            XCTAssertEqual(s.numClasses, 3, name)
            let stream = try FeatureStream(path: numpy(name))
            XCTAssertEqual(stream.featureType, type, name)
        }
        XCTAssertEqual(try FeatureStore.readFeatures(path: numpy("f32_int64_stored.npz")).classNames, ["cat", "dög", "emu"])
        XCTAssertEqual(try FeatureStream(path: numpy("f32_uint64.npz")).labelType, "uint64")
        XCTAssertEqual(try FeatureStream(path: numpy("f64_int64.safetensors")).numClassesSource, "num_classes attribute")
    }

    func testFortranOrderAndPickledObjectsAreRefusedInOneLine() throws {
        let f = expectError { _ = try FeatureStore.readFeatures(path: self.numpy("fortran.npy")) }
        XCTAssertEqual(f?.kind, .wrongType)
        XCTAssertEqual(f?.description, "\(numpy("fortran.npy")): features: Fortran-order (column-major) array of shape [6, 4]; save it in C order (np.ascontiguousarray) first")
        let o = expectError { _ = try FeatureStore.readFeatures(path: self.numpy("object_labels.npz")) }
        XCTAssertEqual(o?.description, "\(numpy("object_labels.npz")): labels: object array (pickled Python objects); save numbers, e.g. np.asarray(x, dtype=np.float32)")
    }

    func testMissingArraysNameWhatTheFileHolds() throws {
        let e = expectError { _ = try FeatureStore.readFeatures(path: self.numpy("f64_int8.npz"), keys: DatasetKeys(features: "feats")) }
        XCTAssertEqual(e?.description, "\(numpy("f64_int8.npz")): feats: no such array; arrays in the file: features, labels")
        let dir = try temporaryFolder(self)
        let lone = dir.appendingPathComponent("x.npy").path
        try FileManager.default.copyItem(atPath: numpy("f16_int32.npy"), toPath: lone)
        let l = expectError { _ = try FeatureStore.readFeatures(path: lone) }
        XCTAssertEqual(l?.description, "\(lone): labels: no such array; a .npy feature file takes labels from x.labels.npy beside it")
        let s = expectError { _ = try FeatureStore.readFeatures(path: self.numpy("bf16_int8.safetensors"), keys: DatasetKeys(labels: "y")) }
        XCTAssertEqual(s?.description, "\(numpy("bf16_int8.safetensors")): y: no such array; tensors in the file: features, labels")
    }

    /// The bundled HDF5 fixtures converted with our own writers (stored npz, safetensors,
    /// npy + siblings) read back to the same `FeatureSet` (attributes aside).
    func testConvertedFmnistFixturesReadLikeTheHDF5Ones() throws {
        let dir = try temporaryFolder(self)
        for split in ["train", "val", "test"] {
            let h = try FeatureStore.readFeatures(path: Self.fmnist.appendingPathComponent("\(split).h5").path)
            for path in try writeConverted(h, to: dir, name: split) {
                let s = try FeatureStore.readFeatures(path: path)
                XCTAssertEqual(s.features, h.features, path)
                XCTAssertEqual(s.labels, h.labels, path)
                XCTAssertEqual(s.numClasses, h.numClasses, path)
                XCTAssertEqual(s.classNames, h.classNames, path)
            }
        }
    }

    func testBareHeadsAndStateDictPrefixes() throws {
        let dir = try temporaryFolder(self)
        let h = try FeatureStore.readClassifier(path: Self.fmnist.appendingPathComponent("head.h5").path)
        let w = NumPy.encode(h.weight, shape: [h.numClasses, h.dim]), b = NumPy.encode(h.bias, shape: [h.numClasses])
        let plain = dir.appendingPathComponent("plain.npz").path
        try ZipArchive.storedArchive([("weight.npy", w), ("bias.npy", b)]).write(to: URL(fileURLWithPath: plain))
        let fc = dir.appendingPathComponent("fc.safetensors").path
        let tensors = ["fc.weight": StoredTensor(shape: [h.numClasses, h.dim], floats: h.weight),
                       "fc.bias": StoredTensor(shape: [h.numClasses], floats: h.bias),
                       "layer1.weight": StoredTensor(shape: [2, 2], floats: [1, 2, 3, 4])]
        try SafeTensorsFile(tensors: tensors).write(path: fc)
        for path in [plain, fc] {
            let c = try FeatureStore.readClassifier(path: path)
            XCTAssertEqual(c.weight, h.weight); XCTAssertEqual(c.bias, h.bias)
            XCTAssertNil(c.classCounts); XCTAssertNil(c.tukeyLambda)
        }
        // Two heads: ambiguous unless --head-key picks one.
        let two = dir.appendingPathComponent("two.safetensors").path
        var both = tensors
        both["head.weight"] = tensors["fc.weight"]; both["head.bias"] = StoredTensor(shape: [h.numClasses], floats: h.bias.map { $0 + 1 })
        try SafeTensorsFile(tensors: both).write(path: two)
        let e = expectError { _ = try FeatureStore.readClassifier(path: two) }
        XCTAssertEqual(e?.description, "\(two): weight: several heads (fc.weight, head.weight); choose one with --head-key PREFIX")
        XCTAssertEqual(try FeatureStore.readClassifier(path: two, headKey: "head").bias, h.bias.map { $0 + 1 })
        XCTAssertEqual(try FeatureStore.readClassifier(path: two, headKey: "fc.").bias, h.bias)
        let none = expectError { _ = try FeatureStore.readClassifier(path: two, headKey: "linear") }
        XCTAssertEqual(none?.description, "\(two): linear.weight: --head-key linear: no linear.weight and linear.bias in the file")
    }

    func testExportRoundTripsThroughSafetensorsAndNpz() throws {
        let dir = try temporaryFolder(self)
        let c = ClassifierFile(numClasses: 3, dim: 2, weight: [1, -2, 0.5, 3, 4, -0.25], bias: [0.1, 0.2, 0.3], classCounts: [5, 3, 1],
                               method: "glag", tukeyLambda: 0.5, classNames: ["a", "dög", "e\"mu"])
        for ext in ["safetensors", "npz"] {
            let p = dir.appendingPathComponent("c.\(ext)").path
            try FeatureStore.exportClassifier(c, to: p)
            let first = try Data(contentsOf: URL(fileURLWithPath: p))
            try FeatureStore.exportClassifier(c, to: p)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), first, "same classifier, same bytes")
            let r = try FeatureStore.readClassifier(path: p)
            XCTAssertEqual(r.weight, c.weight); XCTAssertEqual(r.bias, c.bias)
            XCTAssertEqual(r.method, "glag"); XCTAssertEqual(r.tukeyLambda, 0.5); XCTAssertEqual(r.classNames, c.classNames)
            XCTAssertNil(r.classCounts)
        }
        var twoView = c; twoView.rawWeight = [0.5, 0.25, -1, 2, 0, 1]
        for ext in ["safetensors", "npz"] {
            let p = dir.appendingPathComponent("two.\(ext)").path
            try FeatureStore.exportClassifier(twoView, to: p)
            let r = try FeatureStore.readClassifier(path: p)
            XCTAssertEqual(r.rawWeight, twoView.rawWeight, ext); XCTAssertEqual(r.weight, c.weight); XCTAssertEqual(r.tukeyLambda, 0.5)
        }
        var memory = c
        memory.memory = .init(center: [0.5, -1], rows: [0.6, 0.8, 0, 0, -1, 0], labels: [2, 0, 1], temperature: 0.05, weight: 0.75)
        for ext in ["safetensors", "npz", "h5"] {
            let p = dir.appendingPathComponent("memory.\(ext)").path
            if ext == "h5" { try FeatureStore.writeClassifier(memory, to: p) } else { try FeatureStore.exportClassifier(memory, to: p) }
            let r = try FeatureStore.readClassifier(path: p)
            XCTAssertEqual(r.memory, memory.memory, ext); XCTAssertEqual(r.weight, c.weight)
        }
        var raw = c; raw.tukeyLambda = nil; raw.classNames = nil
        for ext in ["safetensors", "npz"] {
            let p = dir.appendingPathComponent("raw.\(ext)").path
            try FeatureStore.exportClassifier(raw, to: p)
            XCTAssertNil(try FeatureStore.readClassifier(path: p).tukeyLambda)
        }
    }

    func testNumPyHeaderParserRefusesMalformedInput() throws {
        func parse(_ text: String) -> FeatureIOError? {
            let d = NumPy.encode(descr: "<f4", shape: [1], data: Data(count: 4))
            var bytes = [UInt8](d)
            let header = Array(text.utf8)
            bytes.replaceSubrange(10..<(10 + header.count), with: header)
            let (s, p) = ByteStorage.owned(count: bytes.count)
            p.copyMemory(from: bytes, byteCount: bytes.count)
            return expectError { _ = try NumPy.header(s, start: 0, end: bytes.count, file: "f.npy", array: "x") }
        }
        XCTAssertEqual(parse("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }")?.problem,
                       "big-endian dtype '>f4'; save it little-endian (x.astype('<f4'))")
        XCTAssertEqual(parse("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }")?.problem, "unsupported dtype '<c8'")
        XCTAssertEqual(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (9,), }")?.problem,
                       "truncated: shape [9] of float32 needs 36 bytes, the file has 4")
        XCTAssertEqual(parse("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")?.problem,
                       "structured dtype; save a plain numeric array")
        XCTAssertNotNil(expectError { _ = try NumPy.header(ByteStorage.owned(count: 4).0, start: 0, end: 4, file: "f", array: "x") })
    }
}

/// Writes `s` as a `.npz`, a `.safetensors` and a `.npy` with its siblings, returning the paths.
func writeConverted(_ s: FeatureSet, to dir: URL, name: String) throws -> [String] {
    try ["npz", "safetensors", "npy"].map { ext in
        let p = dir.appendingPathComponent("\(name).\(ext)").path
        try FeatureStore.writeFeatureArrays(s, to: p)
        return p
    }
}
