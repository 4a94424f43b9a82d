import ArgumentParser
import Backbone
import Classifier
import FeatureIO
import Linalg
import Foundation

// MARK: - Shared by pretrain / extract / make-lt

/// Loads images from an HDF5 image file (`*.h5`, `*.hdf5`) or a folder of IDX / CIFAR
/// binary files (`split` picks train or test there).
func loadImages(_ path: String, split: String) throws -> ImageSet {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw ValidationError("\(path): no such file or folder")
    }
    if isDir.boolValue {
        guard split == "train" || split == "test" else { throw ValidationError("--split must be train or test for a folder, got \(split)") }
        return try ImageSet.loadFolder(path, train: split == "train")
    }
    let f = try FeatureStore.readImages(path: path)
    return ImageSet(height: f.height, width: f.width, channels: f.channels, pixels: f.pixels, labels: f.labels,
                    numClasses: f.numClasses, classNames: f.classNames)
}

/// Progress on stderr (one line, rewritten), silenced by `--quiet`.
struct ProgressLine {
    var quiet: Bool
    var lastDraw = 0.0
    mutating func draw(_ text: String, force: Bool = false) {
        if quiet { return }
        let now = Date().timeIntervalSince1970
        if !force && now - lastDraw < 0.2 { return }
        lastDraw = now
        FileHandle.standardError.write("\r\u{1B}[K\(text)".data(using: .utf8)!)
    }
    mutating func finish() { if !quiet { FileHandle.standardError.write("\n".data(using: .utf8)!) } }
    static func bar(_ done: Int, _ total: Int, width: Int = 24) -> String {
        let k = total > 0 ? min(width, done * width / total) : width
        return "[" + String(repeating: "#", count: k) + String(repeating: ".", count: width - k) + "]"
    }
}

func jsonText(_ object: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}

/// Comma-separated floats (`0.49,0.48,0.45`).
func parseFloats(_ s: String, name: String) throws -> [Float] {
    let v = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ValidationError("\(name): expected comma-separated numbers, got '\(s)'") }
    return v.map { $0! }
}

/// Checkpoint metadata keys written by `afg pretrain` and read by `afg extract`.
enum CheckpointMeta {
    static func make(network: Network, normalization: Normalization, epoch: Int, config: TrainingConfig,
                     classCounts: [Int], classNames: [String]?) -> [String: String] {
        var m: [String: String] = [
            "format": "pt", "afg_arch": network.architecture.description, "afg_num_classes": String(network.numClasses),
            "afg_input": "\(network.inputChannels),\(network.inputHeight),\(network.inputWidth)",
            "afg_mean": normalization.mean.map { String($0) }.joined(separator: ","),
            "afg_std": normalization.std.map { String($0) }.joined(separator: ","),
            "afg_epoch": String(epoch), "afg_epochs": String(config.epochs), "afg_loss": config.loss.description,
            "afg_seed": String(config.seed), "afg_class_counts": classCounts.map(String.init).joined(separator: ","),
            "created_by": FeatureStore.createdBy,
        ]
        if let n = classNames { m["afg_class_names"] = jsonText(n) }
        return m
    }
}

// MARK: - afg pretrain

/// `afg pretrain`: stage one, a backbone trained with CE, logit adjustment or GraLoss.
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stage one: train a backbone (resnet20/32/44/56, convnet, mlp) with ce, la or graloss.",
        discussion: """
        Writes OUT (safetensors, PyTorch state_dict names, afg metadata) after every epoch, \
        and OUT.train-state (weights + SGD momentum) so that --resume continues exactly. \
        Per-epoch results go to stdout (--json: one JSON object at the end), progress to stderr.
        """)

    @Option(help: "resnet20|resnet32|resnet44|resnet56|convnet|mlp.") var arch: String
    @Option(help: "HDF5 image file, or a folder of IDX (MNIST family) or CIFAR binary files.") var data: String
    @Option(help: "Split to read from a folder: train or test.") var split = "train"
    @Option(help: "Optional evaluation images (file or folder; its test split), scored after every epoch.") var evalData: String?
    @Option(help: "ce | la | graloss.") var loss = "graloss"
    @Option(help: "τ of the fixed logit adjustment (la).") var tau = 1.0
    @Option(help: "τ_max of GraLoss.") var tauMax = 1.0
    @Option(help: "γ of GraLoss's schedule (> 0 convex, 0 linear).") var gamma = 3.0
    @Option(help: "Epochs.") var epochs = 200
    @Option(help: "Mini-batch size.") var batchSize = 128
    @Option(help: "Peak learning rate.") var lr = 0.1
    @Option(help: "SGD momentum.") var momentum = 0.9
    @Option(help: "Weight decay.") var weightDecay = 5e-4
    @Option(help: "Linear warm-up epochs before the cosine decay.") var warmup = 5.0
    @Option(help: "Random crop padding (0 = no crop). Default: 4 for colour 32×32 input, else 0.") var cropPadding: Int?
    @Flag(inversion: .prefixedNo, help: "Random horizontal flips (default: on for colour 32×32 input).") var flip: Bool?
    @Option(help: "Seed for initialisation, shuffling and augmentation.") var seed: UInt64 = 0
    @Option(help: "Output checkpoint (.safetensors).") var out: String
    @Flag(help: "Continue from OUT.train-state.") var resume = false
    @Flag(help: "No progress on stderr.") var quiet = false
    @Flag(help: "Print one JSON object with the per-epoch results instead of text.") var json = false

    func validate() throws {
        guard Architecture(name: arch) != nil else { throw ValidationError("--arch: unknown '\(arch)' (resnet20/32/44/56, convnet, mlp)") }
        guard ["ce", "la", "graloss"].contains(loss) else { throw ValidationError("--loss must be ce, la or graloss") }
        guard epochs > 0, batchSize >= 2, lr > 0, warmup >= 0, weightDecay >= 0, momentum >= 0 && momentum < 1 else {
            throw ValidationError("need epochs > 0, batch size ≥ 2, lr > 0, warmup ≥ 0, weight decay ≥ 0, 0 ≤ momentum < 1")
        }
    }

    func run() throws {
        let architecture = Architecture(name: arch)!
        let train = try loadImages(data, split: split)
        let evalSet = try evalData.map { try loadImages($0, split: "test") }
        if let e = evalSet, e.numClasses > train.numClasses || e.imageSize != train.imageSize {
            throw ValidationError("\(evalData!): \(e.numClasses) classes of \(e.height)×\(e.width)×\(e.channels) images do not match the training data")
        }
        let colour32 = train.channels == 3 && train.height == 32 && train.width == 32
        var cfg = TrainingConfig()
        cfg.epochs = epochs; cfg.batchSize = batchSize; cfg.learningRate = lr; cfg.momentum = momentum
        cfg.weightDecay = weightDecay; cfg.warmupEpochs = warmup; cfg.seed = seed
        switch loss {
        case "ce": cfg.loss = .ce
        case "la": cfg.loss = .logitAdjusted(tau: tau)
        default: cfg.loss = .graLoss(GradualSchedule(maxValue: tauMax, gamma: gamma))
        }
        let pad = cropPadding ?? (colour32 ? 4 : 0), doFlip = flip ?? colour32
        if pad > 0 || doFlip { cfg.augmentation = Augmentation(padding: pad, flip: doFlip) }

        var rng = Xoshiro256(seed: seed, stream: 0x494E4954)
        let flat: Bool
        if case .mlp = architecture { flat = true } else { flat = false }
        let net = Network(architecture, numClasses: train.numClasses,
                          inputChannels: flat ? train.imageSize : train.channels,
                          inputHeight: flat ? 1 : train.height, inputWidth: flat ? 1 : train.width, using: &rng)
        let norm = Normalization.fit(train)
        let trainer = BackboneTrainer(network: net, data: train, normalization: norm, config: cfg)
        let statePath = out + ".train-state"
        var start = 0
        if resume {
            let st = try SafeTensorsFile.read(path: statePath)
            if let a = st.metadata["afg_arch"], a != architecture.description {
                throw ValidationError("\(statePath): trained as \(a), not \(architecture)")
            }
            start = try trainer.restore(st.tensors, source: statePath)
            if !quiet { FileHandle.standardError.write("resuming after epoch \(start) from \(statePath)\n".data(using: .utf8)!) }
        }
        var progress = ProgressLine(quiet: quiet)
        var rows: [[String: Any]] = []
        let counts = train.classCounts
        if !json && !quiet {
            FileHandle.standardError.write("pretrain \(architecture) on \(train.count) images (\(train.numClasses) classes, max/min \(counts.max()!)/\(max(counts.min()!, 1))), loss \(cfg.loss.description), \(trainer.stepsPerEpoch) steps/epoch\n".data(using: .utf8)!)
        }
        for epoch in start..<epochs {
            let stats = trainer.trainEpoch(epoch) { p in
                progress.draw("epoch \(p.epoch + 1)/\(epochs) \(ProgressLine.bar(p.step, p.steps)) \(p.step)/\(p.steps) loss \(String(format: "%.4f", p.loss)) \(String(format: "%.0f", Double(p.images) / max(p.seconds, 1e-9))) img/s")
            }
            progress.finish()
            var row: [String: Any] = ["epoch": epoch + 1, "loss": stats.meanLoss, "train_accuracy": stats.trainAccuracy,
                                      "lr": stats.learningRate, "tau": stats.tau, "seconds": stats.seconds, "images_per_second": stats.imagesPerSecond]
            if let e = evalSet {
                let (_, logits) = extractFeatures(network: net, data: e, normalization: norm)
                row["eval_accuracy"] = accuracy(logits: logits, labels: e.labels, numClasses: net.numClasses)
            }
            let meta = CheckpointMeta.make(network: net, normalization: norm, epoch: epoch + 1, config: cfg, classCounts: counts, classNames: train.classNames)
            try SafeTensorsFile(tensors: net.stateTensors(), metadata: meta).write(path: out)
            try SafeTensorsFile(tensors: trainer.checkpointTensors(epoch: epoch + 1), metadata: meta).write(path: statePath)
            rows.append(row)
            if !json {
                var line = String(format: "epoch %d loss %.4f train_acc %.4f lr %.5f tau %.3f %.1fs %.0f img/s",
                                  epoch + 1, stats.meanLoss, stats.trainAccuracy, stats.learningRate, stats.tau, stats.seconds, stats.imagesPerSecond)
                if let a = row["eval_accuracy"] as? Double { line += String(format: " eval_acc %.4f", a) }
                print(line)
                fflush(stdout)
            }
        }
        if json {
            print(jsonText(["arch": architecture.description, "checkpoint": out, "images": train.count, "num_classes": train.numClasses,
                            "loss": cfg.loss.description, "epochs": rows]))
        }
    }
}
