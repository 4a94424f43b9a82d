import Linalg

/// The backbone architectures `afg` trains and loads.
public enum Architecture: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The CIFAR ResNet of He et al. (2016, §4.2) as in the long-tail literature's
    /// `resnet.py`: 3 × 3 stem to 16 channels, three stages of `blocks` basic blocks at
    /// 16/32/64 channels (stride 2 between stages, option-A shortcuts), global average
    /// pooling to 64-d features, `linear` head. `depth = 6·blocks + 2` (20, 32, 44, 56).
    case resnet(depth: Int)
    /// A small CNN for 28 × 28 grey images: three 3 × 3 conv–BN–ReLU stages at
    /// 32/64/128 channels, 2 × 2 max pooling after the first two, global average pooling
    /// to 128-d features, `linear` head.
    case convnet
    /// A multilayer perceptron for vector input: `Linear–BN–ReLU` to `hidden` units, then
    /// to `features` units, `linear` head.
    case mlp(hidden: Int, features: Int)

    /// Parses `resnet20/32/44/56`, `convnet`, `mlp` (256 hidden, 128 features).
    public init?(name: String) {
        switch name {
        case "convnet": self = .convnet
        case "mlp": self = .mlp(hidden: 256, features: 128)
        default:
            guard name.hasPrefix("resnet"), let d = Int(name.dropFirst(6)), d >= 8, (d - 2) % 6 == 0 else { return nil }
            self = .resnet(depth: d)
        }
    }

    public var description: String {
        switch self {
        case .resnet(let d): return "resnet\(d)"
        case .convnet: return "convnet"
        case .mlp: return "mlp"
        }
    }

    /// The feature dimension after global pooling.
    public var featureDim: Int {
        switch self {
        case .resnet: return 64
        case .convnet: return 128
        case .mlp(_, let f): return f
        }
    }
}

/// A backbone (`features`) plus its linear classifier (`head`), with PyTorch
/// `state_dict` names, forward/backward over C × N × H × W batches, and initialisation.
///
/// Inputs are `inputChannels × N × H × W` floats, already normalised; `forward` returns
/// pointers into the network's own blocks, valid until the next `forward`.
public final class Network {
    public let architecture: Architecture
    public let numClasses: Int
    /// Input channels, height, width (`mlp`: the vector length and 1 × 1).
    public let inputChannels: Int, inputHeight: Int, inputWidth: Int
    public let features: Sequential
    public let head: Linear
    public let workspace: Workspace

    /// Builds the network with PyTorch's default initialisation for these models:
    /// Kaiming-normal convolutions and linear layers for the ResNets (the reference
    /// `_weights_init`), Kaiming-normal convolutions and uniform `±1/√fanIn` linear
    /// layers otherwise; batch norm γ = 1, β = 0.
    /// `kernels`: how the convolutions compute (oneDNN when it loads, else im2col).
    /// - Precondition: the input size suits the architecture (`convnet` needs H, W ≥ 4).
    public init<G: RandomNumberGenerator>(_ architecture: Architecture, numClasses: Int,
                                          inputChannels: Int, inputHeight: Int, inputWidth: Int,
                                          kernels: ConvolutionKernels = .preferred, using rng: inout G) {
        precondition(numClasses >= 1, "Network: numClasses must be positive")
        self.architecture = architecture; self.numClasses = numClasses
        self.inputChannels = inputChannels; self.inputHeight = inputHeight; self.inputWidth = inputWidth
        let ws = Workspace(kernels: kernels)
        workspace = ws
        switch architecture {
        case .resnet(let depth):
            let blocks = (depth - 2) / 6
            var layers: [(String, Layer)] = [
                ("conv1", Conv2d(inputChannels, 16, kernel: 3, stride: 1, padding: 1, workspace: ws)),
                ("bn1", BatchNorm2d(16)), ("", ReLU()),
            ]
            var cin = 16
            for (stage, width) in [16, 32, 64].enumerated() {
                var bl: [(String, Layer)] = []
                for b in 0..<blocks {
                    let stride = (stage > 0 && b == 0) ? 2 : 1
                    bl.append(("\(b)", BasicBlock(cin, width, stride: stride, workspace: ws)))
                    cin = width
                }
                layers.append(("layer\(stage + 1)", Sequential(bl)))
            }
            layers.append(("", GlobalAvgPool()))
            features = Sequential(layers)
        case .convnet:
            features = Sequential([
                ("conv1", Conv2d(inputChannels, 32, kernel: 3, padding: 1, workspace: ws)), ("bn1", BatchNorm2d(32)), ("", ReLU()),
                ("", MaxPool2d(kernel: 2)),
                ("conv2", Conv2d(32, 64, kernel: 3, padding: 1, workspace: ws)), ("bn2", BatchNorm2d(64)), ("", ReLU()),
                ("", MaxPool2d(kernel: 2)),
                ("conv3", Conv2d(64, 128, kernel: 3, padding: 1, workspace: ws)), ("bn3", BatchNorm2d(128)), ("", ReLU()),
                ("", GlobalAvgPool()),
            ])
        case .mlp(let hidden, let f):
            let d = inputChannels * inputHeight * inputWidth
            features = Sequential([
                ("fc1", Linear(d, hidden)), ("bn1", BatchNorm2d(hidden)), ("", ReLU()),
                ("fc2", Linear(hidden, f)), ("bn2", BatchNorm2d(f)), ("", ReLU()),
            ])
        }
        head = Linear(architecture.featureDim, numClasses)
        features.needsInputGradient = false
        initialise(using: &rng)
    }

    func initialise<G: RandomNumberGenerator>(using rng: inout G) {
        let resnet: Bool
        if case .resnet = architecture { resnet = true } else { resnet = false }
        func visit(_ l: Layer) {
            switch l {
            case let c as Conv2d:
                c.weight.kaimingNormal(fanIn: c.inChannels * c.kernel * c.kernel, using: &rng)
                c.bias?.uniform(bound: 1 / Double(c.inChannels * c.kernel * c.kernel).squareRoot(), using: &rng)
            case let lin as Linear:
                if resnet { lin.weight.kaimingNormal(fanIn: lin.inFeatures, using: &rng) }
                else { lin.weight.uniform(bound: 1 / Double(lin.inFeatures).squareRoot(), using: &rng) }
                lin.bias.uniform(bound: 1 / Double(lin.inFeatures).squareRoot(), using: &rng)
            case let s as Sequential: s.layers.forEach { visit($0.layer) }
            case let b as BasicBlock: [b.conv1, b.bn1, b.conv2, b.bn2].forEach(visit)
            default: break
            }
        }
        visit(features); visit(head)
    }

    /// The input shape for a batch of `n`.
    public func inputShape(batch n: Int) -> Shape { Shape(c: inputChannels, n: n, h: inputHeight, w: inputWidth) }
    public var featureDim: Int { architecture.featureDim }

    /// All learnable tensors (features, then head).
    public var parameters: [Parameter] { features.parameters + head.parameters }

    /// The state-dict entries, PyTorch names (`conv1.weight`, `layer1.0.bn1.running_mean`, `linear.bias`).
    public var stateSlots: [StateSlot] { features.stateSlots(prefix: "") + head.stateSlots(prefix: "linear.") }

    /// Runs the batch. `x`: `inputChannels × n × H × W`, normalised.
    /// Returns the pooled features (`D × n`, column `i` = image `i`) and the logits (`C × n`).
    /// - Complexity: dominated by the convolutions' `sgemm`s.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, batch n: Int, training: Bool)
        -> (features: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>) {
        let s = inputShape(batch: n)
        let f = features.forward(x, s, training: training)
        let z = head.forward(f, Shape(c: featureDim, n: n, h: 1, w: 1), training: training)
        return (f, z)
    }

    /// Back-propagates `dLogits` (`C × n`, for the last `forward`), adding to every
    /// parameter's gradient. Call `zeroGradients()` before the step's forward.
    public func backward(_ dLogits: UnsafePointer<Float>) {
        let df = head.backward(dLogits)
        _ = features.backward(df)
    }

    public func zeroGradients() { for p in parameters { p.zeroGrad() } }

    /// Features of `n` images as an `n × D` row-major array (inference mode).
    public func extractFeatures(_ x: UnsafePointer<Float>, batch n: Int) -> (features: [Float], logits: [Float]) {
        let (f, z) = forward(x, batch: n, training: false)
        let d = featureDim, c = numClasses
        var feats = [Float](repeating: 0, count: n * d), logits = [Float](repeating: 0, count: n * c)
        for j in 0..<d { for i in 0..<n { feats[i * d + j] = f[j * n + i] } }
        for j in 0..<c { for i in 0..<n { logits[i * c + j] = z[j * n + i] } }
        return (feats, logits)
    }
}
