import AFG
import ArgumentParser
import Classifier
import FeatureIO
import Foundation
import Linalg

/// What `afg train`'s fit step gives the write and report steps.
struct TrainOutcome {
    var model: LinearModel
    var classCounts: [Int]
    /// The method name recorded in the file (`glag-no-kd`, `crt-lbfgs-balanced`, …).
    var method: String
    /// The Tukey λ the classifier expects (recorded in the file).
    var lambda: Float?
    /// The classifier file's `config` attribute (docs/FORMAT.md).
    var record: String
    /// The validation rows in the classifier's input space, when not the transformed ones
    /// (a two-view classifier's: `[T(x) | x]`).
    var validationFeatures: Matrix<Float>? = nil
    var notes: [String] = []
    /// `p` / `τ` chosen on validation (post-hoc methods).
    var chosen: [String: Double] = [:]
    var history: [EpochReport]? = nil
    /// `--select-on-val`: the chosen setting and every setting's scores.
    var selected: String? = nil
    var grid: [GridScore]? = nil
    var seconds = 0.0
    /// `model` reads `[T(x) | x]` (`LinearModel.twoView`): the file gets a `raw_weight` head.
    var twoView = false
    /// The cross-validated score of what was chosen (a cross-validated lbfgs fit).
    var crossValidation: CrossValidationScore? = nil
    /// The classifier was refitted on the validation rows: no validation score is reported.
    var trainedOnValidation = false
    /// A memory head mixed into `model`'s scores (`--select-on-val`), reading the rows `model`'s
    /// `weight` head reads.
    var memory: MemoryHead? = nil
}

/// One grid setting's validation scores (`--select-on-val`, either solver).
struct GridScore {
    var name: String, recall: Double, overall: Double
    /// Printed after the score (the lbfgs grid's setting summary).
    var detail = ""
    init(name: String, recall: Double, overall: Double, detail: String) {
        self.name = name; self.recall = recall; self.overall = overall; self.detail = detail
    }
    init(_ e: GLAGSelection.Entry, detail: Bool) {
        name = e.name; recall = e.validationMeanRecall; overall = e.validationAccuracy; self.detail = detail ? e.summary : ""
    }
    init(_ e: Fitted.GridEntry) { name = e.name; recall = e.score; overall = .nan; detail = e.detail }
}

extension Train {
    /// The fit step: an SGD run, the SGD grid, or the lbfgs path's estimator, each returning
    /// the same outcome.
    func fit(_ data: TrainData) throws -> TrainOutcome {
        let console = output.console
        if solverKind == .sgd {
            // In-epoch progress (rows/s, ETA) for long epochs; off the arithmetic.
            let quiet = output.quiet || !Job.ranks.isRoot   // under MPI, rank 0 draws the progress
            let progress = EpochProgress(quiet: quiet)
            var base = config
            if !quiet { base.sgd.progress = BatchProgressSink { progress.report($0) } }
            return solverOptions.selectOnVal ? try fitSGDSelection(data, console, base, progress)
                : try fitSGD(data, console, base, progress)
        }
        return try fitEstimator(data, console)
    }

    /// Progress line of one SGD epoch.
    func epochLine(_ r: EpochReport) -> String {
        var line = "\(r.phase == 1 ? "lws " : "")epoch \(r.epoch + 1)/\(sgd.config.epochs)  loss \(String(format: "%.4f", r.loss))"
        if r.kdLoss > 0 { line += " (kd \(String(format: "%.4f", r.kdLoss)))" }
        line += "  val \(pct(r.valAccuracy))  few \(pct(r.valFew))  \(Int(r.rowsPerSecond)) rows/s"
        if let b = r.meanTailBeta { line += String(format: "  mean tail β %.3f", b) }
        return line
    }

    /// One method on the SGD path (`Trainer`), with checkpoints and resume.
    func fitSGD(_ data: TrainData, _ console: Console, _ config: TrainConfig, _ progress: EpochProgress) throws -> TrainOutcome {
        let cfg = config
        let trainer: Trainer
        do { trainer = try Trainer(config: cfg, inputs: data.inputs, share: try rowShare(data)) } catch let e as TrainError {
            throw CLIError("\(e)")
        }
        if Job.isDistributed { console.line("train: data-parallel SGD on \(Job.ranks.size) ranks, gradients summed every step") }
        let ckpt = out + ".ckpt"
        var state: TrainingState?
        if checkpoints.resume {
            if FileManager.default.fileExists(atPath: ckpt) {
                guard let bytes = FileManager.default.contents(atPath: ckpt) else { throw CLIError("\(ckpt): cannot read") }
                do { state = try TrainingState(encoded: [UInt8](bytes)) } catch { throw CLIError("\(ckpt): \(error)") }
                console.line("resuming from \(ckpt) after epoch \(state!.epochsDone) (phase \(state!.phase))")
            } else {
                console.line("no checkpoint at \(ckpt): starting from scratch")
            }
        }
        trainer.checkpointEvery = checkpoints.checkpointEvery
        trainer.onCheckpoint = { s in
            let bytes = Data(s.encoded())
            try writeAtomically(to: ckpt) { tmp in
                // A plain write: Foundation's atomic write would leave its own hidden
                // temporary file behind when killed.
                do { try bytes.write(to: URL(fileURLWithPath: tmp)) } catch {
                    throw CLIError("\(ckpt): cannot write the checkpoint (disk full?)")
                }
            }
        }
        if !output.quiet { trainer.onEpoch = { progress.clear(); console.line(epochLine($0)) } }
        let result: TrainResult
        do { result = try trainer.run(resumingFrom: state) } catch let e as TrainError { throw CLIError("\(e)") }
        for n in result.notes { console.line("note: \(n)") }
        if FileManager.default.fileExists(atPath: ckpt) { try? FileManager.default.removeItem(atPath: ckpt) }
        let lambda = result.inputSpace == .transformed ? data.lambda : data.teacherLambda
        return TrainOutcome(model: result.model, classCounts: result.classCounts, method: methodName, lambda: lambda,
                            record: SGDRecord(cfg, result: result, lambda: lambda).json,
                            validationFeatures: result.inputSpace == .raw ? data.inputs.rawVal : nil,
                            notes: result.notes, chosen: result.chosen, history: result.history)
    }

    /// Every rank's training rows as seen from this one (under mpirun): the global index of
    /// this rank's first row, every rank's labels in rank order, and with `features` every
    /// rank's rows (`N × D` on each rank). Gathers across ranks; call on every rank.
    func gatheredTraining(_ t: LabeledFeatures, features: Bool) throws -> (first: Int, labels: [Int32], rows: Matrix<Float>?) {
        let ranks = Job.ranks
        let counts = try ranks.allGather([Double(t.labels.count)])
        let labels = try ranks.allGather(t.labels.map { Double($0) }).map { Int32($0) }
        let rows = features ? Matrix(rows: labels.count, cols: t.features.cols, data: try ranks.allGather(t.features.data)) : nil
        return (Int(counts[..<ranks.rank].reduce(0, +)), labels, rows)
    }

    /// Under mpirun, this rank's training rows moved so that they start at a multiple of
    /// `blockRows` in the one-process order: with `up(x) = min(N, ⌈x/B⌉·B)`, the rank that
    /// held `[first, end)` holds `[up(first), up(end))` (nothing when no multiple of `B`
    /// falls in its rows). `LogisticRegression` then sums the very blocks one process sums,
    /// and its solve is the one-process solve. Rows move between neighbours only: each
    /// rank hands over its rows below `up(first)` (fewer than `B`), gathered by every rank
    /// (at most `size·(B−1)` rows); the order of the rows does not change.
    func blockAligned(_ t: LabeledFeatures, blockRows b: Int) throws -> LabeledFeatures {
        let ranks = Job.ranks, d = t.features.cols
        let counts = try ranks.allGather([Double(t.labels.count)]).map { Int($0) }
        var starts = [0]
        for c in counts { starts.append(starts.last! + c) }
        let n = starts.last!
        func up(_ x: Int) -> Int { min(n, (x + b - 1) / b * b) }
        // What rank q hands over: its global rows [starts[q], handed(q)).
        func handed(_ q: Int) -> Int { min(up(starts[q]), starts[q + 1]) }
        let first = starts[ranks.rank], end = starts[ranks.rank + 1], give = handed(ranks.rank) - first
        let pieces = try ranks.allGather(Array(t.features.data[0..<(give * d)]))
        let pieceLabels = try ranks.allGather(t.labels[0..<give].map(Double.init))
        var features = Array(t.features.data[(give * d)...]), labels = Array(t.labels[give...])
        if give < end - first {
            // This rank owns blocks: it takes the rows up to up(end) from the ranks after it.
            var offset = 0
            for q in 0..<ranks.size {
                let lo = starts[q], hi = handed(q)
                if q > ranks.rank && lo < up(end) {
                    let take = min(hi, up(end)) - lo
                    features += pieces[(offset * d)..<((offset + take) * d)]
                    labels += pieceLabels[offset..<(offset + take)].map { Int32($0) }
                }
                offset += hi - lo
            }
        }
        return LabeledFeatures(features: Matrix(rows: labels.count, cols: d, data: features), labels: labels,
                               numClasses: t.numClasses)
    }

    /// Under mpirun, this rank's place in the training rows (`RowShare`): the labels of
    /// every rank and where its own rows start, and for glag / tailcalib every rank's rows
    /// (the generator is built from all of them, as in `afg calibrate`). nil in one process.
    func rowShare(_ data: TrainData) throws -> RowShare? {
        guard Job.isDistributed else { return nil }
        let ranks = Job.ranks, local = data.inputs.train
        let all = try gatheredTraining(local, features: method == .glag || method == .tailcalib)
        return RowShare(rank: ranks.rank, size: ranks.size, globalLabels: all.labels, firstRow: all.first, localRows: local.labels.count,
                        allFeatures: all.rows, sum: Job.sum, sumFloats: { ranks.sum(&$0) })
    }

    /// `--select-on-val` on the SGD path: the documented grid of `GLAGSelection.sgdGrid`.
    func fitSGDSelection(_ data: TrainData, _ console: Console, _ config: TrainConfig,
                         _ progressLine: EpochProgress) throws -> TrainOutcome {
        let grid = GLAGSelection.sgdGrid(hasStageOne: data.inputs.teacher != nil)
        console.line("selecting on \(val!): \(grid.count) GLAG settings, score = validation mean per-class recall")
        let outcome: GLAGSelection.Outcome<(TrainResult, TrainConfig)>
        do {
            outcome = try GLAGSelection.selectSGD(
                base: config, inputs: data.inputs, grid: grid, inverseRegularization: solverOptions.inverseRegularization,
                progress: { progressLine.clear(); console.line(selectionLine($0)) })
        } catch { throw CLIError("\(train): \(error)") }
        let (result, cfg) = outcome.run
        for n in result.notes { console.line("note: \(n)") }
        let scores = outcome.entries.map { GridScore($0, detail: false) }
        let chosen = grid[outcome.bestIndex].name
        let lambda = data.lambda
        var record = SGDRecord(cfg, result: result, lambda: lambda)
        record.selection = .init(chosen: chosen, rule: "best validation mean per-class recall (the first in grid order on ties)",
                                 grid: scores.map { .init(name: $0.name, valMeanRecall: $0.recall, valOverall: $0.overall) })
        return TrainOutcome(model: result.model, classCounts: result.classCounts, method: methodName, lambda: lambda,
                            record: record.json, notes: result.notes, history: result.history, selected: chosen, grid: scores)
    }

    /// Progress line of one scored grid setting.
    func selectionLine(_ e: GLAGSelection.Entry) -> String {
        "  \(e.name): val mean recall \(pct(e.validationMeanRecall)), overall \(pct(e.validationAccuracy)) (\(String(format: "%.1f", e.seconds)) s)"
    }
}

/// The classifier file's `config` record of an SGD run (docs/FORMAT.md): the run's
/// `TrainConfig`, its input space, λ, the post-hoc choices and, after the SGD grid, the
/// selection. Canonical JSON (sorted keys).
struct SGDRecord: Encodable {
    struct Entry: Encodable {
        var name: String, valMeanRecall: Double, valOverall: Double
        enum CodingKeys: String, CodingKey { case name, valMeanRecall = "val_mean_recall", valOverall = "val_overall" }
    }
    struct Selection: Encodable { var chosen: String, rule: String, grid: [Entry] }
    var config: TrainConfig
    var inputSpace: String
    var tukeyLambda: Float?
    var chosen: [String: Double]
    var selection: Selection?
    enum CodingKeys: String, CodingKey { case config, chosen, selection, inputSpace = "input_space", tukeyLambda = "tukey_lambda" }

    init(_ cfg: TrainConfig, result: TrainResult, lambda: Float?) {
        config = cfg; inputSpace = result.inputSpace.rawValue; tukeyLambda = lambda; chosen = result.chosen
    }

    var json: String { (try? encodeJSON(self, pretty: false)) ?? "{}" }
}
