import AFG
import Foundation

/// The classifier file's `config` record of a converged-solver fit (docs/FORMAT.md): what
/// was fitted and what was chosen, as canonical JSON (`json`: sorted keys, so equal
/// records give equal bytes). Members that do not apply are absent.
public struct FitRecord: Codable, Sendable, Equatable {
    /// One scored grid point of a cross-validated `C` (and `τ`).
    public struct GridPoint: Codable, Sendable, Equatable {
        public var C: Double
        public var tau: Double?
        public var cvMeanRecall: Double
        public var se: Double
        /// The mean held-out log-loss at this `C`, when it chose `C`.
        public var cvLogLoss: Double?
        enum CodingKeys: String, CodingKey { case C, tau, cvMeanRecall = "cv_mean_recall", se, cvLogLoss = "cv_log_loss" }
    }

    /// One candidate of the recommended command's selection.
    public struct CandidateRecord: Codable, Sendable, Equatable {
        public var name: String
        public var space: String
        public var C: Double
        public var cvMeanRecall: Double
        public var se: Double
        public var pairedDifference: Double
        public var pairedSE: Double
        enum CodingKeys: String, CodingKey {
            case name, space, C, se, cvMeanRecall = "cv_mean_recall", pairedDifference = "paired_difference",
                 pairedSE = "paired_se"
        }
    }

    /// The generator of a generated-set fit.
    public struct GeneratorRecord: Codable, Sendable, Equatable {
        public var k: Int
        public var alpha: Float
        public var beta: Float
        public var mean: String
        public var headThreshold: Int
        public var targetPerClass: Int?
        enum CodingKeys: String, CodingKey {
            case k, alpha, beta, mean, headThreshold = "head_threshold", targetPerClass = "target_per_class"
        }
        public init(_ g: GeneratorConfig) {
            k = g.k; alpha = g.alpha; beta = g.initialBeta; mean = g.meanMode.rawValue; headThreshold = g.headThreshold
            targetPerClass = g.targetPerClass
        }
    }

    /// The memory head of the recommended command (`MemoryHead`): what the folds chose.
    public struct MemoryRecord: Codable, Sendable, Equatable {
        /// The head's weight in the mixed scores (0: the linear model alone).
        public var weight: Double
        /// Its temperature (nil with weight 0).
        public var temperature: Double?
        /// The labelled rows it holds (0 with weight 0).
        public var rows: Int
        /// Held-out mean per-class recall of the mixed scores at the chosen point, and of the
        /// chosen linear model alone, over the same folds.
        public var cvMeanRecall: Double
        public var linearCVMeanRecall: Double
        enum CodingKeys: String, CodingKey {
            case weight, temperature, rows, cvMeanRecall = "cv_mean_recall", linearCVMeanRecall = "linear_cv_mean_recall"
        }
    }

    public var solver = "lbfgs"
    public var method: String?
    public var C: Double?
    public var cSelection: String?
    public var scaling: String?
    public var classWeight: String?
    public var tau: Double?
    public var grid: [GridPoint]?
    public var blend: Double?
    public var blendView: String?
    public var rawC: Double?
    public var cDivisor: Double?
    public var generator: GeneratorRecord?
    public var selection: String?
    public var chosen: String?
    public var candidates: [CandidateRecord]?
    public var cPaths: [FitRecord]?
    /// A one-line summary of the settings (GLAG rounds).
    public var config: String?
    /// Rows per class the classifier was fitted on, when more than the training split's
    /// (`class_counts`): train + val after a cross-validated refit.
    public var fittedClassCounts: [Int]?
    public var memory: MemoryRecord?

    enum CodingKeys: String, CodingKey {
        case solver, method, C, scaling, tau, grid, blend, generator, selection, chosen, candidates, config, memory
        case cSelection = "C_selection", classWeight = "class_weight", blendView = "blend_view", rawC = "raw_C",
             cDivisor = "C_divisor", cPaths = "C_paths", fittedClassCounts = "fitted_class_counts"
    }

    public init(C: Double? = nil, classWeight: String? = nil) {
        self.C = C; self.classWeight = classWeight
        if C != nil { cSelection = "given" }
    }

    /// A cross-validated `C` (and `τ`) path: the chosen values and every grid point's scores.
    public init(path p: RegressionCV.Path, folds: Int, classWeight: String) {
        self.init(C: p.chosen, classWeight: classWeight)
        cSelection = p.design(folds: folds) + ", train + val" + (p.cByLogLoss ? "; " + p.rule : "")
        let s = p.shifts.count
        grid = p.mean.indices.map { i in
            GridPoint(C: p.grid[i / s], tau: s > 1 ? p.shifts[i % s] : nil, cvMeanRecall: p.mean[i], se: p.standardError[i],
                      cvLogLoss: p.cByLogLoss ? p.meanLogLoss[i / s] : nil)
        }
    }

    /// Canonical JSON: sorted keys, no whitespace.
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? e.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
