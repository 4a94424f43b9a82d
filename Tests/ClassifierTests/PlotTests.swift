import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Classifier

final class PlotTests: XCTestCase {
    /// The SVG parses as XML, has one bar per class present (ordered by training count:
    /// the tallest-count class's bar comes first) and one count point per class.
    func attr(_ e: XMLElement, _ name: String) -> String? {
        (e.attributes ?? []).first { $0.localName == name || $0.name == name }?.stringValue
    }

    func testSVGIsValidAndOrdered() throws {
        let counts = [5, 50, 20, 500]
        let m = Metrics(predictions: [0, 1, 1, 3, 3, 2], labels: [0, 1, 2, 3, 3, 2], numClasses: 4, trainCounts: counts)
        let svg = PerClassPlot.svg(metrics: m, trainCounts: counts, title: "a < b & c")
        let doc = try XMLDocument(xmlString: svg)
        let root = try XCTUnwrap(doc.rootElement())
        XCTAssertEqual(root.localName, "svg")
        let kids = (root.children ?? []).compactMap { $0 as? XMLElement }
        let group = try XCTUnwrap(kids.first { $0.localName == "g" })
        let bars = (group.children ?? []).compactMap { $0 as? XMLElement }.filter { $0.localName == "rect" }
        XCTAssertEqual(bars.count, 4)
        let heights = try bars.map { try XCTUnwrap(Double(XCTUnwrap(attr($0, "height")))) }
        // Order by count: class 3 (acc 1), 1 (1), 2 (0.5), 0 (1).
        XCTAssertEqual(heights[0], heights[1], accuracy: 0.01)
        XCTAssertEqual(heights[2], heights[0] / 2, accuracy: 0.01)
        let line = try XCTUnwrap(kids.first { $0.localName == "polyline" })
        XCTAssertEqual(try XCTUnwrap(attr(line, "points")).split(separator: " ").count, 4)
        XCTAssertTrue(svg.contains("a &lt; b &amp; c"))
    }
}

final class PlotSeriesTests: XCTestCase {
    /// Two series: two bar groups in series order, each bar at its own series' accuracy,
    /// side by side within a class slot; a legend with both labels; class names drawn.
    func testTwoSeriesSideBySide() throws {
        let counts = [5, 50, 500]
        let a = Metrics(predictions: [0, 1, 2, 2], labels: [0, 1, 2, 2], numClasses: 3, trainCounts: counts)   // all right
        let b = Metrics(predictions: [1, 1, 2, 0], labels: [0, 1, 2, 2], numClasses: 3, trainCounts: counts)   // 0, 1, 0.5
        let svg = PerClassPlot.svg(series: [.init(label: "glag", metrics: a), .init(label: "lr <balanced>", metrics: b)],
                                   trainCounts: counts, classNames: ["x", "y", "z"], title: "t")
        let doc = try XMLDocument(xmlString: svg)
        let root = try XCTUnwrap(doc.rootElement())
        let kids = (root.children ?? []).compactMap { $0 as? XMLElement }
        let groups = kids.filter { $0.localName == "g" }
        XCTAssertEqual(groups.count, 2)
        func bars(_ g: XMLElement) -> [(x: Double, h: Double)] {
            (g.children ?? []).compactMap { $0 as? XMLElement }.filter { $0.localName == "rect" }.map {
                (Double(($0.attributes ?? []).first { $0.name == "x" }!.stringValue!)!,
                 Double(($0.attributes ?? []).first { $0.name == "height" }!.stringValue!)!)
            }
        }
        let ga = bars(groups[0]), gb = bars(groups[1])
        XCTAssertEqual(ga.count, 3); XCTAssertEqual(gb.count, 3)
        // Order by count: classes 2, 1, 0. Series b: 0.5, 1, 0 of series a's full height.
        XCTAssertEqual(gb[0].h, ga[0].h / 2, accuracy: 0.01)
        XCTAssertEqual(gb[1].h, ga[1].h, accuracy: 0.01)
        XCTAssertEqual(gb[2].h, 0, accuracy: 0.01)
        for k in 0..<3 { XCTAssertGreaterThan(gb[k].x, ga[k].x) }
        XCTAssertLessThan(gb[0].x, ga[1].x, "series b's bar stays inside its class slot")
        XCTAssertTrue(svg.contains(">glag</text>"))
        XCTAssertTrue(svg.contains("lr &lt;balanced&gt;"))
        XCTAssertTrue(svg.contains(">z</text>"))
    }
}
