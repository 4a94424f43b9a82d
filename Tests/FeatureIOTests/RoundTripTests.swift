import Foundation
import XCTest
@testable import FeatureIO

final class RoundTripTests: XCTestCase {
    func testFeatureRoundTripIsIdentical() throws {
        let dir = try temporaryFolder(self)
        for seed: UInt64 in [1, 2, 3] {
            for compress in [false, true] {
                let n = 50 + Int(seed) * 37, d = 3 + Int(seed) * 5
                var set = randomSet(n: n, d: d, c: 7, seed: seed)
                set.features[3] = -0.0
                set.features[4] = .leastNonzeroMagnitude
                set.features[5] = -FeatureStore.largestFeatureMagnitude    // the largest magnitude read
                let path = dir.appendingPathComponent("rt-\(seed)-\(compress).h5").path
                let extra: [String: ColumnData] = [
                    "is_generated": .uint8((0..<n).map { UInt8($0 % 2) }),
                    "meta/weight": .float32((0..<n).map { Float($0) / 3 }),
                ]
                try FeatureStore.writeFeatures(set, to: path, compress: compress, extraDatasets: extra)
                let back = try FeatureStore.readFeatures(path: path)
                var want = set
                want.attributes["num_classes"] = "7"
                want.attributes["afg_file"] = "features"
                want.attributes["created_by"] = "afg \(afgVersion)"
                XCTAssertEqual(back.features.map(\.bitPattern), want.features.map(\.bitPattern), "seed \(seed)")
                XCTAssertEqual(back, want, "seed \(seed) compress \(compress)")
                XCTAssertEqual(try FeatureStore.readColumn(path: path, key: "is_generated"), extra["is_generated"])
                XCTAssertEqual(try FeatureStore.readColumn(path: path, key: "meta/weight"), extra["meta/weight"])
                // Written back again, the file reads back the same (attributes round trip).
                let path2 = path + ".again.h5"
                try FeatureStore.writeFeatures(back, to: path2, compress: compress)
                XCTAssertEqual(try FeatureStore.readFeatures(path: path2), back)
            }
        }
    }

    func testWritesAreFloat32ChunkedAndOptionallyCompressed() throws {
        let dir = try temporaryFolder(self)
        let set = randomSet(n: 3000, d: 64, c: 10, seed: 9)
        let plain = dir.appendingPathComponent("plain.h5").path
        let gz = dir.appendingPathComponent("gz.h5").path
        try FeatureStore.writeFeatures(set, to: plain)
        try FeatureStore.writeFeatures(FeatureSet(features: set.features.map { ($0 * 4).rounded() / 4 }, dim: 64,
                                                  labels: set.labels, numClasses: 10), to: gz, compress: true)
        let f = try H5File.open(plain)
        let d = try f.dataset("features")
        XCTAssertEqual(d.elementType, .float(bits: 32))
        XCTAssertNotNil(d.chunkRows)
        XCTAssertEqual(try f.rootAttribute("created_by"), .string("afg \(afgVersion)"))
        XCTAssertEqual(try f.rootAttribute("num_classes"), .int(10))
        let sizePlain = try FileManager.default.attributesOfItem(atPath: plain)[.size] as! Int
        let sizeGz = try FileManager.default.attributesOfItem(atPath: gz)[.size] as! Int
        XCTAssertGreaterThan(sizePlain, 3000 * 64 * 4)
        XCTAssertLessThan(sizeGz, sizePlain / 2, "gzip on quantised values should more than halve the file")
    }

    /// Same content → same bytes, for every kind of file (HDF5 would otherwise record
    /// object times, and dictionaries iterate in a per-process order).
    func testWritesAreByteReproducible() throws {
        let dir = try temporaryFolder(self)
        let set = randomSet(n: 200, d: 16, c: 5, seed: 4)
        let clf = ClassifierFile(numClasses: 5, dim: 16, weight: Array(set.features[0..<80]), bias: [1, 2, 3, 4, 5],
                                 classCounts: [9, 8, 7, 6, 5], method: "glag", tukeyLambda: 0.5,
                                 configJSON: #"{"k":2}"#, classNames: ["a", "b", "c", "d", "e"])
        let st = StatisticsFile(numClasses: 5, dim: 16, means: Array(set.features[0..<80]), counts: [1, 2, 3, 4, 5],
                                covariances: Array(set.features[0..<1280]), tukeyLambda: 0.5,
                                attributes: ["source": "train.h5", "a": "1", "z": "2"])
        for compress in [false, true] {
            var bytes: [Data] = []
            for i in 0..<2 {
                let p = dir.appendingPathComponent("f\(i).h5").path
                try FeatureStore.writeFeatures(set, to: p, compress: compress, extraDatasets: ["x/y": .int32(set.labels)])
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: p)))
                Thread.sleep(forTimeInterval: 1.1)      // object times, if recorded, would differ
                let c = dir.appendingPathComponent("c\(i).h5").path
                try FeatureStore.writeClassifier(clf, to: c, compress: compress)
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: c)))
                let s = dir.appendingPathComponent("s\(i).h5").path
                try FeatureStore.writeStatistics(st, to: s, compress: compress)
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: s)))
            }
            XCTAssertEqual(bytes[0], bytes[3], "feature file bytes differ (compress \(compress))")
            XCTAssertEqual(bytes[1], bytes[4], "classifier file bytes differ")
            XCTAssertEqual(bytes[2], bytes[5], "statistics file bytes differ")
        }
    }

    func testClassifierRoundTrip() throws {
        let dir = try temporaryFolder(self)
        var rng = SplitMix64(seed: 11)
        let c = 6, d = 9
        for lambda: Float? in [nil, 0.5, 0] {
            let clf = ClassifierFile(numClasses: c, dim: d, weight: (0..<(c * d)).map { _ in .random(in: -1...1, using: &rng) },
                                     bias: (0..<c).map { _ in .random(in: -1...1, using: &rng) },
                                     classCounts: [500, 100, 20, 5, 1, 0], method: "glag", tukeyLambda: lambda,
                                     configJSON: #"{"alpha":0,"k":2,"note":"ünïcode"}"#,
                                     classNames: lambda == nil ? nil : (0..<c).map { "c\($0)" })
            let p = dir.appendingPathComponent("clf.h5").path
            try FeatureStore.writeClassifier(clf, to: p)
            XCTAssertEqual(try FeatureStore.readClassifier(path: p), clf)
            guard lambda != nil else { continue }
            // A two-view classifier: the second head on the raw features comes back exactly.
            var twoView = clf
            twoView.rawWeight = (0..<(c * d)).map { _ in .random(in: -1...1, using: &rng) }
            try FeatureStore.writeClassifier(twoView, to: p)
            XCTAssertEqual(try FeatureStore.readClassifier(path: p), twoView)
        }
    }

    func testStatisticsRoundTripAndCovarianceLimit() throws {
        let dir = try temporaryFolder(self)
        var rng = SplitMix64(seed: 12)
        let c = 4, d = 5
        let st = StatisticsFile(numClasses: c, dim: d, means: (0..<(c * d)).map { _ in .random(in: -1...1, using: &rng) },
                                counts: [100, 10, 3, 1],
                                covariances: (0..<(c * d * d)).map { _ in .random(in: -1...1, using: &rng) },
                                tukeyLambda: 0.5, attributes: ["source": "train.h5"])
        let p = dir.appendingPathComponent("stats.h5").path
        try FeatureStore.writeStatistics(st, to: p, compress: true)
        XCTAssertEqual(try FeatureStore.readStatistics(path: p), st)
        var noCov = st
        noCov.covariances = nil
        XCTAssertEqual(try FeatureStore.readStatistics(path: p, includeCovariances: false), noCov)

        try FeatureStore.writeStatistics(st, to: p, covarianceLimitBytes: c * d * d * 4 - 1)
        let small = try FeatureStore.readStatistics(path: p)
        XCTAssertNil(small.covariances)
        XCTAssertEqual(small.means, st.means)
        XCTAssertEqual(small.attributes["covariances_omitted"], "C × D × D float32 = 400 bytes > limit 399")
    }

    /// A failed write leaves the earlier file untouched and no temporary file behind;
    /// a successful one replaces it.
    func testAtomicWrite() throws {
        let dir = try temporaryFolder(self)
        let p = dir.appendingPathComponent("out.h5").path
        let first = randomSet(n: 10, d: 3, c: 2, seed: 1)
        try FeatureStore.writeFeatures(first, to: p)
        let before = try Data(contentsOf: URL(fileURLWithPath: p))
        struct Boom: Error {}
        XCTAssertThrowsError(try writeAtomically(to: p) { tmp in
            // A short name only afg writes, in the output's folder, whatever the output's name.
            XCTAssertEqual((tmp as NSString).deletingLastPathComponent, dir.path)
            XCTAssertTrue(TemporaryFile.isTemporaryName((tmp as NSString).lastPathComponent), tmp)
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tmp))
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.h5"])

        let second = randomSet(n: 20, d: 3, c: 2, seed: 2)
        try FeatureStore.writeFeatures(second, to: p)
        XCTAssertEqual(try FeatureStore.readFeatures(path: p).features, second.features)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.h5"])

        try writeAtomically(contents: "{\"ok\":true}\n", to: dir.appendingPathComponent("r.json").path)
        XCTAssertEqual(try String(contentsOfFile: dir.appendingPathComponent("r.json").path, encoding: .utf8), "{\"ok\":true}\n")

        let e = expectError { try FeatureStore.writeFeatures(first, to: dir.appendingPathComponent("no/such/x.h5").path) }
        XCTAssertEqual(e?.kind, .writeFailed)
        XCTAssertTrue(e?.description.hasSuffix("no/such/x.h5: folder \(dir.path)/no/such does not exist") == true, e?.description ?? "")
    }

    /// Streamed blocks equal the whole read, and the stream validates the same way.
    func testStreamOverWrittenFile() throws {
        let dir = try temporaryFolder(self)
        let set = randomSet(n: 1001, d: 7, c: 13, seed: 5)
        let p = dir.appendingPathComponent("s.h5").path
        try FeatureStore.writeFeatures(set, to: p, compress: true)
        let s = try FeatureStream(path: p, blockRows: 100, numClasses: 13)
        var rows = 0
        var acc: [Float] = []
        while let b = try s.next() {
            XCTAssertEqual(b.labels, Array(set.labels[b.startRow..<(b.startRow + b.rows)]))
            acc += b.features
            rows += b.rows
        }
        XCTAssertEqual(rows, 1001)
        XCTAssertEqual(acc, set.features)
        var mid = [Float](repeating: 0, count: 3 * 7)
        try mid.withUnsafeMutableBufferPointer { try s.readRows(500..<503, into: $0) }
        XCTAssertEqual(mid, Array(set.features[(500 * 7)..<(503 * 7)]))
        // Default block size is a whole number of chunks.
        let d = try FeatureStream(path: p)
        XCTAssertEqual(d.blockRows, 1001)
    }

    /// A file written by afg reads back in h5py with the same values (skipped without h5py).
    func testH5pyReadsAfgFiles() throws {
        try XCTSkipUnless(h5pyAvailable, "h5py not installed")
        let dir = try temporaryFolder(self)
        let set = randomSet(n: 40, d: 6, c: 4, seed: 8)
        let p = dir.appendingPathComponent("for-h5py.h5").path
        try FeatureStore.writeFeatures(set, to: p, compress: true, extraDatasets: ["is_generated": .uint8([UInt8](repeating: 1, count: 40))])
        let script = """
        import sys, h5py, numpy as np, json
        with h5py.File(sys.argv[1], "r") as f:
            x = f["features"]
            out = {
              "dtype": str(x.dtype), "shape": list(x.shape), "chunks": list(x.chunks), "compression": x.compression,
              "bits": [int(v) for v in np.asarray(x).view(np.uint32).ravel()],
              "labels": [int(v) for v in f["labels"]],
              "names": [s.decode("utf-8") for s in f["class_names"]],
              "gen": int(np.sum(f["is_generated"])),
              "attrs": {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()},
            }
        print(json.dumps(out))
        """
        let r = try runPython(script, [p])
        XCTAssertEqual(r.status, 0, r.err)
        let o = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(o["dtype"] as? String, "float32")
        XCTAssertEqual(o["shape"] as? [Int], [40, 6])
        XCTAssertEqual(o["compression"] as? String, "gzip")
        XCTAssertEqual((o["bits"] as? [Int])?.map { UInt32($0) }, set.features.map(\.bitPattern))
        XCTAssertEqual(o["labels"] as? [Int], set.labels.map(Int.init))
        XCTAssertEqual(o["names"] as? [String], set.classNames)
        XCTAssertEqual(o["gen"] as? Int, 40)
        let attrs = o["attrs"] as! [String: Any]
        XCTAssertEqual(attrs["num_classes"] as? Int, 4)
        XCTAssertEqual(attrs["created_by"] as? String, "afg \(afgVersion)")
        XCTAssertEqual(attrs["split"] as? String, "train")
    }

    func testSummaryMatchesNaiveCounts() throws {
        let dir = try temporaryFolder(self)
        for seed: UInt64 in [21, 22] {
            var set = randomSet(n: 500, d: 8, c: 6, seed: seed, names: false)
            set.features[17] = .nan
            set.features[100] = .infinity
            set.features[101] = -.infinity
            let p = dir.appendingPathComponent("sum.h5").path
            // NaN/Inf make readFeatures throw, but writing is the caller's business.
            try FeatureStore.writeFeatures(set, to: p)
            let s = try FeatureSummary.compute(path: p, many: 100, few: 80, blockRows: 33)
            XCTAssertEqual(s.classCounts, set.classCounts, "seed \(seed)")
            XCTAssertEqual(s.nanCount, 1)
            XCTAssertEqual(s.infCount, 2)
            XCTAssertEqual(s.firstNonFiniteRow, 2)
            XCTAssertEqual(s.firstNonFiniteColumn, 1)
            XCTAssertEqual(s.negativeCount, set.features.filter { $0 < 0 }.count)
            let finite = set.features.filter(\.isFinite)
            XCTAssertEqual(s.minimum, finite.min())
            XCTAssertEqual(s.maximum, finite.max())
            XCTAssertEqual(s.mean!, finite.reduce(0.0) { $0 + Double($1) } / Double(finite.count), accuracy: 1e-9)
            let counts = set.classCounts
            XCTAssertEqual(s.manyClasses, counts.filter { $0 > 100 }.count)
            XCTAssertEqual(s.fewClasses, counts.filter { $0 < 80 }.count)
            XCTAssertEqual(s.manyClasses + s.mediumClasses + s.fewClasses, 6)
            XCTAssertEqual(s.imbalanceFactor, Double(counts.max()!) / Double(counts.min()!))
            XCTAssertEqual(s.valueError?.description,
                           "\(p): features: 3 non-finite values (1 NaN, 2 Inf), first at row 2 column 1")
        }
    }
}
