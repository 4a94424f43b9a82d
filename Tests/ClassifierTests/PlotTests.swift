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
