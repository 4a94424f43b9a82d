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
        let scores = outcome.entries.map { GridScore(name: $0.name, recall: $0.validationMeanRecall, overall: $0.validationAccuracy) }
        let selection = selectionMember(chosen: chosen, scores)
        let file = ClassifierFile(numClasses: trainSet.numClasses, dim: trainSet.dim, weight: result.model.weight.data,
                                  bias: result.model.bias, classCounts: result.classCounts, method: methodName,
                                  tukeyLambda: lambda, configJSON: recordJSON(outcome.config, result: result, lambda: lambda, extra: selection),
                                  classNames: trainSet.classNames)
        try FeatureStore.writeClassifier(file, to: out)
        let v = inputs.val!
        let metrics = Metrics(model: result.model, features: v.features, labels: v.labels, trainCounts: result.classCounts,
                              thresholds: outcome.config.thresholds)
        if !json { printGrid(scores, best: outcome.bestIndex, nameWidth: 16) }
        let byName = Dictionary(uniqueKeysWithValues: scores.map { ($0.name, $0.recall) })
        try printSummary(result, lambda: lambda, validation: metrics, selection: byName, chosenSetting: chosen)
    }
}

/// One grid setting's validation scores (`--select-on-val`, either solver).
struct GridScore {
    var name: String, recall: Double, overall: Double
    /// Printed after the score (the lbfgs grid's setting summary).
    var detail = ""
}

/// The classifier config's `selection` member: `"selection":{"chosen":…,"grid":[…]}`.
func selectionMember(chosen: String, _ scores: [GridScore]) -> String {
    let rows = scores.map { "{\"name\":\"\($0.name)\",\"val_mean_recall\":\($0.recall),\"val_overall\":\($0.overall)}" }
    return "\"selection\":{\"chosen\":\"\(chosen)\",\"grid\":[\(rows.joined(separator: ","))]}"
}

/// The grid on stdout, the chosen setting starred.
func printGrid(_ scores: [GridScore], best: Int, nameWidth: Int) {
    print("selection grid (validation mean per-class recall):")
    for (i, e) in scores.enumerated() {
        print("  \(i == best ? "*" : " ") \(e.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)) \(pct(e.recall))"
              + (e.detail.isEmpty ? "" : "   \(e.detail)"))
    }
}
