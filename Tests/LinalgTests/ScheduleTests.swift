import XCTest
import Linalg

final class ScheduleTests: XCTestCase {
    func testEndpointsAndShapes() {
        for g in [-3.0, 0, 1, 3, 10] {
            XCTAssertEqual(GradualSchedule.shape(0, gamma: g), 0, accuracy: 1e-12)
            XCTAssertEqual(GradualSchedule.shape(1, gamma: g), 1, accuracy: 1e-12)
            XCTAssertEqual(GradualSchedule.shape(1.7, gamma: g), 1, accuracy: 1e-12, "clamped")
        }
        XCTAssertEqual(GradualSchedule.shape(0.3, gamma: 0), 0.3, accuracy: 1e-12)
        // Convex for γ > 0 (below the line), concave for γ < 0; the γ → 0 limit is linear.
        XCTAssertLessThan(GradualSchedule.shape(0.5, gamma: 3), 0.5)
        XCTAssertGreaterThan(GradualSchedule.shape(0.5, gamma: -3), 0.5)
        XCTAssertEqual(GradualSchedule.shape(0.5, gamma: 1e-9), 0.5, accuracy: 1e-6)
        // γ = 3 at u = 0.5: (e^1.5 − 1)/(e^3 − 1).
        XCTAssertEqual(GradualSchedule.shape(0.5, gamma: 3), (exp(1.5) - 1) / (exp(3) - 1), accuracy: 1e-12)
        let s = GradualSchedule(maxValue: 2, gamma: 3)
        XCTAssertEqual(s.value(at: 20, totalEpochs: 40), 2 * (exp(1.5) - 1) / (exp(3) - 1), accuracy: 1e-12)
        var prev = -1.0
        for t in stride(from: 0.0, through: 40, by: 0.5) {
            let v = s.value(at: t, totalEpochs: 40); XCTAssertGreaterThanOrEqual(v, prev); prev = v
        }
    }
}
