/// Stage one: CPU network layers, architectures, GraLoss training, checkpoints.
import Classifier
