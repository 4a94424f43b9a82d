import ArgumentParser
import Classifier
import FeatureIO
import Foundation

/// `afg train --method glag --select-on-val` on the SGD path: the documented grid of
/// `GLAGSGDSelection` (KD teacher × initial β), scored by validation mean per-class recall.
extension Train {
    func runSelection(_ cfg: TrainConfig, inputs: TrainInputs, lambda: Float?, trainSet: FeatureSet) throws {
        guard method == .glag else { throw CLIError("--select-on-val applies to --method glag") }
        guard let valPath = val, inputs.val != nil else { throw CLIError("--select-on-val needs --val") }
        if noKd { throw CLIError("--select-on-val chooses the KD teacher itself (no KD is one of its settings): drop --no-kd") }
        if resume || checkpointEvery > 0 {
            throw CLIError("--select-on-val runs several trainings and does not checkpoint: drop --resume / --checkpoint-every")
        }
        let grid = GLAGSGDSelection.defaultGrid(hasStageOne: inputs.teacher != nil)
        if !quiet { stderrLine("selecting on \(valPath): \(grid.count) GLAG settings, score = validation mean per-class recall") }
        let outcome: GLAGSGDSelection.Outcome
        do {
            outcome = try GLAGSGDSelection.select(
                base: cfg, inputs: inputs, grid: grid, inverseRegularization: solverOptions.inverseRegularization,
                progress: { e in
                    if !quiet {
                        stderrLine("  \(e.name): val mean recall \(pct(e.validationMeanRecall)), overall \(pct(e.validationAccuracy)) (\(String(format: "%.1f", e.seconds)) s)")
                    }
                })
        } catch { throw CLIError("\(train): \(error)") }
        let result = outcome.result
        let chosen = grid[outcome.bestIndex].name
        if !quiet { for n in result.notes { stderrLine("note: \(n)") } }
        let rows = outcome.entries.map {
            "{\"name\":\"\($0.name)\",\"val_mean_recall\":\($0.validationMeanRecall),\"val_overall\":\($0.validationAccuracy)}"
        }
        let selection = "\"selection\":{\"chosen\":\"\(chosen)\",\"grid\":[\(rows.joined(separator: ","))]}"
        let file = ClassifierFile(numClasses: trainSet.numClasses, dim: trainSet.dim, weight: result.model.weight.data,
                                  bias: result.model.bias, classCounts: result.classCounts, method: methodName,
                                  tukeyLambda: lambda, configJSON: recordJSON(outcome.config, result: result, lambda: lambda, extra: selection),
                                  classNames: trainSet.classNames)
        try FeatureStore.writeClassifier(file, to: out)
        let v = inputs.val!
        let metrics = Metrics(model: result.model, features: v.features, labels: v.labels, trainCounts: result.classCounts,
                              thresholds: outcome.config.thresholds)
        if !json {
            print("selection grid (validation mean per-class recall):")
            for (i, e) in outcome.entries.enumerated() {
                print("  \(i == outcome.bestIndex ? "*" : " ") \(e.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(pct(e.validationMeanRecall))")
            }
        }
        var scores: [String: Double] = [:]
        for e in outcome.entries { scores[e.name] = e.validationMeanRecall }
        try printSummary(result, lambda: lambda, validation: metrics, selection: scores, chosenSetting: chosen)
    }
}
