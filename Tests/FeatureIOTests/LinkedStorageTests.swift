import Foundation
import XCTest
@testable import FeatureIO

/// Writes the files of `fixtures/h5py/make_linked.py` (h5py) into `dir`.
func writeLinkedFiles(_ dir: URL) throws -> (status: Int32, err: String) {
    let r = try runPython("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                          [fixture("make_linked.py"), dir.path])
    return (r.status, r.err)
}

/// Data kept outside the HDF5 file (issue 14, "silent wrong results"): virtual datasets,
/// external links, external raw storage, and class names that are not UTF-8. What resolves
/// reads the right values; what does not is refused in one line naming the file, the
/// dataset and the missing target. The files are described in `make_linked.py`.
final class LinkedStorageTests: XCTestCase {
    var dir: URL!
    let values = (1...12).map(Float.init)

    override func setUpWithError() throws {
        try XCTSkipUnless(h5pyAvailable, "h5py not installed")
        dir = try temporaryFolder(self)
        let r = try writeLinkedFiles(dir)
        XCTAssertEqual(r.status, 0, r.err)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func read(_ name: String) throws -> FeatureSet { try FeatureStore.readFeatures(path: path(name)) }

    func testResolvedSourcesReadTheirValues() throws {
        for name in ["vds.h5", "vds_both.h5", "elink.h5", "ext.h5", "ext_split.h5"] {
            let s = try read(name)
            XCTAssertEqual(s.features, values, name)
            XCTAssertEqual(s.labels, [0, 1, 0, 1, 0, 1], name)
        }
        // Two hyperslab mappings, the halves swapped.
        XCTAssertEqual(try read("vds_halves.h5").features, Array(values[6...] + values[..<6]))
        // Streamed in blocks too (the same open path).
        let stream = try FeatureStream(path: path("vds.h5"), blockRows: 4)
        XCTAssertEqual(try stream.next()?.features, Array(values[0..<8]))
    }

    func testVirtualDatasetWithMissingSourceIsRefused() throws {
        let p = path("vds_missing.h5")
        let e = expectError { _ = try self.read("vds_missing.h5") }
        XCTAssertEqual(e?.description, "\(p): features: virtual dataset: source file gone.h5 (of source dataset x) not found, "
                       + "looked beside \(p) and in the working directory")
        let n = expectError { _ = try self.read("vds_nodset.h5") }
        XCTAssertEqual(n?.description, "\(path("vds_nodset.h5")): features: virtual dataset: source dataset nothing not found in \(dir.path)/src.h5")
        let s = expectError { _ = try self.read("vds_small.h5") }
        XCTAssertEqual(s?.description, "\(path("vds_small.h5")): features: virtual dataset: source dataset small in \(dir.path)/src.h5 "
                       + "has shape [3, 2], which does not match the 12 elements mapped from it")
    }

    func testDanglingExternalLinksAreRefused() throws {
        let p = path("elink_bad.h5")
        let e = expectError { _ = try self.read("elink_bad.h5") }
        XCTAssertEqual(e?.description, "\(p): features: external link features -> gone.h5:/x does not resolve: "
                       + "file gone.h5 not found (looked beside \(p) and in the working directory)")
        let o = expectError { _ = try self.read("elink_noobj.h5") }
        XCTAssertEqual(o?.description, "\(path("elink_noobj.h5")): features: external link features -> src.h5:/nothing does not resolve: "
                       + "\(dir.path)/src.h5 has no object /nothing")
    }

    func testExternalRawStorageMissingOrShortIsRefused() throws {
        let m = expectError { _ = try self.read("ext_missing.h5") }
        XCTAssertEqual(m?.description, "\(path("ext_missing.h5")): features: external raw data file \(path("gone.bin")) not found "
                       + "(HDF5 resolves it from the working directory)")
        let s = expectError { _ = try self.read("ext_short.h5") }
        XCTAssertEqual(s?.description, "\(path("ext_short.h5")): features: external raw data file \(path("short.bin")) holds 20 bytes, "
                       + "but the dataset needs 48 (bytes 0..<48)")
    }

    func testClassNamesThatAreNotUTF8AreRefused() throws {
        let f = expectError { _ = try self.read("names.h5") }
        XCTAssertEqual(f?.kind, .wrongType)
        XCTAssertEqual(f?.description, "\(path("names.h5")): class_names: string 1 of 2 is not valid UTF-8 (bytes 64 ff 67)")
        let v = expectError { _ = try self.read("names_vlen.h5") }
        XCTAssertEqual(v?.description, "\(path("names_vlen.h5")): class_names: string 2 of 3 is not valid UTF-8 (bytes c3 28)")
        // Attributes too: the index within the attribute.
        let a = expectError { _ = try self.read("names_attr.h5") }
        XCTAssertEqual(a?.description, "\(path("names_attr.h5")): attribute 'note': string 1 of 2 is not valid UTF-8 (bytes fe)")
    }
}
