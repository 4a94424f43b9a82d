import Linalg

/// How the tail classes' confidence `β` adapts between generation epochs (method.md step 9).
public struct BetaUpdate: Equatable, Sendable, Codable {
    public enum Settings {
        public static let step = Setting<Float>("beta-step", "β step δ per epoch.", default: 0.05, .closed(0, 1))
    }
    public var rule: BetaRule = .net
    /// `δ`: how far `β_c` moves per update.
    public var step: Float = Settings.step.value

    public init(rule: BetaRule = .net, step: Float = Settings.step.value) { self.rule = rule; self.step = step }
}

/// Adaptive confidence (method.md step 9), a pure function of one epoch's measurements.
///
/// For every tail class `c`:
/// - rule `.net`: `Δ_c = Δa_c + Σ_{i≠c} ū_{c,i}·Δa_i` (a gain paid for by the donors does not count);
/// - rule `.own`: `Δ_c = Δa_c`;
/// then `β_c ← min(1, β_c + step)` if `Δ_c > 0`, `max(0, β_c − step)` if `Δ_c < 0`, else unchanged.
/// Head classes keep their value. A NaN `Δa` (a class absent from the validation split)
/// leaves its own `β` unchanged and contributes nothing as a donor.
///
/// - Parameters: `beta`, `isTail`, `accuracyDelta` have `C` entries; `donorWeights` is
///   `C × C` (`GeneratedSet.donorWeights` of the epoch).
/// - Complexity: O(C²).
public func updateBeta(_ beta: [Float], isTail: [Bool], accuracyDelta: [Double],
                       donorWeights: Matrix<Float>, rule: BetaRule, step: Float = 0.05) -> [Float] {
    let C = beta.count
    precondition(isTail.count == C && accuracyDelta.count == C && donorWeights.rows == C && donorWeights.cols == C,
                 "updateBeta: beta \(C), isTail \(isTail.count), accuracyDelta \(accuracyDelta.count), donorWeights \(donorWeights.rows)×\(donorWeights.cols)")
    precondition(step >= 0, "updateBeta: step must be non-negative")
    var out = beta
    for c in 0..<C where isTail[c] && !accuracyDelta[c].isNaN {
        var delta = accuracyDelta[c]
        if rule == .net {
            for i in 0..<C where i != c && !accuracyDelta[i].isNaN {
                delta += Double(donorWeights.data[c * C + i]) * accuracyDelta[i]
            }
        }
        if delta > 0 { out[c] = min(1, beta[c] + step) } else if delta < 0 { out[c] = max(0, beta[c] - step) }
    }
    return out
}

/// Adaptive confidence across epochs (method.md step 9): remembers the last per-class
/// validation accuracy and, from the second measurement on, moves `β` by `updateBeta`
/// with the change. The one place where an epoch's accuracy becomes a `β` update (GLAG on
/// SGD and on the converged solver).
public struct AdaptiveBeta: Sendable {
    public var update: BetaUpdate
    /// The last per-class accuracy recorded (NaN: a class absent from the validation rows);
    /// nil before the first. A checkpoint keeps it.
    public var previous: [Double]?

    public init(update: BetaUpdate, previous: [Double]? = nil) { self.update = update; self.previous = previous }

    /// Records this epoch's per-class accuracy (`nil`: absent class) and returns `β` after
    /// the update (unchanged at the first measurement). O(C²).
    public mutating func next(_ beta: [Float], isTail: [Bool], accuracy: [Double?], donorWeights: Matrix<Float>) -> [Float] {
        let now = accuracy.map { $0 ?? .nan }
        defer { previous = now }
        guard let p = previous else { return beta }
        return updateBeta(beta, isTail: isTail, accuracyDelta: zip(now, p).map { $0 - $1 }, donorWeights: donorWeights,
                          rule: update.rule, step: update.step)
    }
}
