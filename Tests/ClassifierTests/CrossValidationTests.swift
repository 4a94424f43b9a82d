import XCTest
import Linalg
@testable import Classifier

/// Stratified folds, the scaler's map back to raw rows, `C` by cross-validation and the
/// recommended command's selection rule.
final class CrossValidationTests: XCTestCase {
    func testStratifiedFoldsSplitEveryClassEvenly() {
        let counts = [53, 20, 7, 5, 3, 1]
        let labels = counts.enumerated().flatMap { c, n in [Int32](repeating: Int32(c), count: n) }
        let folds = StratifiedFolds(labels: labels, numClasses: counts.count, folds: 5, seed: 9)
        for c in counts.indices {
            let perFold = (0..<5).map { f in labels.indices.filter { labels[$0] == Int32(c) && folds.fold[$0] == f }.count }
            XCTAssertLessThanOrEqual(perFold.max()! - perFold.min()!, 1, "class \(c): \(perFold)")
        }
        let sizes = (0..<5).map { folds.heldOut($0).count }
        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "\(sizes)")
        XCTAssertEqual(sizes.reduce(0, +), labels.count)
        XCTAssertEqual(Set(folds.heldOut(2)).union(folds.training(2)).count, labels.count)
        XCTAssertTrue(Set(folds.heldOut(2)).isDisjoint(with: folds.training(2)))
        XCTAssertEqual(folds, StratifiedFolds(labels: labels, numClasses: counts.count, folds: 5, seed: 9), "seeded")
        XCTAssertNotEqual(folds, StratifiedFolds(labels: labels, numClasses: counts.count, folds: 5, seed: 10))
    }

    func testScalerCentresKeepsRelativeScalesAndRawModelGivesTheSameLogits() {
        var rng = Xoshiro256(seed: 4)
        var x = Matrix<Float>(rows: 50, cols: 6, data: standardNormals(300, using: &rng))
        for i in 0..<50 { x[i, 0] = x[i, 0] * 40 + 300; x[i, 3] = 7 }   // a large-scale column, a constant one
        let s = FeatureScaler(fitting: x)
        let z = s.apply(x)
        func variance(_ m: Matrix<Float>, _ j: Int) -> Double {
            let col = (0..<50).map { Double(m[$0, j]) }
            let mean = col.reduce(0, +) / 50
            return col.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 50
        }
        for j in 0..<6 { XCTAssertEqual((0..<50).map { Double(z[$0, j]) }.reduce(0, +) / 50, 0, accuracy: 1e-5, "column \(j) centred") }
        XCTAssertEqual((0..<6).map { variance(z, $0) }.reduce(0, +) / 6, 1, accuracy: 1e-4, "mean variance 1")
        for j in [1, 2, 4, 5] {
            let ratio = variance(x, 0) / variance(x, j)
            XCTAssertEqual(variance(z, 0) / variance(z, j), ratio, accuracy: 1e-3 * ratio, "one scale for every column")
        }
        XCTAssertEqual(FeatureScaler(fitting: Matrix(rows: 4, cols: 2, data: [Float](repeating: 3, count: 8))).scale, 1,
                       "constant rows are centred, not divided by zero")
        let m = LinearModel(weight: Matrix(rows: 3, cols: 6, data: standardNormals(18, using: &rng)), bias: [0.5, -1, 2])
        let a = m.logits(z), b = s.rawModel(m).logits(x)
        for i in 0..<a.data.count { XCTAssertEqual(a.data[i], b.data[i], accuracy: 2e-3 * max(1, abs(a.data[i]))) }
    }

    /// 80 rows of two classes in 60 dimensions, one of them informative: weak regularisation
    /// overfits them.
    func overfittingRows() -> (Matrix<Float>, [Int32]) {
        var rng = Xoshiro256(seed: 12)
        let n = 80, d = 60
        var x = Matrix<Float>(rows: n, cols: d, data: standardNormals(n * d, using: &rng))
        let y: [Int32] = (0..<n).map { Int32($0 % 2) }
        for i in 0..<n { x[i, 0] += y[i] == 1 ? 1.2 : -1.2 }
        return (x, y)
    }

    /// Few rows, many noise dimensions: weak regularisation overfits, so the cross-validated
    /// `C` sits below the top of the grid and scores at least as well as it.
    func testCrossValidatedCPrefersRegularisationWhenItOverfits() throws {
        let (x, y) = overfittingRows()
        let cv = RegressionCV(balanced: true)
        let folds = StratifiedFolds(labels: y, numClasses: 2, folds: 5, seed: 1)
        let path = try cv.path(x, labels: y, numClasses: 2, folds: folds)
        XCTAssertEqual(path.grid, RegressionCV.defaultGrid)
        XCTAssertEqual(path.mean[path.best], path.mean.max()!)
        XCTAssertEqual(path.best, path.mean.firstIndex(of: path.mean.max()!))
        XCTAssertLessThan(path.best, path.grid.count - 1)
        XCTAssertGreaterThan(path.mean[path.best], path.mean.last! + 0.02, "\(path.mean)")
        XCTAssertTrue(path.scores.allSatisfy { $0.count == 5 && $0.allSatisfy { (0...1).contains($0) } })
        XCTAssertEqual(try cv.path(x, labels: y, numClasses: 2, folds: folds), path, "deterministic")
    }

    /// A path that stops once a fold's held-out log-loss has risen twice keeps, bit for bit,
    /// the whole path's scores on the grid values every fold reached, names the rest, and
    /// chooses the same `C` and `τ` when the least log-loss lies among them; joined
    /// repetitions keep the values all of them reached.
    func testPathStopsOnceTheHeldOutLogLossRises() throws {
        let (x, y) = overfittingRows()
        let cv = RegressionCV(balanced: false)
        let folds = StratifiedFolds(labels: y, numClasses: 2, folds: 5, seed: 1), shifts = [0.0, 1.0]
        let whole = try cv.path(x, labels: y, numClasses: 2, folds: folds, shifts: shifts)
        var solves = 0
        let cut = try cv.path(x, labels: y, numClasses: 2, folds: folds, shifts: shifts, stopWhenLogLossRises: true) { _, _ in solves += 1 }
        let k = cut.grid.count
        XCTAssertLessThan(k, whole.grid.count, "overfitting rows: the held-out log-loss rises at large C")
        XCTAssertLessThan(solves, 5 * whole.grid.count)
        XCTAssertEqual(cut.grid + cut.unreached, whole.grid)
        XCTAssertEqual(cut.scores, Array(whole.scores.prefix(k * shifts.count)))
        XCTAssertEqual(cut.logLoss, Array(whole.logLoss.prefix(k)))
        XCTAssertTrue(whole.unreached.isEmpty)
        let a = cut.choosingCByLogLoss(), b = whole.choosingCByLogLoss()
        XCTAssertEqual(a.chosen, b.chosen); XCTAssertEqual(a.chosenShift, b.chosenShift)
        XCTAssertTrue(a.lines().last!.contains("C ≥ \(String(format: "%g", cut.unreached[0])): not reached by every fold"), a.lines().last!)
        // The fold that ended the common grid rose at its last two values.
        XCTAssertGreaterThanOrEqual(k, 3)
        XCTAssertTrue((0..<5).contains { f in cut.logLoss[k - 1][f] > cut.logLoss[k - 2][f] && cut.logLoss[k - 2][f] > cut.logLoss[k - 3][f] })
        let joined = RegressionCV.Path.joined([cut, whole])
        XCTAssertEqual(joined.grid, cut.grid); XCTAssertEqual(joined.unreached, cut.unreached)
        XCTAssertEqual(joined.scores[0].count, 10)
    }

    /// Folds solved at once give the path of folds solved one after another, bit for bit
    /// (with and without the log-loss stop, one assignment or several), and the progress
    /// reports come one at a time, in increasing order, one per solve that ran (every solve
    /// of the grid in fold-major order when no fold stops early).
    func testFoldsSolvedAtOnceGiveTheSerialPath() throws {
        let (x, y) = overfittingRows()
        let folds = StratifiedFolds(labels: y, numClasses: 2, folds: 5, seed: 3), shifts = [0.0, 0.5, 1.0]
        let before = blasThreadCount
        defer { setBLASThreadCount(before) }
        XCTAssertEqual(RegressionCV.foldThreads(rows: x.rows, dimension: x.cols), before, "small folds run at once")
        XCTAssertEqual(RegressionCV.foldThreads(rows: 1 << 16, dimension: 1 << 8), 1, "a fold of 128 MB runs alone")
        XCTAssertEqual(RegressionCV.foldThreads(rows: Int.max / 2, dimension: 64), 1, "sizes that overflow run alone")
        for stop in [false, true] {
            for cv in [RegressionCV(balanced: false), RegressionCV(balanced: true)] {
                var paths: [RegressionCV.Path] = [], reports: [[Int]] = []
                for threads in [1, 4] {
                    setBLASThreadCount(threads)
                    XCTAssertEqual(RegressionCV.foldThreads(rows: x.rows, dimension: x.cols), threads)
                    var seen: [Int] = []
                    var inside = 0, overlapped = false
                    paths.append(try cv.path(x, labels: y, numClasses: 2, folds: folds, shifts: shifts,
                                             stopWhenLogLossRises: stop) { f, c in
                        inside += 1; if inside > 1 { overlapped = true }
                        seen.append(f * cv.grid.count + cv.grid.firstIndex(of: c)!)
                        usleep(200)
                        inside -= 1
                    })
                    XCTAssertFalse(overlapped, "progress is called one at a time")
                    reports.append(seen)
                }
                XCTAssertEqual(paths[0], paths[1], "stop \(stop), power \(cv.classWeightPower)")
                for seen in reports {
                    XCTAssertTrue(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 }, "in order: \(seen)")
                    XCTAssertEqual(seen.count, reports[0].count, "one report per solve that ran")
                    XCTAssertLessThan(seen.last!, 5 * cv.grid.count)
                }
                if stop {
                    XCTAssertFalse(paths[0].unreached.isEmpty, "the stop is exercised")
                } else {
                    XCTAssertEqual(reports, [Array(0..<(5 * cv.grid.count)), Array(0..<(5 * cv.grid.count))])
                }
                // Two assignments at once: each the path of its assignment alone.
                let other = StratifiedFolds(labels: y, numClasses: 2, folds: 5, seed: 4)
                setBLASThreadCount(4)
                let both = try cv.paths(x, labels: y, numClasses: 2, assignments: [folds, other], shifts: shifts,
                                        stopWhenLogLossRises: stop)
                setBLASThreadCount(1)
                XCTAssertEqual(both, [paths[0], try cv.path(x, labels: y, numClasses: 2, folds: other, shifts: shifts,
                                                            stopWhenLogLossRises: stop)])
            }
        }
    }

    /// `refit` at a grid point is the model each fold of `path` scored: on a fold's rows it
    /// reproduces the fold's held-out score at every `C` (a cold solve need not, on separable
    /// rows at large `C`); off the grid it is the cold solve.
    func testRefitFollowsThePathCrossValidationScored() throws {
        var rng = Xoshiro256(seed: 13)
        let n = 60, d = 40   // separable: d close to n
        var x = Matrix<Float>(rows: n, cols: d, data: standardNormals(n * d, using: &rng))
        let y: [Int32] = (0..<n).map { Int32($0 % 3) }
        for i in 0..<n { x[i, Int(y[i])] += 1.5 }
        let cv = RegressionCV(balanced: true)
        let folds = StratifiedFolds(labels: y, numClasses: 3, folds: 5, seed: 2)
        let path = try cv.path(x, labels: y, numClasses: 3, folds: folds)
        for f in [0, 3] {
            let split = FoldSplit(x, labels: y, folds: folds, fold: f)
            for (g, c) in cv.grid.enumerated() {
                let m = try cv.refit(split.train, labels: split.trainLabels, numClasses: 3, C: c)
                XCTAssertEqual(split.score(m, numClasses: 3), path.scores[g][f], "fold \(f), C = \(c)")
            }
        }
        let z = FeatureScaler(fitting: x).apply(x)
        var along: [LinearModel] = []
        try Regression.fitPath(z, labels: y, numClasses: 3, Cs: cv.grid, classWeightPower: 1, solver: cv.solver) { _, m in along.append(m) }
        var steps: [String] = []
        XCTAssertEqual(try cv.refit(z, labels: y, numClasses: 3, C: cv.grid[4]) { c, i, n in steps.append("\(c) \(i)/\(n)") }, along[4],
                       "the path's point, whatever follows it")
        XCTAssertEqual(steps, (0..<5).map { "\(cv.grid[$0]) \($0 + 1)/5" }, "each solve is told as it starts")
        steps = []
        XCTAssertEqual(try cv.refit(z, labels: y, numClasses: 3, C: 0.5) { c, i, n in steps.append("\(c) \(i)/\(n)") },
                       try cv.fit(z, labels: y, numClasses: 3, C: 0.5))
        XCTAssertEqual(steps, ["0.5 1/1"])
    }

    /// The fold solves keep the solver's tolerance up to `foldToleranceRows` rows, loosen in
    /// proportion beyond, and stop loosening at the cap.
    func testFoldToleranceScalesWithTheFoldRows() {
        let cv = RegressionCV(balanced: true, solver: LogisticRegression(gradientTolerance: 1e-4))
        let unit = RegressionCV.foldToleranceRows
        XCTAssertEqual(cv.foldSolver(rows: 50).gradientTolerance, 1e-4)
        XCTAssertEqual(cv.foldSolver(rows: unit).gradientTolerance, 1e-4)
        XCTAssertEqual(cv.foldSolver(rows: 4 * unit).gradientTolerance, 4e-4, accuracy: 1e-12)
        XCTAssertEqual(cv.foldSolver(rows: 1000 * unit).gradientTolerance, 1e-4 * RegressionCV.defaultMaxFoldToleranceFactor,
                       accuracy: 1e-12)
        XCTAssertEqual(RegressionCV(balanced: true, maxFoldToleranceFactor: 1).foldSolver(rows: 1000 * unit).gradientTolerance,
                       cv.solver.gradientTolerance)
    }

    /// The selection reports every solve, in order, ending at its total: each space's path,
    /// each fold's generated candidate, the logit adjustment's paths (the folds of every
    /// assignment in turn), the refit.
    func testSelectionReportsEverySolve() throws {
        let data = LongTailedGaussians(seed: 31)
        let spaces = [CrossValidatedSelection.Space(name: "a", features: data.train.features)]
        var seen: [FitProgress] = []
        _ = try CrossValidatedSelection.select(spaces: spaces, labels: data.train.labels, numClasses: data.numClasses, folds: 3,
                                               grid: [0.1, 1, 10], seed: 2, progress: { seen.append($0) })
        let r = StratifiedFolds.defaultRepetitions
        let total = (1 + r) * 3 * 3 + 3 + 1
        XCTAssertEqual(seen.map(\.done), Array(0...total))
        XCTAssertTrue(seen.allSatisfy { $0.total == total })
        // Each report names the step that runs next: the first solve, the second grid point
        // after it, the first generated fold after the last path solve, the refit last.
        XCTAssertEqual(seen[0].step, "C on a: fold 1/3, C = 0.1")
        XCTAssertEqual(seen[1].step, "C on a: fold 1/3, C = 1.0")
        XCTAssertEqual(seen[3].step, "C on a: fold 2/3, C = 0.1")
        XCTAssertTrue(seen[9].step.hasSuffix(": fold 1/3") && !seen[9].step.contains("C ="), seen[9].step)
        XCTAssertEqual(seen[12].step, "logit-adjusted-lr: fold 1/\(3 * r), C = 0.1")
        XCTAssertEqual(seen[12 + 9].step, "logit-adjusted-lr: fold 4/\(3 * r), C = 0.1", "the second assignment's first fold")
        XCTAssertEqual(seen[total - 1].step, "refitting the chosen candidate on every row")
    }

    /// The logit-adjusted candidate is `LogitAdjustedRegression`'s fit over the regression
    /// of its class-weight power: at power 0 the candidate's `C`, `τ`, per-fold scores and
    /// refitted model are exactly `--method logit-adjust`'s on the same rows and folds; at
    /// the recommended power 1/2 the refit is the square-root-weighted regression, shifted.
    func testLogitAdjustedCandidateFollowsItsClassWeightPower() throws {
        let data = LongTailedGaussians(seed: 41)
        var x = data.train.features
        for i in x.data.indices { x.data[i] -= 0.5 }   // signed: the logit adjustment stands
        let rows = LabeledFeatures(features: x, labels: data.train.labels, numClasses: data.numClasses)
        let folds = StratifiedFolds(labels: rows.labels, numClasses: rows.numClasses, folds: 5, seed: 6)
        let repeated = StratifiedFolds.repeated(labels: rows.labels, numClasses: rows.numClasses, folds: 5, seed: 6)
        let la = try LogitAdjustedRegression(C: .crossValidated, solver: LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000))
            .fit(FitData(rows: rows, folds: folds, repeatedFolds: repeated, seed: 6), log: { _ in })
        let spaces = [CrossValidatedSelection.Space(name: "raw", features: x)]
        let counts = LabeledFeatures.counts(of: rows.labels, numClasses: rows.numClasses)
        var models: [LinearModel] = []
        for power in [0, LogitAdjustedRegression.Settings.recommendedClassWeightPower] {
            let out = try CrossValidatedSelection.select(spaces: spaces, labels: rows.labels, numClasses: rows.numClasses, seed: 6,
                                                         logitAdjustedWeightPower: power, default: .logitAdjusted)
            let cand = try XCTUnwrap(out.candidates.last)
            XCTAssertEqual(cand.name, CrossValidatedSelection.logitAdjustedName)
            XCTAssertTrue(cand.summary.contains("class weight \(LogitAdjustedRegression.classWeight(power))"), cand.summary)
            let scaler = FeatureScaler(fitting: x)
            let refit = try RegressionCV(classWeightPower: power).refit(scaler.apply(x), labels: rows.labels,
                                                                         numClasses: rows.numClasses, C: cand.C)
            let model = scaler.rawModel(refit).logitAdjusted(tau: try XCTUnwrap(cand.tau), classCounts: counts)
            if out.chosen == out.candidates.count - 1 { XCTAssertEqual(out.model, model, "power \(power)") }
            models.append(model)
            if power == 0 {
                XCTAssertEqual(cand.C, la.chosen["C"]); XCTAssertEqual(cand.tau, la.chosen["tau"])
                XCTAssertEqual(model, la.model, "--method logit-adjust's classifier")
            }
        }
        XCTAssertNotEqual(models[0], models[1], "the weights change the fit")
    }

    /// With a whitening power the logit-adjusted candidate is fitted on the rows as they are
    /// and on `PartialWhitening`'s, and keeps the one whose held-out recall over every
    /// assignment's folds is higher; its refit is the regression on those rows, scaled,
    /// mapped back through both transforms and shifted. The other candidates do not change.
    /// Each side wins once: on the Gaussian classes as drawn, and on the same rows shrunk
    /// beside six loud noise columns, where whitening evens the penalty out. The recommended
    /// command offers the whitening on signed rows only.
    func testLogitAdjustedCandidateReadsPartiallyWhitenedRowsWhenTheyScoreHigher() throws {
        let p = LogitAdjustedRegression.Settings.recommendedWhiteningPower
        let data = LongTailedGaussians(seed: 41)
        let y = data.train.labels, c = data.numClasses
        var drawn = data.train.features
        for i in drawn.data.indices { drawn.data[i] -= 0.5 }
        var rng = Xoshiro256(seed: 5)
        var quiet = drawn
        for i in quiet.data.indices { quiet.data[i] *= 0.05 }
        let loud = Matrix<Float>(rows: drawn.rows, cols: 6, data: (standardNormals(drawn.rows * 6, using: &rng) as [Float]).map { 5 * $0 })
        var picked: [Bool] = []
        for x in [drawn, Matrix.horizontalJoin(quiet, loud)] {
            let spaces = [CrossValidatedSelection.Space(name: "raw", features: x)]
            let plain = try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: c, seed: 6, default: .logitAdjusted)
            let out = try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: c, seed: 6,
                                                         logitAdjustedWhitening: p, default: .logitAdjusted)
            XCTAssertNil(plain.whitening)
            XCTAssertEqual(Array(out.candidates.dropLast()), Array(plain.candidates.dropLast()))
            let w = try PartialWhitening(fitting: x, power: p), z = w.apply(x)
            let folds = StratifiedFolds(labels: y, numClasses: c, folds: 5, seed: 6)
            let laFolds = LogitAdjustedRegression.assignments(folds, StratifiedFolds.repeated(labels: y, numClasses: c, folds: 5, seed: 6),
                                                              shifts: LogitAdjustedRegression.Settings.tauGrid)
            let cv = RegressionCV(classWeightPower: LogitAdjustedRegression.Settings.recommendedClassWeightPower,
                                  solver: LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000))
            func mean(_ rows: Matrix<Float>) throws -> (RegressionCV.Path, Double) {
                let path = try LogitAdjustedRegression.path(cv, rows, labels: y, numClasses: c, folds: laFolds,
                                                            shifts: LogitAdjustedRegression.Settings.tauGrid, progress: nil)
                return (path, RegressionCV.meanAndStandardError(path.scores[path.best]).mean)
            }
            let (asTheyAre, a) = try mean(x), (whitened, b) = try mean(z)
            let whitens = b > a
            picked.append(whitens)
            XCTAssertEqual(out.whitening, whitens ? w : nil)
            let cand = try XCTUnwrap(out.candidates.last), path = whitens ? whitened : asTheyAre
            XCTAssertEqual(cand.C, path.chosen); XCTAssertEqual(cand.tau, path.chosenShift)
            XCTAssertEqual(cand.summary.contains(", centred, covariance^(−\(p))"), whitens, cand.summary)
            XCTAssertTrue(cand.summary.contains("held-out recall"), cand.summary)
            let rows = whitens ? z : x, scaler = FeatureScaler(fitting: rows)
            let fitted = scaler.rawModel(try cv.refit(scaler.apply(rows), labels: y, numClasses: c, C: cand.C))
            let model = (whitens ? w.rawModel(fitted) : fitted)
                .logitAdjusted(tau: try XCTUnwrap(cand.tau), classCounts: LabeledFeatures.counts(of: y, numClasses: c))
            if out.chosen == out.candidates.count - 1 { XCTAssertEqual(out.model, model) }
        }
        XCTAssertEqual(Set(picked), [true, false], "each side wins on one of the data sets: \(picked)")

        let gr = GeneratedRegression(generator: GeneratedRegression.recommendedGenerator, headThreshold: nil, C: .crossValidated,
                                     solver: LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000))
        let estimator = RecommendedSelection(generated: gr, offerRawSpace: false, spaceName: "raw")
        let x = drawn
        var nonNegative = x
        let low = x.data.min()!
        for i in nonNegative.data.indices { nonNegative.data[i] -= low }
        for (rows, offered) in [(x, true), (nonNegative, false)] {
            let fitData = FitData(rows: LabeledFeatures(features: rows, labels: y, numClasses: c),
                                  folds: StratifiedFolds(labels: y, numClasses: c, folds: 5, seed: 6), seed: 6)
            let fitted = try estimator.fit(fitData, log: { _ in })
            let laLine = try XCTUnwrap(fitted.grid?.last?.detail)
            XCTAssertEqual(laLine.contains("covariance^("), offered, laLine)
        }
    }

    /// The selection's folds run at once (each space's path, the generated candidate's
    /// folds, the logit adjustment's assignments, on the rows as they are and whitened) give,
    /// bit for bit, what one thread gives, on one space and on two (the two-view blend).
    func testSelectionDoesNotDependOnTheThreadCount() throws {
        let data = LongTailedGaussians(seed: 37)
        let raw = data.train.features
        var shifted = raw, root = raw
        for i in raw.data.indices { shifted.data[i] = abs(raw.data[i]); root.data[i] = shifted.data[i].squareRoot() }
        let before = blasThreadCount
        defer { setBLASThreadCount(before) }
        for spaces in [[CrossValidatedSelection.Space(name: "a", features: raw)],
                       [CrossValidatedSelection.Space(name: "a", features: shifted),
                        CrossValidatedSelection.Space(name: "b", features: root)]] {
            var outcomes: [CrossValidatedSelection.Outcome] = []
            for threads in [1, 4] {
                setBLASThreadCount(threads)
                outcomes.append(try CrossValidatedSelection.select(
                    spaces: spaces, labels: data.train.labels, numClasses: data.numClasses, folds: 3, grid: [0.1, 1, 10], seed: 5,
                    logitAdjustedWhitening: LogitAdjustedRegression.Settings.recommendedWhiteningPower))
            }
            XCTAssertEqual(outcomes[0].candidates, outcomes[1].candidates, "\(spaces.count) spaces")
            XCTAssertEqual(outcomes[0].whitening, outcomes[1].whitening)
            XCTAssertEqual(outcomes[0].paths, outcomes[1].paths)
            XCTAssertEqual(outcomes[0].chosen, outcomes[1].chosen)
            XCTAssertEqual(outcomes[0].model, outcomes[1].model)
            XCTAssertEqual(outcomes[0].candidates.count, 2 + spaces.count)
        }
    }

    /// The choice rule on constructed per-fold scores: the generated blend stays unless the
    /// chosen regression beats it significantly (corrected resampled t-test at 5 %); a later
    /// regression replaces an earlier one when it beats it by more than one paired SE.
    func testChoiceKeepsTheBlendUnlessARegressionClearlyBeatsIt() {
        func cand(_ scores: [Double]) -> CrossValidatedSelection.Candidate {
            .init(name: "", summary: "", space: 0, C: 1, scores: scores, mean: RegressionCV.meanAndStandardError(scores).mean,
                  standardError: 0, pairedDifference: 0, pairedStandardError: 0)
        }
        /// The blend last, no challenger.
        func pick(_ c: [CrossValidatedSelection.Candidate]) -> Int {
            CrossValidatedSelection.choose(c, default: c.count - 1, blend: c.count - 1)
        }
        let base = [0.80, 0.82, 0.78, 0.81, 0.79]
        let noisyBetter = zip(base, [0.02, -0.01, 0.03, -0.02, 0.01]).map { $0 + $1 }   // +0.006 ± 0.009
        let clearlyBetter = base.map { $0 + 0.02 }                                       // +0.02 ± 0
        let worse = base.map { $0 - 0.01 }
        // Blend within one SE of the regression (either side): the blend.
        XCTAssertEqual(pick([cand(noisyBetter), cand(base)]), 1)
        XCTAssertEqual(pick([cand(base), cand(noisyBetter)]), 1)
        // The regression clearly better: the regression.
        XCTAssertEqual(pick([cand(clearlyBetter), cand(base)]), 0)
        // Two spaces: the second regression clearly beats the first and the blend.
        XCTAssertEqual(pick([cand(base), cand(clearlyBetter), cand(worse)]), 1)
        // The second regression only noisily better than the first: the first is compared with the blend.
        XCTAssertEqual(pick([cand(clearlyBetter), cand(noisyBetter), cand(base)]), 0)
        XCTAssertEqual(pick([cand(base), cand(noisyBetter), cand(base)]), 2)
        // Better by 1.7 and by 2.7 naive SE: enough to replace a simpler regression (one-SE
        // rule), not the blend (the corrected resampled t-test over 5 folds needs 3.20).
        let by17 = zip(base, [0.02, -0.005, 0.03, 0.0, 0.01]).map { $0 + $1 }   // +0.011 ± 0.0064
        let by27 = zip(base, [0.02, 0.0, 0.03, 0.01, 0.01]).map { $0 + $1 }     // +0.014 ± 0.0051
        XCTAssertEqual(pick([cand(by17), cand(base)]), 1)
        XCTAssertEqual(pick([cand(by27), cand(base)]), 1)
        XCTAssertEqual(pick([cand(base), cand(by17), cand(base.map { $0 - 0.05 })]), 1)
        // Better by 5.7 naive SE: significant, the regression replaces the blend.
        let by57 = zip(base, [0.02, 0.01, 0.03, 0.015, 0.02]).map { $0 + $1 }   // +0.019 ± 0.0033
        XCTAssertEqual(pick([cand(by57), cand(base)]), 0)
        // A challenger after the blend (the logit adjustment) obeys the same test, and of
        // two significant ones the better mean wins.
        let la = { (c: [CrossValidatedSelection.Candidate]) in CrossValidatedSelection.choose(c, default: 1, blend: 1) }
        XCTAssertEqual(la([cand(base), cand(base), cand(by57)]), 2)
        XCTAssertEqual(la([cand(base), cand(base), cand(by27)]), 1)
        XCTAssertEqual(la([cand(by57), cand(base), cand(base.map { $0 + 0.03 })]), 2)
        XCTAssertEqual(la([cand(base.map { $0 + 0.03 }), cand(base), cand(by57)]), 0)
        // The logit adjustment standing (signed features): the blend and the regression are
        // the challengers, under the same test.
        let signed = { (c: [CrossValidatedSelection.Candidate]) in CrossValidatedSelection.choose(c, default: 2, blend: 1) }
        XCTAssertEqual(signed([cand(base), cand(by27), cand(base)]), 2)
        XCTAssertEqual(signed([cand(base), cand(by57), cand(base)]), 1)
        XCTAssertEqual(signed([cand(by57), cand(base), cand(base)]), 0)
        XCTAssertEqual(signed([cand(base), cand(base), cand(noisyBetter)]), 2)
    }

    /// The standing candidate follows the sign of the features: a single negative entry
    /// makes them signed; with logit adjustment standing the selection keeps it unless the
    /// blend or the regression beats it significantly.
    func testTheStandingCandidateFollowsTheFeaturesSign() throws {
        XCTAssertEqual(CrossValidatedSelection.Default.of(Matrix(rows: 2, cols: 2, data: [0, 1, 2, 3])), .generated)
        XCTAssertEqual(CrossValidatedSelection.Default.of(Matrix(rows: 2, cols: 2, data: [0, 1, -0.001, 3])), .logitAdjusted)
        let data = LongTailedGaussians(seed: 31)
        let x = Matrix.verticalJoin(data.train.features, data.validation.features)
        let y = data.train.labels + data.validation.labels
        let space = [CrossValidatedSelection.Space(name: "a", features: x)]
        let out = try CrossValidatedSelection.select(spaces: space, labels: y, numClasses: data.numClasses, seed: 2,
                                                     default: .logitAdjusted)
        let expected = CrossValidatedSelection.choose(out.candidates, default: 2, blend: 1)
        XCTAssertEqual(out.chosen, expected)
        let standing = try CrossValidatedSelection.select(spaces: space, labels: y, numClasses: data.numClasses, seed: 2)
        XCTAssertEqual(standing.candidates, out.candidates, "the default changes the choice, not the scores")
    }

    /// The t quantiles the blend rule uses: scipy's `t.ppf(0.95, df)` to the table's three
    /// decimals, decreasing in `df`, and the normal quantile's limit.
    func testStudentT95MatchesScipyAndDecreases() {
        let scipy: [(Int, Double)] = [(1, 6.3138), (4, 2.1318), (9, 1.8331), (30, 1.6973), (31, 1.6955), (60, 1.6706),
                                      (1000, 1.6464)]
        for (df, t) in scipy {
            XCTAssertEqual(CrossValidatedSelection.studentT95(degreesOfFreedom: df), t, accuracy: 2e-3, "df \(df)")
        }
        for df in 1..<200 {
            XCTAssertGreaterThan(CrossValidatedSelection.studentT95(degreesOfFreedom: df),
                                 CrossValidatedSelection.studentT95(degreesOfFreedom: df + 1), "df \(df)")
        }
        XCTAssertEqual(CrossValidatedSelection.studentT95(degreesOfFreedom: 1_000_000), 1.6449, accuracy: 1e-4)
        // The corrected test's threshold in naive SEs: t₀.₉₅(K−1)·√(1 + K/(K−1)).
        XCTAssertEqual(CrossValidatedSelection.correctedThreshold(folds: 5), 2.1318 * 1.5, accuracy: 2e-3)
        XCTAssertEqual(CrossValidatedSelection.correctedThreshold(folds: 10), 1.8331 * (1 + 10.0 / 9).squareRoot(), accuracy: 2e-3)
    }

    /// The selection obeys its documented rule on the scores it reports, the refit is the
    /// chosen candidate on every row, and it is deterministic.
    func testSelectionFollowsItsPairedRules() throws {
        let data = LongTailedGaussians(seed: 31)
        let x = Matrix.verticalJoin(data.train.features, data.validation.features)
        let y = data.train.labels + data.validation.labels
        var shifted = x
        for i in 0..<shifted.data.count { shifted.data[i] = shifted.data[i] * 1.5 + 4 }
        let spaces = [CrossValidatedSelection.Space(name: "a", features: x), .init(name: "b", features: shifted)]
        let out = try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: data.numClasses, seed: 2)
        XCTAssertEqual(out.candidates.map(\.name), ["balanced-lr (a)", "balanced-lr (b)", "generated-lr", "logit-adjusted-lr"])
        XCTAssertEqual(out.candidates.map(\.space), [0, 1, 1, 1])
        XCTAssertEqual(out.candidates.map { $0.tau != nil }, [false, false, false, true])
        func beats(_ i: Int, _ j: Int, by factor: Double) -> Bool {
            let d = zip(out.candidates[i].scores, out.candidates[j].scores).map { $0 - $1 }
            let s = RegressionCV.meanAndStandardError(d)
            return s.mean > factor * s.se
        }
        let regression = beats(1, 0, by: 1) ? 1 : 0
        let t = 2.1318 * 1.5   // t₀.₉₅(4)·√(1 + 5/4): 5 folds
        let significant = [regression, 3].filter { beats($0, 2, by: t) }
        let chosen = significant.count == 2 ? (out.candidates[3].mean > out.candidates[regression].mean ? 3 : regression)
            : significant.first ?? 2
        XCTAssertEqual(out.chosen, chosen)
        // x ↦ 1.5·x + 4 is the same problem after scaling: same C path.
        XCTAssertEqual(out.paths[0].best, out.paths[1].best)
        if chosen == 3 {
            let scaler = FeatureScaler(fitting: spaces[1].features)
            let direct = try RegressionCV(classWeightPower: LogitAdjustedRegression.Settings.recommendedClassWeightPower)
                .refit(scaler.apply(spaces[1].features), labels: y, numClasses: data.numClasses, C: out.choice.C)
            XCTAssertEqual(scaler.rawModel(direct).logitAdjusted(tau: out.choice.tau!, classCounts: LabeledFeatures.counts(of: y, numClasses: data.numClasses)),
                           out.model)
        } else if chosen < 2 {
            let scaler = FeatureScaler(fitting: spaces[chosen].features)
            let direct = try RegressionCV(balanced: true).refit(scaler.apply(spaces[chosen].features), labels: y,
                                                              numClasses: data.numClasses, C: out.choice.C)
            XCTAssertEqual(scaler.rawModel(direct), out.model)
        }
        let again = try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: data.numClasses, seed: 2)
        XCTAssertEqual(again.model, out.model)
        XCTAssertEqual(again.candidates, out.candidates)
    }

    /// With two spaces the kept blend reads two views: the generated-set regression on the
    /// last space, the class-weighted regression on the first at that space's own `C*`
    /// (weight 1 − blend); without `twoView`, or at blend 1, one head on the last space.
    func testKeptBlendReadsTwoViewsWithTheFirstSpacesRegression() throws {
        let data = LongTailedGaussians(seed: 31)
        let x = Matrix.verticalJoin(data.train.features, data.validation.features)
        let y = data.train.labels + data.validation.labels
        var t = x
        for i in 0..<t.data.count { let v = t.data[i]; t.data[i] = v + v * v * v / 10 }   // a non-affine second space
        let spaces = [CrossValidatedSelection.Space(name: "raw", features: x), .init(name: "cubic", features: t)]
        let out = try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: data.numClasses, seed: 2)
        XCTAssertEqual(out.chosen, 2, "the fixture keeps the blend")
        XCTAssertTrue(out.twoView)
        XCTAssertTrue(out.candidates[2].summary.contains("at C* = \(out.paths[0].chosen) on raw"), out.candidates[2].summary)
        let d = x.cols
        XCTAssertEqual(out.model.dim, 2 * d)
        let scaler = FeatureScaler(fitting: x)
        let partner = scaler.rawModel(try RegressionCV(balanced: true).refit(scaler.apply(x), labels: y, numClasses: data.numClasses,
                                                                              C: out.paths[0].chosen))
        let raw = out.model.splitViews(transformedDim: d).raw
        XCTAssertEqual(raw.data, partner.weight.data.map { 0.5 * $0 }, "the raw head is half the first space's regression")
        let one = try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: data.numClasses, twoView: false, seed: 2)
        XCTAssertFalse(one.twoView)
        XCTAssertEqual(one.model.dim, d)
        XCTAssertEqual(one.candidates.prefix(2), out.candidates.prefix(2), "the regressions do not depend on the blend's partner")
        XCTAssertNotEqual(one.candidates[2].scores, out.candidates[2].scores)
        XCTAssertFalse(try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: data.numClasses, blend: 1, seed: 2).twoView)
    }

    /// With the memory head, the generated blend's held-out logits are kept from its fold fits
    /// rather than refitted: the choice they give is the one the blend refitted on each fold's
    /// training rows (`Winner.fit`, reading both views of the held-out rows) gives.
    func testMemoryChoiceReadsTheGeneratedBlendsOwnFoldFits() throws {
        let data = LongTailedGaussians(seed: 31)
        let x = Matrix.verticalJoin(data.train.features, data.validation.features)
        let y = data.train.labels + data.validation.labels, c = data.numClasses
        var t = x
        for i in 0..<t.data.count { let v = t.data[i]; t.data[i] = v + v * v * v / 10 }
        let spaces = [CrossValidatedSelection.Space(name: "raw", features: x), .init(name: "cubic", features: t)]
        let out = try CrossValidatedSelection.select(spaces: spaces, labels: y, numClasses: c, seed: 2, withMemory: true)
        XCTAssertEqual(out.chosen, 2, "the fixture keeps the blend")
        let kept = try XCTUnwrap(out.memoryChoice)
        let solver = LogisticRegression(gradientTolerance: 1e-4, maxIterations: 1000)
        var gr = GeneratedRegression(generator: GeneratedRegression.recommendedGenerator, headThreshold: nil, C: .crossValidated,
                                     solver: solver)
        gr.grid = RegressionCV.defaultGrid
        let winner = CrossValidatedSelection.Winner(
            pick: out.choice, generated: true, twoView: true, spaces: spaces, labels: y, numClasses: c, paths: out.paths, gr: gr,
            balanced: RegressionCV(balanced: true, solver: solver), adjusted: RegressionCV(balanced: false, solver: solver),
            adjustedRows: t, whitening: nil, seed: 2)
        let folds = StratifiedFolds(labels: y, numClasses: c, folds: StratifiedFolds.defaultCount, seed: 2)
        let refitted = try CrossValidatedSelection.memoryChoice(spaces[1], labels: y, numClasses: c, folds: folds, heldOutLogits: { f in
            try winner.fit(folds.training(f)).logits(winner.rows(folds.heldOut(f)))
        }, log: nil, step: { _ in })
        XCTAssertEqual(kept.weight, refitted.weight)
        XCTAssertEqual(kept.temperature, refitted.temperature)
        XCTAssertEqual(kept.linearFoldScores, refitted.linearFoldScores)
        for (a, b) in zip(kept.scores, refitted.scores) { XCTAssertEqual(a, b, accuracy: 1e-9) }
    }

    /// Tail classes of a few rows drawn from Gaussians that share one covariance with the head
    /// classes are what the generator models: the generated set helps their recall.
    func testGeneratedRegressionHelpsTailRecallOnSharedCovarianceData() throws {
        let data = LongTailedGaussians(seed: 7, counts: [400, 300, 200, 6, 5, 4, 4, 3], dim: 10)
        let x = data.train.features, y = data.train.labels
        let scaler = FeatureScaler(fitting: x)
        let counts = data.train.classCounts
        var gr = GeneratedRegression(generator: GeneratedRegression.recommendedGenerator, headThreshold: nil, C: .fixed(1),
                                     solver: LogisticRegression(gradientTolerance: 1e-4))
        gr.blend = 1
        XCTAssertEqual(gr.generator(counts: counts).headThreshold, 134)
        let gen = try gr.fit(FitData(rows: data.train, seed: 3), log: { _ in }).model
        let plain = scaler.rawModel(try RegressionCV(balanced: false).fit(scaler.apply(x), labels: y, numClasses: data.numClasses, C: 1))
        let tail = Array(3..<data.numClasses)
        func tailRecall(_ m: LinearModel) -> Double {
            let met = Metrics(model: m, features: data.test.features, labels: data.test.labels, trainCounts: counts)
            return tail.map { met.perClass[$0]! }.reduce(0, +) / Double(tail.count)
        }
        XCTAssertGreaterThan(tailRecall(gen), tailRecall(plain) + 0.05, "generated \(tailRecall(gen)) vs plain \(tailRecall(plain))")
    }
}
