import AFG
import Distributed
import FeatureIO
import Foundation
import Linalg

/// `afg calibrate` under `mpirun -np N` (docs/SCALE.md, "Beyond one machine").
///
/// Each rank reads its part of `--train` (its own shards, or a row range of one file),
/// the class counts, sums and scatters are summed across ranks in Double
/// (`ClassStatistics(…, sumAcrossRanks:)`), and rank 0 writes. With `--generate`, every
/// rank builds the same generator from the gathered rows, generates its share of the
/// internal blocks (per-row random streams: the bits of the one-process epoch), and rank 0
/// gathers them and writes the balanced file in the one-process order. Rank 0 writes only
/// after every collective has returned: a failure anywhere ends the job before any file
/// is renamed into place.
extension Calibrate {
    func runDistributed() throws {
        let ranks = Job.ranks, console = output.console
        try Job.agree { try checkMemory() }
        console.line("calibrate: \(ranks.size) ranks reading \(train)")
        var set = try Job.agree { try readFeatureShards(trainFiles, keys: datasets.keys, part: Job.part) }
        try Job.checkShapesAgree(dim: set.dim, classes: set.numClasses, files: trainFiles)
        let minimum = try Job.minimum((set.features.min() ?? .infinity) + (shift ?? 0))
        let (lambda, note) = tukey.lambda(minimum: minimum)
        if let n = note { console.line("calibrate: note: \(n)") }
        if let l = lambda {
            try Job.agree {
                do { try Tukey.apply(&set.features, dim: set.dim, lambda: l, shift: shift) } catch {
                    throw CLIError("\(shardName(shardFiles(trainFiles, part: Job.part))): \(error)")
                }
            }
        }
        let x = Matrix<Float>(rows: set.count, cols: set.dim, data: set.features)
        let stats = try ClassStatistics(features: x, labels: set.labels, numClasses: set.numClasses,
                                        covariances: !noCovariances, sumAcrossRanks: Job.sum,
                                        scatterSum: { ranks.sumToRoot(&$0); return ranks.isRoot })   // only rank 0 writes them
        let rows = stats.counts.reduce(0, +)
        console.line("calibrate: statistics of \(rows) rows, \(set.numClasses) classes, dimension \(set.dim) (\(ranks.size) ranks)")
        var balanced: Balanced?
        if generate != nil { balanced = try generateAcrossRanks(set: set, x: x, console: console) }
        guard ranks.isRoot else { return }
        let outputs = OutputSet()
        var report = try writeStatistics(stats, rows: rows, lambda: lambda, outputs: outputs)
        if let g = generate, let b = balanced {
            try writeGathered(b, to: try outputs.temporary(for: g), set: set, lambda: lambda)
            report.balanced = g; report.generatedRows = b.generatedLabels.count; report.perClass = b.perClass
        }
        try commitAndReport(report, outputs: outputs, console: console)
    }

    /// What rank 0 writes as the balanced file: every rank's real rows and the generated
    /// rows, in one-process order.
    struct Balanced {
        var realFeatures: [Float], realLabels: [Int32]
        var generatedFeatures: [Float], generatedLabels: [Int32]
        var perClass: Int
        var emptyClasses: Int
    }

    /// Gathers the (transformed) rows on every rank, builds the generator there (the same
    /// bits on every rank), generates this rank's blocks of the epoch and gathers them on
    /// rank 0 (nil elsewhere: the other ranks return empty buffers).
    /// - Complexity: every rank holds all `N × D` rows and the factors (the generator needs
    ///   the seed rows and the class factors); rank 0 also the `G × D` generated rows.
    private func generateAcrossRanks(set: FeatureSet, x: Matrix<Float>, console: Console) throws -> Balanced {
        let ranks = Job.ranks
        let allX = try ranks.allGather(x.data)
        let allLabels = try ranks.allGather(set.labels.map { Double($0) }).map { Int32($0) }
        let gen = try FeatureGenerator(features: Matrix(rows: allLabels.count, cols: set.dim, data: allX), labels: allLabels,
                                       numClasses: set.numClasses, config: config)
        console.line("calibrate: generating \(gen.generatedRows) rows (every class to \(gen.targetPerClass)) on \(ranks.size) ranks")
        let mine = rowRange(of: ranks.rank, size: ranks.size, rows: gen.blockCount)
        let part = gen.generateBlocks(mine, seed: seed, epoch: 0)
        let features = try ranks.gather(part.features) ?? []
        let labels = (try ranks.gather(part.labels.map { Double($0) }) ?? []).map { Int32($0) }
        if ranks.isRoot && !gen.emptyClasses.isEmpty {
            console.line("calibrate: warning: \(gen.emptyClasses.count) class(es) have no rows and get none")
        }
        return Balanced(realFeatures: ranks.isRoot ? allX : [], realLabels: ranks.isRoot ? allLabels : [],
                        generatedFeatures: features, generatedLabels: labels, perClass: gen.targetPerClass,
                        emptyClasses: gen.emptyClasses.count)
    }

    /// The balanced file from gathered rows, appended in the blocks of the one-process
    /// path (8192 real rows, then 8192 generated rows at a time), so the bytes match.
    private func writeGathered(_ b: Balanced, to g: String, set: FeatureSet, lambda: Float?) throws {
        let writer = try balancedWriter(to: g, set: set, lambda: lambda)
        let block = 8192, d = set.dim
        for (features, labels, flag) in [(b.realFeatures, b.realLabels, UInt8(0)), (b.generatedFeatures, b.generatedLabels, 1)] {
            for r0 in stride(from: 0, to: labels.count, by: block) {
                let r1 = min(r0 + block, labels.count)
                try writer.append(features: Array(features[(r0 * d)..<(r1 * d)]), labels: Array(labels[r0..<r1]),
                                  extras: ["is_generated": .uint8([UInt8](repeating: flag, count: r1 - r0))])
            }
        }
        try writer.finish()
    }
}
