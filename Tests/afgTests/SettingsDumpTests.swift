import AFG
import Classifier
import Foundation
import XCTest

/// `afg settings --json` states the library's declarations: every declared interval and
/// default of `afg train`, whichever way the option spells its default.
final class SettingsDumpTests: XCTestCase {
    func testTrainSettingsAreTheDeclarations() throws {
        _ = try scratchFolder("settings")
        let r = try afg("settings", "--json")
        XCTAssertEqual(r.status, 0, r.err)
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let train = try XCTUnwrap((doc["commands"] as? [String: Any])?["train"] as? [[String: Any]])
        func record(_ name: String) throws -> [String: Any] { try XCTUnwrap(train.first { $0["name"] as? String == name }, name) }
        func check<V>(_ s: Setting<V>) throws {
            let o = try record(s.name)
            XCTAssertEqual(o["default"] as? String, s.defaultValue.map { "\($0)" }, s.name)
            let i = try XCTUnwrap(o["interval"] as? [String: Any], s.name)
            XCTAssertEqual((i["lower"] as? Double), s.interval.lower.flatMap { Double("\($0)") }, s.name)
            XCTAssertEqual((i["upper"] as? Double), s.interval.upper.flatMap { Double("\($0)") }, s.name)
            XCTAssertEqual(i["lower_closed"] as? Bool, s.interval.lowerClosed, s.name)
            XCTAssertEqual(i["upper_closed"] as? Bool, s.interval.upperClosed, s.name)
        }
        try check(GeneratorConfig.Settings.k)
        try check(GeneratorConfig.Settings.alpha)
        try check(SGDConfig.Settings.momentum)
        try check(ShotThresholds.Settings.many)
        XCTAssertEqual(try record("tukey")["default"] as? String, "auto")
        XCTAssertEqual(try record("no-tukey")["kind"] as? String, "flag")
        XCTAssertNil(train.first { $0["name"] as? String == "help" }, "ArgumentParser's own flags are not settings")
    }
}
