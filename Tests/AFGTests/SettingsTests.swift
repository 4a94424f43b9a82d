import XCTest
@testable import AFG

final class SettingsTests: XCTestCase {
    /// `IntervalBounds(description:)` reads back every interval `Interval.description` prints,
    /// for integer and real settings, and refuses text that is not one.
    func testBoundsReadBackEveryDescription() {
        func check<V: SettingValue>(_ i: Interval<V>, _ want: IntervalBounds, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(IntervalBounds(description: i.description), want, i.description, file: file, line: line)
        }
        check(Interval<Int>.atLeast(1), IntervalBounds(lower: 1, lowerClosed: true, upper: nil, upperClosed: true))
        check(Interval<Float>.above(0), IntervalBounds(lower: 0, lowerClosed: false, upper: nil, upperClosed: true))
        check(Interval<Double>.closed(0, 1), IntervalBounds(lower: 0, lowerClosed: true, upper: 1, upperClosed: true))
        check(Interval<Float>.closedOpen(0, 1), IntervalBounds(lower: 0, lowerClosed: true, upper: 1, upperClosed: false))
        check(Interval<Double>.openClosed(1e-8, 2.5e4), IntervalBounds(lower: 1e-8, lowerClosed: false, upper: 2.5e4, upperClosed: true))
        check(Interval<Int>(lower: nil, upper: -3, upperClosed: false), IntervalBounds(lower: nil, lowerClosed: true, upper: -3, upperClosed: false))
        check(Interval<Double>.finite, IntervalBounds(lower: nil, lowerClosed: true, upper: nil, upperClosed: true))
        for text in ["", "≥", "≥ x", "in [0, 1", "in 0, 1]", "in [0; 1]", "in [0, 1, 2]", "at least 1"] {
            XCTAssertNil(IntervalBounds(description: text), text)
        }
    }

    /// `check` names the bound a number misses, and says "a finite number" when the value is
    /// NaN or ±∞ and the interval has a bound (∞ is > 0: the bound alone would not say why).
    func testCheckSaysWhatIsWrong() {
        func message<V: SettingValue>(_ s: Setting<V>, _ v: V) -> String? {
            do { try s.check(v); return nil } catch { return (error as? SettingError)?.description }
        }
        let c = Setting<Double>("C", "", default: 1, .above(0))
        XCTAssertEqual(message(c, .infinity), "C must be a finite number > 0.0 (got inf)")
        XCTAssertEqual(message(c, .nan), "C must be a finite number > 0.0 (got nan)")
        XCTAssertEqual(message(c, -1), "C must be > 0.0 (got -1.0)")
        XCTAssertNil(message(c, 1e30))
        XCTAssertEqual(message(Setting<Double>("shift", "", default: 0, .finite), -.infinity), "shift must be finite (got -inf)")
        XCTAssertEqual(message(Setting<Int>("k", "", default: 1, .atLeast(1)), 0), "k must be ≥ 1 (got 0)")
    }

    /// Every declared setting's help sentence ends with its interval, read back exactly.
    func testDeclaredSettingsReadBack() {
        let k = GeneratorConfig.Settings.k
        XCTAssertTrue(k.helpText.hasSuffix("Must be \(k.interval)."))
        XCTAssertEqual(IntervalBounds(description: k.interval.description)?.lower, Double(k.interval.lower!))
    }
}
