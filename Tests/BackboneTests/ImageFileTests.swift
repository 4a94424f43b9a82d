import XCTest
import FeatureIO
@testable import Backbone

/// HDF5 image files (FeatureIO's `writeImages` / `readImages`) carry an `ImageSet` exactly.
final class ImageFileTests: XCTestCase {
    func testRoundTripAndValidation() throws {
        let dir = NSTemporaryDirectory() + "afg-img-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pixels = (0..<(5 * 4 * 3 * 2)).map { UInt8($0 % 251) }
        let img = ImageFile(height: 4, width: 3, channels: 2, pixels: pixels, labels: [0, 2, 1, 2, 0], numClasses: 4,
                            classNames: ["a", "b", "c", "d"], attributes: ["imbalance": "10"])
        try FeatureStore.writeImages(img, to: dir + "/x.h5")
        let back = try FeatureStore.readImages(path: dir + "/x.h5")
        XCTAssertEqual(back.pixels, pixels)
        XCTAssertEqual(back.labels, img.labels)
        XCTAssertEqual([back.height, back.width, back.channels, back.numClasses], [4, 3, 2, 4])
        XCTAssertEqual(back.classNames, img.classNames)
        XCTAssertEqual(back.attributes["imbalance"], "10")
        XCTAssertEqual(back.attributes["afg_file"], "images")
        // A feature file is not an image file: the error names the file and dataset.
        try FeatureStore.writeFeatures(FeatureSet(features: [1, 2], dim: 1, labels: [0, 1], numClasses: 2), to: dir + "/f.h5")
        XCTAssertThrowsError(try FeatureStore.readImages(path: dir + "/f.h5")) { e in
            XCTAssertTrue("\(e)".contains("f.h5") && "\(e)".contains("images"), "\(e)")
        }
    }
}
