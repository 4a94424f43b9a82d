import XCTest
import FeatureIO
import Linalg
@testable import Backbone

let fashionDir = "/usr/share/datasets/fashion-mnist"

final class DataTests: XCTestCase {
    func testFashionMNISTIDXGzip() throws {
        guard FileManager.default.fileExists(atPath: fashionDir + "/t10k-images-idx3-ubyte.gz") else { throw XCTSkip("Fashion-MNIST not installed") }
        let test = try ImageSet.loadFolder(fashionDir, train: false)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual([test.height, test.width, test.channels], [28, 28, 1])
        XCTAssertEqual(test.numClasses, 10)
        XCTAssertEqual(test.classCounts, [Int](repeating: 1000, count: 10))
        // Fashion-MNIST's first test image is an ankle boot (class 9).
        XCTAssertEqual(test.labels[0], 9)
    }

    func testIDXErrorsNameTheFile() throws {
        let dir = NSTemporaryDirectory() + "afg-idx-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 2 images of 2×2 but only 7 pixel bytes.
        let img: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2] + [UInt8](repeating: 5, count: 7)
        let lab: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 2, 1, 0]
        try Data(img).write(to: URL(fileURLWithPath: dir + "/i"))
        try Data(lab).write(to: URL(fileURLWithPath: dir + "/l"))
        XCTAssertThrowsError(try ImageSet.readIDX(images: dir + "/i", labels: dir + "/l")) { e in
            XCTAssertTrue("\(e)".contains(dir + "/i") && "\(e)".contains("2 images"), "\(e)")
        }
        try Data(img + [9]).write(to: URL(fileURLWithPath: dir + "/i"))
        let set = try ImageSet.readIDX(images: dir + "/i", labels: dir + "/l")
        XCTAssertEqual(set.labels, [1, 0])
        XCTAssertEqual(set.pixels.last, 9)
        // A corrupt gzip stream is a data error, not a crash.
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/g"))
        XCTAssertThrowsError(try ImageSet.readIDX(images: dir + "/g", labels: dir + "/l"))
    }

    func testCIFARBinaryLayout() throws {
        let dir = NSTemporaryDirectory() + "afg-cifar-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Two CIFAR-100 records: coarse, fine, R plane, G plane, B plane.
        var bytes = [UInt8]()
        for (coarse, fine) in [(3, 42), (1, 7)] {
            bytes += [UInt8(coarse), UInt8(fine)]
            for c in 0..<3 { for p in 0..<1024 { bytes.append(UInt8((c * 50 + p) % 256)) } }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/train.bin"))
        let set = try ImageSet.loadFolder(dir, train: true)
        XCTAssertEqual(set.numClasses, 100)
        XCTAssertEqual(set.labels, [42, 7])
        // Pixel (h=0, w=5) of image 1, channel G: plane offset 1024 + 5 → (50 + 5).
        XCTAssertEqual(set.pixels[set.imageSize + 5 * 3 + 1], 55)
    }

    func testLongTailProfileMatchesCIFAR10LT() throws {
        // CIFAR-10-LT with IF 100 (Cao et al. 2019): the counts every paper reports.
        XCTAssertEqual(ImageSet.longTailCounts(nMax: 5000, numClasses: 10, imbalance: 100),
                       [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])
        XCTAssertEqual(ImageSet.longTailCounts(nMax: 500, numClasses: 100, imbalance: 100).suffix(1), [5])
        // Splits: disjoint, the profile kept, validation balanced, same seed → same split.
        var rng = Xoshiro256(seed: 3)
        let n = 600, labels = (0..<n).map { Int32($0 % 3) }
        let pixels = (0..<(n * 4)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var set = ImageSet(height: 2, width: 2, channels: 1, pixels: pixels, labels: labels, numClasses: 3)
        // Make every image unique: its index in the first two bytes.
        for i in 0..<n { set.pixels[i * 4] = UInt8(i % 256); set.pixels[i * 4 + 1] = UInt8(i / 256) }
        let a = try set.longTailSplit(imbalance: 10, valPerClass: 20, seed: 5)
        let b = try set.longTailSplit(imbalance: 10, valPerClass: 20, seed: 5)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.counts, [180, 56, 18])
        XCTAssertEqual(a.train.classCounts, [180, 56, 18])
        XCTAssertEqual(a.validation.classCounts, [20, 20, 20])
        func ids(_ s: ImageSet) -> Set<Int> { Set((0..<s.count).map { Int(s.pixels[$0 * 4]) + 256 * Int(s.pixels[$0 * 4 + 1]) }) }
        XCTAssertTrue(ids(a.train).isDisjoint(with: ids(a.validation)))
        XCTAssertNotEqual(try set.longTailSplit(imbalance: 10, valPerClass: 20, seed: 6).train, a.train)
        XCTAssertThrowsError(try set.longTailSplit(imbalance: 10, valPerClass: 20, seed: 5, nMax: 190)) { e in
            XCTAssertTrue("\(e)".contains("class 0"), "\(e)")
        }
    }

    func testBatchBuilderNormalisesCropsAndFlips() {
        let img: [UInt8] = (0..<12).map { UInt8($0 * 20) }   // 1 image 2×3×2 (H×W×C)
        let set = ImageSet(height: 2, width: 3, channels: 2, pixels: img, labels: [0], numClasses: 1)
        let norm = Normalization(mean: [0.5, 0.25], std: [0.5, 2])
        var x = [Float](repeating: 0, count: 12)
        var rng = Xoshiro256(seed: 1)
        BatchBuilder(normalization: norm).fill(set, indices: [0], into: &x, using: &rng)
        // Layout C × N × H × W: x[c, 0, h, w] = (pixel/255 − mean_c)/std_c.
        for c in 0..<2 { for h in 0..<2 { for w in 0..<3 {
            let v = (Float(img[(h * 3 + w) * 2 + c]) / 255 - norm.mean[c]) / norm.std[c]
            XCTAssertEqual(x[(c * 2 + h) * 3 + w], v, accuracy: 1e-6)
        } } }
        // Every augmented pixel is either a shifted/flipped source pixel or padding (0 → −mean/std).
        let b = BatchBuilder(normalization: norm, augmentation: Augmentation(padding: 1, flip: true))
        var seenFlip = false
        for seed in 0..<40 {
            var r = Xoshiro256(seed: UInt64(seed))
            b.fill(set, indices: [0], into: &x, using: &r)
            let row0 = (0..<3).map { x[$0] }
            let plain = (0..<3).map { (Float(img[$0 * 2]) / 255 - 0.5) / 0.5 }
            if row0 == plain.reversed() { seenFlip = true }
            for v in x.prefix(6) {
                let candidates = img.enumerated().filter { $0.offset % 2 == 0 }.map { (Float($0.element) / 255 - 0.5) / 0.5 } + [-1]
                XCTAssertTrue(candidates.contains { abs($0 - v) < 1e-6 }, "\(v)")
            }
        }
        XCTAssertTrue(seenFlip)
    }

    func testSafeTensorsRoundTripAndStrictLoading() throws {
        var rng = Xoshiro256(seed: 2)
        let net = Network(.resnet(depth: 20), numClasses: 7, inputChannels: 3, inputHeight: 32, inputWidth: 32, using: &rng)
        let names = Set(net.stateSlots.map(\.name))
        for n in ["conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight", "layer3.2.bn2.running_var", "linear.weight", "linear.bias"] {
            XCTAssertTrue(names.contains(n), n)
        }
        XCTAssertEqual(net.stateSlots.first { $0.name == "layer2.0.conv1.weight" }?.shape, [32, 16, 3, 3])
        let file = SafeTensorsFile(tensors: net.stateTensors(), metadata: ["arch": "resnet20"])
        let decoded = try SafeTensorsFile.decode(file.encoded(), name: "mem")
        XCTAssertEqual(decoded, file)
        var rng2 = Xoshiro256(seed: 99)
        let other = Network(.resnet(depth: 20), numClasses: 7, inputChannels: 3, inputHeight: 32, inputWidth: 32, using: &rng2)
        try other.loadState(decoded.tensors, source: "mem")
        XCTAssertEqual(other.stateTensors(), net.stateTensors())
        // Wrong architecture or class count: errors naming the tensor.
        let wide = Network(.resnet(depth: 20), numClasses: 10, inputChannels: 3, inputHeight: 32, inputWidth: 32, using: &rng2)
        XCTAssertThrowsError(try wide.loadState(decoded.tensors, source: "ck.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("linear.weight") && "\(e)".contains("ck.safetensors"), "\(e)")
        }
        let deeper = Network(.resnet(depth: 32), numClasses: 7, inputChannels: 3, inputHeight: 32, inputWidth: 32, using: &rng2)
        XCTAssertThrowsError(try deeper.loadState(decoded.tensors, source: "x")) { e in XCTAssertTrue("\(e)".contains("layer1.3"), "\(e)") }
        XCTAssertThrowsError(try SafeTensorsFile.decode(Data([1, 2, 3]), name: "bad"))
    }
}

final class TrainingTests: XCTestCase {
    /// Same seed → bit-identical weights after an epoch; a trainer resumed from saved
    /// state (weights, running statistics, velocity) continues exactly.
    func testTrainingIsDeterministicAndResumable() throws {
        var rng = Xoshiro256(seed: 4)
        let n = 96
        let set = ImageSet(height: 8, width: 8, channels: 1, pixels: (0..<(n * 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                           labels: (0..<n).map { Int32($0 % 3) }, numClasses: 3)
        var cfg = TrainingConfig()
        cfg.epochs = 3; cfg.batchSize = 32; cfg.learningRate = 0.05; cfg.warmupEpochs = 1
        cfg.augmentation = Augmentation(padding: 1, flip: true); cfg.seed = 11
        cfg.loss = .graLoss(GradualSchedule(maxValue: 1, gamma: 3))
        func fresh() -> BackboneTrainer {
            var r = Xoshiro256(seed: 5)
            return BackboneTrainer(network: Network(.convnet, numClasses: 3, inputChannels: 1, inputHeight: 8, inputWidth: 8, using: &r),
                           data: set, normalization: .fit(set), config: cfg)
        }
        let a = fresh(), b = fresh()
        for e in 0..<3 { _ = a.trainEpoch(e) }
        _ = b.trainEpoch(0)
        let state = try SafeTensorsFile.decode(SafeTensorsFile(tensors: b.checkpointTensors(epoch: 1)).encoded(), name: "mem")
        let c = fresh()
        let next = try c.restore(state.tensors, source: "mem")
        XCTAssertEqual(next, 1)
        for e in next..<3 { _ = c.trainEpoch(e) }
        XCTAssertEqual(c.network.stateTensors(), a.network.stateTensors())
        XCTAssertNotEqual(b.network.stateTensors(), a.network.stateTensors())
    }

    /// The end-to-end check of stage one: `convnet` trained 3 epochs (batch 32) on 3,000 balanced
    /// Fashion-MNIST training images, evaluated on the first 2,000 test images.
    ///
    /// Bound: test accuracy ≥ 0.70, chance is 0.10. Small CNNs reach ≈ 0.80–0.85 on
    /// Fashion-MNIST after a few thousand images (this run: 0.78); a network that learned nothing scores
    /// 0.10 ± 0.007 (binomial sd on 2,000 images), and even a linear classifier on raw
    /// pixels reaches about 0.80 with the full set, so 0.70 cannot be reached by chance
    /// and is clear of seed noise for a network that works, while a broken backward pass,
    /// a sign error in the update or a label/pixel misalignment lands far below it.
    func testConvnetLearnsFashionMNIST() throws {
        guard FileManager.default.fileExists(atPath: fashionDir + "/train-images-idx3-ubyte.gz") else { throw XCTSkip("Fashion-MNIST not installed") }
        let fullTrain = try ImageSet.loadFolder(fashionDir, train: true)
        let fullTest = try ImageSet.loadFolder(fashionDir, train: false)
        let train = fullTrain.subset(Array(0..<3000)), test = fullTest.subset(Array(0..<2000))
        var cfg = TrainingConfig()
        cfg.epochs = 3; cfg.batchSize = 32; cfg.learningRate = 0.1; cfg.warmupEpochs = 0.3; cfg.seed = 1
        cfg.loss = .graLoss(GradualSchedule(maxValue: 1, gamma: 3))
        var rng = Xoshiro256(seed: 1)
        let net = Network(.convnet, numClasses: 10, inputChannels: 1, inputHeight: 28, inputWidth: 28, using: &rng)
        let norm = Normalization.fit(train)
        let trainer = BackboneTrainer(network: net, data: train, normalization: norm, config: cfg)
        var stats: [BackboneEpochStats] = []
        for e in 0..<cfg.epochs { stats.append(trainer.trainEpoch(e)) }
        XCTAssertLessThan(stats.last!.meanLoss, stats.first!.meanLoss)
        let (feats, logits) = extractFeatures(network: net, data: test, normalization: norm)
        XCTAssertEqual(feats.count, 2000 * 128)
        XCTAssertTrue(feats.allSatisfy { $0 >= 0 }, "features are post-ReLU averages")
        let acc = accuracy(logits: logits, labels: test.labels, numClasses: 10)
        print("convnet Fashion-MNIST: train loss \(stats.map(\.meanLoss)), test accuracy \(acc)")
        XCTAssertGreaterThan(acc, 0.70)
    }
}
