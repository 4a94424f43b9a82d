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

    func testSameStreamSameValues() {
        var a = Xoshiro256(seed: 9, streams: [1, 2, 3]), b = Xoshiro256(seed: 9, streams: [1, 2, 3])
        XCTAssertEqual(zigguratNormals(1000, using: &a), zigguratNormals(1000, using: &b))
        var c = Xoshiro256(seed: 9, streams: [1, 2, 4])
        XCTAssertNotEqual(zigguratNormals(10, using: &a), zigguratNormals(10, using: &c))
    }
}
