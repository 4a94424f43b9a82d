import FeatureIO
/// Stage one on the CPU: network layers with explicit forward/backward, the CIFAR
/// ResNets (`resnet20/32/44/56`), `convnet` and `mlp`, GraLoss training, PyTorch-compatible
/// safetensors checkpoints, and the image readers (IDX, CIFAR binary) and long-tailed subsets.
///
/// Layout: activations are `C × N × H × W` (`Shape`), so a convolution over the whole
/// batch is im2col + one `sgemm` per chunk of images, and batch norm's per-channel
/// reductions are contiguous. Layers own their (grow-only) buffers; the convolutions of one
/// network share a `Workspace` whose workers split the batch's chunks, each calling
/// single-threaded BLAS (`withSingleThreadedBLAS`, used by `BackboneTrainer` and `extractFeatures`).
///
/// Entry points:
/// - `Network(_:numClasses:inputChannels:inputHeight:inputWidth:using:)`, `forward`,
///   `backward`, `extractFeatures`, `stateTensors()` / `loadState(_:source:)`;
/// - `BackboneTrainer(network:data:normalization:config:)` with `TrainingConfig` and
///   `StageOneLoss` (`.ce`, `.logitAdjusted(tau:)`, `.graLoss(GradualSchedule)`),
///   `trainEpoch(_:)`, `checkpointTensors(epoch:)` / `restore(_:source:)`;
/// - `extractFeatures(network:data:normalization:batchSize:)`, `accuracy(logits:labels:numClasses:)`;
/// - `ImageSet.readIDX`, `readCIFAR`, `loadFolder`, `longTailCounts`, `longTailSplit`;
///   `Normalization`, `Augmentation`, `BatchBuilder`;
/// - `SafeTensorsFile.read/decode/encoded/write`.
import Foundation
