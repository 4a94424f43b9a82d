import ArgumentParser
import Backbone
import FeatureIO
import Foundation

/// `afg make-lt`: the exponential long-tailed subset of a balanced image set.
struct MakeLT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-lt",
        abstract: "Make a long-tailed training set (class c keeps ⌊n_max·IF^(−c/(C−1))⌋) and a balanced validation set.",
        discussion: """
        The profile of the long-tail literature's CIFAR-LT code (class 0 the largest). \
        Validation images are drawn from what the subset left unused, --val-per-class per \
        class. Writes OUT-DIR/train.h5, OUT-DIR/val.h5 and, for a folder with a test split, \
        OUT-DIR/test.h5 (unchanged), as HDF5 image files (images N×H×W×C uint8, labels).
        """)

    @Option(help: "HDF5 image file or a folder of IDX / CIFAR binary files (its train split).") var data: String
    @Option(help: "Imbalance factor n_max / n_min.") var imbalance = 100.0
    @Option(help: "Validation images per class, from the unused remainder.") var valPerClass = 20
    @Option(help: "Images of class 0 (default: smallest class size − val-per-class).") var nMax: Int?
    @Option(help: "Seed of the per-class selection.") var seed: UInt64 = 0
    @Option(help: "Output folder (created if missing).") var outDir: String
    @OptionGroup(title: "Output") var output: OutputOptions

    func validate() throws {
        try Job.requireOneProcess("afg make-lt")
        guard imbalance >= 1, imbalance.isFinite else { throw CLIError("--imbalance must be at least 1") }
        guard valPerClass >= 0 else { throw CLIError("--val-per-class must be non-negative") }
        if let n = nMax, n <= 0 { throw CLIError("--n-max must be positive") }
        try checkFiles(inputs: [], folders: [("--data", data)],
                       outputs: ["train.h5", "val.h5", "test.h5"].map { ("--out-dir", outDir + "/" + $0) })
    }

    func run() throws {
        let console = output.console
        console.line("make-lt: reading \(data)")
        let full = try loadImages(data, split: "train")
        let (train, val, counts) = try full.longTailSplit(imbalance: imbalance, valPerClass: valPerClass, seed: seed, nMax: nMax)
        try createFolder(outDir, flag: "--out-dir")
        let attrs = ["source": data, "imbalance": String(imbalance), "seed": String(seed), "val_per_class": String(valPerClass)]
        func file(_ s: ImageSet, split: String) -> ImageFile {
            ImageFile(height: s.height, width: s.width, channels: s.channels, pixels: s.pixels, labels: s.labels,
                      numClasses: s.numClasses, classNames: s.classNames, attributes: attrs.merging(["split": split]) { $1 })
        }
        console.line("make-lt: writing \(outDir)")
        try FeatureStore.writeImages(file(train, split: "train"), to: outDir + "/train.h5")
        if valPerClass > 0 { try FeatureStore.writeImages(file(val, split: "val"), to: outDir + "/val.h5") }
        var isDir: ObjCBool = false
        var testCount: Int?
        if FileManager.default.fileExists(atPath: data, isDirectory: &isDir), isDir.boolValue,
           let test = try? ImageSet.loadFolder(data, train: false) {
            try FeatureStore.writeImages(file(test, split: "test"), to: outDir + "/test.h5")
            testCount = test.count
        }
        let imbalance = Double(counts.max()!) / Double(max(counts.min()!, 1))
        if output.json {
            struct Report: Encodable {
                var train: Int, val: Int, test: Int?, counts: [Int], imbalance: Double, outDir: String
                enum CodingKeys: String, CodingKey { case train, val, test, counts, imbalance, outDir = "out_dir" }
            }
            print(try encodeJSON(Report(train: train.count, val: val.count, test: testCount, counts: counts,
                                        imbalance: imbalance, outDir: outDir)))
        } else {
            print("train \(train.count) images, per class \(counts.map(String.init).joined(separator: " ")) (IF \(String(format: "%.1f", imbalance)))")
            print("val \(val.count) images (\(valPerClass) per class)\(testCount.map { ", test \($0) images" } ?? "") in \(outDir)")
        }
    }
}
