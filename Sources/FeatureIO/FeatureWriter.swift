import Foundation

/// Writes a feature file block by block, for sets too large to hold in memory (e.g. a
/// generated epoch). The result is the same kind of file as `FeatureStore.writeFeatures`
/// (float32 `features`, int64 `labels`, optional `class_names`, extra per-row columns,
/// `num_classes` and `created_by` attributes), written to a `TemporaryFile` and renamed
/// into place by `finish()`. If the writer is dropped without `finish()` (or an append
/// fails), the temporary file is removed and any earlier file at `path` is untouched.
///
///     let w = try FeatureWriter(path: "gen.h5", dim: 512, numClasses: 100,
///                               extraColumns: ["is_generated": .uint8([])])
///     for batch in batches { try w.append(features: batch.x, labels: batch.y,
///                                         extras: ["is_generated": .uint8(flags)]) }
///     try w.finish()
///
/// Memory: one chunk cache, independent of N. Not thread-safe.
public final class FeatureWriter {
    public let path: String
    public let dim: Int
    public let numClasses: Int
    /// Rows appended so far.
    public private(set) var count = 0

    private let temporary: TemporaryFile
    private var file: H5File?
    private let features: H5Dataset
    private let labels: H5Dataset
    private let extras: [String: (H5Dataset, ColumnData)]
    private let attributes: [String: String]

    /// - Parameters:
    ///   - extraColumns: per-row 1-D datasets to write beside the features; the case of
    ///     each value (its contents are ignored) fixes the stored type.
    ///   - compress: shuffle + gzip level 4.
    /// - Precondition: `dim > 0`, `numClasses > 0`, `classNames` has C entries, extra
    ///   names differ from `features`, `labels`, `class_names`.
    /// - Throws: `FeatureIOError(.writeFailed)` if the folder is missing or the file
    ///   cannot be created.
    public init(path: String, dim: Int, numClasses: Int, classNames: [String]? = nil,
                attributes: [String: String] = [:], extraColumns: [String: ColumnData] = [:],
                compress: Bool = false) throws {
        precondition(dim > 0 && numClasses > 0, "FeatureWriter: dim and numClasses must be positive")
        precondition(classNames.map { $0.count == numClasses } ?? true, "FeatureWriter: \(classNames?.count ?? 0) names for \(numClasses) classes")
        for k in extraColumns.keys {
            precondition(!["features", "labels", "class_names"].contains(H5File.normalize(k)), "FeatureWriter: extra column named \(k)")
        }
        self.path = path
        self.dim = dim
        self.numClasses = numClasses
        self.attributes = attributes
        // Fails now (not at finish) if the folder is missing.
        temporary = try TemporaryFile(for: path)
        let f = try H5File.create(temporary.path)
        file = f
        do {
            let chunkRows = H5File.chunkShape([Int.max / 2, dim], elementSize: 4)[0]
            features = try f.createGrowable("features", rowShape: [dim], chunkRows: chunkRows, compress: compress, of: Float.self)
            labels = try f.createGrowable("labels", rowShape: [], chunkRows: 1 << 16, compress: compress, of: Int64.self)
            var ex: [String: (H5Dataset, ColumnData)] = [:]
            for k in extraColumns.keys.sorted() {
                let d: H5Dataset
                switch extraColumns[k]! {
                case .uint8: d = try f.createGrowable(k, rowShape: [], chunkRows: 1 << 16, compress: compress, of: UInt8.self)
                case .int32: d = try f.createGrowable(k, rowShape: [], chunkRows: 1 << 16, compress: compress, of: Int32.self)
                case .int64: d = try f.createGrowable(k, rowShape: [], chunkRows: 1 << 16, compress: compress, of: Int64.self)
                case .float32: d = try f.createGrowable(k, rowShape: [], chunkRows: 1 << 16, compress: compress, of: Float.self)
                }
                ex[k] = (d, extraColumns[k]!)
            }
            extras = ex
            if let names = classNames { try f.writeStrings("class_names", names) }
        } catch {
            file = nil
            temporary.discard()
            throw error
        }
    }

    /// Appends `labels.count` rows.
    /// - Parameters:
    ///   - features: rows × D, row-major.
    ///   - labels: rows labels in 0..<C.
    ///   - extras: one entry per declared extra column, `rows` values each, same case.
    /// - Precondition: shapes as above, labels in range, not finished (programmer errors).
    /// - Throws: `FeatureIOError(.writeFailed)`; the writer is then unusable and its
    ///   temporary file removed.
    /// - Complexity: O(rows · D).
    public func append(features x: [Float], labels y: [Int32], extras ex: [String: ColumnData] = [:]) throws {
        precondition(file != nil, "FeatureWriter: append after finish or failure")
        let rows = y.count
        precondition(x.count == rows * dim, "FeatureWriter.append: \(x.count) values for \(rows) rows × \(dim)")
        precondition(y.allSatisfy { $0 >= 0 && Int($0) < numClasses }, "FeatureWriter.append: labels outside 0..<\(numClasses)")
        precondition(Set(ex.keys) == Set(extras.keys), "FeatureWriter.append: extras \(ex.keys.sorted()) ≠ declared \(extras.keys.sorted())")
        do {
            try x.withUnsafeBufferPointer { try features.append($0, rows: rows, at: count) }
            try y.map { Int64($0) }.withUnsafeBufferPointer { try labels.append($0, rows: rows, at: count) }
            for k in extras.keys.sorted() {
                let (d, kind) = extras[k]!
                let v = ex[k]!
                precondition(v.count == rows, "FeatureWriter.append: extra \(k) has \(v.count) rows, expected \(rows)")
                switch (kind, v) {
                case (.uint8, .uint8(let a)): try a.withUnsafeBufferPointer { try d.append($0, rows: rows, at: count) }
                case (.int32, .int32(let a)): try a.withUnsafeBufferPointer { try d.append($0, rows: rows, at: count) }
                case (.int64, .int64(let a)): try a.withUnsafeBufferPointer { try d.append($0, rows: rows, at: count) }
                case (.float32, .float32(let a)): try a.withUnsafeBufferPointer { try d.append($0, rows: rows, at: count) }
                default: preconditionFailure("FeatureWriter.append: extra \(k) changed type")
                }
            }
        } catch {
            abandon()
            throw error
        }
        count += rows
    }

    /// Writes the attributes, closes the file and renames it into place.
    /// - Throws: `FeatureIOError(.empty)` if no rows were appended (nothing is written),
    ///   `.writeFailed` on I/O failure; the earlier file at `path` is then untouched.
    public func finish() throws {
        precondition(file != nil, "FeatureWriter: finish twice or after failure")
        guard count > 0 else {
            abandon()
            throw FeatureIOError(.empty, file: path, problem: "no rows were written (empty data set)")
        }
        let f = file!
        do {
            var attrs = attributes.mapValues { H5AttributeValue.string($0) }
            attrs["num_classes"] = .int(Int64(numClasses))
            attrs["afg_file"] = .string("features")
            try FeatureStore.writeAttributes(attrs, to: f)
            closeDatasets()
            try f.close()
            file = nil
            try temporary.commit()
        } catch {
            abandon()
            throw error
        }
    }

    /// Closes the datasets; always before the file: closed by the file's strong close
    /// after a failed flush (a full disk), HDF5 1.10 leaves them half destroyed, and their
    /// own close then crashed.
    private func closeDatasets() {
        features.handle.close()
        labels.handle.close()
        for (d, _) in extras.values { d.handle.close() }
    }

    private func abandon() {
        closeDatasets()
        if let f = file { f.handle.close() }
        file = nil
        temporary.discard()
    }

    deinit { if file != nil { abandon() } }
}

/// A `FeatureWriter` whose appends run on one background thread, so the caller makes its
/// next batch (a generated block, say) while the previous one is written. The appends run
/// in call order, so the file is byte for byte the plain writer's. At most `depth` batches
/// wait; `append` blocks beyond that, so memory stays `depth` batches. The writer is used
/// by the appender's thread only.
///
/// The first failed append is rethrown by the next `append` or by `finish()`, and the
/// batches after it are dropped. Dropped without `finish()`, it waits for the queued
/// appends and then drops the writer, which removes its temporary file.
public final class BackgroundAppender {
    /// What the queued appends share; they hold this, not the appender, so the appender's
    /// `deinit` runs on its owner's thread and can wait for them.
    private final class Shared: @unchecked Sendable {
        let writer: FeatureWriter
        let slots: DispatchSemaphore
        let lock = NSLock()
        var failure: Error?
        init(_ writer: FeatureWriter, depth: Int) { self.writer = writer; slots = DispatchSemaphore(value: depth) }
        var firstFailure: Error? { lock.withLock { failure } }
    }
    private let shared: Shared
    private let queue = DispatchQueue(label: "afg.feature-writer")

    /// - Precondition: `depth > 0`.
    public init(_ writer: FeatureWriter, depth: Int = 2) {
        precondition(depth > 0, "BackgroundAppender: depth must be positive")
        shared = Shared(writer, depth: depth)
    }

    /// Queues `FeatureWriter.append(features:labels:extras:)` with the same arguments.
    /// - Throws: the error of an earlier append that failed.
    public func append(features x: [Float], labels y: [Int32], extras ex: [String: ColumnData] = [:]) throws {
        if let e = shared.firstFailure { throw e }
        let s = shared
        s.slots.wait()
        queue.async {
            defer { s.slots.signal() }
            if s.firstFailure != nil { return }
            silenceHDF5ErrorsOnThisThread()   // a queue thread: failures are errors, not stack dumps
            do { try s.writer.append(features: x, labels: y, extras: ex) } catch {
                s.lock.withLock { s.failure = error }
            }
        }
    }

    /// Waits for the queued appends, then `FeatureWriter.finish()`.
    /// - Throws: the first failed append's error, or `finish()`'s.
    public func finish() throws {
        queue.sync {}
        if let e = shared.firstFailure { throw e }
        try shared.writer.finish()
    }

    /// Rows written so far (after the queued appends).
    public var count: Int { queue.sync { shared.writer.count } }

    deinit { queue.sync {} }
}
