import Foundation
import Linalg

/// The resumable state of a run at an epoch boundary.
///
/// Epoch randomness is keyed by `(seed, phase, epoch)`, so this (parameters, momentum,
/// `β`, the previous validation accuracies, the history) is all a resumed run needs to end
/// with a bit-identical classifier.
///
/// Serialised as `AFGCKPT1`, a little-endian `UInt64` header length, a JSON header, then
/// the Float arrays named in the header, raw little-endian, in header order.
public struct TrainingState: Equatable {
    public var phase: Int
    public var epochsDone: Int
    /// Identifies the configuration and data shape the state belongs to.
    public var fingerprint: String
    public var model: LinearModel
    public var velocityW: [Float]
    public var velocityB: [Float]
    public var history: [EpochReport]
    /// `lws` phase: the per-class scales and their momentum.
    public var scales: [Float]?
    public var scaleVelocity: [Float]?
    /// GLAG / TailCalib: `β` after the last finished epoch and that epoch's per-class
    /// validation accuracy.
    public var beta: [Float]?
    public var previousValPerClass: [Double]?

    public init(phase: Int, epochsDone: Int, fingerprint: String, model: LinearModel, velocityW: [Float], velocityB: [Float],
                history: [EpochReport], scales: [Float]? = nil, scaleVelocity: [Float]? = nil,
                beta: [Float]? = nil, previousValPerClass: [Double]? = nil) {
        self.phase = phase; self.epochsDone = epochsDone; self.fingerprint = fingerprint; self.model = model
        self.velocityW = velocityW; self.velocityB = velocityB; self.history = history
        self.scales = scales; self.scaleVelocity = scaleVelocity; self.beta = beta; self.previousValPerClass = previousValPerClass
    }

    /// Puts the parameters and momentum into `engine` (phase-0 states).
    func restore(into engine: SGDEngine) throws {
        guard model.numClasses == engine.model.numClasses, model.dim == engine.model.dim,
              velocityW.count == model.numClasses * model.dim, velocityB.count == model.numClasses else {
            throw TrainError.badCheckpoint("shapes do not match the run (\(model.numClasses)×\(model.dim))")
        }
        engine.model = model; engine.velocityW = velocityW; engine.velocityB = velocityB
    }

    private struct Header: Codable {
        var phase: Int, epochsDone: Int, fingerprint: String, numClasses: Int, dim: Int
        var history: [EpochReport]
        var previousValPerClass: [Double]?
        var arrays: [String], counts: [Int]
    }

    static let magic = Array("AFGCKPT1".utf8)

    /// The serialised bytes. O(C·D).
    public func encoded() -> [UInt8] {
        var names = ["weight", "bias", "velocityW", "velocityB"]
        var arrays = [model.weight.data, model.bias, velocityW, velocityB]
        for (n, a) in [("scales", scales), ("scaleVelocity", scaleVelocity), ("beta", beta)] { if let a = a { names.append(n); arrays.append(a) } }
        let h = Header(phase: phase, epochsDone: epochsDone, fingerprint: fingerprint, numClasses: model.numClasses,
                       dim: model.dim, history: history, previousValPerClass: previousValPerClass,
                       arrays: names, counts: arrays.map(\.count))
        let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let json = Array((try? e.encode(h)) ?? Data())
        var out = TrainingState.magic
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for a in arrays { for v in a { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } } }
        return out
    }

    /// Parses `encoded()` output.
    /// - Throws: `TrainError.badCheckpoint` on a wrong magic, truncation, or bad header.
    public init(encoded bytes: [UInt8]) throws {
        let m = TrainingState.magic
        guard bytes.count >= m.count + 8, Array(bytes[0..<m.count]) == m else { throw TrainError.badCheckpoint("not an afg checkpoint (bad magic)") }
        var len: UInt64 = 0
        for k in 0..<8 { len |= UInt64(bytes[m.count + k]) << (8 * UInt64(k)) }
        let hStart = m.count + 8
        guard len <= UInt64(bytes.count - hStart) else { throw TrainError.badCheckpoint("truncated header") }
        let hEnd = hStart + Int(len)
        let h: Header
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { h = try dec.decode(Header.self, from: Data(bytes[hStart..<hEnd])) } catch {
            throw TrainError.badCheckpoint("unreadable header")
        }
        guard h.arrays.count == h.counts.count, h.counts.allSatisfy({ $0 >= 0 }),
              bytes.count - hEnd == h.counts.reduce(0, +) * 4 else { throw TrainError.badCheckpoint("truncated or oversized data") }
        var pos = hEnd
        var arrays: [String: [Float]] = [:]
        for (name, n) in zip(h.arrays, h.counts) {
            var a = [Float](repeating: 0, count: n)
            for i in 0..<n {
                var b: UInt32 = 0
                for k in 0..<4 { b |= UInt32(bytes[pos + 4 * i + k]) << (8 * UInt32(k)) }
                a[i] = Float(bitPattern: b)
            }
            pos += 4 * n
            arrays[name] = a
        }
        guard let w = arrays["weight"], let b = arrays["bias"], w.count == h.numClasses * h.dim, b.count == h.numClasses,
              let vw = arrays["velocityW"], let vb = arrays["velocityB"] else { throw TrainError.badCheckpoint("missing parameters") }
        self.init(phase: h.phase, epochsDone: h.epochsDone, fingerprint: h.fingerprint,
                  model: LinearModel(weight: Matrix(rows: h.numClasses, cols: h.dim, data: w), bias: b),
                  velocityW: vw, velocityB: vb, history: h.history, scales: arrays["scales"],
                  scaleVelocity: arrays["scaleVelocity"], beta: arrays["beta"], previousValPerClass: h.previousValPerClass)
    }
}
