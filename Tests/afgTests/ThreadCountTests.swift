import Foundation
import XCTest
import FeatureIO

/// Stage one gives the same checkpoint and the same features, byte for byte, on one core
/// (`taskset -c 0`) as on all of them: the convolutions' chunks, and with them the order in
/// which weight gradients are summed, do not depend on the thread count.
final class ThreadCountTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try scratchFolder("threads")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs afg under `taskset -c cpus`.
    func pinned(_ cpus: String, _ args: String...) throws -> (status: Int32, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        p.arguments = ["-c", cpus, afgBinary.path] + args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    func testStageOneBytesDoNotDependOnTheCoreCount() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else { throw XCTSkip("no /usr/bin/taskset") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard cores > 1 else { throw XCTSkip("one core: nothing to compare") }
        // 48 RGB 12 × 12 images of 4 classes, pixels from a fixed formula.
        let (n, h, w, c) = (48, 12, 12, 3)
        let pixels = (0..<(n * h * w * c)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        let images = path("img.h5")
        try FeatureStore.writeImages(ImageFile(height: h, width: w, channels: c, pixels: pixels,
                                               labels: (0..<n).map { Int32($0 % 4) }, numClasses: 4,
                                               attributes: ["mean": "127.5,127.5,127.5", "std": "64,64,64"]), to: images)
        var outputs: [[Data]] = []
        for cpus in ["0", "0-\(cores - 1)"] {
            let ck = path("ck-\(cpus).safetensors"), feats = path("f-\(cpus).h5")
            let train = try pinned(cpus, "pretrain", "--arch", "resnet20", "--data", images, "--out", ck, "--epochs", "2",
                                   "--batch-size", "16", "--warmup", "0", "--quiet")
            XCTAssertEqual(train.status, 0, train.err)
            let extract = try pinned(cpus, "extract", "--checkpoint", ck, "--data", images, "--out", feats, "--quiet")
            XCTAssertEqual(extract.status, 0, extract.err)
            let features = try FeatureStore.readFeatures(path: feats).features
            outputs.append([try Data(contentsOf: URL(fileURLWithPath: ck)), features.withUnsafeBufferPointer { Data(buffer: $0) }])
        }
        // The kernels that ran are named: oneDNN's where Debian's libdnnl is installed.
        let report = try afg("extract", "--checkpoint", path("ck-0.safetensors"), "--data", images, "--out", path("j.h5"), "--json", "--quiet")
        XCTAssertEqual(report.status, 0, report.err)
        let json = try JSONSerialization.jsonObject(with: Data(report.out.utf8)) as? [String: Any]
        let dnnl = FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/libdnnl.so.2")
        XCTAssertEqual(json?["convolutions"] as? String, dnnl ? "oneDNN" : "im2col")
        XCTAssertEqual(outputs[0][0], outputs[1][0], "checkpoints differ between 1 and \(cores) cores")
        XCTAssertEqual(outputs[0][1], outputs[1][1], "features differ between 1 and \(cores) cores")
    }
}
