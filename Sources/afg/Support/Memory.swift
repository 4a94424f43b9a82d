import ArgumentParser
import FeatureIO
import Foundation

/// `--max-memory`: what a command may allocate. Before reading the rows, a command
/// estimates its peak from the declared shapes and its options and refuses, with the
/// estimate and the machine's memory, when it will not fit (instead of aborting later).
struct MemoryOptions: ParsableArguments {
    @Option(help: "Largest allocation a run may plan, in bytes or with a K/M/G/T suffix (default: the memory available now).")
    var maxMemory: String?

    /// A malformed size is a usage error: one line, exit 64 (`EX_USAGE`), as for any other
    /// option ArgumentParser cannot parse.
    func validate() throws {
        if let s = maxMemory, MemoryBudget.parse(s) == nil {
            Console.stderr("Error: --max-memory: expected a size such as 8G, got '\(s)'")
            throw ExitCode.validationFailure
        }
    }

    /// The budget in bytes.
    var limit: Double { maxMemory.flatMap(MemoryBudget.parse) ?? MemoryBudget.available() }

    /// Refuses a plan of `bytes` over the budget: one line with the estimate, what it is
    /// made of and the machine's memory.
    func check(_ bytes: Double, _ what: String) throws {
        guard bytes > limit else { return }
        let given = maxMemory != nil ? "--max-memory is \(MemoryBudget.format(limit))"
            : "this machine has \(MemoryBudget.format(MemoryBudget.available())) available"
        throw CLIError("this run needs about \(MemoryBudget.format(bytes)) (\(what)); \(given) (--max-memory overrides)")
    }
}

enum MemoryBudget {
    /// `MemAvailable` of /proc/meminfo, else the physical memory.
    static func available() -> Double {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let parts = line.split(separator: " ")
                if parts.count >= 2, let kb = Double(parts[1]) { return kb * 1024 }
            }
        }
        return Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// `8G`, `512M`, `1.5T`, `1000000` → bytes; nil for anything else (NaN, negative, …).
    static func parse(_ s: String) -> Double? {
        let units: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var text = s.trimmingCharacters(in: .whitespaces).uppercased()
        if text.hasSuffix("B") { text.removeLast() }
        var scale = 1.0
        if let u = text.last, let f = units[u] { scale = f; text.removeLast() }
        guard let v = Double(text), v.isFinite, v > 0 else { return nil }
        return v * scale
    }

    static func format(_ bytes: Double) -> String {
        bytes >= 0x1p40 ? String(format: "%.1f TB", bytes / 0x1p40)
            : bytes >= 0x1p30 ? String(format: "%.1f GB", bytes / 0x1p30)
            : bytes >= 0x1p20 ? String(format: "%.0f MB", bytes / 0x1p20)
            : bytes >= 0x1p10 ? String(format: "%.0f KB", bytes / 0x1p10)
            : String(format: "%.0f bytes", bytes)
    }
}

/// The declared shape of a feature file: rows, dimension, classes and class counts,
/// read without the N × D values.
struct DeclaredShape {
    var rows: Int, dim: Int, classes: Int, counts: [Int]

    /// The shape of sharded files read as one data set: rows and counts summed (the
    /// first file's dimension and class count; the readers check that the others agree).
    static func of(_ paths: [String], keys: DatasetKeys, numClasses: Int? = nil) throws -> DeclaredShape {
        var total = try of(paths[0], keys: keys, numClasses: numClasses)
        for p in paths.dropFirst() {
            let s = try of(p, keys: keys, numClasses: numClasses ?? total.classes)
            total.rows += s.rows
            for (c, n) in s.counts.enumerated() where c < total.counts.count { total.counts[c] += n }
        }
        return total
    }

    static func of(_ path: String, keys: DatasetKeys, numClasses: Int? = nil) throws -> DeclaredShape {
        let s = try FeatureStream(path: path, keys: keys, numClasses: numClasses)
        var counts = [Int](repeating: 0, count: s.numClasses)
        for l in s.labels where l >= 0 && Int(l) < counts.count { counts[Int(l)] += 1 }
        return DeclaredShape(rows: s.count, dim: s.dim, classes: s.numClasses, counts: counts)
    }

    /// Rows the generator adds when every class with rows is filled to `target` (default n_max).
    func generatedRows(target: Int?) -> Double {
        let m = Double(target ?? counts.max() ?? 0)
        return counts.reduce(0.0) { $0 + ($1 > 0 ? max(m - Double($1), 0) : 0) }
    }

    /// The covariance factors of the generator: per class the cheaper of `n_c` and `D` columns.
    var factorFloats: Double { counts.reduce(0.0) { $0 + Double(min($1, dim)) * Double(dim) } }
}
