import CHDF5
import Foundation

// The one door to HDF5. Every C call in FeatureIO goes through this file (and
// HDF5Sources.swift, the checks of data kept outside the file); everything
// else sees `H5File` / `H5Dataset` values whose identifiers are owned by `H5Handle`s
// (closed in `deinit`) and whose failures are `FeatureIOError`s naming file and dataset.
//
// Thread safety: the system HDF5 is the serial (non-MPI) build with its global lock, but
// FeatureIO's values hold state of their own: use each from one thread at a time.

/// Silence HDF5's own error printing once, before the first call (failures become
/// `FeatureIOError`s instead of a stack dump on stderr). HDF5's exit-time clean-up is
/// turned off: after a close that failed (a full disk) it would flush the half-closed
/// file again and crash; every file we open is closed by its owner before exit.
private let h5Setup: Void = {
    // afg holds an fcntl lock on each temporary it writes (`TemporaryFile`); on NFS the
    // kernel turns libhdf5's own flock into an fcntl lock too, which would then conflict.
    // afg never writes a file another process reads, so HDF5's locking adds nothing.
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0)
    _ = H5dont_atexit()
    _ = H5open()
    afg_h5_silence_errors()
}()

/// Silences HDF5's error printing on the calling thread. In HDF5's thread-safe build
/// (Debian's) the setting is per thread, so `h5Setup` covers only the thread that first
/// called into HDF5: work moved to another thread calls this first.
func silenceHDF5ErrorsOnThisThread() {
    _ = h5Setup
    afg_h5_silence_errors()
}

/// Owns one HDF5 identifier and closes it exactly once (on `close()` or in `deinit`).
final class H5Handle {
    enum Kind { case file, group, dataset, dataspace, datatype, attribute, plist }
    private(set) var id: hid_t
    let kind: Kind

    /// Wraps `id`; a negative id (HDF5's failure value) throws `failure()`.
    init(_ id: hid_t, _ kind: Kind, orThrow failure: @autoclosure () -> FeatureIOError) throws {
        guard id >= 0 else { throw failure() }
        self.id = id
        self.kind = kind
    }

    /// Closes now; returns false if HDF5 reported a failure (for a file: data not flushed).
    @discardableResult
    func close() -> Bool {
        guard id >= 0 else { return true }
        let status: herr_t
        switch kind {
        case .file: status = H5Fclose(id)
        case .group: status = H5Gclose(id)
        case .dataset: status = H5Dclose(id)
        case .dataspace: status = H5Sclose(id)
        case .datatype: status = H5Tclose(id)
        case .attribute: status = H5Aclose(id)
        case .plist: status = H5Pclose(id)
        }
        id = -1
        return status >= 0
    }

    deinit { close() }
}

/// The element type of a dataset or attribute, as stored in the file.
enum H5ElementType: Equatable, CustomStringConvertible {
    case float(bits: Int)
    case integer(bits: Int, signed: Bool)
    case string(variable: Bool)
    case other(String)

    var description: String {
        switch self {
        case .float(let b): return "float\(b)"
        case .integer(let b, let s): return (s ? "int" : "uint") + "\(b)"
        case .string(let v): return v ? "string (variable length)" : "string (fixed length)"
        case .other(let s): return s
        }
    }

    var isFloat: Bool { if case .float = self { return true }; return false }
    var isInteger: Bool { if case .integer = self { return true }; return false }
    var isString: Bool { if case .string = self { return true }; return false }

    /// Classifies an HDF5 datatype id.
    init(type t: hid_t) {
        let size = H5Tget_size(t) * 8
        switch H5Tget_class(t) {
        case H5T_FLOAT: self = .float(bits: size)
        case H5T_INTEGER: self = .integer(bits: size, signed: H5Tget_sign(t) != H5T_SGN_NONE)
        case H5T_STRING: self = .string(variable: H5Tis_variable_str(t) > 0)
        case H5T_COMPOUND: self = .other("compound")
        case H5T_ENUM: self = .other("enum")
        case H5T_ARRAY: self = .other("array")
        case H5T_VLEN: self = .other("vlen sequence")
        case H5T_OPAQUE: self = .other("opaque")
        case H5T_BITFIELD: self = .other("bitfield")
        case H5T_REFERENCE: self = .other("reference")
        default: self = .other("unknown type")
        }
    }
}

/// A value of a scalar or 1-D attribute, converted to a Swift type.
enum H5AttributeValue: Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    /// A float32 (or smaller) attribute: shown in Float's shortest form (`0.1`, not
    /// `0.10000000149011612`).
    case float(Float)
    case strings([String])
    case ints([Int64])
    case doubles([Double])
    case floats([Float])
    case unsupported(String)

    /// The numeric value of a real or integer scalar.
    var number: Double? {
        switch self {
        case .double(let d): return d
        case .float(let f): return Double(f)
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    /// The value as text: strings as they are, numbers in Swift's shortest round-trip
    /// form, arrays as `[a, b, c]`.
    var text: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .strings(let a): return "[" + a.joined(separator: ", ") + "]"
        case .ints(let a): return "[" + a.map(String.init).joined(separator: ", ") + "]"
        case .doubles(let a): return "[" + a.map { String($0) }.joined(separator: ", ") + "]"
        case .float(let f): return String(f)
        case .floats(let a): return "[" + a.map { String($0) }.joined(separator: ", ") + "]"
        case .unsupported(let t): return "<\(t)>"
        }
    }
}

/// Native in-memory HDF5 type of a Swift element type (HDF5 converts from the file type).
protocol H5Native { static var h5NativeType: hid_t { get } }
extension Float: H5Native { static var h5NativeType: hid_t { afg_H5T_NATIVE_FLOAT() } }
extension Double: H5Native { static var h5NativeType: hid_t { afg_H5T_NATIVE_DOUBLE() } }
extension Int8: H5Native { static var h5NativeType: hid_t { afg_H5T_NATIVE_INT8() } }
extension UInt8: H5Native { static var h5NativeType: hid_t { afg_H5T_NATIVE_UINT8() } }
extension Int32: H5Native { static var h5NativeType: hid_t { afg_H5T_NATIVE_INT32() } }
extension Int64: H5Native { static var h5NativeType: hid_t { afg_H5T_NATIVE_INT64() } }
extension UInt16: H5Native { static var h5NativeType: hid_t { afg_H5T_NATIVE_UINT16() } }

/// Little-endian file type written for each element type (files are portable).
protocol H5Storable: H5Native { static var h5FileType: hid_t { get } }
extension Float: H5Storable { static var h5FileType: hid_t { afg_H5T_IEEE_F32LE() } }
extension Int32: H5Storable { static var h5FileType: hid_t { afg_H5T_STD_I32LE() } }
extension Int64: H5Storable { static var h5FileType: hid_t { afg_H5T_STD_I64LE() } }
extension UInt8: H5Storable { static var h5FileType: hid_t { afg_H5T_STD_U8LE() } }

/// Collects what the C visit callbacks report (passed to them as `op_data`).
private final class VisitBox {
    var entries: [(String, Int32)] = []
}

/// An open HDF5 file. `path` is used in every error message.
final class H5File {
    let path: String
    let handle: H5Handle
    /// The file as opened for reading (`open`); every dataset read checks it is unchanged.
    let snapshot: FileSnapshot?

    private init(path: String, handle: H5Handle, snapshot: FileSnapshot? = nil) {
        self.path = path
        self.handle = handle
        self.snapshot = snapshot
    }

    /// Throws `.changed` if the file opened for reading has since been truncated,
    /// rewritten or replaced (libhdf5 would read zeros past a truncation).
    func checkUnchanged() throws {
        guard let s = snapshot else { return }
        guard FileSnapshot(path: path) == s else { throw FileSnapshot.changed(path) }
    }

    var id: hid_t { handle.id }

    /// Opens an existing file read-only.
    /// - Throws: `.fileMissing` if there is no such file, `.notHDF5` if it is not HDF5.
    static func open(_ path: String) throws -> H5File {
        _ = h5Setup
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FeatureIOError(.fileMissing, file: path, problem: "no such file")
        }
        guard !isDir.boolValue else {
            throw FeatureIOError(.fileMissing, file: path, problem: "is a directory, not a file")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw FeatureIOError(.fileMissing, file: path, problem: "not readable (permission denied)")
        }
        guard H5Fis_hdf5(path) > 0 else {
            throw FeatureIOError(.notHDF5, file: path, problem: "not an HDF5 file")
        }
        let fapl = try H5Handle(H5Pcreate(afg_H5P_FILE_ACCESS()), .plist,
                                orThrow: FeatureIOError(.hdf5, file: path, problem: "cannot create access properties"))
        H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG)
        let snapshot = FileSnapshot(path: path)
        let id = H5Fopen(path, afg_H5F_ACC_RDONLY(), fapl.id)
        let h = try H5Handle(id, .file, orThrow: FeatureIOError(
            .notHDF5, file: path, problem: "cannot open as HDF5 (unreadable or corrupt)"))
        return H5File(path: path, handle: h, snapshot: snapshot)
    }

    /// Opens an HDF5 file read-only with HDF5's default close degree, which shares a file
    /// the library already holds open (a VDS source it has read); nil if `path` does not
    /// open as HDF5. For looking inside a file another one refers to.
    static func openShared(_ path: String) -> H5File? {
        _ = h5Setup
        guard H5Fis_hdf5(path) > 0,
              let h = try? H5Handle(H5Fopen(path, afg_H5F_ACC_RDONLY(), afg_H5P_DEFAULT()), .file,
                                    orThrow: FeatureIOError(.notHDF5, file: path, problem: "cannot open")) else { return nil }
        return H5File(path: path, handle: h)
    }

    /// Opens `path` read-only, runs `body`, and closes the file (and, with strong close
    /// degree, every object opened from it) when `body` returns or throws.
    static func withFile<R>(_ path: String, _ body: (H5File) throws -> R) throws -> R {
        let f = try open(path)
        defer { f.handle.close() }
        return try body(f)
    }

    /// Creates (truncates) a file for writing. Object modification times are not recorded,
    /// so the same content gives the same bytes.
    static func create(_ path: String) throws -> H5File {
        _ = h5Setup
        let fail = FeatureIOError(.writeFailed, file: path, problem: "cannot create file")
        let fcpl = try H5Handle(H5Pcreate(afg_H5P_FILE_CREATE()), .plist, orThrow: fail)
        H5Pset_obj_track_times(fcpl.id, false)
        let fapl = try H5Handle(H5Pcreate(afg_H5P_FILE_ACCESS()), .plist, orThrow: fail)
        H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG)
        let id = H5Fcreate(path, afg_H5F_ACC_TRUNC(), fcpl.id, fapl.id)
        return H5File(path: path, handle: try H5Handle(id, .file, orThrow: fail))
    }

    /// Flushes and closes; throws if HDF5 could not write everything.
    func close() throws {
        guard handle.close() else {
            throw FeatureIOError(.writeFailed, file: path, problem: "closing the file failed (disk full?)")
        }
    }

    /// Every dataset path in the file (e.g. `features`, `train/feats`), in name order.
    func datasetPaths() -> [String] {
        let box = VisitBox()
        let ctx = Unmanaged.passUnretained(box).toOpaque()
        _ = afg_visit_links(id, { name, kind, ctx in
            guard let name, let ctx else { return }
            Unmanaged<VisitBox>.fromOpaque(ctx).takeUnretainedValue().entries.append((String(cString: name), kind))
        }, ctx)
        return box.entries.filter { $0.1 == 1 }.map { $0.0 }
    }

    /// Normalised key: no leading or repeated slashes.
    static func normalize(_ key: String) -> String {
        key.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// True if every component of `key` exists and the last one is a dataset.
    func hasDataset(_ key: String) -> Bool {
        let parts = H5File.normalize(key).split(separator: "/")
        guard !parts.isEmpty else { return false }
        var prefix = ""
        for p in parts {
            prefix = prefix.isEmpty ? String(p) : prefix + "/" + p
            guard H5Lexists(id, prefix, afg_H5P_DEFAULT()) > 0 else { return false }
        }
        guard H5Oexists_by_name(id, prefix, afg_H5P_DEFAULT()) > 0 else { return false }
        let o = H5Oopen(id, prefix, afg_H5P_DEFAULT())
        guard o >= 0 else { return false }
        defer { H5Oclose(o) }
        return H5Iget_type(o) == H5I_DATASET
    }

    /// Opens dataset `key`.
    /// - Throws: `.datasetMissing`, listing the datasets that do exist.
    func dataset(_ key: String) throws -> H5Dataset {
        let k = H5File.normalize(key)
        guard hasDataset(k) else {
            if let broken = brokenExternalLink(k) { throw broken }
            let existing = datasetPaths()
            let list = existing.isEmpty ? "the file has no datasets"
                : "datasets in the file: " + existing.joined(separator: ", ")
            throw FeatureIOError(.datasetMissing, file: path, dataset: k, problem: "no such dataset; \(list)")
        }
        let dapl = try H5Handle(H5Pcreate(afg_H5P_DATASET_ACCESS()), .plist,
                                orThrow: FeatureIOError(.hdf5, file: path, dataset: k, problem: "cannot create access properties"))
        // A 64 MiB chunk cache: a block of rows then decompresses each chunk once even
        // when the chunks are wider than HDF5's 1 MiB default cache.
        H5Pset_chunk_cache(dapl.id, 12_421, 64 << 20, 1.0)
        let d = try H5Handle(H5Dopen2(id, k, dapl.id), .dataset,
                             orThrow: FeatureIOError(.hdf5, file: path, dataset: k, problem: "cannot open dataset"))
        let ds = try H5Dataset(file: self, name: k, handle: d)
        try ds.checkDeclaredSize()
        try ds.checkLinkedStorage()
        if let missing = ds.missingFilter {
            throw FeatureIOError(.hdf5, file: path, dataset: k,
                                 problem: "compressed with filter \(missing), which this HDF5 library does not provide; rewrite it with gzip (h5py: compression=\"gzip\")")
        }
        return ds
    }

    // MARK: attributes

    /// Names of the attributes on the root group, in name order.
    func rootAttributeNames() -> [String] {
        let box = VisitBox()
        let ctx = Unmanaged.passUnretained(box).toOpaque()
        _ = afg_attribute_names(id, { name, ctx in
            guard let name, let ctx else { return }
            Unmanaged<VisitBox>.fromOpaque(ctx).takeUnretainedValue().entries.append((String(cString: name), 0))
        }, ctx)
        return box.entries.map { $0.0 }
    }

    /// Every root attribute, converted (`H5AttributeValue`).
    func rootAttributes() throws -> [String: H5AttributeValue] {
        var out: [String: H5AttributeValue] = [:]
        for name in rootAttributeNames() { out[name] = try rootAttribute(name) }
        return out
    }

    /// One root attribute, or nil if absent.
    func rootAttribute(_ name: String) throws -> H5AttributeValue? {
        guard H5Aexists(id, name) > 0 else { return nil }
        let fail = FeatureIOError(.hdf5, file: path, problem: "cannot read attribute '\(name)'")
        let a = try H5Handle(H5Aopen(id, name, afg_H5P_DEFAULT()), .attribute, orThrow: fail)
        let t = try H5Handle(H5Aget_type(a.id), .datatype, orThrow: fail)
        let s = try H5Handle(H5Aget_space(a.id), .dataspace, orThrow: fail)
        let rank = H5Sget_simple_extent_ndims(s.id)
        let n = Int(H5Sget_simple_extent_npoints(s.id))
        guard rank >= 0, n >= 0 else { throw fail }
        guard rank <= 1 else { return .unsupported("\(rank)-D attribute") }
        // Attribute values are stored uncompressed in the file: a larger declared size is
        // a corrupt dataspace, refused before allocating for it.
        var fileSize: hsize_t = 0
        let (bytes, overflow) = n.multipliedReportingOverflow(by: max(1, H5Tget_size(t.id)))
        guard H5Fget_filesize(id, &fileSize) >= 0, !overflow, UInt64(bytes) <= fileSize else {
            throw FeatureIOError(.invalidAttribute, file: path, problem: "attribute '\(name)' declares \(n) values, more than the file holds (corrupt file)")
        }
        let scalar = rank == 0
        let et = H5ElementType(type: t.id)
        switch et {
        case .integer:
            var v = [Int64](repeating: 0, count: n)
            guard v.withUnsafeMutableBytes({ H5Aread(a.id, Int64.h5NativeType, $0.baseAddress) }) >= 0 else { throw fail }
            return scalar && n == 1 ? .int(v[0]) : .ints(v)
        case .float(let bits) where bits <= 32:
            var v = [Float](repeating: 0, count: n)
            guard v.withUnsafeMutableBytes({ H5Aread(a.id, Float.h5NativeType, $0.baseAddress) }) >= 0 else { throw fail }
            return scalar && n == 1 ? .float(v[0]) : .floats(v)
        case .float:
            var v = [Double](repeating: 0, count: n)
            guard v.withUnsafeMutableBytes({ H5Aread(a.id, Double.h5NativeType, $0.baseAddress) }) >= 0 else { throw fail }
            return scalar && n == 1 ? .double(v[0]) : .doubles(v)
        case .string(let variable):
            let v = try readStringElements(count: n, fileType: t.id, variable: variable, space: s.id, fail: fail,
                                           invalid: { invalidUTF8(path, dataset: nil, attribute: name, index: $0, count: n, bytes: $1) }) { mem, buf in
                H5Aread(a.id, mem, buf)
            }
            return scalar && n == 1 ? .string(v[0]) : .strings(v)
        case .other(let desc):
            if H5Tget_class(t.id) == H5T_ENUM, H5Tget_size(t.id) == 1 {
                // h5py stores numpy bools as a 1-byte enum FALSE = 0 / TRUE = 1.
                var v = [Int8](repeating: 0, count: n)
                let status = v.withUnsafeMutableBytes { H5Aread(a.id, Int8.h5NativeType, $0.baseAddress) }
                if status >= 0 {
                    let text = v.map { $0 != 0 ? "true" : "false" }
                    return scalar && n == 1 ? .string(text[0]) : .strings(text)
                }
            }
            return .unsupported(desc)
        }
    }

    /// Writes a scalar root attribute: strings as variable-length UTF-8 (what h5py writes
    /// for `str`), integers as int64, reals as float64.
    func writeRootAttribute(_ name: String, _ value: H5AttributeValue) throws {
        let fail = FeatureIOError(.writeFailed, file: path, problem: "cannot write attribute '\(name)'")
        if H5Aexists(id, name) > 0 { guard H5Adelete(id, name) >= 0 else { throw fail } }
        let space = try H5Handle(H5Screate(H5S_SCALAR), .dataspace, orThrow: fail)
        switch value {
        case .string(let s):
            let t = try H5File.utf8VariableString(fail)
            let a = try H5Handle(H5Acreate2(id, name, t.id, space.id, afg_H5P_DEFAULT(), afg_H5P_DEFAULT()),
                                 .attribute, orThrow: fail)
            let status = s.withCString { cs -> herr_t in
                var p: UnsafePointer<CChar>? = cs
                return withUnsafeMutablePointer(to: &p) { H5Awrite(a.id, t.id, $0) }
            }
            guard status >= 0 else { throw fail }
        case .int(var i):
            let a = try H5Handle(H5Acreate2(id, name, afg_H5T_STD_I64LE(), space.id, afg_H5P_DEFAULT(), afg_H5P_DEFAULT()),
                                 .attribute, orThrow: fail)
            guard H5Awrite(a.id, Int64.h5NativeType, &i) >= 0 else { throw fail }
        case .double(var d):
            let a = try H5Handle(H5Acreate2(id, name, afg_H5T_IEEE_F64LE(), space.id, afg_H5P_DEFAULT(), afg_H5P_DEFAULT()),
                                 .attribute, orThrow: fail)
            guard H5Awrite(a.id, Double.h5NativeType, &d) >= 0 else { throw fail }
        default:
            preconditionFailure("writeRootAttribute: only scalar string/int/double attributes are written")
        }
    }

    static func utf8VariableString(_ fail: FeatureIOError) throws -> H5Handle {
        let t = try H5Handle(H5Tcopy(afg_H5T_C_S1()), .datatype, orThrow: fail)
        guard H5Tset_size(t.id, afg_H5T_VARIABLE()) >= 0,
              H5Tset_cset(t.id, H5T_CSET_UTF8) >= 0 else { throw fail }
        return t
    }

    // MARK: writing datasets

    /// Creates the groups along `key` (without modification times) and returns the
    /// normalised key.
    private func makeParents(_ key: String, fail: FeatureIOError) throws -> String {
        let k = H5File.normalize(key)
        let parts = k.split(separator: "/")
        var prefix = ""
        for p in parts.dropLast() {
            prefix = prefix.isEmpty ? String(p) : prefix + "/" + p
            if H5Lexists(id, prefix, afg_H5P_DEFAULT()) > 0 { continue }
            let gcpl = try H5Handle(H5Pcreate(afg_H5P_GROUP_CREATE()), .plist, orThrow: fail)
            H5Pset_obj_track_times(gcpl.id, false)
            _ = try H5Handle(H5Gcreate2(id, prefix, afg_H5P_DEFAULT(), gcpl.id, afg_H5P_DEFAULT()), .group, orThrow: fail)
        }
        return k
    }

    /// Chunk shape of about 1 MiB along the leading dimensions (HDF5 needs every chunk
    /// dimension ≥ 1 and the whole chunk < 4 GiB).
    static func chunkShape(_ shape: [Int], elementSize: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        let target = 1 << 20
        var i = 0
        while i < chunk.count {
            let trailing = chunk[(i + 1)...].reduce(elementSize, *)
            if trailing <= target {
                chunk[i] = max(1, min(chunk[i], target / trailing))
                break
            }
            chunk[i] = 1
            i += 1
        }
        return chunk
    }

    /// Writes `values` (row-major, `shape.reduce(1, *)` elements) as a new chunked dataset
    /// of type `T.h5FileType`; `compress` adds shuffle + gzip level 4.
    func writeDataset<T: H5Storable>(_ key: String, shape: [Int], values: [T], compress: Bool) throws {
        precondition(values.count == shape.reduce(1, *), "writeDataset: \(values.count) values for shape \(shape)")
        let fail = FeatureIOError(.writeFailed, file: path, dataset: H5File.normalize(key), problem: "cannot write dataset")
        let k = try makeParents(key, fail: fail)
        var dims = shape.map { hsize_t($0) }
        let space = try H5Handle(H5Screate_simple(Int32(dims.count), &dims, nil), .dataspace, orThrow: fail)
        let dcpl = try H5Handle(H5Pcreate(afg_H5P_DATASET_CREATE()), .plist, orThrow: fail)
        H5Pset_obj_track_times(dcpl.id, false)
        if !shape.contains(0) {
            var chunk = H5File.chunkShape(shape, elementSize: MemoryLayout<T>.stride).map { hsize_t($0) }
            guard H5Pset_chunk(dcpl.id, Int32(chunk.count), &chunk) >= 0 else { throw fail }
            if compress {
                guard H5Pset_shuffle(dcpl.id) >= 0, H5Pset_deflate(dcpl.id, 4) >= 0 else { throw fail }
            }
        }
        let d = try H5Handle(H5Dcreate2(id, k, T.h5FileType, space.id, afg_H5P_DEFAULT(), dcpl.id, afg_H5P_DEFAULT()),
                             .dataset, orThrow: fail)
        if !values.isEmpty {
            let status = values.withUnsafeBytes {
                H5Dwrite(d.id, T.h5NativeType, afg_H5S_ALL(), afg_H5S_ALL(), afg_H5P_DEFAULT(), $0.baseAddress)
            }
            guard status >= 0 else { throw fail }
        }
    }

    /// Creates an empty dataset of `0 × rowShape` elements of `T.h5FileType` that grows
    /// along its first dimension (`H5Dataset.append`), chunked in `chunkRows` rows.
    func createGrowable<T: H5Storable>(_ key: String, rowShape: [Int], chunkRows: Int, compress: Bool,
                                       of: T.Type) throws -> H5Dataset {
        precondition(chunkRows > 0 && rowShape.allSatisfy { $0 > 0 })
        let fail = FeatureIOError(.writeFailed, file: path, dataset: H5File.normalize(key), problem: "cannot create dataset")
        let k = try makeParents(key, fail: fail)
        var dims = [hsize_t(0)] + rowShape.map { hsize_t($0) }
        var maxDims = [afg_H5S_UNLIMITED()] + rowShape.map { hsize_t($0) }
        let space = try H5Handle(H5Screate_simple(Int32(dims.count), &dims, &maxDims), .dataspace, orThrow: fail)
        let dcpl = try H5Handle(H5Pcreate(afg_H5P_DATASET_CREATE()), .plist, orThrow: fail)
        H5Pset_obj_track_times(dcpl.id, false)
        var chunk = [hsize_t(chunkRows)] + rowShape.map { hsize_t($0) }
        guard H5Pset_chunk(dcpl.id, Int32(chunk.count), &chunk) >= 0 else { throw fail }
        if compress {
            guard H5Pset_shuffle(dcpl.id) >= 0, H5Pset_deflate(dcpl.id, 4) >= 0 else { throw fail }
        }
        let d = try H5Handle(H5Dcreate2(id, k, T.h5FileType, space.id, afg_H5P_DEFAULT(), dcpl.id, afg_H5P_DEFAULT()),
                             .dataset, orThrow: fail)
        return try H5Dataset(file: self, name: k, handle: d)
    }

    /// Writes a 1-D dataset of variable-length UTF-8 strings (what h5py's
    /// `string_dtype()` writes).
    func writeStrings(_ key: String, _ strings: [String]) throws {
        let fail = FeatureIOError(.writeFailed, file: path, dataset: H5File.normalize(key), problem: "cannot write strings")
        let k = try makeParents(key, fail: fail)
        let t = try H5File.utf8VariableString(fail)
        var dims = [hsize_t(strings.count)]
        let space = try H5Handle(H5Screate_simple(1, &dims, nil), .dataspace, orThrow: fail)
        let dcpl = try H5Handle(H5Pcreate(afg_H5P_DATASET_CREATE()), .plist, orThrow: fail)
        H5Pset_obj_track_times(dcpl.id, false)
        let d = try H5Handle(H5Dcreate2(id, k, t.id, space.id, afg_H5P_DEFAULT(), dcpl.id, afg_H5P_DEFAULT()),
                             .dataset, orThrow: fail)
        var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { ptrs.forEach { free($0) } }
        guard ptrs.withUnsafeMutableBytes({
            H5Dwrite(d.id, t.id, afg_H5S_ALL(), afg_H5S_ALL(), afg_H5P_DEFAULT(), $0.baseAddress)
        }) >= 0 else { throw fail }
    }
}

/// Reads `count` strings of file type `fileType` through `read(memType, buffer)`:
/// variable-length strings via HDF5-allocated pointers (freed here), fixed-length ones
/// via a byte buffer cut at the first NUL (and trailing spaces for space padding).
/// Bytes must be valid UTF-8 (ASCII is a subset): a string that is not is refused with
/// `invalid(index, bytes)`, never shown with replacement characters.
/// Cost: O(total bytes).
private func readStringElements(count n: Int, fileType: hid_t, variable: Bool, space: hid_t, fail: FeatureIOError,
                                invalid: (Int, [UInt8]) -> FeatureIOError,
                                read: (hid_t, UnsafeMutableRawPointer?) -> herr_t) throws -> [String] {
    func decode(_ i: Int, _ bytes: some Collection<UInt8>) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw invalid(i, Array(bytes)) }
        return s
    }
    if variable {
        let mem = try H5Handle(H5Tcopy(afg_H5T_C_S1()), .datatype, orThrow: fail)
        guard H5Tset_size(mem.id, afg_H5T_VARIABLE()) >= 0,
              H5Tset_cset(mem.id, H5Tget_cset(fileType)) >= 0 else { throw fail }
        var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        guard ptrs.withUnsafeMutableBytes({ read(mem.id, $0.baseAddress) }) >= 0 else { throw fail }
        defer { _ = ptrs.withUnsafeMutableBytes { afg_vlen_reclaim(mem.id, space, $0.baseAddress) } }
        return try ptrs.enumerated().map { i, p in
            guard let p else { return "" }
            return try decode(i, UnsafeRawBufferPointer(start: p, count: strlen(p)))
        }
    } else {
        let size = H5Tget_size(fileType)
        let mem = try H5Handle(H5Tcopy(fileType), .datatype, orThrow: fail)
        var bytes = [UInt8](repeating: 0, count: max(1, n * size))
        guard bytes.withUnsafeMutableBytes({ read(mem.id, $0.baseAddress) }) >= 0 else { throw fail }
        let spacePad = H5Tget_strpad(fileType) == H5T_STR_SPACEPAD
        return try (0..<n).map { i in
            var s = bytes[(i * size)..<((i + 1) * size)]
            if let z = s.firstIndex(of: 0) { s = s[..<z] }
            if spacePad { while s.last == 0x20 { s = s.dropLast() } }
            return try decode(i, s)
        }
    }
}

/// The refusal of a string that is not valid UTF-8: its index, the first 16 bytes in hex.
private func invalidUTF8(_ file: String, dataset: String?, attribute: String?, index: Int, count: Int,
                         bytes: [UInt8]) -> FeatureIOError {
    let hex = bytes.prefix(16).map { String(format: "%02x", $0) }.joined(separator: " ") + (bytes.count > 16 ? " ..." : "")
    let what = attribute.map { "attribute '\($0)': " } ?? ""
    return FeatureIOError(.wrongType, file: file, dataset: dataset,
                          problem: "\(what)string \(index) of \(count) is not valid UTF-8 (bytes \(hex))")
}

/// An open dataset: its name, shape and stored element type.
final class H5Dataset {
    let file: H5File
    let name: String
    let handle: H5Handle
    let shape: [Int]
    let elementType: H5ElementType
    /// Rows per stored chunk (leading dimension), nil if not chunked.
    let chunkRows: Int?
    /// `'name' (id N)` of the first filter in the pipeline that this HDF5 lacks (e.g.
    /// h5py's LZF), or nil.
    let missingFilter: String?
    /// Storage layout (contiguous, chunked, compact, virtual).
    let layout: H5D_layout_t
    /// Files of external raw storage (`H5Pset_external`); 0 for data stored in the file.
    let externalFileCount: Int32
    /// The creation property list (layout, filters, VDS mappings, external files).
    let createPlist: H5Handle
    private let fileType: H5Handle

    /// Bytes per element as stored in the file.
    var elementSize: Int { H5Tget_size(fileType.id) }

    fileprivate init(file: H5File, name: String, handle: H5Handle) throws {
        self.file = file
        self.name = name
        self.handle = handle
        let fail = FeatureIOError(.hdf5, file: file.path, dataset: name, problem: "cannot read dataset header")
        let s = try H5Handle(H5Dget_space(handle.id), .dataspace, orThrow: fail)
        let rank = Int(H5Sget_simple_extent_ndims(s.id))
        guard rank >= 0 else { throw fail }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1)), maxDims = dims
        guard H5Sget_simple_extent_dims(s.id, &dims, &maxDims) >= 0, dims.allSatisfy({ $0 <= hsize_t(Int.max) }) else { throw fail }
        shape = rank == 0 ? [] : dims.prefix(rank).map { Int($0) }
        fileType = try H5Handle(H5Dget_type(handle.id), .datatype, orThrow: fail)
        elementType = H5ElementType(type: fileType.id)
        let dcpl = try H5Handle(H5Dget_create_plist(handle.id), .plist, orThrow: fail)
        createPlist = dcpl
        layout = H5Pget_layout(dcpl.id)
        externalFileCount = max(0, H5Pget_external_count(dcpl.id))
        if layout == H5D_CHUNKED, rank > 0 {
            var chunk = [hsize_t](repeating: 0, count: rank)
            // libhdf5 1.10 overruns a buffer reading a chunk larger than a fixed dimension
            // (which it never writes): refuse such a layout first.
            guard H5Pget_chunk(dcpl.id, Int32(rank), &chunk) == rank,
                  zip(chunk, maxDims).allSatisfy({ $0 >= 1 && ($1 == afg_H5S_UNLIMITED() || $0 <= max($1, 1)) }) else {
                throw FeatureIOError(.hdf5, file: file.path, dataset: name,
                                     problem: "chunk shape \(chunk) does not fit the dataset shape \(dims.prefix(rank)) (corrupt file)")
            }
            chunkRows = Int(exactly: chunk[0])
        } else {
            chunkRows = nil
        }
        var missing: String?
        var filters: [H5Z_filter_t] = []
        for i in 0..<max(0, H5Pget_nfilters(dcpl.id)) where missing == nil {
            var flags: UInt32 = 0, nElements = 0, config: UInt32 = 0
            var values = [UInt32](repeating: 0, count: 8)
            var nameBytes = [CChar](repeating: 0, count: 64)
            nElements = values.count
            let fid = H5Pget_filter2(dcpl.id, UInt32(i), &flags, &nElements, &values, nameBytes.count, &nameBytes, &config)
            filters.append(fid)
            if fid >= 0, H5Zfilter_avail(fid) <= 0 {
                let n = String(cString: nameBytes)
                missing = "'\(n.isEmpty ? "unknown" : n)' (id \(fid))"
            }
        }
        missingFilter = missing
        self.filters = filters
    }

    /// Filter ids of the pipeline, in order (1 deflate, 2 shuffle, 3 Fletcher-32, ...).
    let filters: [H5Z_filter_t]

    /// Most bytes a dataset may declare: the machine's memory (a reader holds the whole
    /// dataset, up to 8 bytes per element with conversion scratch).
    static let memoryLimit = Int(clamping: ProcessInfo.processInfo.physicalMemory)

    /// Refuses a declared shape before anything is allocated for it: one whose elements
    /// (at 8 bytes each, the widest conversion) exceed `memoryLimit`, and one above 16 MiB
    /// that claims more data than the file stores (uncompressed: more than its storage;
    /// deflate, shuffle, Fletcher-32 only: more than 1032 × its storage, zlib's largest
    /// ratio). Other filters (scale-offset, n-bit, szip) have no such bound; virtual and
    /// externally stored datasets have their own check (`checkLinkedStorage`).
    /// - Throws: `FeatureIOError(.wrongShape)` naming the file, dataset and shape.
    func checkDeclaredSize() throws {
        var elements = 1, overflow = false
        for d in shape where !overflow { (elements, overflow) = elements.multipliedReportingOverflow(by: d) }
        let typeSize = max(1, H5Tget_size(fileType.id))
        let (memory, tooMuch) = elements.multipliedReportingOverflow(by: max(8, typeSize))
        guard !overflow, !tooMuch, memory <= H5Dataset.memoryLimit else {
            throw FeatureIOError(.wrongShape, file: file.path, dataset: name,
                                 problem: "shape \(shape) of \(elementType) needs more memory than this machine has (\(H5Dataset.memoryLimit >> 20) MiB)")
        }
        let declared = elements * typeSize
        // Virtual and externally stored data are not in the file's storage: their sources
        // are checked by `checkLinkedStorage` instead.
        guard declared > 16 << 20, filters.allSatisfy({ (1...3).contains($0) }),
              layout != H5D_VIRTUAL, externalFileCount == 0 else { return }
        let stored = Int(clamping: H5Dget_storage_size(handle.id))
        let (bound, big) = stored.multipliedReportingOverflow(by: filters.isEmpty ? 1 : 1032)
        guard big || declared <= bound else {
            throw FeatureIOError(.wrongShape, file: file.path, dataset: name,
                                 problem: "shape \(shape) of \(elementType) is \(declared) bytes, but the file stores \(stored) bytes for it (corrupt or sparse file)")
        }
    }

    /// Elements per leading-dimension row (product of the trailing dimensions).
    var rowElements: Int { shape.dropFirst().reduce(1, *) }

    /// True for IEEE binary16 stored in the file (read through `readHalfBits`); other
    /// 16-bit floats (e.g. bfloat16) are read through HDF5's conversion to Double.
    var isHalf: Bool {
        guard elementType == .float(bits: 16) else { return false }
        var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
        guard H5Tget_fields(fileType.id, &spos, &epos, &esize, &mpos, &msize) >= 0 else { return false }
        return esize == 5 && msize == 10 && H5Tget_ebias(fileType.id) == 15
    }

    /// Reads rows `rows` (leading dimension) into `buffer`, converting from the stored
    /// type to `memType` (an HDF5 conversion: integer widths and float widths).
    /// - Precondition: `buffer` holds `rows.count * rowElements` elements of `memType`.
    /// - Complexity: O(rows.count · rowElements), one hyperslab read.
    func read(rows: Range<Int>, memType: hid_t, into buffer: UnsafeMutableRawPointer?) throws {
        precondition(!shape.isEmpty && rows.lowerBound >= 0 && rows.upperBound <= shape[0], "read: rows \(rows) outside \(shape)")
        if rows.isEmpty { return }
        let fail = FeatureIOError(.hdf5, file: file.path, dataset: name,
                                  problem: "read of rows \(rows.lowerBound)..<\(rows.upperBound) failed (corrupt file or missing filter?)")
        let fspace = try H5Handle(H5Dget_space(handle.id), .dataspace, orThrow: fail)
        var start = [hsize_t](repeating: 0, count: shape.count)
        var count = shape.map { hsize_t($0) }
        start[0] = hsize_t(rows.lowerBound)
        count[0] = hsize_t(rows.count)
        guard H5Sselect_hyperslab(fspace.id, H5S_SELECT_SET, &start, nil, &count, nil) >= 0 else { throw fail }
        let mspace = try H5Handle(H5Screate_simple(Int32(count.count), &count, nil), .dataspace, orThrow: fail)
        guard H5Dread(handle.id, memType, mspace.id, fspace.id, afg_H5P_DEFAULT(), buffer) >= 0 else {
            try file.checkUnchanged()
            throw fail
        }
        try file.checkUnchanged()
    }

    /// Reads rows as `T` (HDF5 converts from the stored type).
    func read<T: H5Native>(rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<T>) throws {
        precondition(buffer.count >= rows.count * rowElements)
        try read(rows: rows, memType: T.h5NativeType, into: UnsafeMutableRawPointer(buffer.baseAddress))
    }

    /// Reads rows of an IEEE binary16 dataset as raw little-endian bit patterns (the
    /// caller converts explicitly with `Float(Float16(bitPattern:))`).
    func readHalfBits(rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<UInt16>) throws {
        precondition(isHalf && buffer.count >= rows.count * rowElements)
        let fail = FeatureIOError(.hdf5, file: file.path, dataset: name, problem: "cannot build the float16 type")
        let half = try H5Handle(afg_H5T_IEEE_F16LE_create(), .datatype, orThrow: fail)
        try read(rows: rows, memType: half.id, into: UnsafeMutableRawPointer(buffer.baseAddress))
    }

    /// Appends `rows` rows (`values`: rows × rowElements, row-major) at the end of a
    /// growable dataset (`H5File.createGrowable`), converting from `T`.
    /// - Complexity: O(rows · rowElements).
    func append<T: H5Native>(_ values: UnsafeBufferPointer<T>, rows: Int, at start: Int) throws {
        precondition(values.count == rows * rowElements, "append: \(values.count) values for \(rows) rows")
        if rows == 0 { return }
        let fail = FeatureIOError(.writeFailed, file: file.path, dataset: name, problem: "cannot append rows \(start)..<\(start + rows)")
        var newDims = [hsize_t(start + rows)] + shape.dropFirst().map { hsize_t($0) }
        guard H5Dset_extent(handle.id, &newDims) >= 0 else { throw fail }
        let fspace = try H5Handle(H5Dget_space(handle.id), .dataspace, orThrow: fail)
        var offset = [hsize_t](repeating: 0, count: newDims.count)
        offset[0] = hsize_t(start)
        var count = newDims
        count[0] = hsize_t(rows)
        guard H5Sselect_hyperslab(fspace.id, H5S_SELECT_SET, &offset, nil, &count, nil) >= 0 else { throw fail }
        let mspace = try H5Handle(H5Screate_simple(Int32(count.count), &count, nil), .dataspace, orThrow: fail)
        guard H5Dwrite(handle.id, T.h5NativeType, mspace.id, fspace.id, afg_H5P_DEFAULT(), values.baseAddress) >= 0 else { throw fail }
    }

    /// Reads a whole 1-D string dataset (fixed or variable length, ASCII or UTF-8).
    /// - Throws: `.wrongType` naming the index of a string that is not valid UTF-8.
    func readStrings() throws -> [String] {
        guard case .string(let variable) = elementType, shape.count == 1 else {
            preconditionFailure("readStrings on \(elementType) \(shape)")
        }
        let fail = FeatureIOError(.hdf5, file: file.path, dataset: name, problem: "cannot read strings")
        let s = try H5Handle(H5Dget_space(handle.id), .dataspace, orThrow: fail)
        return try readStringElements(count: shape[0], fileType: fileType.id, variable: variable, space: s.id, fail: fail,
                                      invalid: { invalidUTF8(file.path, dataset: name, attribute: nil, index: $0, count: shape[0], bytes: $1) }) { mem, buf in
            H5Dread(handle.id, mem, afg_H5S_ALL(), afg_H5S_ALL(), afg_H5P_DEFAULT(), buf)
        }
    }
}
