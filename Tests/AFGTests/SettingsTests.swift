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

    /// Every declared setting's help sentence ends with its interval, read back exactly.
    func testDeclaredSettingsReadBack() {
        let k = GeneratorConfig.Settings.k
        XCTAssertTrue(k.helpText.hasSuffix("Must be \(k.interval)."))
        XCTAssertEqual(IntervalBounds(description: k.interval.description)?.lower, Double(k.interval.lower!))
    }
}
