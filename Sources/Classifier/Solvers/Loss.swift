import Foundation
import Dispatch
import Linalg

/// The softmax losses of stage one and stage two, as one parametrised family.
///
/// For logits `g` (one row), label `y`, per-sample weight `w` and per-class additive offsets
/// `o` (zero for plain cross-entropy):
///
///     CE_o(g, y) = −log( exp(g_y + o_y) / Σ_c exp(g_c + o_c) )
///
/// - cross-entropy: `o = 0`;
/// - logit-adjusted (Menon et al.): `o_c = τ·log π_c`;
/// - GraLoss: `o_c = τ(t)·log π_c` with `τ(t)` from `GradualSchedule`;
/// - balanced softmax (Ren et al.): `o_c = log π_c` (`τ = 1`).
///
/// Knowledge distillation (method.md step 10) adds, on the rows flagged for it,
///
///     β_KD · T² · KL( softmax(h/T) ‖ softmax(g/T) )
///
/// where `h` are the teacher's logits. A batch's loss is the sum over its rows divided by
/// the batch size `B` (KD rows included in `B`, not a separate mean).
public enum LossKind: Equatable, Sendable, Codable {
    case crossEntropy
    /// Fixed `τ`.
    case logitAdjusted(tau: Double)
    /// `τ(t) = schedule.value(t, T)`.
    case graLoss(GradualSchedule)
    case balancedSoftmax

    /// The `τ` multiplying `log π` at fractional epoch `t` of `totalEpochs` (0 for CE).
    public func tau(at t: Double, totalEpochs: Double) -> Double {
        switch self {
        case .crossEntropy: return 0
        case .logitAdjusted(let tau): return tau
        case .graLoss(let s): return s.value(at: t, totalEpochs: totalEpochs)
        case .balancedSoftmax: return 1
        }
    }

    /// The per-class offsets `τ·log π_c` (all zero when `τ = 0`). A class with no training
    /// sample has `π_c = 0`; its offset is taken at `π_c = 1/(2N)` so it stays finite.
    public static func offsets(tau: Double, classCounts: [Int]) -> [Float] {
        let n = Double(max(classCounts.reduce(0, +), 1))
        return classCounts.map { tau == 0 ? 0 : Float(tau * log(max(Double($0), 0.5) / n)) }
    }
}

/// One batch's inputs to the loss kernel, as raw pointers into the engine's buffers.
struct LossBatch {
    var rows: Int
    var classes: Int
    /// `rows × classes` logits on entry; `dL/dlogits` on exit (in place).
    var logits: UnsafeMutablePointer<Float>
    var labels: UnsafePointer<Int32>
    /// Per-row weights (nil = all 1).
    var weights: UnsafePointer<Float>?
    /// Per-class offsets (nil = none).
    var offsets: UnsafePointer<Float>?
    /// Teacher logits `rows × classes` (rows without KD may hold anything) and the KD flags.
    var teacherLogits: UnsafePointer<Float>?
    /// Per row: ≥ 0 when the row has a KD term (its teacher logits are in row `i`).
    var kdIndex: UnsafePointer<Int32>?
    var kdWeight: Float
    var kdTemperature: Float
    /// The divisor of the summed loss (the batch size).
    var normaliser: Float
    /// `rows × classes` scratch (used only for KD rows).
    var scratch: UnsafeMutablePointer<Float>
}

enum LossKernel {
    /// The fixed number of row chunks: the loss sum is added in this order whatever the
    /// thread count, so reported losses are bit-identical run to run.
    static let chunks = 4

    /// Replaces the logits with `dL/dlogits` and returns `(Σ CE part, Σ KD part) / normaliser`.
    /// - Complexity: O(rows·classes) with about 1 exp per entry (2 more on KD rows).
    static func run(_ b: LossBatch, parallel: Bool = true) -> (ce: Double, kd: Double) {
        var sums = [(Double, Double)](repeating: (0, 0), count: chunks)
        let per = (b.rows + chunks - 1) / chunks
        sums.withUnsafeMutableBufferPointer { buf in
            let ps = buf.baseAddress!
            let body = { (k: Int) in
                let lo = k * per, hi = min(b.rows, lo + per)
                ps[k] = lo < hi ? rowRange(b, lo, hi) : (0, 0)
            }
            if parallel && b.rows * b.classes >= 32_768 {
                DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
            } else {
                for k in 0..<chunks { body(k) }
            }
        }
        var ce = 0.0, kd = 0.0
        for s in sums { ce += s.0; kd += s.1 }
        return (ce, kd)
    }

    private static func rowRange(_ b: LossBatch, _ lo: Int, _ hi: Int) -> (Double, Double) {
        // One row of the teacher's exps, for the KD rows.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: b.teacherLogits == nil ? 1 : b.classes) {
            rowRange(b, lo, hi, teacherExps: $0.baseAddress!)
        }
    }

    private static func rowRange(_ b: LossBatch, _ lo: Int, _ hi: Int, teacherExps te: UnsafeMutablePointer<Float>) -> (Double, Double) {
        let c = b.classes
        let inv = 1 / b.normaliser
        var ceSum = 0.0, kdSum = 0.0
        for i in lo..<hi {
            let z = b.logits + i * c
            let w = b.weights?[i] ?? 1
            // KD first: it needs the untouched student logits.
            let doKD = b.kdWeight != 0 && b.teacherLogits != nil && (b.kdIndex.map { $0[i] >= 0 } ?? false)
            if doKD {
                let t = b.teacherLogits! + i * c
                let sc = b.scratch + i * c
                let invT = 1 / b.kdTemperature
                // Student soft probabilities q_s into scratch.
                let ms = FastExp.maxOf(z, nil, scale: invT, c)
                let ss = FastExp.expShifted(z, nil, scale: invT, shift: ms, sc, c)
                let logSs = log(Double(ss)) + Double(ms)
                // Teacher: q_t = exp(t/T − m_t)/S_t, its exps held for this row in `te`; KL through
                // Σ q_t (log q_t − log q_s) = Σ q_t (t − z)/T − log S_t + log S_s (Σ q_t = 1).
                let mt = FastExp.maxOf(t, nil, scale: invT, c)
                _ = FastExp.expShifted(t, nil, scale: invT, shift: mt, te, c)   // 16 lanes, exp1's bits
                var st: Double = 0, dot: Double = 0
                for j in 0..<c {
                    let e = te[j]
                    st += Double(e); dot += Double(e) * Double(t[j] - z[j])
                }
                let logSt = log(st) + Double(mt)
                let kl = dot / (st * Double(b.kdTemperature)) - logSt + logSs
                let coef = b.kdWeight * b.kdTemperature * inv
                let invSs = 1 / ss, invSt = Float(1 / st)
                for j in 0..<c {
                    let qt = te[j] * invSt
                    sc[j] = coef * (sc[j] * invSs - qt)            // β T (q_s − q_t) / B
                }
                kdSum += Double(b.kdWeight * b.kdTemperature * b.kdTemperature) * kl
            }
            // Cross-entropy on g + o.
            let y = Int(b.labels[i])
            let m = FastExp.maxOf(z, b.offsets, scale: 1, c)
            let zy = z[y] + (b.offsets?[y] ?? 0)
            let s = FastExp.expShifted(z, b.offsets, scale: 1, shift: m, z, c)
            ceSum += Double(w) * (log(Double(s)) + Double(m) - Double(zy))
            let g = w * inv / s
            FastExp.scale(z, by: g, c)
            z[y] -= w * inv
            if doKD {
                let sc = b.scratch + i * c
                for j in 0..<c { z[j] += sc[j] }
            }
        }
        return (ceSum * Double(inv), kdSum * Double(inv))
    }
}
