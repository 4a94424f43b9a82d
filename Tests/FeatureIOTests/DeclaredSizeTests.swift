import Foundation
import XCTest
@testable import FeatureIO

/// Shapes that need more memory than the machine has, or far more data than the file
/// stores, are refused when the dataset is opened, before anything is allocated.
final class DeclaredSizeTests: XCTestCase {
    /// A few-KB feature file whose features declare 2³¹ × 4 float32 (32 GiB; one chunk
    /// written, the rest never allocated), and one declaring 2²² × 4 (64 MiB) the same way.
    func testSparseHugeFeaturesRefused() throws {
        let dir = try temporaryFolder(self)
        for rows in [1 << 31, 1 << 22] {
            let path = dir.appendingPathComponent("sparse-\(rows).h5").path
            try writeRaw(path) { f in
                let x = try f.createGrowable("features", rowShape: [4], chunkRows: 1024, compress: false, of: Float.self)
                try [Float](repeating: 1, count: 4).withUnsafeBufferPointer { try x.append($0, rows: 1, at: rows - 1) }
                let y = try f.createGrowable("labels", rowShape: [], chunkRows: 1024, compress: false, of: Int64.self)
                try [Int64(0)].withUnsafeBufferPointer { try y.append($0, rows: 1, at: rows - 1) }
            }
            XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int, 64 << 10)
            let e = expectError { _ = try FeatureStore.readFeatures(path: path) }
            XCTAssertEqual(e?.kind, .wrongShape, "\(String(describing: e))")
            XCTAssertEqual(e?.dataset, "features")
            let s = expectError { _ = try FeatureSummary.compute(path: path) }
            XCTAssertEqual(s?.kind, .wrongShape)
        }
    }
}
