import Foundation
import XCTest
import FeatureIO

/// `afg extract` with a checkpoint that carries no normalisation: the image file's `mean`
/// / `std` attributes are used (0-255 values scaled), an `NCHW` file reads like its NHWC
/// twin, and without either the refusal is one line.
final class ExtractTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try scratchFolder("extract")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testImageFileNormalisationAndLayout() throws {
        // 12 RGB 4 × 4 images, 3 classes; pixel (i, y, x, c) = (31 i + 7 y + 3 x + 50 c) mod 256.
        let (n, h, w, c) = (12, 4, 4, 3)
        var nhwc = [UInt8](repeating: 0, count: n * h * w * c), nchw = nhwc
        for i in 0..<n { for y in 0..<h { for x in 0..<w { for ch in 0..<c {
            let v = UInt8((31 * i + 7 * y + 3 * x + 50 * ch) % 256)
            nhwc[((i * h + y) * w + x) * c + ch] = v
            nchw[((i * c + ch) * h + y) * w + x] = v
        } } } }
        let labels = (0..<n).map { Int32($0 % 3) }
        let plain = path("img.h5"), withStats = path("img-stats.h5"), chw = path("img-nchw.h5")
        try FeatureStore.writeImages(ImageFile(height: h, width: w, channels: c, pixels: nhwc, labels: labels, numClasses: 3), to: plain)
        let stats = ["mean": "125.0,122.5,113.75", "std": "51.0,51.0,51.0"]
        try FeatureStore.writeImages(ImageFile(height: h, width: w, channels: c, pixels: nhwc, labels: labels, numClasses: 3,
                                               attributes: stats), to: withStats)
        // The NCHW twin: the writer stores [N, height, width, channels], so (C, H, W) there
        // stores N × C × H × W; the layout attribute says so.
        try FeatureStore.writeImages(ImageFile(height: c, width: h, channels: w, pixels: nchw, labels: labels, numClasses: 3,
                                               attributes: stats.merging(["layout": "NCHW"]) { a, _ in a }), to: chw)
        let r0 = try afg("pretrain", "--arch", "mlp", "--data", plain, "--out", path("ck.safetensors"), "--epochs", "1",
                         "--batch-size", "4", "--quiet")
        XCTAssertEqual(r0.status, 0, r0.err)
        var ck = try SafeTensorsFile.read(path: path("ck.safetensors"))
        ck.metadata["afg_mean"] = nil; ck.metadata["afg_std"] = nil
        try ck.write(path: path("bare.safetensors"))

        let none = try afg("extract", "--checkpoint", path("bare.safetensors"), "--data", plain, "--out", path("x.h5"), "--quiet")
        XCTAssertEqual(none.status, 1)
        XCTAssertEqual(none.err, "Error: \(path("bare.safetensors")): no normalisation metadata, and \(plain) has no mean / std attributes; pass --mean and --std (CIFAR: 0.4914,0.4822,0.4465 / 0.2023,0.1994,0.2010)\n")

        let explicit = try afg("extract", "--checkpoint", path("bare.safetensors"), "--data", plain, "--out", path("a.h5"),
                               "--mean", "\(125.0 / 255),\(122.5 / 255),\(113.75 / 255)", "--std", "0.2,0.2,0.2", "--quiet")
        XCTAssertEqual(explicit.status, 0, explicit.err)
        let fromFile = try afg("extract", "--checkpoint", path("bare.safetensors"), "--data", withStats, "--out", path("b.h5"), "--quiet")
        XCTAssertEqual(fromFile.status, 0, fromFile.err)
        let fromNCHW = try afg("extract", "--checkpoint", path("bare.safetensors"), "--data", chw, "--out", path("c.h5"), "--quiet")
        XCTAssertEqual(fromNCHW.status, 0, fromNCHW.err)
        let a = try FeatureStore.readFeatures(path: path("a.h5")), b = try FeatureStore.readFeatures(path: path("b.h5"))
        let cc = try FeatureStore.readFeatures(path: path("c.h5"))
        XCTAssertEqual(a.features.count, b.features.count)
        for (u, v) in zip(a.features, b.features) { XCTAssertEqual(u, v, accuracy: 1e-5) }
        XCTAssertEqual(b.features, cc.features)
    }
}
