import Distributed
import XCTest

/// The one-process side of `Distributed`: no launcher, no MPI; collectives are the identity.
final class RanksTests: XCTestCase {
    func testLaunchIsDetectedFromTheLaunchersVariables() {
        XCTAssertFalse(Launch.isMPI([:]))
        XCTAssertFalse(Launch.isMPI(["PATH": "/usr/bin", "OMPI_MCA_x": "1"]))
        XCTAssertTrue(Launch.isMPI(["OMPI_COMM_WORLD_SIZE": "2"]))
        XCTAssertTrue(Launch.isMPI(["PMIX_RANK": "0"]))
        XCTAssertTrue(Launch.isMPI(["PMI_RANK": "3"]))
    }

    func testWithoutALauncherStartIsOneProcessAndCollectivesAreTheIdentity() throws {
        let r = try Ranks.start(environment: [:])
        XCTAssertFalse(r.usesMPI)
        XCTAssertEqual(r.rank, 0); XCTAssertEqual(r.size, 1); XCTAssertTrue(r.isRoot)
        var x: [Double] = [1.5, -2, 3e300]
        r.sum(&x)
        XCTAssertEqual(x, [1.5, -2, 3e300])
        var f: [Float] = [1, 2]
        r.broadcast(&f)
        XCTAssertEqual(f, [1, 2])
        XCTAssertEqual(try r.gather([1.0, 2.0]), [1, 2])
        XCTAssertEqual(try r.allGather([Float(4)]), [4])
        XCTAssertEqual(r.agree { 7 }, 7)
    }

    func testRowRangesCoverEveryRowOnceInOrder() {
        for n in [0, 1, 2, 5, 97] {
            for size in 1...5 {
                let parts = (0..<size).map { rowRange(of: $0, size: size, rows: n) }
                XCTAssertEqual(parts.first?.lowerBound, 0)
                XCTAssertEqual(parts.last?.upperBound, n)
                for i in 1..<size { XCTAssertEqual(parts[i].lowerBound, parts[i - 1].upperBound) }
                XCTAssertLessThanOrEqual(parts.map(\.count).max()! - parts.map(\.count).min()!, 1, "n \(n) size \(size)")
            }
        }
    }
}
