import XCTest
import Foundation
import Linalg
@testable import AFG

final class GeneratorTests: XCTestCase {
    /// Four classes in 2-D, worked out by hand:
    /// - class 0 (n=4): (0,0),(2,0),(0,2),(2,2): μ=(1,1), Σ=diag(4/3, 4/3)
    /// - class 1 (n=3): (10,0),(10,2),(10,4): μ=(10,2), Σ=diag(0, 4)
    /// - class 2 (n=2): (4,1),(6,1): μ=(5,1), Σ=diag(2, 0)
    /// - class 3 (n=1): (5,1.5): Σ=0
    /// With h=3, classes 2 and 3 are tail.
    func handSet() -> (Matrix<Float>, [Int32]) {
        let rows: [(Float, Float, Int32)] = [(0, 0, 0), (2, 0, 0), (0, 2, 0), (2, 2, 0), (10, 0, 1), (10, 2, 1), (10, 4, 1),
                                             (4, 1, 2), (6, 1, 2), (5, 1.5, 3)]
        return (Matrix(rows: rows.count, cols: 2, data: rows.flatMap { [$0.0, $0.1] }), rows.map(\.2))
    }

    func testHandComputedSupportWeightsAndCalibration() throws {
        let (x, y) = handSet()
        var cfg = GeneratorConfig(k: 2, alpha: 0.1, initialBeta: 0.6, headThreshold: 3)
        let gen = try FeatureGenerator(features: x, labels: y, numClasses: 4, config: cfg)
        XCTAssertEqual(gen.isTail, [false, false, true, true])
        XCTAssertEqual(gen.counts, [4, 3, 2, 1])
        XCTAssertEqual(gen.means.data, [1, 1, 10, 2, 5, 1, 5, 1.5])
        XCTAssertEqual(gen.beta, [0, 0, 0.6, 0.6])
        XCTAssertEqual(gen.targetPerClass, 4)
        XCTAssertEqual((0..<4).map(gen.generatedCount(of:)), [0, 1, 2, 3])
        // Class 0 covariance by hand.
        let s0 = gen.covariance(of: 0)
        XCTAssertEqual(s0.data[0], 4.0 / 3, accuracy: 1e-6); XCTAssertEqual(s0.data[1], 0, accuracy: 1e-6)
        XCTAssertEqual(s0.data[3], 4.0 / 3, accuracy: 1e-6)

        // Row 7 = (4,1) of class 2: H_2 = {0, 1} (class 3 is nearer, d = √1.25, but has fewer samples).
        let s7 = try XCTUnwrap(gen.supportSet(ofRow: 7))
        XCTAssertEqual(s7.classes, [0, 1])
        XCTAssertEqual(s7.distances[0], 3, accuracy: 1e-9)
        XCTAssertEqual(s7.distances[1], 37.0.squareRoot(), accuracy: 1e-9)
        let r0 = 4.0 / 3, r1 = 3 / 37.0.squareRoot()
        XCTAssertEqual(Double(s7.weights[0]), r0 / (r0 + r1), accuracy: 1e-6)
        XCTAssertEqual(Double(s7.weights[1]), r1 / (r0 + r1), accuracy: 1e-6)
        // Row 9 = (5,1.5) of class 3: H_3 = {0,1,2}; nearest are class 2 (d=0.5) then class 0 (d=√16.25).
        let s9 = try XCTUnwrap(gen.supportSet(ofRow: 9))
        XCTAssertEqual(s9.classes, [2, 0])
        XCTAssertEqual(s9.distances[0], 0.5, accuracy: 1e-9)
        XCTAssertNil(gen.supportSet(ofRow: 0), "head rows have no support set")

        // Σ' = 0.4·Σ_2 + 0.6·(w0 Σ_0 + w1 Σ_1) + 0.1 I, μ' = z̃ (sample mode).
        let w0 = r0 / (r0 + r1), w1 = r1 / (r0 + r1)
        let want: [Double] = [0.4 * 2 + 0.6 * w0 * 4 / 3 + 0.1, 0, 0, 0.6 * (w0 * 4 / 3 + w1 * 4) + 0.1]
        let d7 = gen.calibratedDistribution(ofRow: 7)
        XCTAssertEqual(d7.mean, [4, 1])
        XCTAssertLessThan(maxRelDiff(d7.covariance.data, want), 1e-5)
        // Head row: N(μ_c, Σ_c + αI).
        let d4 = gen.calibratedDistribution(ofRow: 4)
        XCTAssertEqual(d4.mean, [10, 2])
        XCTAssertLessThan(maxRelDiff(d4.covariance.data, [0.1, 0, 0, 4.1]), 1e-5)

        // Pull mode: μ' = 0.4·z̃ + 0.6·(w0 μ_0 + w1 μ_1).
        cfg.meanMode = .pull
        let pull = try FeatureGenerator(features: x, labels: y, numClasses: 4, config: cfg)
        let m7 = pull.calibratedDistribution(ofRow: 7).mean
        XCTAssertEqual(Double(m7[0]), 0.4 * 4 + 0.6 * (w0 * 1 + w1 * 10), accuracy: 1e-5)
        XCTAssertEqual(Double(m7[1]), 0.4 * 1 + 0.6 * (w0 * 1 + w1 * 2), accuracy: 1e-5)

        // TailCalib: μ' = (z̃ + μ_0 + μ_1)/3, Σ' = (Σ_0 + Σ_1)/2 + α.
        cfg.weighting = .tailcalib
        let tc = try FeatureGenerator(features: x, labels: y, numClasses: 4, config: cfg)
        let t7 = tc.calibratedDistribution(ofRow: 7)
        XCTAssertLessThan(maxRelDiff(t7.mean, [(4 + 1 + 10) / 3.0, (1 + 1 + 2) / 3.0]), 1e-6)
        XCTAssertLessThan(maxRelDiff(t7.covariance.data, [2.0 / 3 + 0.1, 0, 0, (4.0 / 3 + 4) / 2 + 0.1]), 1e-6)
        XCTAssertEqual(tc.supportSet(ofRow: 7)?.weights, [0.5, 0.5])

        // k = 1 keeps the nearest candidate only, with weight 1.
        let k1 = try FeatureGenerator(features: x, labels: y, numClasses: 4, config: GeneratorConfig(k: 1, headThreshold: 3))
        XCTAssertEqual(k1.supportSet(ofRow: 7)?.classes, [0])
        XCTAssertEqual(k1.supportSet(ofRow: 8)?.classes, [1])
        XCTAssertEqual(k1.supportSet(ofRow: 8)?.weights, [1])
    }

    func testAllocationAndDonorWeights() throws {
        let (x, y) = handSet()
        let gen = try FeatureGenerator(features: x, labels: y, numClasses: 4,
                                       config: GeneratorConfig(k: 2, headThreshold: 3, targetPerClass: 9))
        for epoch in 0..<5 {
            let g = gen.generate(seed: 3, epoch: epoch)
            XCTAssertEqual(g.labels, [Int32](repeating: 0, count: 5) + [Int32](repeating: 1, count: 6)
                           + [Int32](repeating: 2, count: 7) + [Int32](repeating: 3, count: 8))
            // Class 2: 7 rows from 2 samples: ⌊7/2⌋ = 3 each, one extra at random. Every row of
            // class 2 has the mean of its seed (sample mode) plus noise; Σ_2 is zero along y and
            // the donors are too, except class 1 (y-variance 4) - so check through the donor weights.
            let s7 = gen.supportSet(ofRow: 7)!, s8 = gen.supportSet(ofRow: 8)!
            let u = g.donorWeights
            // ū_{2,0} = (a·w7_0 + b·w8_0)/7 with a + b = 7, a, b ∈ {3, 4}.
            func w0(_ s: SupportSet) -> Double { Double(s.weights[s.classes.firstIndex(of: 0)!]) }
            XCTAssertEqual(s8.classes, [1, 0], "(6,1) is nearer to μ_1 = (10,2) than to μ_0 = (1,1)")
            let options = [(3.0, 4.0), (4.0, 3.0)].map { (a, b) in (a * w0(s7) + b * w0(s8)) / 7 }
            XCTAssertTrue(options.contains { abs($0 - Double(u[2, 0])) < 1e-6 }, "ū_{2,0} = \(u[2, 0]), options \(options)")
            XCTAssertEqual(Double(u[2, 0] + u[2, 1]), 1, accuracy: 1e-6)
            // Class 3 has one sample: all 8 rows use its support {2, 0}.
            let s9 = gen.supportSet(ofRow: 9)!
            XCTAssertEqual(u[3, 2], s9.weights[0], accuracy: 1e-6)
            XCTAssertEqual(u[3, 0], s9.weights[1], accuracy: 1e-6)
            XCTAssertEqual(u[0, 1], 0); XCTAssertEqual(u[1, 0], 0)
            XCTAssertTrue(g.features.data.allSatisfy(\.isFinite))
        }
    }

    /// 200k draws from one calibrated distribution (and from a head class): sample mean and
    /// covariance match μ', Σ' of the naive reference within 5 standard errors, on the
    /// Cholesky path and on the centred-data path, in all three modes.
    func testSamplingMatchesCalibratedDistribution() throws {
        let d = 5
        // Classes 0, 1 head; 2 a donor with n=4 < D (rank-deficient Σ); 3 tail with a single sample.
        var (x, y) = toyData(counts: [400, 250, 4, 1], dim: d, seed: 17, spread: 1.5)
        x.data = x.data.map { $0 + 4 }
        let n = 200_000
        let cases: [(FactorChoice, MeanMode, Weighting)] = [(.cholesky, .sample, .glag), (.centredData, .sample, .glag),
                                                           (.cholesky, .pull, .glag), (.centredData, .pull, .tailcalib),
                                                           (.automatic, .sample, .glag)]
        for (factor, mode, weighting) in cases {
            let cfg = GeneratorConfig(k: 3, alpha: 0.05, initialBeta: 0.7, headThreshold: 100, meanMode: mode, weighting: weighting,
                                      targetPerClass: n + 1, factor: factor)
            var gen = try FeatureGenerator(features: x, labels: y, numClasses: 4, config: cfg)
            gen.beta[3] = 0.7
            let set = gen.generate(seed: 99, epoch: 1)
            let tailRow = x.rows - 1
            for (row, cls) in [(tailRow, 3), (0, 0)] {
                let ref = Reference.calibrated(x, y, 4, row: row, config: cfg, beta: 0.7)
                if cls == 3 {
                    XCTAssertEqual(gen.supportSet(ofRow: row)?.classes, ref.support, "\(factor) \(mode) \(weighting)")
                }
                let first = set.labels.firstIndex(of: Int32(cls))!
                let count = set.labels.filter { $0 == Int32(cls) }.count
                XCTAssertEqual(count, n + 1 - gen.counts[cls])
                var mean = [Double](repeating: 0, count: d)
                for r in first..<(first + count) { for j in 0..<d { mean[j] += Double(set.features[r, j]) } }
                mean = mean.map { $0 / Double(count) }
                var cov = [Double](repeating: 0, count: d * d)
                for r in first..<(first + count) { for i in 0..<d { for j in 0..<d {
                    cov[i * d + j] += (Double(set.features[r, i]) - mean[i]) * (Double(set.features[r, j]) - mean[j])
                } } }
                cov = cov.map { $0 / Double(count - 1) }
                let label = "\(factor) \(mode) \(weighting) class \(cls)"
                for i in 0..<d {
                    let se = (ref.cov[i][i] / Double(count)).squareRoot()
                    XCTAssertEqual(mean[i], ref.mean[i], accuracy: 5 * se + 1e-5, "\(label) mean[\(i)]")
                    for j in 0..<d {
                        let se2 = ((ref.cov[i][i] * ref.cov[j][j] + ref.cov[i][j] * ref.cov[i][j]) / Double(count)).squareRoot()
                        XCTAssertEqual(cov[i * d + j], ref.cov[i][j], accuracy: 5 * se2 + 1e-5, "\(label) cov[\(i),\(j)]")
                    }
                }
            }
        }
    }

    /// Same seed → identical bits whatever the mini-batch size or BLAS thread count.
    func testDeterministicAcrossBatchSizesAndThreads() throws {
        let (x, y) = toyData(counts: [700, 300, 150, 90, 40, 12, 5, 2, 1], dim: 96, seed: 4, relu: true)
        // Small blocks (many block boundaries), and the default (one block: large donor
        // groups, whose scatter runs on two threads).
        for blockRows in [1000, GeneratorConfig().blockRows] {
            var cfg = GeneratorConfig(k: 2, alpha: 0.1, targetPerClass: 700)
            cfg.blockRows = blockRows
            try checkDeterminism(x, y, cfg)
        }
    }

    func checkDeterminism(_ x: Matrix<Float>, _ y: [Int32], _ cfg: GeneratorConfig) throws {
        var gen = try FeatureGenerator(features: x, labels: y, numClasses: 9, config: cfg)
        gen.beta[5] = 0.9
        let whole = gen.generate(seed: 7, epoch: 2)
        XCTAssertEqual(whole.count, gen.generatedRows)
        // With 1000-row blocks, batches of 1000 are whole blocks, generated straight into the batch.
        for batch in [1, 37, 1000, 1003, 2999, 100_000] {
            var feats = [Float](), labels = [Int32]()
            var sizes = [Int]()
            for b in gen.batches(seed: 7, epoch: 2, batchRows: batch) {
                feats += b.features.data; labels += b.labels; sizes.append(b.count)
                XCTAssertEqual(b.donorWeights, whole.donorWeights)
            }
            XCTAssertTrue(sizes.dropLast().allSatisfy { $0 == batch }, "batch \(batch)")
            XCTAssertEqual(labels, whole.labels, "batch \(batch)")
            XCTAssertTrue(feats == whole.features.data, "batch \(batch): features differ")
        }
        let threads = blasThreadCount
        defer { setBLASThreadCount(threads) }
        setBLASThreadCount(1)
        let one = gen.generate(seed: 7, epoch: 2)
        setBLASThreadCount(2)
        let two = gen.generate(seed: 7, epoch: 2)
        XCTAssertTrue(one.features.data == whole.features.data, "1 BLAS thread differs")
        XCTAssertTrue(two.features.data == whole.features.data, "2 BLAS threads differ")
        // Other seeds, epochs and β do change the rows.
        XCTAssertFalse(gen.generate(seed: 8, epoch: 2).features.data == whole.features.data)
        XCTAssertFalse(gen.generate(seed: 7, epoch: 3).features.data == whole.features.data)
        gen.beta[5] = 0.5
        XCTAssertFalse(gen.generate(seed: 7, epoch: 2).features.data == whole.features.data)
    }

    /// One sample, duplicates, a zero-variance dimension and n_c < D, on every factor path:
    /// finite output, no LAPACK failure.
    func testDegenerateClassesGiveFiniteOutput() throws {
        let d = 16
        var (x, y) = toyData(counts: [60, 30, 10, 1], dim: d, seed: 8, relu: true)
        // Class 4: five identical rows; class 5: column 3 constant; class 2 has n=10 < D.
        var extra = [Float](), extraY = [Int32]()
        for _ in 0..<5 { extra += x.row(0).map { $0 + 1 }; extraY.append(4) }
        for r in 0..<40 { var row = x.row(r); row[3] = 2; extra += row; extraY.append(5) }
        x = Matrix(rows: x.rows + extraY.count, cols: d, data: x.data + extra)
        y += extraY
        for factor in FactorChoice.allCases {
            for weighting in Weighting.allCases {
                let cfg = GeneratorConfig(k: 3, alpha: 0, headThreshold: 50, weighting: weighting, targetPerClass: 80, factor: factor)
                let gen = try FeatureGenerator(features: x, labels: y, numClasses: 7, config: cfg)
                XCTAssertEqual(gen.emptyClasses, [6])
                let g = gen.generate(seed: 1, epoch: 0)
                XCTAssertEqual(g.count, (0..<7).reduce(0) { $0 + gen.generatedCount(of: $1) })
                XCTAssertEqual(g.labels.filter { $0 == 6 }.count, 0)
                XCTAssertTrue(g.features.data.allSatisfy(\.isFinite), "\(factor) \(weighting)")
                // Class 4 (duplicates) has Σ = 0: its own part vanishes, factors stay finite.
                XCTAssertEqual(gen.covariance(of: 4).data.map(abs).max(), 0)
                // Class 5's zero-variance column stays exactly 2 for head-style draws? No: class 5
                // is tail (40 < 50) and borrows shape; but its own Σ has a zero row/column.
                let c5 = gen.covariance(of: 5)
                XCTAssertLessThanOrEqual(abs(c5[3, 3]), factor == .cholesky || (factor == .automatic && 40 > d) ? 1e-3 : 0)
            }
        }
    }

    func testInputErrors() {
        let x = Matrix<Float>(rows: 3, cols: 2, data: [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try FeatureGenerator(features: x, labels: [0, 1, 2], numClasses: 2)) { e in
            XCTAssertEqual(e as? AFGError, .labelOutOfRange(row: 2, label: 2, numClasses: 2))
        }
        XCTAssertThrowsError(try FeatureGenerator(features: x, labels: [0, 1], numClasses: 2)) { e in
            XCTAssertEqual(e as? AFGError, .shapeMismatch(features: 3, labels: 2))
        }
        var bad = x; bad[1, 1] = .nan
        XCTAssertThrowsError(try FeatureGenerator(features: bad, labels: [0, 1, 1], numClasses: 2)) { e in
            XCTAssertEqual(e as? AFGError, .nonFiniteFeature(row: 1, column: 1))
        }
        XCTAssertThrowsError(try FeatureGenerator(features: x, labels: [0, 1, 1], numClasses: 2, config: GeneratorConfig(k: 0))) { e in
            XCTAssertTrue("\(e)".contains("k must be"))
        }
    }

    func testUpdateBeta() {
        // Classes 0, 1 head (donors), 2, 3, 4 tail.
        let isTail = [false, false, true, true, true]
        var u = Matrix<Float>(rows: 5, cols: 5)
        u[2, 0] = 0.75; u[2, 1] = 0.25; u[3, 0] = 1; u[4, 1] = 1
        let beta: [Float] = [0, 0, 0.6, 0.98, 0.02]
        // Class 2 gains 0.02 but its donors lose 0.1·0.75 + 0·0.25: net negative.
        let delta: [Double] = [-0.1, 0, 0.02, 0.2, -0.01]
        let net = updateBeta(beta, isTail: isTail, accuracyDelta: delta, donorWeights: u, rule: .net, step: 0.05)
        XCTAssertEqual(net[0], 0); XCTAssertEqual(net[1], 0)
        XCTAssertEqual(net[2], 0.55, accuracy: 1e-6)
        XCTAssertEqual(net[3], 1, "clamped at 1 (0.2 − 0.1 > 0)")
        XCTAssertEqual(net[4], 0, "clamped at 0")
        let own = updateBeta(beta, isTail: isTail, accuracyDelta: delta, donorWeights: u, rule: .own, step: 0.05)
        XCTAssertEqual(own[2], 0.65, accuracy: 1e-6)
        // No change when Δ = 0 or unknown.
        let flat = updateBeta(beta, isTail: isTail, accuracyDelta: [0, 0, 0, .nan, 0], donorWeights: u, rule: .net)
        XCTAssertEqual(flat, beta)
    }
}
