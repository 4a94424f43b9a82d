import ArgumentParser
import FeatureIO

/// `afg export`: a classifier for PyTorch / NumPy.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a classifier as .safetensors (torch.nn.Linear state_dict) or .npz.",
        discussion: """
        Writes weight (C × D) and bias (C) as float32. In .safetensors, __metadata__ holds \
        format = pt, method, tukey_lambda (none: raw features) and class_names (a JSON array); \
        load it with torch.nn.Linear(D, C).load_state_dict(safetensors.torch.load_file(OUT)), \
        after applying the Tukey λ to the features. In .npz, method and tukey_lambda are 0-d \
        arrays and class_names a string array. See docs/FORMAT.md.
        """)

    @Option(help: "Classifier file (afg's HDF5, or a head in .npz / .safetensors).") var classifier: String
    @OptionGroup(title: "Heads") var head: HeadKeyOption
    @Option(help: "Output file: .safetensors or .npz.") var out: String

    func validate() throws {
        try Job.requireOneProcess("afg export")
        guard [.safetensors, .npz].contains(ArrayFileFormat(path: out)) else {
            throw CLIError("--out \(out): export writes .safetensors or .npz")
        }
        try checkFiles(inputs: [("--classifier", classifier)], outputs: [], otherOutputs: [("--out", out)])
    }

    func run() throws {
        let f = try FeatureStore.readClassifier(path: classifier, headKey: head.headKey)
        try FeatureStore.exportClassifier(f, to: out)
        let raw = f.rawWeight == nil ? "" : ", raw_weight \(f.numClasses) × \(f.dim) (on the untransformed features, added to the logits)"
        let memory = f.memory.map { ", memory head \($0.labels.count) × \(f.dim) rows (weight \($0.weight), temperature \($0.temperature): the scores are not one linear layer's)" } ?? ""
        print("wrote \(out): weight \(f.numClasses) × \(f.dim), bias \(f.numClasses)\(raw)\(memory), float32, Tukey λ \(f.tukeyLambda.map { "\($0)" } ?? "none")")
    }
}
