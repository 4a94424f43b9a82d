import XCTest
import Foundation
import Linalg
@testable import AFG

/// The ziggurat sampler against the normal law: moments and the CDF at many points,
/// with tolerances from the sample size (a table or wedge bug shifts these by far more).
final class NormalTests: XCTestCase {
    func testMomentsAndCDF() {
        let n = 2_000_000
        var rng = Xoshiro256(seed: 5, stream: 3)
        let z = zigguratNormals(n, using: &rng)
        var m1 = 0.0, m2 = 0.0, m4 = 0.0
        for v in z { let x = Double(v); m1 += x; m2 += x * x; m4 += x * x * x * x }
        m1 /= Double(n); m2 /= Double(n); m4 /= Double(n)
        let se = 1 / Double(n).squareRoot()
        XCTAssertEqual(m1, 0, accuracy: 5 * se)
        XCTAssertEqual(m2, 1, accuracy: 5 * se * 2.0.squareRoot())
        XCTAssertEqual(m4, 3, accuracy: 5 * se * 96.0.squareRoot())
        let sorted = z.sorted()
        for q in stride(from: -4.0, through: 4.0, by: 0.25) {
            // Empirical CDF vs Φ(q); binomial standard error.
            var lo = 0, hi = n
            while lo < hi { let mid = (lo + hi) / 2; if Double(sorted[mid]) <= q { lo = mid + 1 } else { hi = mid } }
            let emp = Double(lo) / Double(n)
            let phi = 0.5 * erfc(-q / 2.0.squareRoot())
            let sd = (phi * (1 - phi) / Double(n)).squareRoot()
            XCTAssertEqual(emp, phi, accuracy: 5 * sd + 1e-7, "CDF at \(q)")
        }
        // The tail beyond R = 3.44 (the base strip's tail algorithm) has the right mass.
        let beyond = z.filter { abs($0) > 3.6 }.count
        let want = Double(n) * erfc(3.6 / 2.0.squareRoot())
        XCTAssertEqual(Double(beyond), want, accuracy: 5 * want.squareRoot())
    }

    /// The sampler's values, draw for draw, against a reference written out from the
    /// method: two 32-bit words per 64-bit draw (low first), 8 bits of block index and a
    /// 24-bit signed coordinate each, the plain wedge test `h < exp(−x²/2)` (the sampler's
    /// tangent-and-chord shortcut must give the same answers) and Marsaglia's tail.
    func testSameValuesAsPlainReference() {
        let z = Ziggurat.shared
        func reference(_ n: Int, _ rng: inout Xoshiro256) -> [Float] {
            func unit(_ r: inout Xoshiro256) -> Double { (Double(r.next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0) }
            var out: [Float] = []
            while out.count < n {
                let bits = rng.next()
                for word in [UInt32(truncatingIfNeeded: bits), UInt32(truncatingIfNeeded: bits >> 32)] where out.count < n {
                    let i = Int(word & 0xFF), u = Double(Int32(bitPattern: word) >> 8) * 0x1.0p-23
                    if abs(u) < z.x[i + 1] / z.x[i] { out.append(Float(u * 0x1.0p23) * Float(z.x[i] * 0x1.0p-23)); continue }
                    if i == 0 {
                        var a: Double, b: Double
                        repeat { a = log(unit(&rng)) / Ziggurat.r; b = log(unit(&rng)) } while -2 * b < a * a
                        out.append(Float(u < 0 ? a - Ziggurat.r : Ziggurat.r - a)); continue
                    }
                    let xv = u * z.x[i]
                    if z.f[i + 1] + unit(&rng) * (z.f[i] - z.f[i + 1]) < exp(-0.5 * xv * xv) { out.append(Float(xv)) }
                }
            }
            return out
        }
        for (seed, n) in [(UInt64(0), 1_000_000), (1, 999_999), (2, 1), (3, 2)] {
            var a = Xoshiro256(seed: seed, stream: 11), b = Xoshiro256(seed: seed, stream: 11)
            XCTAssertEqual(zigguratNormals(n, using: &a), reference(n, &b), "seed \(seed)")
            XCTAssertEqual(a, b, "seed \(seed): the same number of words drawn")
        }
    }

    func testSameStreamSameValues() {
        var a = Xoshiro256(seed: 9, streams: [1, 2, 3]), b = Xoshiro256(seed: 9, streams: [1, 2, 3])
        XCTAssertEqual(zigguratNormals(1000, using: &a), zigguratNormals(1000, using: &b))
        var c = Xoshiro256(seed: 9, streams: [1, 2, 4])
        XCTAssertNotEqual(zigguratNormals(10, using: &a), zigguratNormals(10, using: &c))
    }
}

final class InlineXoshiroTests: XCTestCase {
    func testSameSequenceAsLinalgGenerator() {
        var a = Xoshiro256(seed: 42, streams: [3, 1, 4])
        var b = InlineXoshiro(seed: 42, streams: [3, 1, 4])
        for _ in 0..<1000 { XCTAssertEqual(a.next(), b.next()) }
        XCTAssertEqual(a, b.generator)
        var c = Xoshiro256(seed: 1), d = Xoshiro256(seed: 1)
        _ = zigguratNormals(10, using: &c)
        XCTAssertNotEqual(c, d, "zigguratNormals advances the caller's generator")
        _ = d.next()
    }
}
