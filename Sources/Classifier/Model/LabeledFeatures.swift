import Linalg

/// A labelled feature matrix.
public struct LabeledFeatures: Sendable {
    /// `N × D`, row-major.
    public var features: Matrix<Float>
    /// `N` labels in `0..<numClasses`.
    public var labels: [Int32]
    public var numClasses: Int
    public init(features: Matrix<Float>, labels: [Int32], numClasses: Int) {
        precondition(features.rows == labels.count, "LabeledFeatures: \(features.rows) rows, \(labels.count) labels")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < numClasses }, "LabeledFeatures: labels outside 0..<\(numClasses)")
        self.features = features; self.labels = labels; self.numClasses = numClasses
    }
    /// `C` rows per class. O(N).
    public var classCounts: [Int] { Self.counts(of: labels, numClasses: numClasses) }

    /// Rows per class of `labels` (each in `0..<numClasses`). O(N).
    public static func counts(of labels: [Int32], numClasses: Int) -> [Int] {
        var c = [Int](repeating: 0, count: numClasses)
        for y in labels { c[Int(y)] += 1 }
        return c
    }
}
