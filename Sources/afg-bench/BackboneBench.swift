import Backbone
import Foundation
import Linalg

/// Stage-one throughput against PyTorch CPU in the same run (same architecture, batch,
/// thread count; `bench/torch_backbone.py`, run with `.venv-torch/bin/python` or
/// `$AFG_TORCH_PYTHON` when present):
/// - one training epoch of `resnet32` at batch 128 on 32 × 32 × 3 input
///   (`AFG_BENCH_RESNET_IMAGES` images, default 2,560: 20 steps; the per-image rate
///   gives any epoch length),
/// - one training epoch of `convnet` on the Fashion-MNIST-LT training set
///   (IF 100, 20 validation images per class held out: 14,837 images),
/// - feature extraction for 10,000 images with each network.
func benchBackbone() throws {
    let threads = ProcessInfo.processInfo.activeProcessorCount
    let resnetImages = Int(ProcessInfo.processInfo.environment["AFG_BENCH_RESNET_IMAGES"] ?? "") ?? 2560
    let repeats = Int(ProcessInfo.processInfo.environment["AFG_BENCH_REPEATS"] ?? "") ?? 1
    var rng = Xoshiro256(seed: 7)
    func randomSet(_ n: Int, _ h: Int, _ c: Int) -> ImageSet {
        ImageSet(height: h, width: h, channels: c, pixels: (0..<(n * h * h * c)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                 labels: (0..<n).map { _ in Int32(rng.next() % 10) }, numClasses: 10)
    }
    var cfg = TrainingConfig()
    cfg.epochs = 1; cfg.batchSize = 128; cfg.learningRate = 0.01; cfg.warmupEpochs = 0; cfg.loss = .ce

    var rows: [(String, Int, Double)] = []
    func measure(_ name: String, images: Int, _ body: () -> Void) {
        let t = bestTime(repeats: repeats, body)
        rows.append((name, images, t))
        print("\(name): \(fmt(t, 2)) s for \(images) images, \(fmt(Double(images) / t, 0)) img/s")
        fflush(stdout)
    }

    // resnet32 training epoch.
    let cifarLike = randomSet(resnetImages, 32, 3)
    var r1 = Xoshiro256(seed: 1)
    let resnet = Network(.resnet(depth: 32), numClasses: 10, inputChannels: 3, inputHeight: 32, inputWidth: 32, using: &r1)
    let resnetTrainer = BackboneTrainer(network: resnet, data: cifarLike, normalization: .cifar, config: cfg)
    measure("resnet32-train", images: resnetImages) { _ = resnetTrainer.trainEpoch(0) }

    // convnet epoch on Fashion-MNIST-LT (random images of the same size when the data set is absent).
    let fm = "/usr/share/datasets/fashion-mnist"
    let lt: ImageSet
    if let full = try? ImageSet.loadFolder(fm, train: true) {
        lt = try full.longTailSplit(imbalance: 100, valPerClass: 20, seed: 0).train
    } else {
        print("convnet-train: Fashion-MNIST absent, random 28×28 images instead")
        lt = randomSet(14_837, 28, 1)
    }
    var r2 = Xoshiro256(seed: 2)
    let conv = Network(.convnet, numClasses: 10, inputChannels: 1, inputHeight: 28, inputWidth: 28, using: &r2)
    let convTrainer = BackboneTrainer(network: conv, data: lt, normalization: .fit(lt), config: cfg)
    measure("convnet-train", images: lt.count) { _ = convTrainer.trainEpoch(0) }

    // Extraction of 10,000 images.
    let ext32 = randomSet(10_000, 32, 3), ext28 = randomSet(10_000, 28, 1)
    measure("resnet32-extract", images: 10_000) { _ = extractFeatures(network: resnet, data: ext32, normalization: .cifar, batchSize: 128) }
    measure("convnet-extract", images: 10_000) { _ = extractFeatures(network: conv, data: ext28, normalization: .fit(ext28), batchSize: 128) }
    print("backbone peak RSS: \(fmt(Double(peakRSSBytes()) / 1_048_576, 0)) MiB, \(threads) worker threads")

    // PyTorch, same run.
    let env = ProcessInfo.processInfo.environment
    let python = env["AFG_TORCH_PYTHON"] ?? ".venv-torch/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: "bench/torch_backbone.py") else {
        print("pytorch: skipped (no \(python) with torch; see bench/torch_backbone.py)")
        return
    }
    for (name, images, ours) in rows {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["bench/torch_backbone.py", name, "--images", String(images), "--batch", "128", "--threads", String(threads),
                       "--repeats", String(repeats)]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let secs = obj["seconds"] as? Double else {
            print("pytorch \(name): failed (exit \(p.terminationStatus))")
            continue
        }
        print("pytorch \(name): \(fmt(secs, 2)) s, \(fmt(Double(images) / secs, 0)) img/s; afg/pytorch time ratio \(fmt(ours / secs, 2))")
        fflush(stdout)
    }
}
