/// A value a numeric setting can take: comparable, printable, and able to say whether it
/// is a number at all (NaN and ±∞ are not; every integer is).
public protocol SettingValue: Comparable, Sendable, CustomStringConvertible {
    /// False for NaN and ±∞: such a value is outside every interval.
    var isNumber: Bool { get }
}

extension Int: SettingValue { public var isNumber: Bool { true } }
extension UInt64: SettingValue { public var isNumber: Bool { true } }
extension Float: SettingValue { public var isNumber: Bool { isFinite } }
extension Double: SettingValue { public var isNumber: Bool { isFinite } }

/// The values a setting accepts: an interval with optional, open or closed ends
/// (scikit-learn's `Interval(Real, 0, None, closed="right")`). NaN and ±∞ never pass.
public struct Interval<Value: SettingValue>: Sendable, Equatable, CustomStringConvertible {
    public var lower: Value?
    public var lowerClosed: Bool
    public var upper: Value?
    public var upperClosed: Bool

    public init(lower: Value?, lowerClosed: Bool = true, upper: Value?, upperClosed: Bool = true) {
        self.lower = lower; self.lowerClosed = lowerClosed; self.upper = upper; self.upperClosed = upperClosed
    }

    /// `v ≥ a`.
    public static func atLeast(_ a: Value) -> Interval { Interval(lower: a, upper: nil) }
    /// `v > a`.
    public static func above(_ a: Value) -> Interval { Interval(lower: a, lowerClosed: false, upper: nil) }
    /// `a ≤ v ≤ b`.
    public static func closed(_ a: Value, _ b: Value) -> Interval { Interval(lower: a, upper: b) }
    /// `a ≤ v < b`.
    public static func closedOpen(_ a: Value, _ b: Value) -> Interval { Interval(lower: a, upper: b, upperClosed: false) }
    /// `a < v ≤ b`.
    public static func openClosed(_ a: Value, _ b: Value) -> Interval { Interval(lower: a, lowerClosed: false, upper: b) }
    /// Any finite value.
    public static var finite: Interval { Interval(lower: nil, upper: nil) }

    /// Whether `v` is a number inside the interval. O(1).
    public func contains(_ v: Value) -> Bool {
        guard v.isNumber else { return false }
        if let a = lower, lowerClosed ? !(v >= a) : !(v > a) { return false }
        if let b = upper, upperClosed ? !(v <= b) : !(v < b) { return false }
        return true
    }

    /// `≥ 1`, `> 0`, `in [0, 1]`, `in [0, 1)`, `finite`.
    public var description: String {
        switch (lower, upper) {
        case (nil, nil): return "finite"
        case let (a?, nil): return "\(lowerClosed ? "≥" : ">") \(a)"
        case let (nil, b?): return "\(upperClosed ? "≤" : "<") \(b)"
        case let (a?, b?): return "in \(lowerClosed ? "[" : "(")\(a), \(b)\(upperClosed ? "]" : ")")"
        }
    }
}

/// The bounds of an interval read back from its `description` (`≥ 1`, `> 0`, `in [0, 1)`,
/// `finite`): what a help sentence "Must be … ." states, as numbers, for programs that read
/// the settings of the command line (`afg settings --json`). The inverse of
/// `Interval.description` for every value type (integers read as whole Doubles).
public struct IntervalBounds: Equatable, Sendable {
    public var lower: Double?
    public var lowerClosed: Bool
    public var upper: Double?
    public var upperClosed: Bool

    public init(lower: Double?, lowerClosed: Bool, upper: Double?, upperClosed: Bool) {
        self.lower = lower; self.lowerClosed = lowerClosed; self.upper = upper; self.upperClosed = upperClosed
    }

    /// The bounds `text` states, or nil when it is not an `Interval.description`. O(|text|).
    public init?(description text: String) {
        if text == "finite" { self.init(lower: nil, lowerClosed: true, upper: nil, upperClosed: true); return }
        let one: [(String, Bool, Bool)] = [("≥ ", true, true), ("> ", true, false), ("≤ ", false, true), ("< ", false, false)]
        for (prefix, isLower, closed) in one where text.hasPrefix(prefix) {
            guard let v = Double(text.dropFirst(prefix.count)) else { return nil }
            if isLower { self.init(lower: v, lowerClosed: closed, upper: nil, upperClosed: true) }
            else { self.init(lower: nil, lowerClosed: true, upper: v, upperClosed: closed) }
            return
        }
        guard text.hasPrefix("in "), let open = text.dropFirst(3).first, let close = text.last,
              "[(".contains(open), "])".contains(close) else { return nil }
        let ends = text.dropFirst(4).dropLast().split(separator: ",", omittingEmptySubsequences: false)
        guard ends.count == 2, let a = Double(ends[0]), let b = Double(ends[1].drop { $0 == " " }) else { return nil }
        self.init(lower: a, lowerClosed: open == "[", upper: b, upperClosed: close == "]")
    }
}

/// A setting declared once: its name (the command line's long flag), what it means, its
/// default and the interval it must lie in. The library's config types take their default
/// from here, the CLI derives its option, `--help` text and check from it, and `check`
/// is the one validation (style habit 11).
public struct Setting<Value: SettingValue>: Sendable {
    /// The long flag without dashes, e.g. `head-threshold`.
    public let name: String
    /// One sentence for `--help`.
    public let help: String
    /// The default (nil: the setting is off unless given).
    public let defaultValue: Value?
    public let interval: Interval<Value>

    public init(_ name: String, _ help: String, default value: Value?, _ interval: Interval<Value>) {
        self.name = name; self.help = help; self.defaultValue = value; self.interval = interval
    }

    /// The default of a setting that has one (a programmer error otherwise).
    public var value: Value {
        guard let v = defaultValue else { preconditionFailure("setting \(name) has no default") }
        return v
    }

    /// `help` with the interval, for `--help`.
    public var helpText: String { "\(help) Must be \(interval)." }

    /// Returns `v`, or throws `SettingError` naming the setting when `v` is NaN, ±∞ or
    /// outside the interval (`C must be a finite number > 0.0 (got inf)`: ∞ is > 0, so the
    /// bound alone would not say what is wrong).
    @discardableResult
    public func check(_ v: Value) throws -> Value {
        guard interval.contains(v) else {
            let bounded = interval.lower != nil || interval.upper != nil
            let what = v.isNumber || !bounded ? interval.description : "a finite number \(interval)"
            throw SettingError(name: name, value: v.description, interval: what)
        }
        return v
    }

    /// `check` for a setting that may be absent.
    public func check(_ v: Value?) throws { if let v { try check(v) } }
}

/// A setting outside its interval: `head-threshold must be ≥ 0 (got -1)`.
public struct SettingError: Error, Equatable, CustomStringConvertible {
    public var name: String
    public var value: String
    public var interval: String
    public init(name: String, value: String, interval: String) { self.name = name; self.value = value; self.interval = interval }
    public var description: String { "\(name) must be \(interval) (got \(value))" }
}
