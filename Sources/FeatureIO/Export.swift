import Foundation

extension FeatureStore {
    /// Writes a classifier for PyTorch and NumPy, by extension of `path`:
    ///
    /// - `.safetensors`: tensors `weight` (C × D) and `bias` (C), float32, nothing else, so
    ///   `torch.nn.Linear(D, C).load_state_dict(safetensors.torch.load_file(path))` loads it;
    ///   `__metadata__` holds `format = pt`, `method`, `tukey_lambda` (`none` when the
    ///   classifier expects raw features), `class_names` (a JSON array) when known.
    /// - `.npz`: arrays `weight`, `bias` (float32), `class_names` (`<U`) when known, and the
    ///   0-d arrays `method` (string) and `tukey_lambda` (float64, absent when none).
    ///
    /// The same classifier gives the same bytes; written atomically.
    /// - Throws: `FeatureIOError(.writeFailed)`; `.wrongType` for any other extension.
    public static func exportClassifier(_ c: ClassifierFile, to path: String) throws {
        let data: Data
        switch ArrayFileFormat(path: path) {
        case .safetensors:
            var meta = ["format": "pt", "method": c.method, "tukey_lambda": c.tukeyLambda.map { "\($0)" } ?? "none"]
            if let names = c.classNames {
                meta["class_names"] = String(decoding: try JSONSerialization.data(withJSONObject: names, options: [.withoutEscapingSlashes]), as: UTF8.self)
            }
            let file = SafeTensorsFile(tensors: ["weight": StoredTensor(shape: [c.numClasses, c.dim], floats: c.weight),
                                                 "bias": StoredTensor(shape: [c.numClasses], floats: c.bias)],
                                       metadata: meta)
            data = file.encoded()
        case .npz:
            var members: [(name: String, data: Data)] = [
                ("weight.npy", NumPy.encode(c.weight, shape: [c.numClasses, c.dim])),
                ("bias.npy", NumPy.encode(c.bias, shape: [c.numClasses])),
                ("method.npy", NumPy.encode(strings: [c.method], shape: [])),
            ]
            if let l = c.tukeyLambda {
                members.append(("tukey_lambda.npy", NumPy.encode(descr: "<f8", shape: [], data: withUnsafeBytes(of: Double(l)) { Data($0) })))
            }
            if let names = c.classNames { members.append(("class_names.npy", NumPy.encode(strings: names))) }
            data = ZipArchive.storedArchive(members)
        default:
            throw FeatureIOError(.wrongType, file: path, problem: "export writes .safetensors or .npz, not .\((path as NSString).pathExtension)")
        }
        try writeAtomically(to: path) { tmp in
            do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
                throw FeatureIOError(.writeFailed, file: path, problem: "cannot write (\(error.localizedDescription))")
            }
        }
    }
}
