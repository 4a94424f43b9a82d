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

    /// Where libdnnl cannot be loaded (hidden here by a private mount namespace that
    /// binds /dev/null over it), stage one runs on the im2col kernels and says so.
    func testWithoutOneDNNStageOneRunsOnIm2col() throws {
        let lib = URL(fileURLWithPath: "/usr/lib/x86_64-linux-gnu/libdnnl.so.2").resolvingSymlinksInPath().path
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
              FileManager.default.fileExists(atPath: lib) else { throw XCTSkip("needs root, unshare and libdnnl to hide") }
        let (n, h, w, c) = (20, 8, 8, 3)
        let images = path("small.h5")
        try FeatureStore.writeImages(ImageFile(height: h, width: w, channels: c,
                                               pixels: (0..<(n * h * w * c)).map { UInt8(truncatingIfNeeded: $0 &* 40_503) },
                                               labels: (0..<n).map { Int32($0 % 2) }, numClasses: 2,
                                               attributes: ["mean": "127.5,127.5,127.5", "std": "64,64,64"]), to: images)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-m", "sh", "-c", "mount --bind /dev/null \"$0\" && exec \"$@\"", lib, afgBinary.path, "pretrain",
                       "--arch", "resnet20", "--data", images, "--out", path("fallback.safetensors"), "--epochs", "1",
                       "--batch-size", "8", "--warmup", "0", "--json", "--quiet"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: e, as: UTF8.self))
        let json = try JSONSerialization.jsonObject(with: o) as? [String: Any]
        XCTAssertEqual(json?["convolutions"] as? String, "im2col")
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
