import Foundation
import XCTest
@testable import FeatureIO

/// Each h5py fixture reads back exactly the values fixtures/make_fixtures.py wrote
/// (recorded in fixtures/h5py/expected.json).
final class FixtureTests: XCTestCase {
    struct Expected: Decodable {
        var features_key: String
        var labels_key: String
        var count: Int
        var dim: Int
        var dtype: String
        var label_dtype: String
        var features: [Double]
        var labels: [Int]
        var class_names: [String]?
        var attributes: [String: String]
        var num_classes: Int?
    }

    static let expected: [String: Expected] = {
        let data = try! Data(contentsOf: fixtureDir.appendingPathComponent("expected.json"))
        let all = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var out: [String: Expected] = [:]
        for (name, v) in all {
            guard let d = v as? [String: Any], d["features"] != nil else { continue }
            out[name] = try! JSONDecoder().decode(Expected.self, from: JSONSerialization.data(withJSONObject: d))
        }
        return out
    }()

    func testEveryFeatureFixtureIsListed() {
        XCTAssertEqual(Set(Self.expected.keys), ["f16_uint8_utf8names.h5", "f64_gzip_int64_fixednames.h5",
                                                 "groups_custom_keys.h5", "f32_int32_plain.h5"])
    }

    /// Whole-file reads give the exact stored values (float16 → Float exactly, float64 →
    /// Float by round-to-nearest), labels, names, attributes and C by the documented rule.
    func testFixturesReadExactly() throws {
        for (name, e) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let keys = DatasetKeys(features: e.features_key, labels: e.labels_key)
            let s = try FeatureStore.readFeatures(path: fixture(name), keys: keys)
            XCTAssertEqual(s.count, e.count, name)
            XCTAssertEqual(s.dim, e.dim, name)
            XCTAssertEqual(s.features.count, e.count * e.dim, name)
            for i in 0..<s.features.count {
                let want = Float(e.features[i])
                XCTAssertEqual(s.features[i].bitPattern, want.bitPattern, "\(name) element \(i): \(s.features[i]) vs \(want)")
            }
            XCTAssertEqual(s.labels.map(Int.init), e.labels, name)
            XCTAssertEqual(s.classNames, e.class_names, name)
            let c = e.num_classes ?? e.class_names?.count ?? (e.labels.max()! + 1)
            XCTAssertEqual(s.numClasses, c, name)
            XCTAssertEqual(s.attributes, e.attributes, name)
        }
    }

    func testFloat16EdgeValues() throws {
        let s = try FeatureStore.readFeatures(path: fixture("f16_uint8_utf8names.h5"))
        XCTAssertEqual(s.features[0], 65504)
        XCTAssertEqual(s.features[1], Float(Float16(bitPattern: 1)))     // smallest subnormal, 2^-24
        XCTAssertEqual(s.features[2].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(s.classNames, ["café", "naïve", "日本", "straße"])
    }

    func testFloat64RoundsToNearestFloat() throws {
        let s = try FeatureStore.readFeatures(path: fixture("f64_gzip_int64_fixednames.h5"))
        XCTAssertEqual(s.features[6 + 2], Float(0.1))
        XCTAssertEqual(s.features[6 + 1], Float(1e-40))
        XCTAssertTrue(s.features[6 + 1].isSubnormal)
        XCTAssertEqual(s.classNames, ["cat", "dog", "horse"])
        XCTAssertEqual(s.numClasses, 3)                                   // from the class names
    }

    func testGroupsWithEmptyClass() throws {
        let keys = DatasetKeys(features: "/train/feats", labels: "train/targets")
        let s = try FeatureStore.readFeatures(path: fixture("groups_custom_keys.h5"), keys: keys)
        XCTAssertEqual(s.numClasses, 5)
        XCTAssertEqual(s.classCounts, [5, 4, 0, 3, 3])
        let t = try FeatureStore.readFeatures(path: fixture("groups_custom_keys.h5"),
                                              keys: DatasetKeys(features: "test/feats", labels: "test/targets"))
        XCTAssertEqual(t.count, 3)
        XCTAssertEqual(Array(s.features[0..<12]), t.features)
    }

    /// Streaming in any block size gives the same rows as the whole read, for each stored
    /// type, chunked and contiguous.
    func testStreamingMatchesWholeRead() throws {
        for (name, e) in Self.expected {
            let keys = DatasetKeys(features: e.features_key, labels: e.labels_key)
            let whole = try FeatureStore.readFeatures(path: fixture(name), keys: keys)
            for block in [1, 2, 5, 7, e.count, e.count + 3] {
                let s = try FeatureStream(path: fixture(name), keys: keys, blockRows: block)
                var x: [Float] = [], y: [Int32] = [], starts: [Int] = []
                try s.forEachBlock { b in
                    XCTAssertEqual(b.features.count, b.rows * s.dim)
                    XCTAssertEqual(b.labels.count, b.rows)
                    XCTAssertLessThanOrEqual(b.rows, block)
                    starts.append(b.startRow)
                    x += b.features
                    y += b.labels
                }
                XCTAssertEqual(x, whole.features, "\(name) block \(block)")
                XCTAssertEqual(y, whole.labels, "\(name) block \(block)")
                XCTAssertEqual(starts, Array(stride(from: 0, to: e.count, by: block)))
                XCTAssertNil(try s.next())
                s.reset()
                XCTAssertEqual(try s.next()?.startRow, 0)
            }
        }
    }

    func testSummaryOnFixtures() throws {
        let s = try FeatureSummary.compute(path: fixture("groups_custom_keys.h5"),
                                           keys: DatasetKeys(features: "train/feats", labels: "train/targets"),
                                           many: 4, few: 3, blockRows: 4)
        XCTAssertEqual(s.count, 15)
        XCTAssertEqual(s.dim, 4)
        XCTAssertEqual(s.featureType, "float32")
        XCTAssertEqual(s.labelType, "int16")
        XCTAssertEqual(s.classCounts, [5, 4, 0, 3, 3])
        XCTAssertEqual(s.largestClass, 0)
        XCTAssertEqual(s.smallestClass, 2)
        XCTAssertEqual(s.smallestCount, 0)
        XCTAssertEqual(s.emptyClasses, 1)
        XCTAssertEqual(s.imbalanceFactor, 5.0 / 3.0)
        XCTAssertEqual([s.manyClasses, s.mediumClasses, s.fewClasses], [1, 3, 1])   // 5 > 4; 4, 3, 3; 0 < 3
        XCTAssertEqual(s.numClassesSource, "num_classes attribute")
        let whole = try FeatureStore.readFeatures(path: fixture("groups_custom_keys.h5"),
                                                  keys: DatasetKeys(features: "train/feats", labels: "train/targets"))
        XCTAssertEqual(s.negativeCount, whole.features.filter { $0 < 0 }.count)
        XCTAssertEqual(s.minimum, whole.features.min())
        XCTAssertEqual(s.maximum, whole.features.max())
        XCTAssertEqual(s.nanCount + s.infCount, 0)
    }

    func testMissingFilterIsNamed() throws {
        let e = expectError { _ = try FeatureStore.readFeatures(path: fixture("lzf_filter.h5")) }
        XCTAssertEqual(e?.kind, .hdf5)
        XCTAssertTrue(e?.description.contains("features: compressed with filter") == true, e?.description ?? "")
        XCTAssertTrue(e?.description.contains("32000") == true, e?.description ?? "")
    }

    /// A 16-bit float that is not IEEE binary16 (bfloat16 layout) goes through HDF5's
    /// float conversion instead of the binary16 bit path (skipped without h5py).
    func testBFloat16IsNotMistakenForHalf() throws {
        try XCTSkipUnless(h5pyAvailable, "h5py not installed")
        let dir = try temporaryFolder(self)
        let p = dir.appendingPathComponent("bf16.h5").path
        let r = try runPython("""
        import sys, h5py, numpy as np
        t = h5py.h5t.IEEE_F32LE.copy()
        t.set_fields(15, 7, 8, 0, 7); t.set_offset(0); t.set_precision(16); t.set_size(2); t.set_ebias(127)
        x = np.array([[1.0, -2.5], [0.15625, 3e18]], dtype=np.float32)
        bits = (x.view(np.uint32) >> 16).astype(np.uint16)
        with h5py.File(sys.argv[1], "w") as f:
            ds = h5py.h5d.create(f.id, b"features", t, h5py.h5s.create_simple((2, 2)))
            ds.write(h5py.h5s.ALL, h5py.h5s.ALL, bits, mtype=t)
            f["labels"] = np.array([0, 1])
        """, [p])
        XCTAssertEqual(r.status, 0, r.err)
        let s = try FeatureStore.readFeatures(path: p)
        let top = Float(bitPattern: Float(3e18).bitPattern & 0xFFFF_0000)   // beyond float16's range
        XCTAssertEqual(s.features, [1, -2.5, 0.15625, top])
    }
}
