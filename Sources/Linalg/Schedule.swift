import Foundation

/// The gradual schedule shared by GraLoss (stage one's `τ(t)`) and stage two's KD
/// weight `β_KD(t)` (method.md, "Stage one"): one implementation for both, in Linalg, the
/// module both stages import (Backbone does not import Classifier).
///
///     value(t) = maxValue · s_γ(t / T)
///     s_γ(u) = (exp(γ·u) − 1) / (exp(γ) − 1)   for γ ≠ 0,   s_0(u) = u
///
/// `t` is the fractional epoch (epoch + step/stepsPerEpoch), `T` the total epochs;
/// `u` is clamped to [0, 1]. `γ > 0` is convex (slow start, fast end), `γ = 0` linear.
public struct GradualSchedule: Equatable, Sendable, Codable {
    /// The value reached at the end of training (`τ_max` or `kd_max`).
    public var maxValue: Double
    /// The curvature `γ`.
    public var gamma: Double

    public init(maxValue: Double = 1.0, gamma: Double = 3.0) {
        self.maxValue = maxValue
        self.gamma = gamma
    }

    /// `s_γ(u)` for `u` clamped to [0, 1]. O(1).
    public static func shape(_ u: Double, gamma: Double) -> Double {
        let u = min(max(u, 0), 1)
        if abs(gamma) < 1e-12 { return u }
        return expm1(gamma * u) / expm1(gamma)
    }

    /// The schedule's value at fractional epoch `t` of `totalEpochs`.
    public func value(at t: Double, totalEpochs: Double) -> Double {
        precondition(totalEpochs > 0, "GradualSchedule: totalEpochs must be positive")
        return maxValue * GradualSchedule.shape(t / totalEpochs, gamma: gamma)
    }
}
