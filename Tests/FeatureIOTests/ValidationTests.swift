import Foundation
import XCTest
@testable import FeatureIO

/// Every validation error: one line naming the file, the dataset and the problem.
final class ValidationTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryFolder(self) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A valid 4 × 2 file, with `edit` applied through the raw writer.
    func make(_ name: String, features: [Float] = [1, 2, 3, 4, 5, 6, 7, 8], shape: [Int] = [4, 2],
              labels: [Int64]? = [0, 1, 2, 1], numClasses: Int64? = nil,
              _ edit: (H5File) throws -> Void = { _ in }) throws -> String {
        let p = path(name)
        try writeRaw(p) { f in
            try f.writeDataset("features", shape: shape, values: features, compress: false)
            if let labels { try f.writeDataset("labels", shape: [labels.count], values: labels, compress: false) }
            if let numClasses { try f.writeRootAttribute("num_classes", .int(numClasses)) }
            try edit(f)
        }
        return p
    }

    func readError(_ p: String, keys: DatasetKeys = .init(), numClasses: Int? = nil) -> FeatureIOError? {
        let e = expectError { _ = try FeatureStore.readFeatures(path: p, keys: keys, numClasses: numClasses) }
        // The stream and the summary reject the same files the same way (except for the
        // values, which the stream reports by block and the summary counts).
        if let e, e.kind != .nonFinite, e.kind != .tooLarge {
            let s = expectError { _ = try FeatureStream(path: p, keys: keys, numClasses: numClasses) }
            XCTAssertEqual(s, e)
            if numClasses == nil { XCTAssertEqual(expectError { _ = try FeatureSummary.compute(path: p, keys: keys) }, e) }
        }
        return e
    }

    func testValidFileReads() throws {
        let s = try FeatureStore.readFeatures(path: try make("ok.h5"))
        XCTAssertEqual(s.numClasses, 3)
        XCTAssertEqual(s.labels, [0, 1, 2, 1])
    }

    func testFileMissing() {
        let e = readError(path("nope.h5"))
        XCTAssertEqual(e?.kind, .fileMissing)
        XCTAssertEqual(e?.description, "\(path("nope.h5")): no such file")
        XCTAssertEqual(readError(dir.path)?.description, "\(dir.path): is a directory, not a file")
    }

    func testNotHDF5() throws {
        let p = path("text.h5")
        try "features,labels\n1,2\n".write(toFile: p, atomically: false, encoding: .utf8)
        let e = readError(p)
        XCTAssertEqual(e?.kind, .notHDF5)
        XCTAssertEqual(e?.description, "\(p): not an HDF5 file")
    }

    func testDatasetMissingListsExisting() throws {
        let p = try make("missing.h5") { f in
            try f.writeDataset("train/targets", shape: [1], values: [Int64(0)], compress: false)
        }
        let e = readError(p, keys: DatasetKeys(features: "train/feats", labels: "labels"))
        XCTAssertEqual(e?.kind, .datasetMissing)
        XCTAssertEqual(e?.description,
                       "\(p): train/feats: no such dataset; datasets in the file: features, labels, train/targets")
        // A group is not a dataset.
        XCTAssertEqual(readError(p, keys: DatasetKeys(features: "train"))?.kind, .datasetMissing)
        let empty = path("empty-file.h5")
        try writeRaw(empty) { _ in }
        XCTAssertEqual(readError(empty)?.description, "\(empty): features: no such dataset; the file has no datasets")
    }

    func testFeaturesNot2D() throws {
        let p = try make("1d.h5", shape: [8], labels: [0, 1, 0, 1, 0, 1, 0, 1])
        let e = readError(p)
        XCTAssertEqual(e?.kind, .wrongShape)
        XCTAssertEqual(e?.description, "\(p): features: expected 2-D (N × D), found 1-D shape [8]")
        let q = try make("3d.h5", shape: [2, 2, 2], labels: [0, 1])
        XCTAssertEqual(readError(q)?.description, "\(q): features: expected 2-D (N × D), found 3-D shape [2, 2, 2]")
    }

    func testFeaturesNotFloat() throws {
        let p = path("intfeat.h5")
        try writeRaw(p) { f in
            try f.writeDataset("features", shape: [2, 2], values: [Int32(1), 2, 3, 4], compress: false)
            try f.writeDataset("labels", shape: [2], values: [Int64(0), 1], compress: false)
        }
        XCTAssertEqual(readError(p)?.description, "\(p): features: expected float16, float32 or float64, found int32")
    }

    func testLabelsNot1DInteger() throws {
        let p = try make("floatlabels.h5", labels: nil) { f in
            try f.writeDataset("labels", shape: [4], values: [Float(0), 1, 2, 1], compress: false)
        }
        let e = readError(p)
        XCTAssertEqual(e?.kind, .wrongType)
        XCTAssertEqual(e?.description, "\(p): labels: expected an integer type, found float32")
        let q = try make("2dlabels.h5", labels: nil) { f in
            try f.writeDataset("labels", shape: [4, 1], values: [Int64(0), 1, 2, 1], compress: false)
        }
        XCTAssertEqual(readError(q)?.description, "\(q): labels: expected 1-D (N), found 2-D shape [4, 1]")
        let r = try make("strlabels.h5", labels: nil) { f in try f.writeStrings("labels", ["a", "b", "c", "d"]) }
        XCTAssertEqual(readError(r)?.description, "\(r): labels: expected an integer type, found string (variable length)")
    }

    func testCountMismatch() throws {
        let p = try make("n.h5", labels: [0, 1, 2])
        let e = readError(p)
        XCTAssertEqual(e?.kind, .countMismatch)
        XCTAssertEqual(e?.description, "\(p): labels: 3 labels, but features has 4 rows")
    }

    func testEmpty() throws {
        let p = try make("empty.h5", features: [], shape: [0, 2], labels: [])
        let e = readError(p)
        XCTAssertEqual(e?.kind, .empty)
        XCTAssertEqual(e?.description, "\(p): features: empty data set (N = 0)")
        let q = try make("nodim.h5", features: [], shape: [4, 0])
        XCTAssertEqual(readError(q)?.description, "\(q): features: empty feature vectors (D = 0)")
    }

    func testNegativeLabels() throws {
        let p = try make("neg.h5", labels: [0, -1, 2, -5])
        let e = readError(p)
        XCTAssertEqual(e?.kind, .labelOutOfRange)
        XCTAssertEqual(e?.description, "\(p): labels: 2 labels outside 0..<3 (C from the largest label + 1), first -1 at row 1")
    }

    func testLabelsAboveNumClasses() throws {
        let p = try make("big.h5", labels: [0, 1, 7, 3], numClasses: 3)
        let e = readError(p)
        XCTAssertEqual(e?.kind, .labelOutOfRange)
        XCTAssertEqual(e?.description, "\(p): labels: 2 labels outside 0..<3 (C from the num_classes attribute), first 7 at row 2")
        // Both kinds at once: the earliest row is named.
        let q = try make("both.h5", labels: [0, 9, -2, 3], numClasses: 3)
        XCTAssertEqual(readError(q)?.description, "\(q): labels: 3 labels outside 0..<3 (C from the num_classes attribute), first 9 at row 1")
        let r = try make("huge.h5", labels: [0, 1 << 40, 1, 0], numClasses: 3)
        XCTAssertEqual(readError(r)?.description, "\(r): labels: 1 label outside 0..<3 (C from the num_classes attribute), first 1099511627776 at row 1")
        // C required by the caller (e.g. a classifier with 2 classes).
        let ok = try make("ok.h5")
        XCTAssertEqual(readError(ok, numClasses: 2)?.description,
                       "\(ok): labels: 1 label outside 0..<2 (C from the classifier, training file or first shard it is read with), first 2 at row 2")
    }

    func testRawIdsInsteadOfIndices() throws {
        let p = try make("ids.h5", labels: [17, 503, 90_000_000, 17])
        let e = readError(p)
        XCTAssertEqual(e?.kind, .labelOutOfRange)
        XCTAssertEqual(e?.description, "\(p): labels: 90000001 classes (largest label + 1) is more than 16777216; "
                       + "labels must be class indices 0..<C, so map raw ids to indices first (docs/FORMAT.md)")
    }

    func testNumClassesConflicts() throws {
        let p = try make("conflict.h5", numClasses: 3)
        let e = expectError { _ = try FeatureStore.readFeatures(path: p, numClasses: 5) }
        XCTAssertEqual(e?.kind, .classCountMismatch)
        XCTAssertEqual(e?.description, "\(p): attribute num_classes = 3, but 5 classes were expected")
        let q = try make("names.h5", numClasses: 3) { f in try f.writeStrings("class_names", ["a", "b"]) }
        XCTAssertEqual(readError(q)?.description, "\(q): class_names: 2 class names, but 3 classes (num_classes attribute)")
        let r = try make("badattr.h5") { f in try f.writeRootAttribute("num_classes", .string("ten")) }
        XCTAssertEqual(readError(r)?.description, "\(r): attribute num_classes = ten is not a positive integer")
        let s = try make("strattr.h5") { f in try f.writeRootAttribute("num_classes", .string("4")) }
        XCTAssertEqual(try FeatureStore.readFeatures(path: s).numClasses, 4)
    }

    func testNaNAndInf() throws {
        var x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        x[5] = .nan
        x[6] = .infinity
        x[7] = .nan
        let p = try make("nan.h5", features: x)
        let e = readError(p)
        XCTAssertEqual(e?.kind, .nonFinite)
        XCTAssertEqual(e?.description, "\(p): features: 3 non-finite values (2 NaN, 1 Inf), first at row 2 column 1")
        // The stream throws on the first bad block, naming the row.
        let s = try FeatureStream(path: p, blockRows: 2)
        XCTAssertEqual(try s.next()?.rows, 2)
        let se = expectError { _ = try s.next() }
        XCTAssertEqual(se?.description,
                       "\(p): features: non-finite values (2 NaN, 1 Inf in the rows read so far), first at row 2 column 1")
        // Without the check the values come through.
        let t = try FeatureStream(path: p, blockRows: 4, checkValues: false)
        XCTAssertTrue(try t.next()!.features[5].isNaN)
    }

    /// Finite values beyond 2⁶² are refused by every reader (their squares would overflow
    /// the class statistics); 2⁶² itself is read; NaN / Inf are reported before them.
    func testValuesBeyondTheLargestMagnitude() throws {
        let limit = FeatureStore.largestFeatureMagnitude
        var x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        x[2] = 1e30
        x[5] = -1e20
        x[7] = -limit
        let p = try make("huge.h5", features: x)
        let e = readError(p)
        XCTAssertEqual(e?.kind, .tooLarge)
        XCTAssertEqual(e?.description, "\(p): features: 2 values beyond ±4.61e+18, first 1e+30 at row 1 column 0: "
                       + "their squares overflow 32-bit class statistics; rescale the features")
        let s = try FeatureStream(path: p, blockRows: 1)
        XCTAssertEqual(try s.next()?.rows, 1)
        XCTAssertEqual(expectError { _ = try s.next() }?.kind, .tooLarge)
        var out = [Float](repeating: 0, count: 4)
        let re = expectError { try out.withUnsafeMutableBufferPointer { try s.readRows(2..<4, into: $0) } }
        XCTAssertEqual(re?.description, "\(p): features: 1 value beyond ±4.61e+18 in the rows read so far, first -1e+20 "
                       + "at row 2 column 1: their squares overflow 32-bit class statistics; rescale the features")
        var all = [Float](repeating: 0, count: 8)
        XCTAssertEqual(expectError { try all.withUnsafeMutableBufferPointer { try s.readRows(0..<4, into: $0) } }, e,
                       "every row read: the counts are the file's")
        let summary = try FeatureSummary.compute(path: p)
        XCTAssertEqual(summary.tooLargeCount, 2)
        XCTAssertEqual(summary.valueError, e)
        XCTAssertEqual(summary.maximum, 1e30)
        // The limit itself is read.
        x[2] = limit; x[5] = 0
        let q = try make("limit.h5", features: x)
        XCTAssertEqual(try FeatureStore.readFeatures(path: q).features, x)
        // NaN is reported first, whichever comes first in the file.
        x[2] = 1e30; x[6] = .nan
        XCTAssertEqual(readError(try make("both.h5", features: x))?.kind, .nonFinite)
    }

    /// float64 values beyond float32's range become ±Inf on conversion and are reported.
    func testFloat64OverflowIsReported() throws {
        try XCTSkipUnless(h5pyAvailable, "h5py not installed")
        let p = path("f64big.h5")
        let r = try runPython("""
        import sys, h5py, numpy as np
        with h5py.File(sys.argv[1], "w") as f:
            f["features"] = np.array([[1.0, 1e300], [2.0, 3.0]])
            f["labels"] = np.array([0, 1])
        """, [p])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(readError(p)?.description, "\(p): features: 1 non-finite value (0 NaN, 1 Inf), first at row 0 column 1")
    }

    func testDimensionMismatch() throws {
        XCTAssertNoThrow(try FeatureStore.checkDimension(featureDim: 64, featurePath: "a.h5", expectedDim: 64,
                                                         expectedPath: "clf.h5", kind: .classifier))
        let e = expectError {
            try FeatureStore.checkDimension(featureDim: 64, featurePath: "test.h5", featureKey: "/test/feats",
                                            expectedDim: 128, expectedPath: "clf.h5", kind: .classifier)
        }
        XCTAssertEqual(e?.kind, .dimensionMismatch)
        XCTAssertEqual(e?.description, "test.h5: test/feats: feature dimension 64 does not match the classifier file clf.h5 (dimension 128)")
        let s = expectError {
            try FeatureStore.checkDimension(featureDim: 3, featurePath: "x.h5", expectedDim: 4,
                                            expectedPath: "stats.h5", kind: .statistics)
        }
        XCTAssertEqual(s?.description, "x.h5: features: feature dimension 3 does not match the statistics file stats.h5 (dimension 4)")
    }

    func testClassifierValidation() throws {
        let p = path("clf.h5")
        try writeRaw(p) { f in
            try f.writeDataset("weight", shape: [3, 2], values: [Float](repeating: 1, count: 6), compress: false)
            try f.writeDataset("bias", shape: [2], values: [Float(0), 0], compress: false)
            try f.writeDataset("class_counts", shape: [3], values: [Int64(1), 2, 3], compress: false)
        }
        XCTAssertEqual(expectError { _ = try FeatureStore.readClassifier(path: p) }?.description,
                       "\(p): bias: expected shape [3] (from weight), found [2]")
        let q = path("clf2.h5")
        try writeRaw(q) { f in
            try f.writeDataset("weight", shape: [2, 2], values: [Float(1), .nan, 1, 1], compress: false)
            try f.writeDataset("bias", shape: [2], values: [Float(0), 0], compress: false)
            try f.writeDataset("class_counts", shape: [2], values: [Int64(1), 2], compress: false)
            try f.writeRootAttribute("dim", .int(3))
        }
        XCTAssertEqual(expectError { _ = try FeatureStore.readClassifier(path: q) }?.description,
                       "\(q): weight: 1 non-finite value (1 NaN, 0 Inf), first at row 0 column 1")
        // A 2 × 2 head beside a raw_weight of `rawCols` columns, with or without its λ.
        func twoView(_ name: String, rawCols: Int, lambda: Double?) throws -> String {
            let p = path(name)
            try writeRaw(p) { f in
                try f.writeDataset("weight", shape: [2, 2], values: [Float](repeating: 1, count: 4), compress: false)
                try f.writeDataset("bias", shape: [2], values: [Float(0), 0], compress: false)
                try f.writeDataset("raw_weight", shape: [2, rawCols], values: [Float](repeating: 1, count: 2 * rawCols), compress: false)
                if let l = lambda { try f.writeRootAttribute("tukey_lambda", .double(l)) }
            }
            return p
        }
        let r = try twoView("clf3.h5", rawCols: 3, lambda: 0.5)
        XCTAssertEqual(expectError { _ = try FeatureStore.readClassifier(path: r) }?.description,
                       "\(r): raw_weight: shape (2, 3), weight is (2, 2)")
        let s = try twoView("clf4.h5", rawCols: 2, lambda: nil)
        XCTAssertEqual(expectError { _ = try FeatureStore.readClassifier(path: s) }?.description,
                       "\(s): raw_weight: a second head on the raw features needs the tukey_lambda of the first (the attribute is missing)")
        XCTAssertEqual(expectError { _ = try FeatureStore.readClassifier(path: try make("feat.h5")) }?.description,
                       "\(path("feat.h5")): weight: no such dataset; datasets in the file: features, labels")
        // A 2-class, 2-d head with a memory head of three rows, each piece replaceable.
        func memory(_ name: String, rows: [Float] = [0.6, 0.8, 0, 0, -1, 0], labels: [Int64] = [1, 0, 1], center: Int = 2,
                    temperature: H5AttributeValue? = .double(0.05), weight: H5AttributeValue = .double(0.5)) throws -> String {
            let p = path(name)
            try writeRaw(p) { f in
                try f.writeDataset("weight", shape: [2, 2], values: [Float](repeating: 1, count: 4), compress: false)
                try f.writeDataset("bias", shape: [2], values: [Float(0), 0], compress: false)
                try f.writeDataset("memory_rows", shape: [rows.count / 2, 2], values: rows, compress: false)
                try f.writeDataset("memory_labels", shape: [labels.count], values: labels, compress: false)
                try f.writeDataset("memory_center", shape: [center], values: [Float](repeating: 0, count: center), compress: false)
                if let t = temperature { try f.writeRootAttribute("memory_temperature", t) }
                try f.writeRootAttribute("memory_weight", weight)
            }
            return p
        }
        XCTAssertEqual(try FeatureStore.readClassifier(path: try memory("m0.h5")).memory?.labels, [1, 0, 1])
        let cases: [(String, String)] = [
            (try memory("m1.h5", temperature: nil), "memory_temperature: a memory head needs memory_center, memory_rows, memory_labels and the attributes memory_temperature, memory_weight; memory_center, memory_rows, memory_labels, memory_weight present, memory_temperature missing"),
            (try memory("m2.h5", rows: [3, 4, 0, 0, -1, 0]), "memory_rows: row 0 has length 5.0; a memory head's rows are centred and of unit length"),
            (try memory("m3.h5", labels: [1, 2, 0]), "memory_labels: label 2 at row 1 is outside 0..<2"),
            (try memory("m4.h5", labels: [1, 0]), "memory_labels: expected shape [3] (from memory_rows), found [2]"),
            (try memory("m5.h5", center: 3), "memory_center: expected shape [2] (from weight), found [3]"),
            (try memory("m6.h5", temperature: .double(0)), "attribute memory_temperature = 0.0 is not a number > 0"),
            (try memory("m7.h5", weight: .double(1.5)), "attribute memory_weight = 1.5 is not a number in [0, 1]"),
            (try memory("m8.h5", rows: [0.6, .nan, 0, 0, -1, 0]), "memory_rows: 1 non-finite value (1 NaN, 0 Inf), first at row 0 column 1"),
        ]
        for (p, problem) in cases {
            XCTAssertEqual(expectError { _ = try FeatureStore.readClassifier(path: p) }?.description, "\(p): \(problem)")
        }
    }

    func testStatisticsValidation() throws {
        let p = path("st.h5")
        try writeRaw(p) { f in
            try f.writeDataset("means", shape: [2, 3], values: [Float](repeating: 1, count: 6), compress: false)
            try f.writeDataset("counts", shape: [2], values: [Int64(4), 5], compress: false)
            try f.writeDataset("covariances", shape: [2, 3, 2], values: [Float](repeating: 0, count: 12), compress: false)
            try f.writeRootAttribute("num_classes", .int(2))
        }
        XCTAssertEqual(expectError { _ = try FeatureStore.readStatistics(path: p) }?.description,
                       "\(p): covariances: expected 2 × 3 × 3 floats (from means), found float32 shape [2, 3, 2]")
        let q = path("st2.h5")
        try writeRaw(q) { f in
            try f.writeDataset("means", shape: [2, 3], values: [Float](repeating: 1, count: 6), compress: false)
            try f.writeDataset("counts", shape: [2], values: [Int64(4), 5], compress: false)
            try f.writeRootAttribute("num_classes", .int(3))
        }
        XCTAssertEqual(expectError { _ = try FeatureStore.readStatistics(path: q) }?.description,
                       "\(q): attribute num_classes = 3, but the datasets say 2")
    }
}
