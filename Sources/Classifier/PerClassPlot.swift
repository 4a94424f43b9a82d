import Foundation

/// The standard long-tail picture as a small, self-contained SVG: per-class accuracy as
/// bars (left axis, 0–100 %), classes ordered by training count (largest first, ties by
/// class index), and the training count as a line on a second (right) axis.
public enum PerClassPlot {
    /// - Parameters:
    ///   - metrics: evaluation figures (its `perClass` gives the bars; absent classes draw none).
    ///   - trainCounts: `C` training rows per class.
    ///   - title: escaped for XML.
    /// - Returns: the SVG document. O(C).
    public static func svg(metrics: Metrics, trainCounts: [Int], title: String) -> String {
        precondition(trainCounts.count == metrics.numClasses, "PerClassPlot: \(trainCounts.count) counts for \(metrics.numClasses) classes")
        let c = metrics.numClasses
        let order = (0..<c).sorted { trainCounts[$0] != trainCounts[$1] ? trainCounts[$0] > trainCounts[$1] : $0 < $1 }
        let w = 900.0, h = 420.0, left = 60.0, right = 70.0, top = 40.0, bottom = 50.0
        let pw = w - left - right, ph = h - top - bottom
        let maxCount = Double(max(trainCounts.max() ?? 1, 1))
        let step = pw / Double(max(c, 1))
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
        // Grid and left axis (accuracy).
        for k in 0...4 {
            let y = top + ph * (1 - Double(k) / 4)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + pw))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(k * 25)%</text>\n"
            let count = maxCount * Double(k) / 4
            s += "<text x=\"\(f(left + pw + 6))\" y=\"\(f(y + 4))\" fill=\"#c0392b\">\(count >= 100 ? String(Int(count.rounded())) : String(format: "%.1f", count))</text>\n"
        }
        // Bars.
        s += "<g fill=\"#2e86c1\">\n"
        for (pos, cls) in order.enumerated() {
            guard let a = metrics.perClass[cls] else { continue }
            let bh = ph * a
            s += "<rect x=\"\(f(left + Double(pos) * step))\" y=\"\(f(top + ph - bh))\" width=\"\(f(max(step * 0.85, 0.3)))\" height=\"\(f(bh))\"/>\n"
        }
        s += "</g>\n"
        // Training counts on the second axis.
        var pts: [String] = []
        for (pos, cls) in order.enumerated() {
            let x = left + (Double(pos) + 0.5) * step
            let y = top + ph * (1 - Double(trainCounts[cls]) / maxCount)
            pts.append("\(f(x)),\(f(y))")
        }
        s += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"\(pts.joined(separator: " "))\"/>\n"
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
