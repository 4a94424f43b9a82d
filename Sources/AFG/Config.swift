/// Where the calibrated mean sits (method.md step 6).
public enum MeanMode: String, Sendable, CaseIterable, Codable {
    /// `μ' = z̃` (default, ours): neighbours lend only their covariance.
    case sample
    /// `μ' = (1 − β_c)·z̃ + β_c·Σ w_i μ_i` (the paper's first reading).
    case pull
}

/// How support classes are weighted and mixed.
public enum Weighting: String, Sendable, CaseIterable, Codable {
    /// GLAG: `w_i ∝ n_i/d_i`, `Σ' = (1−β_c)Σ_c + β_c Σ w_i Σ_i + αI`, mean by `MeanMode`.
    case glag
    /// TailCalib / DC: `μ' = (z̃ + Σ_{i∈S} μ_i)/(k+1)`, `Σ' = (1/k)·Σ_{i∈S} Σ_i + αI`;
    /// `β` and `MeanMode` are not used.
    case tailcalib
}

/// The adaptive-confidence rule of method.md step 9.
public enum BetaRule: String, Sendable, CaseIterable, Codable {
    /// `Δ_c = Δa_c + Σ_{i≠c} ū_{c,i}·Δa_i` (default, ours).
    case net
    /// `Δ_c = Δa_c` (the paper's wording).
    case own
}

/// Which factor `F` with `F·Fᵀ = Σ_c` each class gets (method.md step 8).
public enum FactorChoice: String, Sendable, CaseIterable, Codable {
    /// The cheaper one: the centred data (`n_c` columns) when `n_c ≤ D`, else Cholesky (`D` columns).
    case automatic
    /// Always the Cholesky factor (jitter and retry when `Σ_c` is singular).
    case cholesky
    /// Always the scaled centred data `(Z̃_c − μ_c)ᵀ/√(n_c − 1)` (exact, rank `n_c − 1`).
    case centredData
}

/// Settings of the generator (defaults from method.md / the paper's §5.1.2).
public struct GeneratorConfig: Equatable, Sendable, Codable {
    /// Support classes per tail sample (`k ≥ 1`).
    public var k = 2
    /// Extra isotropic spread `α ≥ 0` added to every calibrated covariance.
    public var alpha: Float = 0
    /// Initial confidence `β_c ∈ [0, 1]` of tail classes.
    public var initialBeta: Float = 0.6
    /// A class is *tail* when `n_c < headThreshold`.
    public var headThreshold = 100
    public var meanMode: MeanMode = .sample
    public var weighting: Weighting = .glag
    /// `M`, the count every class is filled to; nil = `n_max`.
    public var targetPerClass: Int? = nil
    /// Covariance factor per class.
    public var factor: FactorChoice = .automatic
    /// Rows generated per internal block. Output bits depend on it (the matrix products
    /// are formed per block) but not on the batch size the caller asks for nor on the
    /// thread count. Memory per block ≈ `blockRows·D·(2 + k)` floats.
    public var blockRows = 8192

    public init(k: Int = 2, alpha: Float = 0, initialBeta: Float = 0.6, headThreshold: Int = 100,
                meanMode: MeanMode = .sample, weighting: Weighting = .glag, targetPerClass: Int? = nil,
                factor: FactorChoice = .automatic, blockRows: Int = 8192) {
        self.k = k; self.alpha = alpha; self.initialBeta = initialBeta; self.headThreshold = headThreshold
        self.meanMode = meanMode; self.weighting = weighting; self.targetPerClass = targetPerClass
        self.factor = factor; self.blockRows = blockRows
    }

    /// Throws `AFGError.invalidConfig` naming the first setting out of its domain.
    public func validate() throws {
        if k < 1 { throw AFGError.invalidConfig("k must be at least 1 (got \(k))") }
        if !(alpha >= 0) || !alpha.isFinite { throw AFGError.invalidConfig("alpha must be finite and >= 0 (got \(alpha))") }
        if !(initialBeta >= 0 && initialBeta <= 1) { throw AFGError.invalidConfig("initial beta must lie in [0, 1] (got \(initialBeta))") }
        if headThreshold < 0 { throw AFGError.invalidConfig("head threshold must be >= 0 (got \(headThreshold))") }
        if let m = targetPerClass, m < 1 { throw AFGError.invalidConfig("per-class target must be >= 1 (got \(m))") }
        if blockRows < 1 { throw AFGError.invalidConfig("blockRows must be >= 1 (got \(blockRows))") }
    }
}
