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
    /// - A two-view classifier (`rawWeight`) adds the tensor / array `raw_weight` (C × D): the
    ///   logits are `T(x)·weightᵀ + x·raw_weightᵀ + bias`, so it is not one `torch.nn.Linear`
    ///   (`load_state_dict` names the unexpected key rather than dropping the second head).
    /// - A memory head adds `memory_center` (D), `memory_rows` (M × D) float32 and
    ///   `memory_labels` (M) int64, with `memory_temperature` and `memory_weight` as metadata
    ///   (safetensors) or 0-d float64 arrays (npz): the scores are not a linear model's either.
    ///
    /// The same classifier gives the same bytes; written atomically.
    /// - Throws: `FeatureIOError(.writeFailed)`; `.wrongType` for any other extension.
    public static func exportClassifier(_ c: ClassifierFile, to path: String) throws {
        let data: Data
        switch ArrayFileFormat(path: path) {
        case .safetensors:
            var meta = ["format": "pt", "method": c.method, "tukey_lambda": c.tukeyLambda.map { "\($0)" } ?? "none"]
            if let names = c.classNames {
                meta["class_names"] = try jsonArray(names)
            }
            var tensors = ["weight": StoredTensor(shape: [c.numClasses, c.dim], floats: c.weight),
                           "bias": StoredTensor(shape: [c.numClasses], floats: c.bias)]
            if let r = c.rawWeight {
                tensors["raw_weight"] = StoredTensor(shape: [c.numClasses, c.dim], floats: r)
                meta["logits"] = "tukey(x) @ weight.T + x @ raw_weight.T + bias"
            }
            if let m = c.memory {
                tensors["memory_center"] = StoredTensor(shape: [c.dim], floats: m.center)
                tensors["memory_rows"] = StoredTensor(shape: [m.labels.count, c.dim], floats: m.rows)
                tensors["memory_labels"] = StoredTensor(shape: [m.labels.count], values: .int64(m.labels.map { Int64($0) }))
                meta["memory_temperature"] = "\(m.temperature)"
                meta["memory_weight"] = "\(m.weight)"
                meta["scores"] = "(1 - memory_weight) * log_softmax(logits) + memory_weight * memory head log-posteriors (docs/FORMAT.md)"
            }
            let file = SafeTensorsFile(tensors: tensors, metadata: meta)
            data = file.encoded()
        case .npz:
            var members: [(name: String, data: Data)] = [
                ("weight.npy", NumPy.encode(c.weight, shape: [c.numClasses, c.dim])),
                ("bias.npy", NumPy.encode(c.bias, shape: [c.numClasses])),
                ("method.npy", NumPy.encode(strings: [c.method], shape: [])),
            ]
            if let r = c.rawWeight { members.append(("raw_weight.npy", NumPy.encode(r, shape: [c.numClasses, c.dim]))) }
            if let l = c.tukeyLambda {
                members.append(("tukey_lambda.npy", NumPy.encode(descr: "<f8", shape: [], data: withUnsafeBytes(of: Double(l)) { Data($0) })))
            }
            if let names = c.classNames { members.append(("class_names.npy", NumPy.encode(strings: names))) }
            if let m = c.memory {
                func scalar(_ v: Double) -> Data { NumPy.encode(descr: "<f8", shape: [], data: withUnsafeBytes(of: v) { Data($0) }) }
                members += [("memory_center.npy", NumPy.encode(m.center, shape: [c.dim])),
                            ("memory_rows.npy", NumPy.encode(m.rows, shape: [m.labels.count, c.dim])),
                            ("memory_labels.npy", NumPy.encode(m.labels.map { Int64($0) }, shape: [m.labels.count])),
                            ("memory_temperature.npy", scalar(m.temperature)), ("memory_weight.npy", scalar(m.weight))]
            }
            data = ZipArchive.storedArchive(members)
        default:
            throw FeatureIOError(.wrongType, file: path, problem: "export writes .safetensors or .npz, not .\((path as NSString).pathExtension)")
        }
        try writeData(data, to: path)
    }

    /// Writes a feature file for NumPy / PyTorch users, by extension of `path`: `.npz`
    /// (stored members `features` float32, `labels` int64, `class_names` when known),
    /// `.safetensors` (tensors `features` F32, `labels` I64; `num_classes` and `class_names`,
    /// a JSON array, in `__metadata__`),
    /// or `.npy` (the features, with `NAME.labels.npy` and `NAME.class_names.npy` beside it).
    /// Every file is written atomically; the same set gives the same bytes.
    /// - Throws: `FeatureIOError(.writeFailed)`; `.wrongType` for any other extension.
    public static func writeFeatureArrays(_ s: FeatureSet, to path: String) throws {
        let x = NumPy.encode(s.features, shape: [s.count, s.dim]), y = NumPy.encode(s.labels.map { Int64($0) }, shape: [s.count])
        let names = s.classNames.map { NumPy.encode(strings: $0) }
        var files: [(String, Data)]
        switch ArrayFileFormat(path: path) {
        case .npz:
            var members = [("features.npy", x), ("labels.npy", y)]
            if let n = names { members.append(("class_names.npy", n)) }
            files = [(path, ZipArchive.storedArchive(members))]
        case .safetensors:
            let t = ["features": StoredTensor(shape: [s.count, s.dim], floats: s.features),
                     "labels": StoredTensor(shape: [s.count], values: .int64(s.labels.map { Int64($0) }))]
            var meta = ["num_classes": "\(s.numClasses)"]
            if let n = s.classNames { meta["class_names"] = try jsonArray(n) }
            files = [(path, SafeTensorsFile(tensors: t, metadata: meta).encoded())]
        case .npy:
            let stem = String(path.dropLast(4))
            files = [(path, x), (stem + ".labels.npy", y)]
            if let n = names { files.append((stem + ".class_names.npy", n)) }
        case .hdf5:
            throw FeatureIOError(.wrongType, file: path, problem: "writeFeatureArrays writes .npz, .safetensors or .npy")
        }
        for (p, data) in files { try writeData(data, to: p) }
    }

    /// Strings as a compact JSON array (`["a","b"]`, UTF-8 unescaped).
    private static func jsonArray(_ s: [String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: s, options: [.withoutEscapingSlashes]), as: UTF8.self)
    }

    /// Writes `data` to `path` atomically.
    static func writeData(_ data: Data, to path: String) throws {
        try writeAtomically(to: path) { tmp in
            do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
                throw FeatureIOError(.writeFailed, file: path, problem: "cannot write: \(ioReason(error))")
            }
        }
    }
}
