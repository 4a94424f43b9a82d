import Foundation

/// The standard long-tail picture as a small, self-contained SVG: per-class accuracy as
/// bars (left axis, 0–100 %), classes ordered by training count (largest first, ties by
/// class index), and the training count as a line on a second (right) axis. Several
/// classifiers on the same classes draw side-by-side bars (one `<g>` per series, in order)
/// with a legend.
public enum PerClassPlot {
    /// One classifier's bars.
    public struct Series {
        public var label: String
        public var metrics: Metrics
        public init(label: String, metrics: Metrics) { self.label = label; self.metrics = metrics }
    }

    static let colours = ["#2e86c1", "#e67e22", "#27ae60", "#8e44ad", "#7f8c8d"]

    /// One series (no legend).
    public static func svg(metrics: Metrics, trainCounts: [Int], title: String) -> String {
        svg(series: [Series(label: "", metrics: metrics)], trainCounts: trainCounts, title: title)
    }

    /// - Parameters:
    ///   - series: one or more evaluations over the same `C` classes (each `perClass` gives
    ///     its bars; absent classes draw none). A legend is drawn for two or more.
    ///   - trainCounts: `C` training rows per class.
    ///   - classNames: `C` names written under the bars when `C ≤ 30` (nil: none).
    ///   - title: escaped for XML, like every label.
    /// - Returns: the SVG document. O(C · series).
    public static func svg(series: [Series], trainCounts: [Int], classNames: [String]? = nil, title: String) -> String {
        precondition(!series.isEmpty, "PerClassPlot: no series")
        for s in series {
            precondition(trainCounts.count == s.metrics.numClasses, "PerClassPlot: \(trainCounts.count) counts for \(s.metrics.numClasses) classes")
        }
        let c = trainCounts.count
        let order = (0..<c).sorted { trainCounts[$0] != trainCounts[$1] ? trainCounts[$0] > trainCounts[$1] : $0 < $1 }
        let names = classNames.flatMap { $0.count == c && c <= 30 ? $0 : nil }
        let w = 900.0, h = names == nil ? 420.0 : 460.0, left = 60.0, right = 70.0, top = 40.0
        let bottom = names == nil ? 50.0 : 90.0
        let pw = w - left - right, ph = h - top - bottom
        let maxCount = Double(max(trainCounts.max() ?? 1, 1))
        let step = pw / Double(max(c, 1))
        let barWidth = max(step * 0.85 / Double(series.count), 0.3)
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="11">
        <title>\(esc(title))</title>
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(w / 2))" y="20" text-anchor="middle" font-size="13">\(esc(title))</text>

        """
        // Grid and both axes' ticks.
        for k in 0...4 {
            let y = top + ph * (1 - Double(k) / 4)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + pw))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(k * 25)%</text>\n"
            let count = maxCount * Double(k) / 4
            s += "<text x=\"\(f(left + pw + 6))\" y=\"\(f(y + 4))\" fill=\"#c0392b\">\(count >= 100 ? String(Int(count.rounded())) : String(format: "%.1f", count))</text>\n"
        }
        // Bars, one group per series.
        for (k, ser) in series.enumerated() {
            s += "<g fill=\"\(colours[k % colours.count])\">\n"
            for (pos, cls) in order.enumerated() {
                guard let a = ser.metrics.perClass[cls] else { continue }
                let bh = ph * a
                let x = left + Double(pos) * step + Double(k) * barWidth
                s += "<rect x=\"\(f(x))\" y=\"\(f(top + ph - bh))\" width=\"\(f(barWidth))\" height=\"\(f(bh))\"/>\n"
            }
            s += "</g>\n"
        }
        // Training counts on the second axis.
        var pts: [String] = []
        for (pos, cls) in order.enumerated() {
            let x = left + (Double(pos) + 0.5) * step
            let y = top + ph * (1 - Double(trainCounts[cls]) / maxCount)
            pts.append("\(f(x)),\(f(y))")
        }
        s += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"\(pts.joined(separator: " "))\"/>\n"
        // Legend (two or more series).
        if series.count > 1 {
            for (k, ser) in series.enumerated() {
                let y = top + 8 + Double(k) * 16
                s += "<rect x=\"\(f(left + 10))\" y=\"\(f(y - 9))\" width=\"10\" height=\"10\" fill=\"\(colours[k % colours.count])\"/>\n"
                s += "<text x=\"\(f(left + 26))\" y=\"\(f(y))\">\(esc(ser.label))</text>\n"
            }
        }
        // Class names under the bars.
        if let n = names {
            for (pos, cls) in order.enumerated() {
                let x = left + (Double(pos) + 0.5) * step, y = top + ph + 12
                s += "<text transform=\"translate(\(f(x)) \(f(y))) rotate(40)\" text-anchor=\"start\">\(esc(n[cls]))</text>\n"
            }
        }
        // Axes and labels.
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + ph))\" stroke=\"black\"/>\n"
        s += "<line x1=\"\(f(left + pw))\" y1=\"\(f(top))\" x2=\"\(f(left + pw))\" y2=\"\(f(top + ph))\" stroke=\"#c0392b\"/>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top + ph))\" x2=\"\(f(left + pw))\" y2=\"\(f(top + ph))\" stroke=\"black\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(h - 15))\" text-anchor=\"middle\">classes by training count (\(c), largest first)</text>\n"
        s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">per-class accuracy</text>\n"
        s += "<text transform=\"translate(\(f(w - 12)) \(f(top + ph / 2))) rotate(90)\" text-anchor=\"middle\" fill=\"#c0392b\">training count</text>\n"
        s += "</svg>\n"
        return s
    }
}
