import ArgumentParser
import Backbone
import Classifier
import FeatureIO
import Linalg
import Foundation

// MARK: - Shared by pretrain / extract / make-lt

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
        if let n = classNames { m["afg_class_names"] = (try? encodeJSON(n, pretty: false)) ?? "[]" }
        return m
    }
}

// MARK: - afg pretrain

/// `afg pretrain`: stage one, a backbone trained with CE, logit adjustment or GraLoss.
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
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
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        try Job.requireOneProcess("afg pretrain")
        guard Architecture(name: arch) != nil else { throw CLIError("--arch: unknown '\(arch)' (resnet20/32/44/56, convnet, mlp)") }
        guard ["ce", "la", "graloss"].contains(loss) else { throw CLIError("--loss must be ce, la or graloss") }
        guard epochs > 0, batchSize >= 2, lr > 0, lr.isFinite, warmup >= 0, warmup.isFinite, weightDecay >= 0, weightDecay.isFinite,
              momentum >= 0 && momentum < 1, tau.isFinite, tauMax.isFinite, gamma.isFinite else {
            throw CLIError("need epochs > 0, batch size ≥ 2, finite lr > 0, warmup ≥ 0, weight decay ≥ 0, 0 ≤ momentum < 1, finite τ, τ_max, γ")
        }
        try checkFiles(inputs: [], folders: [("--data", data)] + (evalData.map { [("--eval-data", $0)] } ?? []),
                       outputs: [], otherOutputs: [("--out", out), ("--out (train state)", out + ".train-state")])
    }

    func run() throws {
        let architecture = Architecture(name: arch)!
        let train = try loadImages(data, split: split)
        let evalSet = try evalData.map { try loadImages($0, split: "test") }
        if let e = evalSet, e.numClasses > train.numClasses || e.imageSize != train.imageSize {
            throw CLIError("\(evalData!): \(e.numClasses) classes of \(e.height)×\(e.width)×\(e.channels) images do not match the training data")
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
                throw CLIError("\(statePath): trained as \(a), not \(architecture)")
            }
            start = try trainer.restore(st.tensors, source: statePath)
            output.console.line("resuming after epoch \(start) from \(statePath)")
        }
        var progress = ProgressLine(quiet: output.quiet)
        var rows: [EpochRow] = []
        let counts = train.classCounts
        if !output.json {
            output.console.line("pretrain \(architecture) on \(train.count) images (\(train.numClasses) classes, max/min \(counts.max()!)/\(max(counts.min()!, 1))), loss \(cfg.loss.description), \(trainer.stepsPerEpoch) steps/epoch, \(net.workspace.kernels.rawValue) convolutions")
        }
        for epoch in start..<epochs {
            let stats = trainer.trainEpoch(epoch) { p in
                progress.draw("epoch \(p.epoch + 1)/\(epochs) \(ProgressLine.bar(p.step, p.steps)) \(p.step)/\(p.steps) loss \(String(format: "%.4f", p.loss)) \(String(format: "%.0f", Double(p.images) / max(p.seconds, 1e-9))) img/s")
            }
            progress.finish()
            var row = EpochRow(epoch: epoch + 1, loss: stats.meanLoss, trainAccuracy: stats.trainAccuracy,
                               lr: stats.learningRate, tau: stats.tau, seconds: stats.seconds,
                               imagesPerSecond: stats.imagesPerSecond)
            if let e = evalSet {
                let (_, logits) = extractFeatures(network: net, data: e, normalization: norm)
                row.evalAccuracy = accuracy(logits: logits, labels: e.labels, numClasses: net.numClasses)
            }
            let meta = CheckpointMeta.make(network: net, normalization: norm, epoch: epoch + 1, config: cfg, classCounts: counts, classNames: train.classNames)
            try SafeTensorsFile(tensors: net.stateTensors(), metadata: meta).write(path: out)
            try SafeTensorsFile(tensors: trainer.checkpointTensors(epoch: epoch + 1), metadata: meta).write(path: statePath)
            rows.append(row)
            if !output.json {
                var line = String(format: "epoch %d loss %.4f train_acc %.4f lr %.5f tau %.3f %.1fs %.0f img/s",
                                  epoch + 1, stats.meanLoss, stats.trainAccuracy, stats.learningRate, stats.tau, stats.seconds, stats.imagesPerSecond)
                if let a = row.evalAccuracy { line += String(format: " eval_acc %.4f", a) }
                print(line)
                fflush(stdout)
            }
        }
        if output.json {
            print(try encodeJSON(Report(arch: architecture.description, checkpoint: out, images: train.count,
                                        numClasses: train.numClasses, loss: cfg.loss.description,
                                        convolutions: net.workspace.kernels.rawValue, epochs: rows)))
        }
    }

    /// One epoch of `--json`'s `epochs`.
    struct EpochRow: Encodable {
        var epoch: Int, loss: Double, trainAccuracy: Double, lr: Double, tau: Double, seconds: Double, imagesPerSecond: Double
        var evalAccuracy: Double?
        enum CodingKeys: String, CodingKey {
            case epoch, loss, lr, tau, seconds
            case trainAccuracy = "train_accuracy", imagesPerSecond = "images_per_second", evalAccuracy = "eval_accuracy"
        }
    }

    /// What `--json` prints at the end.
    struct Report: Encodable {
        /// The convolution kernels that ran (`oneDNN` or `im2col`): the bits depend on them.
        var arch: String, checkpoint: String, images: Int, numClasses: Int, loss: String, convolutions: String, epochs: [EpochRow]
        enum CodingKeys: String, CodingKey { case arch, checkpoint, images, loss, convolutions, epochs, numClasses = "num_classes" }
    }
}
