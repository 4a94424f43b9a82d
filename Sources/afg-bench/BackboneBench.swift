import Backbone
import Foundation
import Linalg

/// Stage-one throughput against PyTorch CPU in the same run (same architecture, batch,
/// thread count; `bench/torch_backbone.py`, run by `Peers`):
/// - one training epoch of `resnet32` at batch 128 on 32 × 32 × 3 input
///   (`AFG_BENCH_RESNET_IMAGES` images, default 2,560: 20 steps; the per-image rate
///   gives any epoch length),
/// - one training epoch of `convnet` on the Fashion-MNIST-LT training set
///   (IF 100, 20 validation images per class held out: 14,837 images),
/// - feature extraction for 10,000 images with each network (`AFG_BENCH_EXTRACT_IMAGES`).
///
/// Each line also gives the process CPU time; under `taskset -c 0` both sides run one
/// thread, and the CPU-time ratio compares the kernels even on a loaded machine.
func benchBackbone() throws {
    let threads = ProcessInfo.processInfo.activeProcessorCount
    let resnetImages = Int(ProcessInfo.processInfo.environment["AFG_BENCH_RESNET_IMAGES"] ?? "") ?? 2560
    let repeats = Int(ProcessInfo.processInfo.environment["AFG_BENCH_REPEATS"] ?? "") ?? 1
    let extractImages = Int(ProcessInfo.processInfo.environment["AFG_BENCH_EXTRACT_IMAGES"] ?? "") ?? 10_000
    var rng = Xoshiro256(seed: 7)
    func randomSet(_ n: Int, _ h: Int, _ c: Int) -> ImageSet {
        ImageSet(height: h, width: h, channels: c, pixels: (0..<(n * h * h * c)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                 labels: (0..<n).map { _ in Int32(rng.next() % 10) }, numClasses: 10)
    }
    // AFG_BENCH_CONV=im2col times the im2col kernels instead of oneDNN's.
    let kernels = ProcessInfo.processInfo.environment["AFG_BENCH_CONV"].flatMap(ConvolutionKernels.init(rawValue:)) ?? .preferred
    print("convolution kernels: \(Workspace(kernels: kernels).kernels.rawValue)")
    var cfg = TrainingConfig()
    cfg.epochs = 1; cfg.batchSize = 128; cfg.learningRate = 0.01; cfg.warmupEpochs = 0; cfg.loss = .ce

    // Wall time and process CPU time (all threads), each the best of `repeats`: on a loaded
    // machine the CPU time is the steadier figure for single-threaded comparisons.
    var rows: [(String, Int, Double, Double)] = []
    func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    // AFG_BENCH_TASKS=resnet32-train,convnet-extract runs only those (both sides).
    let only = ProcessInfo.processInfo.environment["AFG_BENCH_TASKS"].map { Set($0.split(separator: ",").map(String.init)) }
    func measure(_ name: String, images: Int, _ body: () -> Void) {
        if let only, !only.contains(name) { return }
        var t = Double.infinity, cpu = Double.infinity
        for _ in 0..<max(1, repeats) {
            let c0 = cpuSeconds()
            t = min(t, bestTime(repeats: 1, body))
            cpu = min(cpu, cpuSeconds() - c0)
        }
        rows.append((name, images, t, cpu))
        print("\(name): \(fmt(t, 2)) s for \(images) images, \(fmt(Double(images) / t, 0)) img/s (CPU \(fmt(cpu, 2)) s)")
        fflush(stdout)
    }

    // resnet32 training epoch.
    let cifarLike = randomSet(resnetImages, 32, 3)
    var r1 = Xoshiro256(seed: 1)
    let resnet = Network(.resnet(depth: 32), numClasses: 10, inputChannels: 3, inputHeight: 32, inputWidth: 32, kernels: kernels, using: &r1)
    if let b = Int(ProcessInfo.processInfo.environment["AFG_BENCH_COLUMN_BUDGET"] ?? "") { resnet.workspace.columnBudget = b }
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
    let conv = Network(.convnet, numClasses: 10, inputChannels: 1, inputHeight: 28, inputWidth: 28, kernels: kernels, using: &r2)
    if let b = Int(ProcessInfo.processInfo.environment["AFG_BENCH_COLUMN_BUDGET"] ?? "") { conv.workspace.columnBudget = b }
    let convTrainer = BackboneTrainer(network: conv, data: lt, normalization: .fit(lt), config: cfg)
    measure("convnet-train", images: lt.count) { _ = convTrainer.trainEpoch(0) }

    // Extraction (10,000 images by default).
    let ext32 = randomSet(extractImages, 32, 3), ext28 = randomSet(extractImages, 28, 1)
    measure("resnet32-extract", images: extractImages) { _ = extractFeatures(network: resnet, data: ext32, normalization: .cifar, batchSize: 128) }
    measure("convnet-extract", images: extractImages) { _ = extractFeatures(network: conv, data: ext28, normalization: .fit(ext28), batchSize: 128) }
    print("backbone peak RSS: \(fmt(Double(peakRSSBytes()) / 1_048_576, 0)) MiB, \(threads) worker threads")

    // PyTorch, same run (`Peers`: the bench environment's interpreter).
    for (name, images, ours, ourCPU) in rows {
        guard let obj = Peers.run("pytorch \(name)", script: "torch_backbone.py",
                                  [name, "--images", String(images), "--batch", "128", "--threads", String(threads),
                                   "--repeats", String(repeats)]),
              let secs = obj["seconds"] as? Double else { continue }
        let cpu = (obj["cpu_seconds"] as? Double).map { "; CPU \(fmt($0, 2)) s, afg/pytorch CPU ratio \(fmt(ourCPU / $0, 2))" } ?? ""
        print("pytorch \(name): \(fmt(secs, 2)) s, \(fmt(Double(images) / secs, 0)) img/s; afg/pytorch time ratio \(fmt(ours / secs, 2))\(cpu)")
        recordRatio("backbone", name, peer: "pytorch \(obj["torch"] ?? "")".trimmingCharacters(in: .whitespaces),
                    afgSeconds: ours, peerSeconds: secs)
    }
}
