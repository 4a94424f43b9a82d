import ArgumentParser
import Backbone
import Distributed
import FeatureIO
import Linalg
import Foundation

/// `afg extract`: features after global pooling from a trained backbone (ours or a
/// PyTorch `state_dict` saved with safetensors), plus its linear head as a classifier file.
struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract pooled backbone features (and the linear head) from a safetensors checkpoint.",
        discussion: """
        Checkpoints written by `afg pretrain` carry the architecture and the input \
        normalisation; for a PyTorch state_dict pass --arch, and --mean/--std unless the \
        HDF5 image file has mean / std attributes (0-1 scale; values above 1 are read as \
        0-255 and divided by 255). The CIFAR \
        ResNets expect names conv1.weight, bn1.*, layer1.0.conv1.weight, ..., linear.weight. \
        Writes a feature file (N × D float32, labels) and, with --head, the final linear layer \
        as a classifier file (stage two's KD teacher). Prints the head's accuracy on the data.
        """)

    @Option(help: "The checkpoint (.safetensors).") var checkpoint: String
    @Option(help: "Architecture; default: the checkpoint's afg_arch metadata.") var arch: String?
    @Option(help: "HDF5 image file, or a folder of IDX / CIFAR binary files.") var data: String
    @Option(help: "Split to read from a folder: train or test.") var split = "train"
    @Option(help: "Output feature file (.h5).") var out: String
    @Option(help: "Also write the linear head as a classifier file (.h5).") var head: String?
    @Option(help: "Per-channel mean, comma-separated (default: the checkpoint's, else the image file's mean attribute).") var mean: String?
    @Option(help: "Per-channel std, comma-separated (default: the checkpoint's, else the image file's std attribute).") var std: String?
    @Option(help: "Images per forward pass.") var batchSize = 256
    @Flag(help: "Compress the feature file (shuffle + gzip).") var compress = false
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        if let a = arch, Architecture(name: a) == nil { throw CLIError("--arch: unknown '\(a)'") }
        guard batchSize > 0 else { throw CLIError("--batch-size must be positive") }
        if (mean == nil) != (std == nil) { throw CLIError("give --mean and --std together") }
        try checkFiles(inputs: [("--checkpoint", checkpoint)], folders: [("--data", data)],
                       outputs: [("--out", out)] + (head.map { [("--head", $0)] } ?? []))
    }

    /// Under `mpirun -np N` the images are split by rank (contiguous ranges) and the
    /// features gathered on rank 0, which writes the one feature file.
    func run() throws {
        let ck = try Job.agree { try SafeTensorsFile.read(path: checkpoint) }
        guard let archName = arch ?? ck.metadata["afg_arch"], let architecture = Architecture(name: archName) else {
            throw CLIError("\(checkpoint): no afg_arch metadata; pass --arch")
        }
        guard let lw = ck.tensors["linear.weight"] ?? ck.tensors["module.linear.weight"], lw.shape.count == 2 else {
            throw CLIError("\(checkpoint): no 2-D linear.weight tensor (the classifier head)")
        }
        let numClasses = lw.shape[0]
        let (images, imageAttributes) = try Job.agree { try loadImageFile(data, split: split) }
        if images.numClasses > numClasses {
            throw CLIError("\(data): labels reach \(images.numClasses - 1) but the checkpoint's head has \(numClasses) classes")
        }
        let norm = try normalization(ck.metadata, imageAttributes)
        guard norm.mean.count == images.channels, norm.std.allSatisfy({ $0 > 0 }) else {
            throw CLIError("normalisation has \(norm.mean.count) channels, the images \(images.channels)")
        }
        var rng = Xoshiro256(seed: 0)
        let flat: Bool
        if case .mlp = architecture { flat = true } else { flat = false }
        let net = Network(architecture, numClasses: numClasses,
                          inputChannels: flat ? images.imageSize : images.channels,
                          inputHeight: flat ? 1 : images.height, inputWidth: flat ? 1 : images.width, using: &rng)
        try net.loadState(ck.tensors, source: checkpoint)

        // Under MPI each rank extracts a contiguous range of the images; rank 0 gathers and writes.
        let mine = Job.isDistributed ? images.subset(Array(rowRange(of: Job.ranks.rank, size: Job.ranks.size, rows: images.count))) : images
        var progress = ProgressLine(quiet: output.quiet || !Job.ranks.isRoot)
        let t0 = Date()
        let (localFeats, localLogits) = extractFeatures(network: net, data: mine, normalization: norm, batchSize: batchSize) { done in
            let secs = Date().timeIntervalSince(t0)
            progress.draw("extract \(ProgressLine.bar(done, mine.count)) \(done)/\(mine.count) \(String(format: "%.0f", Double(done) / max(secs, 1e-9))) img/s")
        }
        progress.finish()
        let feats = try Job.ranks.gather(localFeats), logits = try Job.ranks.gather(localLogits)
        guard let feats, let logits else { return }    // ranks other than 0
        let seconds = Date().timeIntervalSince(t0)
        let acc = accuracy(logits: logits, labels: images.labels, numClasses: numClasses)
        var names = images.classNames
        if names == nil, let text = ck.metadata["afg_class_names"], let arr = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String], arr.count == numClasses { names = arr }
        if let n = names, n.count != numClasses { names = nil }
        var attrs: [String: String] = ["backbone": architecture.description, "checkpoint": checkpoint, "source": data,
                                       "feature": "global average pool"]
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: data, isDirectory: &isDir), isDir.boolValue { attrs["split"] = split }
        try FeatureStore.writeFeatures(FeatureSet(features: feats, dim: net.featureDim, labels: images.labels, numClasses: numClasses,
                                                  classNames: names, attributes: attrs), to: out, compress: compress)
        if let h = head {
            var counts = images.classCounts + [Int](repeating: 0, count: numClasses - images.numClasses)
            if let c = ck.metadata["afg_class_counts"] {
                let parsed = c.split(separator: ",").compactMap { Int($0) }
                if parsed.count == numClasses { counts = parsed }
            }
            let config = try encodeJSON(["checkpoint": checkpoint, "arch": architecture.description,
                                         "loss": ck.metadata["afg_loss"] ?? "unknown", "epoch": ck.metadata["afg_epoch"] ?? "unknown"],
                                        pretty: false)
            try FeatureStore.writeClassifier(ClassifierFile(numClasses: numClasses, dim: net.featureDim, weight: net.head.weight.values,
                                                            bias: net.head.bias.values, classCounts: counts, method: "stage-one",
                                                            tukeyLambda: nil, configJSON: config, classNames: names), to: h)
        }
        if output.json {
            struct Report: Encodable {
                var features: String, head: String?, count: Int, dim: Int, numClasses: Int, headAccuracy: Double, seconds: Double
                /// The convolution kernels that ran (`oneDNN` or `im2col`).
                var convolutions: String
                enum CodingKeys: String, CodingKey {
                    case features, head, count, dim, seconds, convolutions, numClasses = "num_classes", headAccuracy = "head_accuracy"
                }
            }
            print(try encodeJSON(Report(features: out, head: head, count: images.count, dim: net.featureDim,
                                        numClasses: numClasses, headAccuracy: acc, seconds: seconds,
                                        convolutions: net.workspace.kernels.rawValue)))
        } else {
            print("extracted \(images.count) × \(net.featureDim) features to \(out)\(head.map { ", head to \($0)" } ?? "")")
            print(String(format: "head accuracy %.4f (%.1fs, %.0f img/s, ", acc, seconds, Double(images.count) / max(seconds, 1e-9))
                  + "\(net.workspace.kernels.rawValue) convolutions)")
        }
    }

    /// The input normalisation: --mean / --std, else the checkpoint's `afg_mean` /
    /// `afg_std`, else the image file's `mean` / `std` attributes (0-1 scale; values above 1
    /// are taken as 0-255 and divided by 255).
    private func normalization(_ metadata: [String: String], _ imageAttributes: [String: String]) throws -> Normalization {
        if let m = mean, let s = std {
            return Normalization(mean: try parseFloats(m, name: "--mean"), std: try parseFloats(s, name: "--std"))
        }
        if let m = metadata["afg_mean"], let s = metadata["afg_std"] {
            return Normalization(mean: try parseFloats(m, name: "afg_mean"), std: try parseFloats(s, name: "afg_std"))
        }
        if let m = imageAttributes["mean"], let s = imageAttributes["std"] {
            var mean = try parseFloats(m, name: "\(data): attribute mean"), sd = try parseFloats(s, name: "\(data): attribute std")
            if mean.contains(where: { $0 > 1 }) { mean = mean.map { $0 / 255 }; sd = sd.map { $0 / 255 } }
            return Normalization(mean: mean, std: sd)
        }
        throw CLIError("\(checkpoint): no normalisation metadata, and \(data) has no mean / std attributes; pass --mean and --std (CIFAR: 0.4914,0.4822,0.4465 / 0.2023,0.1994,0.2010)")
    }
}
