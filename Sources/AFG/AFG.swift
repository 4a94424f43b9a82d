/// Stage two: the Adaptive Feature Generator (method.md §Stage two, steps 1–9).
/// No file I/O in this module: it works on in-memory row blocks.
///
/// - `Tukey`: the ladder of powers, in place (step 1).
/// - `StatisticsAccumulator` / `ClassStatistics`: streamed class statistics (step 2).
/// - `FeatureGenerator`: head/tail split, support sets, calibrated distributions and the
///   batched sampler (steps 3–8); `updateBeta` (step 9).
import Linalg
