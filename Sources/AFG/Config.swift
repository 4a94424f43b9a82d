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

/// Settings of the generator: the one description of it from the command line's flags to
/// `FeatureGenerator` (defaults from method.md / the paper's §5.1.2, declared once in
/// `GeneratorConfig.Settings`).
public struct GeneratorConfig: Equatable, Sendable, Codable {
    /// The declared settings: name (the CLI flag), help, default and interval.
    public enum Settings {
        public static let k = Setting<Int>("k", "Support classes per tail sample.", default: 2, .atLeast(1))
        public static let alpha = Setting<Float>("alpha", "Extra isotropic spread α added to every calibrated covariance.",
                                                 default: 0, .atLeast(0))
        public static let initialBeta = Setting<Float>(
            "initial-beta", "Confidence β of tail classes (the start value when β adapts).", default: 0.6, .closed(0, 1))
        public static let headThreshold = Setting<Int>("head-threshold", "A class is tail when n_c < this.",
                                                       default: 100, .atLeast(0))
        public static let targetPerClass = Setting<Int>(
            "target-per-class", "Rows per class after generation (default: the largest class's count, n_max).",
            default: nil, .atLeast(1))
        public static let blockRows = Setting<Int>("block-rows", "Rows generated per internal block.", default: 8192, .atLeast(1))
    }

    /// Support classes per tail sample (`k ≥ 1`).
    public var k = Settings.k.value
    /// Extra isotropic spread `α ≥ 0` added to every calibrated covariance.
    public var alpha: Float = Settings.alpha.value
    /// Initial confidence `β_c ∈ [0, 1]` of tail classes.
    public var initialBeta: Float = Settings.initialBeta.value
    /// A class is *tail* when `n_c < headThreshold`.
    public var headThreshold = Settings.headThreshold.value
    public var meanMode: MeanMode = .sample
    public var weighting: Weighting = .glag
    /// `M`, the count every class is filled to; nil = `n_max`.
    public var targetPerClass: Int? = Settings.targetPerClass.defaultValue
    /// Covariance factor per class.
    public var factor: FactorChoice = .automatic
    /// Rows generated per internal block. Output bits depend on it (the matrix products
    /// are formed per block) but not on the batch size the caller asks for nor on the
    /// thread count. Scratch per block is at most `blockRows·D·(2k + 3)` floats (normals
    /// of every part, the block, the products of every part); 8192 measured fastest on the ImageNet-LT
    /// shape (4096 and 32768 were slower).
    public var blockRows = Settings.blockRows.value

    public init(k: Int = Settings.k.value, alpha: Float = Settings.alpha.value,
                initialBeta: Float = Settings.initialBeta.value, headThreshold: Int = Settings.headThreshold.value,
                meanMode: MeanMode = .sample, weighting: Weighting = .glag,
                targetPerClass: Int? = Settings.targetPerClass.defaultValue,
                factor: FactorChoice = .automatic, blockRows: Int = Settings.blockRows.value) {
        self.k = k; self.alpha = alpha; self.initialBeta = initialBeta; self.headThreshold = headThreshold
        self.meanMode = meanMode; self.weighting = weighting; self.targetPerClass = targetPerClass
        self.factor = factor; self.blockRows = blockRows
    }

    /// Whether a class with `count` training rows is a tail class: `0 < n_c < headThreshold`
    /// (a class without rows is neither head nor tail: it gets no rows). O(1).
    public func isTail(count: Int) -> Bool { count > 0 && count < headThreshold }

    /// Throws `SettingError` naming the first setting outside its interval.
    public func checkSettings() throws {
        try Settings.k.check(k); try Settings.alpha.check(alpha); try Settings.initialBeta.check(initialBeta)
        try Settings.headThreshold.check(headThreshold); try Settings.targetPerClass.check(targetPerClass)
        try Settings.blockRows.check(blockRows)
    }

    /// Throws `AFGError.invalidConfig` naming the first setting outside its interval.
    public func validate() throws {
        do { try checkSettings() } catch let e as SettingError { throw AFGError.invalidConfig(e.description) }
    }
}
