import AFG
import Foundation
import Linalg

/// `afg train --method glag --select-on-val`: the recommended command. Chooses among the
/// class-weighted regression on each offered input space (raw, Tukey-transformed) and the
/// generated-set regression (`GeneratedRegression`, on the last space) by stratified K-fold
/// cross-validation over all labelled rows (train + validation), never a test file:
///
/// 1. `C` for the class-weighted regression on each space by `RegressionCV` (the grid, mean
///    per-class recall on the held-out folds).
/// 2. The generated-set regression at `C*/3` (`C*` of the last space) on the same
///    folds, warm-started from the fold's class-weighted regression and its logits blended
///    (weight `blend` on the generated model), as plain `glag`, with a class-weighted
///    regression at its space's `C*`: with `twoView` and two or more spaces, the first
///    space's (the raw rows: the classifier then reads two views, `LinearModel.twoView`),
///    else the last space's; the generator is rebuilt from each fold's training rows, so no
///    held-out row leaks into a generated one.
/// 3. Logit adjustment (Menon et al., 2021; `LogitAdjustedRegression`) over the regression
///    on the last space with rows weighted `∝ n_c^(−logitAdjustedWeightPower)` (square-root
///    class weights by default: on the suite's signed sets they beat the unweighted
///    regression under the same shift, docs/RESULTS.md): `C` and `τ` chosen as
///    `--method logit-adjust` chooses them, on the same folds and
///    `StratifiedFolds.defaultRepetitions − 1` further assignments; it is compared with the
///    others on the shared folds. With `logitAdjustedWhitening` it is fitted twice, on the
///    rows as they are and through `PartialWhitening`, and the one with the higher held-out
///    mean per-class recall at its own `C` and `τ` is the candidate.
/// 4. Paired rules (`choose`): among the regressions the simpler is kept unless a later
///    one's mean held-out recall beats it by more than the standard error of the per-fold
///    differences; the default (`Default`: the generated blend, plain `glag`'s classifier,
///    on non-negative features; the logit adjustment on signed ones) is kept unless that
///    regression or the other of the two beats it in a one-sided corrected resampled
///    t-test at 5 % over the folds (Nadeau & Bengio 2003: the folds' training sets
///    overlap, so the naive standard error is too small).
/// 5. With `withMemory`, a `MemoryHead` on the chosen space's rows: the chosen candidate is
///    refitted on each fold's training rows, and the head's weight (0: none) and
///    temperature are chosen by the held-out mean per-class recall of the mixed scores
///    (`MemoryHead.choose`).
/// 6. The chosen model is refitted on every row of its space and mapped back from the
///    scaled rows.
///
/// Cost: `(S + R) × K × grid + K` solves on the real rows (`S` spaces, and the logit
/// adjustment's path over `R` assignments, `2R` with the whitened rows too; warm-started
/// along the grid; `K + 1` more with two views), an `O(N·D² + D³)` whitening,
/// `K + 1` warm-started generated-set solves, `K + 1` generations; with the memory head
/// `K` more fits of the chosen candidate and `O(N²·D)` for the similarities.
public enum CrossValidatedSelection {
    public static let balancedName = "balanced-lr"
    public static let generatedName = "generated-lr"
    public static let logitAdjustedName = "logit-adjusted-lr"

    /// The candidate that stands unless another beats it significantly.
    ///
    /// The generator models each class as a Gaussian after Tukey's transform of
    /// non-negative (post-ReLU) features, and borrows head covariances for the tails
    /// (method.md); it is the suite's robust winner on such features. On signed features
    /// (the sentence embeddings of the suite's four text sets) Tukey's transform does not
    /// apply, the class-weighted regression and the generated blend lose to logit
    /// adjustment by 0.4–3.5 points, and a 5-fold CV whose Few classes hold one or two
    /// held-out rows cannot show it (docs/RESULTS.md): there logit adjustment stands.
    public enum Default: String, Sendable, Codable {
        case generated, logitAdjusted

        /// `.generated` for rows with no negative entry, else `.logitAdjusted`. O(N·D).
        public static func of(_ x: Matrix<Float>) -> Default {
            x.data.allSatisfy { $0 >= 0 } ? .generated : .logitAdjusted
        }
    }

    /// An input space the candidates may read: e.g. the raw rows and their Tukey transform.
    public struct Space: Sendable {
        public var name: String
        /// `N × D` labelled rows (train + validation), not scaled.
        public var features: Matrix<Float>
        public init(name: String, features: Matrix<Float>) { self.name = name; self.features = features }
    }

    /// A candidate's held-out scores.
    public struct Candidate: Sendable, Equatable {
        public var name: String
        public var summary: String
        /// Index of the space it reads.
        public var space: Int
        public var C: Double
        /// Per fold, held-out mean per-class recall.
        public var scores: [Double]
        public var mean: Double
        public var standardError: Double
        /// Against the first candidate (the first space's class-weighted regression): the
        /// mean per-fold difference and its standard error.
        public var pairedDifference: Double
        public var pairedStandardError: Double
        /// The logit adjustment's `τ` (nil for the other candidates).
        public var tau: Double? = nil
    }

    public struct Outcome: Sendable {
        /// The chosen model refitted on every row, reading the chosen space's (unscaled)
        /// rows; a two-view blend (`twoView`) reads `[last space | first space]`.
        public var model: LinearModel
        /// Whether `model` is a two-view blend (`LinearModel.twoView`: the generated-set
        /// regression on the last space, the class-weighted regression on the first).
        public var twoView: Bool
        /// Index into `candidates`.
        public var chosen: Int
        /// Every space's `C` path.
        public var paths: [RegressionCV.Path]
        public var candidates: [Candidate]
        /// The generator the generated-set candidate used (head threshold from all rows' counts).
        public var generator: GeneratorConfig
        /// The generated candidate's weight in its blend with the class-weighted regression.
        public var blend: Double
        public var folds: Int
        /// The transform the logit-adjusted candidate read its rows through (nil: none, or
        /// the rows as they are scored higher).
        public var whitening: PartialWhitening?
        /// The memory head mixed into `model`'s scores, reading the chosen space's rows (the
        /// first view of a two-view `model`); nil: none offered, or weight 0 chosen.
        public var memory: MemoryHead?
        /// The folds' choice of the memory head's weight and temperature (nil: not offered).
        public var memoryChoice: MemoryHead.Choice?
        public var choice: Candidate { candidates[chosen] }
    }

    /// Runs the selection (see the type's notes).
    /// - Parameters:
    ///   - spaces: one or more input spaces of the same rows, simplest first.
    ///   - folds: `K ≥ 2`.
    ///   - headThreshold: the generator's head threshold; nil derives it from each fit's counts.
    ///   - twoView: with two or more spaces, blend the generated-set regression with the
    ///     first space's class-weighted regression (two views) rather than the last's.
    ///   - generator: the generated candidate's generator (its head threshold is replaced).
    ///   - logitAdjustedWeightPower: the class-weight power of the logit-adjusted candidate's
    ///     regression (0: unweighted, `--method logit-adjust`'s; 1: balanced).
    ///   - logitAdjustedWhitening: the power `p` of the `PartialWhitening` the logit-adjusted
    ///     candidate may read the last space through (nil: the rows as they are only).
    ///   - withMemory: offer a `MemoryHead` on the chosen space's rows (those the written
    ///     classifier's `weight` reads), its weight (0: none)
    ///     and temperature chosen on `folds` with the chosen candidate refitted per fold.
    ///   - log: one line per finished step (the grids, the candidates, the choice).
    ///   - progress: called at the start and after every solve, with the step running:
    ///     each space's path (fold, `C`), each fold's generated candidate, the logit
    ///     adjustment's paths (fold, `C`; on the whitened rows after the others), then the
    ///     memory head's fold refits (`K` with `withMemory`), the refit,
    ///     `(spaces + R) × K × grid + K (+ K) + 1` steps in all (`R` assignments of the folds
    ///     for the logit adjustment, twice as many with the whitened rows).
    /// - Throws: `LogisticRegressionError`, generator errors.
    public static func select(spaces: [Space], labels: [Int32], numClasses: Int, folds k: Int = StratifiedFolds.defaultCount,
                              grid: [Double] = RegressionCV.defaultGrid, headThreshold: Int? = nil,
                              blend: Double = GeneratedRegression.Settings.blend.value, twoView: Bool = true, seed: UInt64,
                              solver: LogisticRegression = LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000),
                              generator: GeneratorConfig = GeneratedRegression.recommendedGenerator,
                              cDivisor: Double = GeneratedRegression.Settings.cDivisor.value,
                              logitAdjustedWeightPower: Double = LogitAdjustedRegression.Settings.recommendedClassWeightPower,
                              logitAdjustedWhitening: Double? = nil, default standing: Default = .generated, withMemory: Bool = false,
                              log: ((String) -> Void)? = nil, progress: ((FitProgress) -> Void)? = nil) throws -> Outcome {
        precondition(!spaces.isEmpty, "CrossValidatedSelection: no input space")
        let folds = StratifiedFolds(labels: labels, numClasses: numClasses, folds: k, seed: seed)
        let laFolds = LogitAdjustedRegression.assignments(folds, StratifiedFolds.repeated(labels: labels, numClasses: numClasses,
                                                                                          folds: k, seed: seed),
                                                          shifts: LogitAdjustedRegression.Settings.tauGrid)
        let perPath = k * grid.count, laPerPath = laFolds.count * perPath
        let laPaths = logitAdjustedWhitening == nil ? 1 : 2
        let total = spaces.count * perPath + k + laPaths * laPerPath + (withMemory ? k : 0) + 1
        let cv = RegressionCV(grid: grid, balanced: true, solver: solver), sorted = cv.grid
        // The step running once `done` steps have finished.
        func label(_ done: Int) -> String {
            let paths = spaces.count * perPath
            func onPath(_ r: Int, of folds: Int) -> String { "fold \(r / sorted.count + 1)/\(folds), C = \(sorted[r % sorted.count])" }
            if done < paths { return "C on \(spaces[done / perPath].name): " + onPath(done % perPath, of: k) }
            if done < paths + k { return "\(generatedName): fold \(done - paths + 1)/\(k)" }
            if done < paths + k + laPaths * laPerPath {
                let r = done - paths - k
                return "\(logitAdjustedName)\(r < laPerPath ? "" : " (whitened)"): " + onPath(r % laPerPath, of: k * laFolds.count)
            }
            let memorySteps = paths + k + laPaths * laPerPath
            if withMemory && done < memorySteps + k { return "memory head: the chosen candidate on fold \(done - memorySteps + 1)/\(k)" }
            return "refitting the chosen candidate on every row"
        }
        func report(_ done: Int) { progress?(FitProgress(done: done, total: total, step: label(done))) }
        report(0)
        var gr = GeneratedRegression(generator: generator, headThreshold: headThreshold, C: .crossValidated, solver: solver)
        gr.grid = grid; gr.blend = blend; gr.cDivisor = cDivisor
        var paths: [RegressionCV.Path] = [], candidates: [Candidate] = []
        for (i, space) in spaces.enumerated() {
            let step: ((Int, Double) -> Void)? = progress == nil ? nil : { f, c in
                report(i * perPath + f * sorted.count + (sorted.firstIndex(of: c) ?? 0) + 1)
            }
            let path = try cv.path(space.features, labels: labels, numClasses: numClasses, folds: folds, progress: step)
            paths.append(path)
            log?("C by \(k)-fold cross-validation, class-weighted regression on \(space.name) (held-out mean per-class recall):")
            for line in path.lines() { log?(line) }
            candidates.append(candidate(spaces.count > 1 ? "\(balancedName) (\(space.name))" : balancedName,
                                        "class-weighted logistic regression (balanced) on \(space.name)", space: i,
                                        C: path.chosen, scores: path.scores[path.best], first: candidates.first))
        }
        let last = spaces.count - 1, views = twoView && last > 0 && blend < 1
        let generated = candidates.count
        candidates.append(try generatedCandidate(gr, spaces[last], space: last, labels: labels, numClasses: numClasses, folds: folds,
                                                 C: paths[last].chosen, partner: views ? (spaces[0], paths[0].chosen) : nil,
                                                 seed: seed, first: candidates[0], progress: progress == nil ? nil : { f in
            report(spaces.count * perPath + f + 1)
        }))
        let adjusted = RegressionCV(grid: grid, classWeightPower: logitAdjustedWeightPower, solver: solver)
        func adjustedPath(_ rows: Matrix<Float>, _ index: Int) throws -> RegressionCV.Path {
            let step: ((Int, Double) -> Void)? = progress == nil ? nil : { f, c in
                report(spaces.count * perPath + k + index * laPerPath + f * sorted.count + (sorted.firstIndex(of: c) ?? 0) + 1)
            }
            return try LogitAdjustedRegression.path(adjusted, rows, labels: labels, numClasses: numClasses, folds: laFolds,
                                                    shifts: LogitAdjustedRegression.Settings.tauGrid, progress: step)
        }
        // The rows as they are, and through the partial whitening when offered: the one whose
        // held-out mean per-class recall at its own C and τ (every assignment's folds) is
        // higher, the rows as they are on ties.
        var laRows = spaces[last].features, whitening: PartialWhitening? = nil
        var laPath = try adjustedPath(laRows, 0), readAlso = ""
        if let p = logitAdjustedWhitening {
            let w = try PartialWhitening(fitting: laRows, power: p), whitened = w.apply(laRows)
            let other = try adjustedPath(whitened, 1)
            let mine = RegressionCV.meanAndStandardError(laPath.scores[laPath.best]).mean
            let theirs = RegressionCV.meanAndStandardError(other.scores[other.best]).mean
            let over = "mean held-out recall over \(laFolds.count * k) folds"
            if theirs > mine {
                readAlso = " (\(over): \(String(format: "%.2f", 100 * theirs)), against \(String(format: "%.2f", 100 * mine)) on the rows as they are)"
                laRows = whitened; laPath = other; whitening = w
            } else {
                readAlso = " (\(over): \(String(format: "%.2f", 100 * mine)), against \(String(format: "%.2f", 100 * theirs)) through \(w.description))"
            }
        }
        // Its scores on the shared folds (the first assignment's), paired with the others'.
        var la = candidate(logitAdjustedName, "logistic regression (class weight \(LogitAdjustedRegression.classWeight(logitAdjustedWeightPower))) on \(spaces[last].name)\(whitening.map { ", " + $0.description } ?? "")\(readAlso), logits − τ·log π with τ = \(laPath.chosenShift) (\(laPath.rule))",
                           space: last, C: laPath.chosen, scores: Array(laPath.scores[laPath.best].prefix(k)), first: candidates[0])
        la.tau = laPath.chosenShift
        candidates.append(la)
        let chosen = choose(candidates, default: standing == .generated ? generated : generated + 1, blend: generated)
        for (i, c) in candidates.enumerated() {
            let name = c.name.padding(toLength: max(13, candidates.map(\.name.count).max()!), withPad: " ", startingAt: 0)
            log?("  \(i == chosen ? "*" : " ") \(name)" + String(format: " %6.2f ± %.2f   paired Δ %+.2f ± %.2f   ", 100 * c.mean,
                                                                      100 * c.standardError, 100 * c.pairedDifference,
                                                                      100 * c.pairedStandardError) + c.summary)
        }
        // The winner fitted on the labelled rows `subset` (nil: every row) of its space,
        // reading the unscaled rows (`[last | first]` for the two-view blend).
        let pick = candidates[chosen], generatedChosen = chosen == generated
        func fitPick(_ subset: [Int]?) throws -> LinearModel {
            func rows(_ m: Matrix<Float>) -> Matrix<Float> { subset.map { m.gatheringRows($0) } ?? m }
            let y = subset.map { $0.map { labels[$0] } } ?? labels
            let view = GeneratedRegression.View(rows(spaces[pick.space].features))
            if generatedChosen {
                let partner = views ? GeneratedRegression.View(rows(spaces[0].features)) : nil
                let parts = try gr.fitParts(view, labels: y, numClasses: numClasses, C: paths[last].chosen, generatedC: pick.C,
                                            alongPath: true, partner: partner, partnerC: paths[0].chosen, seed: seed)
                return parts.model(view, partner: partner, blend: blend)
            } else if let tau = pick.tau {
                let r = whitening == nil ? view : GeneratedRegression.View(rows(laRows))
                let fitted = r.scaler.rawModel(try adjusted.refit(r.scaled, labels: y, numClasses: numClasses, C: pick.C))
                return (whitening?.rawModel(fitted) ?? fitted)
                    .logitAdjusted(tau: tau, classCounts: LabeledFeatures.counts(of: y, numClasses: numClasses))
            }
            return view.scaler.rawModel(try cv.refit(view.scaled, labels: y, numClasses: numClasses, C: pick.C))
        }
        // The memory head's weight and temperature: the winner refitted on each fold's
        // training rows, its held-out logits mixed with the fold's own head.
        let memory = !withMemory ? nil : try memoryChoice(spaces[pick.space], labels: labels, numClasses: numClasses, folds: folds,
                                                         fit: fitPick, heldOut: { te in
            generatedChosen && views
                ? Matrix.horizontalJoin(spaces[last].features.gatheringRows(te), spaces[0].features.gatheringRows(te))
                : spaces[pick.space].features.gatheringRows(te)
        }, log: log, step: { f in report(spaces.count * perPath + k + laPaths * laPerPath + f + 1) })
        // Refit the winner on every row of its space.
        let model = try fitPick(nil)
        report(total)
        let head = memory.flatMap { m in
            m.weight == 0 ? nil : MemoryHead(fitting: spaces[pick.space].features, labels: labels, numClasses: numClasses,
                                             temperature: m.temperature, weight: m.weight)
        }
        return Outcome(model: model, twoView: generatedChosen && views, chosen: chosen, paths: paths, candidates: candidates,
                       generator: gr.generator(counts: LabeledFeatures.counts(of: labels, numClasses: numClasses)),
                       blend: blend, folds: k, whitening: whitening, memory: head, memoryChoice: memory)
    }

    /// The memory head's weight and temperature on `folds` (`MemoryHead.choose` on `space`'s
    /// rows): the winner refitted on each fold's training rows by `fit`, its logits on the
    /// fold's held-out rows as it reads them (`heldOut`), the grid logged. `step` is called
    /// after each fold's fit. K fits and `MemoryHead.choose`'s cost.
    static func memoryChoice(_ space: Space, labels: [Int32], numClasses: Int, folds: StratifiedFolds,
                             fit: ([Int]) throws -> LinearModel, heldOut: ([Int]) -> Matrix<Float>,
                             log: ((String) -> Void)?, step: (Int) -> Void) throws -> MemoryHead.Choice {
        var logits: [Matrix<Float>] = []
        for f in 0..<folds.count {
            logits.append(try fit(folds.training(f)).logits(heldOut(folds.heldOut(f))))
            step(f)
        }
        let m = MemoryHead.choose(space.features, labels: labels, numClasses: numClasses, folds: folds, heldOutLogits: logits)
        log?("memory head on \(space.name) by \(folds.count)-fold cross-validation (held-out mean per-class recall, weight w × temperature T):")
        let ts = MemoryHead.temperatures
        for (a, w) in MemoryHead.weights.enumerated() {
            let cells = ts.enumerated().map { b, t in String(format: "T = %g: %6.2f", t, 100 * m.scores[a * ts.count + b]) }
            log?("  w = \(String(format: "%-4g", w))  " + cells.joined(separator: "   "))
        }
        log?("  chosen: w = \(m.weight)\(m.weight == 0 ? " (the linear model alone)" : ", T = \(m.temperature)")")
        return m
    }

    /// The generated-set regression on `space` at `C/cDivisor` over the folds (`GeneratedRegression.fitParts`
    /// on each fold's training rows: warm-started from the fold's class-weighted regression
    /// at `C`), blended with that regression (`blend`: the generated model's weight in the
    /// logits), or with `partner` (another space's rows and `C`) with that space's
    /// class-weighted regression, read on both views (`LinearModel.twoView`): plain `glag`'s
    /// classifier, fold by fold. The generator is rebuilt from each fold's training rows,
    /// so no held-out row leaks into a generated one; every fold generates from `seed`, so
    /// the folds are independent and may run at once. `progress` is called as each fold
    /// finishes, one call at a time, with the number finished before it.
    static func generatedCandidate(_ gr: GeneratedRegression, _ space: Space, space index: Int, labels: [Int32], numClasses: Int,
                                   folds: StratifiedFolds, C: Double, partner: (space: Space, C: Double)? = nil,
                                   seed: UInt64, first: Candidate, progress: ((Int) -> Void)? = nil) throws -> Candidate {
        let counts = LabeledFeatures.counts(of: labels, numClasses: numClasses)
        let threads = generatedFoldThreads(rows: space.features.rows, classes: numClasses, largestClass: counts.max() ?? 0,
                                           dimension: space.features.cols + (partner?.space.features.cols ?? 0))
        let lock = NSLock()
        var finished = 0
        let scores = try parallelMap(folds.count, threads: threads) { f -> Double in
            let split = FoldSplit(space.features, labels: labels, folds: folds, fold: f)
            let other = partner.map { FoldSplit($0.space.features, labels: labels, folds: folds, fold: f) }
            let parts = try gr.fitParts(split.view, labels: split.trainLabels, numClasses: numClasses, C: C,
                                        generatedC: C / gr.cDivisor, alongPath: true, partner: other?.view,
                                        partnerC: partner?.C, seed: seed)
            let score = split.score(parts.scaledModel(blend: gr.blend), numClasses: numClasses, beside: other)
            lock.lock(); finished += 1; progress?(finished - 1); lock.unlock()
            return score
        }
        let g = gr.generator(counts: counts), blend = gr.blend
        let blended = blend == 1 ? ""
            : ", logits blended \(1 - blend) : \(blend) with the class-weighted regression at C*" + (partner.map { " = \($0.C) on \($0.space.name)" } ?? "")
        return candidate(generatedName, "one generated set on \(space.name) (k = \(g.k), α = \(g.alpha), β = \(g.initialBeta), \(g.meanMode.rawValue) mean, head threshold \(gr.headThreshold.map(String.init) ?? "⌈n_max/3⌉ of each fold"), every class to \(g.targetPerClass.map(String.init) ?? "n_max")) + unweighted regression at C*/\(String(format: "%g", gr.cDivisor))\(blended)",
                         space: index, C: C / gr.cDivisor, scores: scores, first: first)
    }

    /// The threads `generatedCandidate` runs folds on at once: as `RegressionCV.paths`'s,
    /// counting with a fold's rows a generated set of `largestClass` rows per class, on
    /// every space it reads (`dimension` columns in all). O(1).
    public static func generatedFoldThreads(rows: Int, classes: Int, largestClass: Int, dimension: Int) -> Int {
        let (generated, overflow) = classes.multipliedReportingOverflow(by: largestClass)
        return overflow ? 1 : RegressionCV.foldThreads(rows: rows &+ generated, dimension: dimension)
    }

    /// The choice among `candidates` (the class-weighted regressions, simplest first, up to
    /// index `blend`; then the generated blend and the logit adjustment), by paired rules on
    /// the per-fold scores:
    /// - among the regressions, a later one replaces the current choice only when it beats
    ///   it by more than the standard error of the per-fold differences (one-SE rule);
    /// - the candidate at `default` stands (`Default`); the chosen regression or another
    ///   candidate after the regressions replaces it only when it beats the default
    ///   significantly (the best mean among those that do) in
    ///   Nadeau & Bengio's corrected resampled t-test (2003), one-sided at 5 %: the folds'
    ///   training sets overlap, so the per-fold differences are correlated and the naive
    ///   standard error `sd/√K` is too small; the corrected one is `sd·√(1/K + 1/(K−1))`
    ///   (test rows over training rows = 1/(K−1)). The mean difference must exceed
    ///   `t₀.₉₅(K−1)·√(1 + K/(K−1))` naive standard errors: 3.20 for 5 folds. Under the
    ///   one-SE rule the regression replaced the blend in 7 of 30 suite runs and scored
    ///   below it on the test set in 6 of them.
    /// O(candidates × folds).
    static func choose(_ candidates: [Candidate], default standing: Int, blend: Int) -> Int {
        func beats(_ i: Int, _ j: Int, by factor: Double) -> Bool {
            let d = RegressionCV.meanAndStandardError(zip(candidates[i].scores, candidates[j].scores).map { $0 - $1 })
            return d.mean > factor * d.se
        }
        var regression = 0
        for i in 1..<blend where beats(i, regression, by: 1) { regression = i }
        let threshold = correctedThreshold(folds: candidates[standing].scores.count)
        let challengers = [regression] + Array(blend..<candidates.count).filter { $0 != standing }
        let significant = challengers.filter { beats($0, standing, by: threshold) }
        // The best mean among them, the earlier on ties.
        return significant.reduce(nil as Int?) { best, i in
            best.map { candidates[i].mean > candidates[$0].mean ? i : $0 } ?? i
        } ?? standing
    }

    /// How many naive standard errors (`sd/√K`) a mean per-fold difference must exceed to
    /// pass the one-sided 5 % corrected resampled t-test over `K ≥ 2` folds:
    /// `t₀.₉₅(K−1)·√(1 + K/(K−1))` (3.20 for 5 folds, 2.61 for 10). O(1).
    static func correctedThreshold(folds k: Int) -> Double {
        studentT95(degreesOfFreedom: k - 1) * (1 + Double(k) / Double(k - 1)).squareRoot()
    }

    /// The one-sided 95 % quantile of Student's t with `df ≥ 1` degrees of freedom: the
    /// table for `df ≤ 30`, beyond it the first Cornish–Fisher term `z + (z³ + z)/(4·df)`
    /// (z = 1.645; within 0.002 of the exact value there). O(1).
    static func studentT95(degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1, "studentT95: degrees of freedom must be ≥ 1")
        let table = [6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
                     1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
                     1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697]
        if df <= table.count { return table[df - 1] }
        let z = 1.6448536269514722
        return z + (z * z * z + z) / (4 * Double(df))
    }

    static func candidate(_ name: String, _ summary: String, space: Int, C: Double, scores: [Double],
                          first: Candidate?) -> Candidate {
        let s = RegressionCV.meanAndStandardError(scores)
        let d = first.map { f in RegressionCV.meanAndStandardError(zip(scores, f.scores).map { $0 - $1 }) } ?? (mean: 0, se: 0)
        return Candidate(name: name, summary: summary + ", C = \(C)", space: space, C: C, scores: scores, mean: s.mean,
                         standardError: s.se, pairedDifference: d.mean, pairedStandardError: d.se)
    }
}
