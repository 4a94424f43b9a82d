import Distributed
import FeatureIO
import Foundation

// Sharded feature files: every feature-file option (`--train`, `--val`, `--test`, `afg
// inspect`'s FILE) takes several files, by repeating the flag or with a quoted glob. The
// files are one data set, rows in the order given; their dimension, stored feature type,
// class count and class names must agree. Under MPI (`Job.ranks`), each rank reads its
// own part (`ShardPart`).

/// The files of feature-file arguments: each argument is a path, or a pattern holding
/// `*`, `?` or `[` that is expanded here (sorted, as the shell would), so a quoted glob
/// works under launchers that do not expand it.
/// - Throws: `CLIError` naming the flag and the pattern when a pattern matches nothing.
/// - Complexity: one `glob(3)` per pattern.
func expandShards(_ args: [String], flag: String) throws -> [String] {
    var out: [String] = []
    for a in args {
        guard a.contains(where: { "*?[".contains($0) }), !FileManager.default.fileExists(atPath: a) else {
            out.append(a); continue
        }
        var g = glob_t()
        defer { globfree(&g) }
        let rc = glob(a, 0, nil, &g)
        guard rc == 0, g.gl_pathc > 0 else { throw CLIError("\(flag) '\(a)': no file matches the pattern") }
        var matches: [String] = []
        for i in 0..<Int(g.gl_pathc) { if let p = g.gl_pathv[i] { matches.append(String(cString: p)) } }
        out += matches.sorted()
    }
    return out
}

/// How several files are named in messages and attributes: the path itself for one
/// file (so one-file runs print and record exactly what they did before), else the
/// paths joined by `,`.
func shardName(_ paths: [String]) -> String { paths.joined(separator: ",") }

/// Which rows of a sharded data set this process reads.
///
/// With at least as many files as ranks, rank `r` reads whole files: those of
/// `rowRange(of: r, size:, rows: files)`, so each rank opens only its own shards. With
/// fewer files (one file, two ranks), the concatenated rows are split into contiguous
/// ranges and each rank reads its range from the files that hold it.
struct ShardPart {
    var rank: Int
    var size: Int
    static let whole = ShardPart(rank: 0, size: 1)
    var isWhole: Bool { size == 1 }
}

/// The files this rank opens: its own when there are at least as many files as ranks,
/// else all of them (it reads a row range across them).
func shardFiles(_ paths: [String], part: ShardPart) -> [String] {
    paths.count >= part.size ? Array(paths[rowRange(of: part.rank, size: part.size, rows: paths.count)]) : paths
}

/// The fraction of the rows of `shardFiles(paths, part:)` this rank holds (1 when it
/// reads whole files), for the memory checks.
func shardFraction(_ paths: [String], part: ShardPart) -> Double {
    paths.count >= part.size ? 1 : 1 / Double(part.size)
}

/// The header facts the shards of one data set must share.
private struct ShardHeader {
    var path: String, rows: Int, dim: Int, numClasses: Int, featureType: String, classNames: [String]?

    init(_ s: FeatureStream) {
        path = s.path; rows = s.count; dim = s.dim; numClasses = s.numClasses
        featureType = s.featureType; classNames = s.classNames
    }

    /// Throws the one-line error naming `self.path` when it disagrees with `first`.
    func check(against first: ShardHeader) throws {
        if dim != first.dim { throw CLIError("\(path): feature dimension \(dim), \(first.path) has \(first.dim)") }
        if featureType != first.featureType {
            throw CLIError("\(path): features stored as \(featureType), \(first.path) has \(first.featureType)")
        }
        if numClasses != first.numClasses { throw CLIError("\(path): \(numClasses) classes, \(first.path) has \(first.numClasses)") }
        if let a = classNames, let b = first.classNames, a != b {
            throw CLIError("\(path): class names differ from those of \(first.path)")
        }
    }
}

/// Reads feature files as one data set: the rows of `paths` in order (all of them, or
/// this rank's part). One whole file is exactly `FeatureStore.readFeatures`.
///
/// - Returns: the rows read, with the first file's class names (or the first that has
///   them) and attributes.
/// - Throws: `FeatureIOError` / `CLIError` naming the file: unreadable, or a dimension,
///   stored type, class count or class names that disagree with the first file.
/// - Complexity: O(rows·D) time and memory; every file's labels are read for its header.
func readFeatureShards(_ paths: [String], keys: DatasetKeys, numClasses: Int? = nil,
                       part: ShardPart = .whole) throws -> FeatureSet {
    precondition(!paths.isEmpty, "readFeatureShards: no files")
    if paths.count == 1 && part.isWhole { return try FeatureStore.readFeatures(path: paths[0], keys: keys, numClasses: numClasses) }
    if paths.count >= part.size {
        let mine = Array(paths[rowRange(of: part.rank, size: part.size, rows: paths.count)])
        var sets: [FeatureSet] = []
        var headers: [ShardHeader] = []
        for p in mine {
            // The header first: a shard that disagrees is refused before its rows are read.
            let c = numClasses ?? headers.first?.numClasses
            let h = try ShardHeader(FeatureStream(path: p, keys: keys, numClasses: c))
            if let f = headers.first { try h.check(against: f) }
            headers.append(h)
            sets.append(try FeatureStore.readFeatures(path: p, keys: keys, numClasses: c))
        }
        return join(sets)
    }
    // Fewer files than ranks: this rank's contiguous range of the concatenated rows.
    var streams: [FeatureStream] = []
    var headers: [ShardHeader] = []
    for p in paths {
        let s = try FeatureStream(path: p, keys: keys, numClasses: numClasses ?? streams.first?.numClasses)
        let h = ShardHeader(s)
        if let f = headers.first { try h.check(against: f) }
        streams.append(s); headers.append(h)
    }
    let total = headers.reduce(0) { $0 + $1.rows }
    let mine = rowRange(of: part.rank, size: part.size, rows: total)
    let d = headers[0].dim
    var x = [Float](repeating: 0, count: mine.count * d)
    var labels: [Int32] = []
    labels.reserveCapacity(mine.count)
    var offset = 0
    for s in streams {
        let file = offset..<(offset + s.count)
        let lo = max(file.lowerBound, mine.lowerBound), hi = min(file.upperBound, mine.upperBound)
        if lo < hi {
            let rows = (lo - offset)..<(hi - offset)
            try x.withUnsafeMutableBufferPointer { p in
                let out = UnsafeMutableBufferPointer(rebasing: p[((lo - mine.lowerBound) * d)..<((hi - mine.lowerBound) * d)])
                try s.readRows(rows, into: out)
            }
            labels += s.labels[rows]
        }
        offset += s.count
    }
    let h = headers[0]
    return FeatureSet(features: x, dim: d, labels: labels, numClasses: h.numClasses,
                      classNames: headers.lazy.compactMap(\.classNames).first, attributes: streams[0].attributes)
}

/// The sets' rows in order, as one set (the first set's attributes; the first class names).
private func join(_ sets: [FeatureSet]) -> FeatureSet {
    if sets.count == 1 { return sets[0] }
    let first = sets[0]
    var x: [Float] = [], labels: [Int32] = []
    x.reserveCapacity(sets.reduce(0) { $0 + $1.features.count })
    labels.reserveCapacity(sets.reduce(0) { $0 + $1.count })
    for s in sets { x += s.features; labels += s.labels }
    return FeatureSet(features: x, dim: first.dim, labels: labels, numClasses: first.numClasses,
                      classNames: sets.lazy.compactMap(\.classNames).first, attributes: first.attributes)
}
