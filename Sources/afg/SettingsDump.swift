import AFG
import ArgumentParser
import FeatureIO
import Foundation

/// `afg settings`: every subcommand's options with their defaults and intervals, for programs
/// that drive `afg` (the Python package's estimators take their parameters from it). Derived,
/// never listed: the options, defaults and value lists are ArgumentParser's own description of
/// the command tree (`--experimental-dump-help`), and an option's interval (and, for an
/// option without an ArgumentParser default, its default) is read back from the "Must be … ."
/// ("Default: … .") sentence its `Setting` (Sources/AFG/Settings.swift) puts in its help.
struct SettingsDump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "List every command's options, defaults and intervals (--json: machine-readable).",
        discussion: """
        JSON: {"version", "commands": {NAME: [{"name", "flags", "kind" (option / flag), \
        "default" (text, or null), "values" (the accepted words, or null), "repeating", \
        "help", "interval" ({"lower", "lower_closed", "upper", "upper_closed"}: numbers or \
        null, or null when the help states none)}]}}. NAME is the subcommand's path \
        ("train"), "" for the root.
        """)

    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let commands = try Self.commandTree()
        if json {
            let document: [String: Any] = ["version": afgVersion, "commands": commands]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for (name, options) in commands.sorted(by: { $0.key < $1.key }) {
            for o in options {
                let flag = (o["flags"] as? [String])?.first ?? ""
                let value = o["default"] as? String ?? "-"
                let interval = (o["help"] as? String).flatMap { Self.stated("Must be ", in: $0) } ?? ""
                print([name.isEmpty ? "afg" : name, flag, value, interval].joined(separator: "\t"))
            }
        }
    }

    /// The dump ArgumentParser prints for `afg --experimental-dump-help`, as one record list
    /// per command path.
    static func commandTree() throws -> [String: [[String: Any]]] {
        var text = ""
        do { _ = try AFGCommand.parseAsRoot(["--experimental-dump-help"]) } catch { text = AFGCommand.fullMessage(for: error) }
        guard let tool = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let root = tool["command"] as? [String: Any] else {
            throw CLIError("settings: ArgumentParser's help dump is not the expected JSON")
        }
        var out: [String: [[String: Any]]] = [:]
        func walk(_ command: [String: Any], path: [String]) {
            out[path.joined(separator: " ")] = (command["arguments"] as? [[String: Any]] ?? []).compactMap(record)
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path: path + [sub["commandName"] as? String ?? ""])
            }
        }
        walk(root, path: [])
        return out
    }

    /// One visible option or flag of the dump, or nil for positionals, hidden options and
    /// ArgumentParser's own (`--help`, `--version`).
    static func record(_ a: [String: Any]) -> [String: Any]? {
        let kind = a["kind"] as? String ?? ""
        guard kind == "option" || kind == "flag", a["shouldDisplay"] as? Bool ?? true else { return nil }
        let names = (a["names"] as? [[String: Any]] ?? []).compactMap { n -> String? in
            guard let name = n["name"] as? String else { return nil }
            return (n["kind"] as? String == "short" ? "-" : "--") + name
        }
        let preferred = (a["preferredName"] as? [String: Any])?["name"] as? String ?? names.first ?? ""
        if ["help", "version"].contains(preferred) { return nil }
        let help = a["abstract"] as? String ?? ""
        let bounds = stated("Must be ", in: help).flatMap(IntervalBounds.init(description:))
        // An option whose absence the command tells apart has no ArgumentParser default; its
        // help's "Default: X." sentence states it (a word: a longer sentence is a rule, not a value).
        let helpDefault = stated("Default: ", in: help).flatMap { $0.contains(" ") ? nil : $0 }
        let interval: Any = bounds.map { b -> [String: Any] in
            ["lower": b.lower ?? NSNull(), "lower_closed": b.lowerClosed, "upper": b.upper ?? NSNull(), "upper_closed": b.upperClosed]
        } ?? NSNull()
        return ["name": preferred, "flags": names, "kind": kind, "default": a["defaultValue"] ?? helpDefault ?? NSNull(),
                "values": a["allValues"] ?? NSNull(), "repeating": a["isRepeating"] as? Bool ?? false,
                "help": help, "interval": interval]
    }

    /// What the help's sentence starting with `prefix` states, to its end (`. ` or the
    /// closing `.`): `≥ 1` for "Must be ≥ 1.", or nil without such a sentence.
    static func stated(_ prefix: String, in help: String) -> String? {
        guard let r = help.range(of: prefix, options: .backwards) else { return nil }
        var rest = help[r.upperBound...]
        if let end = rest.range(of: ". ") { rest = rest[..<end.lowerBound] } else if rest.hasSuffix(".") { rest = rest.dropLast() }
        return String(rest)
    }
}
