/// The one rule by which a grid is chosen on held-out rows: the highest score (mean
/// per-class recall on rows the candidate did not train on), the first in grid order on
/// ties. Grids are ordered simplest first (the smallest `C`, then the smallest `τ`; the
/// post-hoc `p` / `τ` from 0), so a tie keeps the simpler candidate. NaN never wins.
/// `CrossValidatedSelection.choose` refines it for candidates with a default and paired
/// per-fold scores.
public enum ChoiceRule {
    /// The rule in words, for records and reports.
    public static let description = "best held-out mean per-class recall, the first in grid order on ties"

    /// Index of the chosen score; nil for an empty grid. O(n).
    public static func best(_ scores: [Double]) -> Int? {
        guard !scores.isEmpty else { return nil }
        var best = 0
        for i in scores.indices where scores[i] > scores[best] || (scores[best].isNaN && !scores[i].isNaN) { best = i }
        return best
    }
}
