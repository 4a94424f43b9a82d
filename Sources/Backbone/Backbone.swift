/// Stage one: CPU network layers, architectures, GraLoss training, checkpoints.
///
/// Activations are `C × N × H × W` (see `Shape`); layers own their buffers; convolutions
/// are im2col + `sgemm` through Linalg's pointer-level BLAS calls.
import Classifier
import Foundation
