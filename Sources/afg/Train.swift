import AFG
import ArgumentParser
import Classifier
import FeatureIO
import Foundation
import Linalg

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the stage-two linear classifier (GLAG or a baseline) on feature files.",
        discussion: """
        Features are Tukey-transformed with --tukey (default auto: 0.5 for non-negative \
        features, none for signed ones) before training; the \
        classifier file records λ so `afg evaluate` applies the same transform. Methods \
        lws, tau-norm and logit-adjust post-process the --teacher (on its own input \
        space) or, without one, a cross-entropy classifier trained here. Progress per \
        epoch goes to stderr; the summary (or --json) to stdout.
        """)

    @Option(help: "Stage-two method.") var method: Method
    @Option(name: .customLong("train"),
            help: "Training feature file (HDF5, .npz, .npy, .safetensors); repeat the flag, or quote a glob, for shards read as one data set in order.")
    var trainFiles: [String]
    @Option(name: .customLong("val"), help: "Validation feature file: adaptive β, choice of p / τ, progress (shards: as --train).")
    var valFiles: [String] = []
    @Option(help: "Stage-one classifier file g₁ (KD teacher, start point, base of the post-hoc methods): an afg classifier, or a head in HDF5 / .npz / .safetensors (weight + bias, or a PyTorch state_dict).")
    var teacher: String?
    @OptionGroup(title: "Heads") var head: HeadKeyOption
    @Option(help: "Output classifier file.") var out: String
    @Option(name: .customLong("seed"), help: "Random seed (shuffles, cross-validation folds, generation). Default: 0.")
    var givenSeed: UInt64?
    @OptionGroup(title: "Dataset keys") var datasets: DatasetKeyOptions
    @OptionGroup(title: "Class names") var classNames: ClassNameOptions
    @OptionGroup(title: "Tukey") var tukey: TukeyOptions
    @OptionGroup(title: "SGD") var sgd: SGDOptions
    @OptionGroup(title: "Generator (glag, tailcalib)") var generator: GeneratorOptions
    @OptionGroup(title: "GLAG") var glag: GLAGOptions
    @OptionGroup(title: "Converged solver") var solverOptions: SolverOptions
    @OptionGroup(title: "Shot groups") var shots: ShotOptions
    @OptionGroup(title: "Checkpoints") var checkpoints: CheckpointOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @OptionGroup(title: "Memory") var memory: MemoryOptions

    var seed: UInt64 { givenSeed ?? TrainConfig(method: .glag).seed }

    /// The training files as named in messages (the path itself for one file).
    var train: String { shardName(trainFiles) }
    /// The validation files as named in messages, nil without `--val`.
    var val: String? { valFiles.isEmpty ? nil : shardName(valFiles) }

    /// Every check that needs no file: settings in their intervals, the options that
    /// exclude or need each other, then every given flag against the path it selects.
    mutating func validate() throws {
        do { try config.checkSettings() } catch let e as SettingError { throw CLIError(e) } catch let e as TrainError {
            throw CLIError("\(e)")
        }
        trainFiles = try expandShards(trainFiles, flag: "--train")
        valFiles = try expandShards(valFiles, flag: "--val")
        let inputs = trainFiles.map { ("--train", $0) } + valFiles.map { ("--val", $0) } + (teacher.map { [("--teacher", $0)] } ?? [])
        try checkFiles(inputs: inputs, rows: Array(inputs.prefix(trainFiles.count + valFiles.count)),
                       outputs: [("--out", out), ("--out (checkpoint)", out + ".ckpt")])
        try checkingSettings { if let e = checkpoints.givenCheckpointEvery, e < 0 { throw CLIError("--checkpoint-every must be ≥ 0 (got \(e))") } }
        if solverKind == .lbfgs {
            guard [.glag, .crt, .ce, .logitAdjust, .balancedSoftmax].contains(method) else {
                throw CLIError("--solver lbfgs trains glag, crt, ce, logit-adjust or balanced-softmax; \(method.rawValue) uses --solver sgd")
            }
        }
        if solverOptions.selectOnVal && solverKind == .sgd {
            if val == nil { throw CLIError("--select-on-val on --solver sgd chooses on --val: give --val") }
            if glag.noKd { throw CLIError("--select-on-val chooses the KD teacher itself (no KD is one of its settings): drop --no-kd") }
        }
        if let r = TrainFlagRules.refusal(given: givenFlags, path: path) { throw CLIError(r) }
        if path.mode == .rounds && path.kdTeacher == .stageOne && teacher == nil {
            throw CLIError("--kd-teacher stage-one needs --teacher HEAD.h5")
        }
        if Job.isDistributed { try validateDistributed() }
    }

    /// The flags given on the command line that a path may not read (every optional option
    /// that is set, every flag that is on).
    var givenFlags: [String] {
        var f: [String] = []
        if teacher != nil { f.append("--teacher") }
        if head.headKey != nil { f.append("--head-key") }
        if givenSeed != nil { f.append("--seed") }
        if tukey.givenTukey != nil { f.append("--tukey") }
        if tukey.noTukey { f.append("--no-tukey") }
        f += sgd.optimiserGiven
        if sgd.lwsLr != nil { f.append("--lws-lr") }
        if sgd.epochRows != nil { f.append("--epoch-rows") }
        f += generator.given
        if glag.noAdaptive { f.append("--no-adaptive") }
        if glag.noKd { f.append("--no-kd") }
        f += glag.kdGiven + glag.betaGiven
        let o = solverOptions
        let solverFlags: [(Bool, String)] = [
            (o.inverseRegularizationChoice != nil, "--C"), (o.rounds != nil, "--rounds"), (o.kdTeacher != nil, "--kd-teacher"),
            (o.initialization != nil, "--init"), (o.selectOnVal, "--select-on-val"), (o.givenTolerance != nil, "--tolerance"),
            (o.givenBlend != nil, "--blend"), (o.givenCDivisor != nil, "--c-divisor"), (o.singleHead, "--single-head"), (o.noMemoryHead, "--no-memory-head"),
            (checkpoints.givenCheckpointEvery != nil, "--checkpoint-every"), (checkpoints.resume, "--resume"),
            (shots.givenMany != nil, "--many"), (shots.givenFew != nil, "--few"),
        ]
        return f + solverFlags.filter(\.0).map(\.1)
    }

    /// The path the options select.
    var path: TrainPath {
        let o = solverOptions
        let mode: TrainPath.Mode = o.selectOnVal ? .select : o.rounds != nil && solverKind == .lbfgs ? .rounds : .plain
        return TrainPath(method: method, solver: solverKind, mode: mode, teacher: teacher != nil, val: val != nil,
                         cAuto: solverKind == .lbfgs && regularization == .crossValidated, transform: !tukey.noTukey,
                         noKd: glag.noKd, noAdaptive: glag.noAdaptive, kdTeacher: o.kdTeacher ?? GLAGSolverConfig().teacher,
                         blend: o.blend, generations: mode == .rounds ? o.rounds! : sgd.config.epochs)
    }

    /// What runs under mpirun: `--solver lbfgs` with ce or crt at a given C, and every SGD
    /// method but lws data-parallel, without the budget, checkpoints or the SGD grid.
    func validateDistributed() throws {
        if solverKind == .lbfgs {
            if solverOptions.selectOnVal { throw CLIError("under mpirun, --select-on-val runs in one process") }
            if solverOptions.rounds != nil { throw CLIError("under mpirun, --rounds runs in one process") }
            if method == .logitAdjust || method == .balancedSoftmax {
                throw CLIError("under mpirun, \(method.rawValue) on lbfgs runs in one process (its τ scoring is not distributed)")
            }
            return
        }
        if method == .lws { throw CLIError("under mpirun, lws runs in one process (its scales are not data-parallel)") }
        if sgd.epochRows != nil { throw CLIError("under mpirun, --epoch-rows runs in one process") }
        if checkpoints.resume || checkpoints.checkpointEvery > 0 { throw CLIError("under mpirun, train does not checkpoint: drop --resume / --checkpoint-every") }
        if solverOptions.selectOnVal { throw CLIError("under mpirun, --select-on-val runs in one process") }
    }

    /// The solver this run uses (`--solver`, or its default for the method and flags).
    var solverKind: SolverOptions.Solver {
        solverOptions.effectiveSolver(method: method, streaming: sgd.epochRows != nil || checkpoints.resume
                                      || checkpoints.checkpointEvery > 0)
    }

    /// The SGD path's configuration (recorded in the classifier file).
    var config: TrainConfig {
        var c = TrainConfig(method: method)
        c.sgd = sgd.config
        c.seed = seed
        c.adaptive = !glag.noAdaptive; c.useKD = !glag.noKd
        c.kd = glag.kd
        c.generator = generator.config
        c.betaUpdate = glag.betaUpdate
        c.epochRows = sgd.epochRows
        c.lwsLearningRate = sgd.lwsLr ?? TrainConfig.Settings.lwsLearningRate.value
        c.thresholds = shots.thresholds
        return c
    }

    /// load → fit → write → report, for every method and solver.
    func run() throws {
        try Job.agree { try checkMemory() }
        let data = try TrainData.load(train: trainFiles, val: valFiles, teacher: teacher, headKey: head.headKey, keys: datasets.keys,
                                      tukey: tukey, keepRaw: readsRawView, part: Job.part,
                                      classNamesMayDiffer: classNames.classNamesMayDiffer)
        let t0 = Date()
        if let n = data.tukeyNote { output.console.line("note: \(n)") }
        if solverOptions.solver == nil { output.console.line("solver: \(solverKind.rawValue) (the default for --method \(method.rawValue)\(solverKind == .sgd && method == .glag ? " with --epoch-rows or checkpoints" : ""))") }
        var outcome = try fit(data)
        if let n = data.tukeyNote { outcome.notes.insert(n, at: 0) }
        outcome.seconds = Date().timeIntervalSince(t0)
        guard outcome.model.weight.data.allSatisfy(\.isFinite), outcome.model.bias.allSatisfy(\.isFinite) else {
            throw CLIError("\(train): the fitted classifier is not finite (the solve diverged); check the features' scale or lower --C")
        }
        // The validation score only on rows the classifier did not train on: none after a
        // refit on them, and never on a row that repeats a training row.
        let held = data.valRowsInTrain.indices.filter { !data.valRowsInTrain[$0] }
        let repeated = data.valRowsInTrain.count - held.count
        if repeated > 0 && !outcome.trainedOnValidation {
            let n = "\(repeated) of \(data.valRowsInTrain.count) validation rows repeat a training row (the same features): the validation score leaves them out"
            output.console.line("note: \(n)")
            outcome.notes.append(n)
        }
        // Classes without a row to fit on (labels with gaps, or a class missing from a
        // split): the file still has their heads, learned from nothing.
        var fitted = data.trainCounts
        if outcome.trainedOnValidation, let v = data.inputs.val { fitted = zip(fitted, v.classCounts).map(+) }
        let empty = fitted.indices.filter { fitted[$0] == 0 }
        if !empty.isEmpty {
            let which = empty.prefix(5).map(String.init).joined(separator: ", ") + (empty.count > 5 ? ", …" : "")
            let rows = outcome.trainedOnValidation ? "train or validation" : "training"
            let n = "\(empty.count) of \(fitted.count) classes \(empty.count == 1 ? "has" : "have") no \(rows) rows (class \(which)): the classifier has nothing to learn them from"
            output.console.line("note: \(n)")
            outcome.notes.append(n)
        }
        guard Job.ranks.isRoot else { return }   // under MPI, rank 0 writes and reports
        let set = data.trainSet
        let heads = outcome.twoView ? outcome.model.splitViews(transformedDim: set.dim) : (outcome.model, nil)
        try FeatureStore.writeClassifier(
            ClassifierFile(numClasses: set.numClasses, dim: set.dim, weight: heads.0.weight.data,
                           bias: heads.0.bias, classCounts: outcome.classCounts, method: outcome.method,
                           tukeyLambda: outcome.lambda, configJSON: outcome.record, classNames: set.classNames,
                           rawWeight: heads.1?.data, memory: outcome.memory.map(ClassifierFile.Memory.init)),
            to: out)
        let validation: Metrics? = outcome.trainedOnValidation ? nil : data.inputs.val.map { v in
            let features = outcome.validationFeatures ?? v.features
            let rows = repeated == 0 ? features : features.gatheringRows(held)
            return Metrics(predictions: outcome.memory.map { $0.predict(with: outcome.model, rows) } ?? outcome.model.predict(rows),
                           labels: repeated == 0 ? v.labels : held.map { v.labels[$0] }, numClasses: outcome.model.numClasses,
                           trainCounts: outcome.classCounts, thresholds: shots.thresholds)
        }
        try report(outcome, validation: validation)
    }

    /// Refuses, before the rows are read, a run whose planned allocations exceed the budget:
    /// features (twice with a teacher on another λ), the generated rows and their plan,
    /// covariance factors, the lbfgs join, the mini-batch buffers and the `C × C` donor weights.
    func checkMemory() throws {
        let shape = try DeclaredShape.of(shardFiles(trainFiles, part: Job.part), keys: datasets.keys)
        let n = Double(shape.rows) * shardFraction(trainFiles, part: Job.part), d = Double(shape.dim), c = Double(shape.classes)
        var parts: [(String, Double)] = [("features", 4 * n * d * (teacher == nil ? 1 : 2)),
                                         ("class-by-class matrices", 4 * c * c * 2),
                                         ("mini-batch buffers", 4 * Double(sgd.config.batchSize) * (d + 3 * c) * 2)]
        let valRows = valFiles.isEmpty ? 0 : Double(try DeclaredShape.of(valFiles, keys: datasets.keys).rows)
        if valRows > 0 { parts.append(("validation rows", 4 * valRows * d * 2)) }
        if method == .glag || method == .tailcalib {
            let target = sgd.epochRows.map { ($0 + shape.classes - 1) / max(shape.classes, 1) } ?? generator.targetPerClass
            let g = shape.generatedRows(target: target)
            parts.append(("covariance factors", 4 * shape.factorFloats))
            if method == .glag && teacher != nil && solverKind == .sgd && !glag.noKd && n * c <= max(Double(1 << 28), n * d) {
                parts.append(("the teacher's logits (computed once)", 4 * n * c))
            }
            if Job.isDistributed && solverKind == .sgd { parts.append(("every rank's rows (the generator's)", 4 * Double(shape.rows) * d)) }
            if method == .glag && solverKind == .lbfgs { parts.append(("the rows scaled for the solver", 4 * n * d)) }
            if method == .glag && solverKind == .lbfgs && !solverOptions.singleHead && !tukey.noTukey {
                parts.append(("the raw rows of the two-view blend (both views, scaled)", 4 * n * d * 3))
            }
            // The selection's generated candidate runs small folds side by side, a generated set
            // each (counted on one view's columns: the most folds it may run at once).
            let sets = solverKind == .lbfgs && path.mode == .select
                ? Double(min(StratifiedFolds.defaultCount,
                             CrossValidatedSelection.generatedFoldThreads(rows: Int(n + valRows), classes: shape.classes,
                                                                          largestClass: shape.counts.max() ?? 0,
                                                                          dimension: shape.dim))) : 1
            parts.append((sets > 1 ? "generated rows (\(Int(sets)) folds' sets at once)" : "generated rows",
                          solverKind == .lbfgs ? sets * (4 * (2 * (n + g)) * d + 8 * g)
                                            : sgd.epochRows == nil ? 4 * g * d + 16 * g : 16 * g))
        }
        if solverKind == .lbfgs {
            // Small folds are solved side by side, each with its own rows and solver (the
            // folds of every assignment of a repeated CV in one pool); they split train + val.
            let jobs = StratifiedFolds.defaultCount
                * (method == .logitAdjust || path.mode == .select ? StratifiedFolds.defaultRepetitions : 1)
            let folds = path.crossValidates || path.cAuto
                ? Double(min(jobs, RegressionCV.foldThreads(rows: Int(n) + Int(valRows), dimension: shape.dim))) : 1
            parts.append(("the solver's preconditioner, (D+1)² doubles", folds * LogisticRegression.preconditionerBytes(dim: shape.dim)))
            if path.crossValidates || path.cAuto {
                parts.append((folds > 1 ? "\(Int(folds)) cross-validation folds' rows at once, raw and scaled" : "a cross-validation fold's rows, raw and scaled",
                              folds * 4 * 2 * (n + valRows) * d * (readsRawView ? 2 : 1)))
                parts.append(("train + val pooled, and scaled for the refit", 4 * 2 * (n + valRows) * d * (readsRawView ? 2 : 1)))
            }
            if path.mode == .select && !solverOptions.noMemoryHead {
                parts.append(("the memory head: the labelled rows centred and of unit length, twice", 4 * 2 * (n + valRows) * d))
            }
        }
        let total = parts.reduce(0) { $0 + $1.1 }
        let largest = parts.max { $0.1 < $1.1 }!
        let hint = solverKind == .lbfgs && solverOptions.solver == nil ? "; --solver sgd streams the generated rows" : ""
        try memory.check(total, "largest part: \(largest.0), \(MemoryBudget.format(largest.1))\(hint)")
    }

    /// The method with its ablations, e.g. `glag-no-kd`.
    var methodName: String {
        guard method == .glag else { return method.rawValue }
        return "glag" + (glag.noAdaptive ? "-no-adaptive" : "") + (glag.noKd ? "-no-kd" : "")
    }

    /// The run's summary on stdout (text, or JSON with `--json`): what was written, what was
    /// chosen and by which rule, a validation score only on rows the classifier did not
    /// train on, and after a refit on every labelled row the cross-validated score instead.
    func report(_ o: TrainOutcome, validation m: Metrics?) throws {
        if output.json {
            struct Out: Encodable {
                var out: String, method: String, tukeyLambda: Float?, seconds: Double, chosen: [String: Double]
                var notes: [String], validation: Summary?, crossValidation: CrossValidationScore?, history: [EpochReport]?
                var selected: String?, selectionGrid: [String: Double]?
            }
            let grid = o.grid.map { g in Dictionary(uniqueKeysWithValues: g.map { ($0.name, $0.recall) }) }
            print(try encodeJSON(Out(out: out, method: o.method, tukeyLambda: o.lambda, seconds: o.seconds, chosen: o.chosen,
                                     notes: o.notes, validation: m.map(Summary.init), crossValidation: o.crossValidation,
                                     history: o.history, selected: o.selected, selectionGrid: grid)))
            return
        }
        let where_ = o.trainedOnValidation ? "train + val" : "train"
        if let g = o.grid, let s = o.selected {
            // Scores of a cross-validated choice are its held-out folds', not the validation file's.
            printGrid(g, best: g.firstIndex { $0.name == s }!,
                      scored: o.crossValidation.map { "held-out mean per-class recall, \($0.folds)-fold CV on \(where_)" }
                          ?? "validation mean per-class recall")
        }
        print("wrote \(out) (method \(o.method), Tukey λ \(o.lambda.map { "\($0)" } ?? "none"), \(String(format: "%.1f", o.seconds)) s)")
        if let s = o.selected { print(o.crossValidation == nil ? "chosen on validation: \(s)" : "chosen by cross-validation on \(where_): \(s)") }
        for (k, v) in o.chosen.sorted(by: { $0.key < $1.key }) {
            print(o.crossValidation == nil ? "chosen on validation: \(k) = \(v)" : "chosen by cross-validation on \(where_): \(k) = \(v)")
        }
        if let cv = o.crossValidation {
            print("\(cv.folds)-fold CV" + (cv.repetitions.map { " repeated \($0) times" } ?? "") + " on \(where_) (\(cv.rows) rows): mean per-class recall \(pct(cv.meanPerClassRecall)) ± \(String(format: "%.2f", 100 * cv.standardError))"
                  + (cv.subject.map { " (\($0))" } ?? "") + "; rule: \(cv.rule)")
        }
        if let m { print("validation: " + Summary.line(m)) }
        if o.trainedOnValidation && val != nil { print("validation: none (the classifier was refitted on the validation rows)") }
    }
}

/// The grid on stdout, the chosen setting starred; `scored` says what its scores are.
func printGrid(_ scores: [GridScore], best: Int, scored: String) {
    let width = scores.map(\.name.count).max() ?? 0
    print("selection grid (\(scored)):")
    for (i, e) in scores.enumerated() {
        print("  \(i == best ? "*" : " ") \(e.name.padding(toLength: width, withPad: " ", startingAt: 0)) \(pct(e.recall))"
              + (e.detail.isEmpty ? "" : "   \(e.detail)"))
    }
}
