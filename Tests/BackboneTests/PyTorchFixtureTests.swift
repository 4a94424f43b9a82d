import XCTest
import FeatureIO
import Linalg
@testable import Backbone

/// Reproduces a PyTorch CIFAR ResNet-32 (fixtures/torch/make_fixture.py, the long-tail
/// literature's `resnet.py` with option-A shortcuts) from its safetensors `state_dict`:
/// inference-mode features and logits, a training-mode forward (batch statistics and the
/// running-statistics update) and the cross-entropy gradients.
final class PyTorchFixtureTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../fixtures/torch").standardized.path

    func floats(_ t: StoredTensor?, _ name: String) throws -> [Float] {
        guard let t = t, case .float(let f) = t.values else { throw XCTSkip("fixture lacks \(name)") }
        return f
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    func testResNet32MatchesPyTorch() throws {
        let ck = try SafeTensorsFile.read(path: Self.dir + "/resnet32.safetensors")
        let io = try SafeTensorsFile.read(path: Self.dir + "/resnet32_io.safetensors").tensors
        var rng = Xoshiro256(seed: 0)
        let net = Network(.resnet(depth: 32), numClasses: 10, inputChannels: 3, inputHeight: 32, inputWidth: 32, using: &rng)
        try net.loadState(ck.tensors, source: "resnet32.safetensors")
        // Ours saves what it loaded, under the same names and shapes.
        for (k, v) in net.stateTensors() { XCTAssertEqual(v.shape, ck.tensors[k]?.shape, k) }
        XCTAssertEqual(Set(net.stateTensors().keys), Set(ck.tensors.keys))

        let nchw = try floats(io["input"], "input")
        let n = 4, plane = 32 * 32
        var x = [Float](repeating: 0, count: nchw.count)
        for i in 0..<n { for c in 0..<3 { for p in 0..<plane { x[(c * n + i) * plane + p] = nchw[(i * 3 + c) * plane + p] } } }
        guard case .int64(let labels64) = io["labels"]!.values else { return XCTFail("labels") }
        let labels = labels64.map { Int32($0) }

        // Inference mode: features and logits within 1e-4 (the bound).
        let (feats, logits) = x.withUnsafeBufferPointer { net.extractFeatures($0.baseAddress!, batch: n) }
        let fDiff = maxAbsDiff(feats, try floats(io["eval_features"], "eval_features"))
        let lDiff = maxAbsDiff(logits, try floats(io["eval_logits"], "eval_logits"))
        print("resnet32 vs PyTorch: features max |Δ| \(fDiff), logits max |Δ| \(lDiff)")
        XCTAssertLessThanOrEqual(fDiff, 1e-4)
        XCTAssertLessThanOrEqual(lDiff, 1e-4)

        // Training mode: logits, loss, gradients, running statistics.
        net.zeroGradients()
        let (_, z) = x.withUnsafeBufferPointer { net.forward($0.baseAddress!, batch: n, training: true) }
        var zr = [Float](repeating: 0, count: n * 10)
        for i in 0..<n { for c in 0..<10 { zr[i * 10 + c] = z[c * n + i] } }
        let expectedTrain = try floats(io["train_logits"], "train_logits")
        XCTAssertLessThanOrEqual(maxAbsDiff(zr, expectedTrain), 1e-3 * max(1, expectedTrain.map(abs).max()!))
        var g = [Float](repeating: 0, count: n * 10)
        let (loss, _) = logitAdjustedLoss(logits: z, labels: labels[...], logPrior: [Float](repeating: 0, count: 10), tau: 0, grad: &g)
        XCTAssertEqual(loss, Double(try floats(io["train_loss"], "train_loss")[0]), accuracy: 1e-3)
        net.backward(g)
        let params = Dictionary(uniqueKeysWithValues: net.stateSlots.filter { $0.kind == .parameter }.map { ($0.name, $0) })
        let byName = Dictionary(uniqueKeysWithValues: zip(net.stateSlots.filter { $0.kind == .parameter }.map(\.name), net.parameters))
        for key in io.keys where key.hasPrefix("grad.") {
            let name = String(key.dropFirst(5))
            XCTAssertNotNil(params[name], name)
            let expected = try floats(io[key], key), got = byName[name]!.gradients
            let scale = max(1e-3, expected.map(abs).max()!)
            XCTAssertLessThanOrEqual(maxAbsDiff(got, expected) / scale, 1e-3, "gradient of \(name)")
        }
        let slots = Dictionary(uniqueKeysWithValues: net.stateSlots.map { ($0.name, $0) })
        for key in io.keys where key.hasPrefix("after.") {
            let name = String(key.dropFirst(6))
            let expected = io[key]!.doubles, got = slots[name]!.get()
            for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), name) }
        }
    }
}
