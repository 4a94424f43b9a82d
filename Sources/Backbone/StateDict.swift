import FeatureIO
import Foundation

/// Data errors of the Backbone module: each names the file and what is wrong with it.
public struct BackboneError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Network {
    /// The network's state as safetensors tensors (PyTorch `state_dict` names and shapes;
    /// `num_batches_tracked` as an I64 scalar).
    public func stateTensors() -> [String: StoredTensor] {
        var out: [String: StoredTensor] = [:]
        for s in stateSlots {
            switch s.kind {
            case .counter: out[s.name] = StoredTensor(shape: s.shape, values: .int64(s.get().map { Int64($0) }))
            default: out[s.name] = StoredTensor(shape: s.shape, values: .float(s.get().map { Float($0) }))
            }
        }
        return out
    }

    /// Loads a state dict (ours or PyTorch's, a `module.` prefix from `DataParallel`
    /// stripped). Every entry of the network must be present with its shape, except
    /// `num_batches_tracked` (absent in old PyTorch files). Keys the network does not
    /// have are errors unless `ignoring` says they belong to something else.
    /// - Throws: `BackboneError` naming the file (`source`) and the key.
    public func loadState(_ tensors: [String: StoredTensor], source: String, ignoring: (String) -> Bool = { _ in false }) throws {
        var t = tensors
        if !t.isEmpty && t.keys.allSatisfy({ $0.hasPrefix("module.") }) {
            t = Dictionary(uniqueKeysWithValues: t.map { (String($0.key.dropFirst(7)), $0.value) })
        }
        var used = Set<String>()
        for s in stateSlots {
            guard let v = t[s.name] else {
                if s.kind == .counter { continue }
                throw BackboneError("\(source): missing tensor '\(s.name)' for \(architecture) (shape \(s.shape))")
            }
            let expected = s.shape.reduce(1, *)
            guard v.count == expected, v.shape.filter({ $0 != 1 }) == s.shape.filter({ $0 != 1 }) else {
                throw BackboneError("\(source): tensor '\(s.name)' has shape \(v.shape), \(architecture) with \(numClasses) classes needs \(s.shape)")
            }
            s.set(v.doubles)
            used.insert(s.name)
        }
        let extra = t.keys.filter { !used.contains($0) && !ignoring($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
        if let first = extra.first {
            throw BackboneError("\(source): unexpected tensor '\(first)' (\(extra.count) not in \(architecture)); wrong --arch?")
        }
    }
}
