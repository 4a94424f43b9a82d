import CHDF5
import Foundation

// Data that an HDF5 file keeps elsewhere: external links, virtual datasets (VDS) and
// external raw storage. HDF5 reads a VDS mapping whose source file or dataset is missing
// as the fill value (zeros) without an error, and the part of external raw storage past
// a short file's end as zeros too; a dangling external link is only "no such object".
// These checks run when a dataset is opened (`H5File.dataset`) and refuse such inputs in
// one line naming the file, the dataset and the missing target. The C calls here are part
// of the HDF5 door (with HDF5.swift).

/// Where HDF5 1.10 looks for a file `name` that file `parent` refers to (a VDS source or
/// an external link's target), in its order: an absolute name as given; then each folder of
/// `$envVar` (colon-separated; `${ORIGIN}` is the parent's folder); then the parent's
/// folder (for an absolute name: its last component there); then `name` from the working
/// directory. Cost: string work only.
func linkedFileCandidates(_ name: String, parent: String, envVar: String) -> [String] {
    let folder = (parent as NSString).deletingLastPathComponent
    let origin = folder.isEmpty ? "." : folder
    let absolute = name.hasPrefix("/")
    let relative = absolute ? (name as NSString).lastPathComponent : name
    var out: [String] = absolute ? [name] : []
    if let env = ProcessInfo.processInfo.environment[envVar], !env.isEmpty {
        for dir in env.split(separator: ":") where !dir.isEmpty {
            out.append(dir.replacingOccurrences(of: "${ORIGIN}", with: origin) + "/" + relative)
        }
    }
    out.append(origin + "/" + relative)
    if !absolute { out.append(name) }
    return out
}

/// The first of `paths` that is an existing regular file (following links), or nil.
private func firstRegularFile(_ paths: [String]) -> String? {
    paths.first { p in
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}

/// True if `a` and `b` name the same file (device and inode).
private func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
}

/// A C string that HDF5 returns by the two-call convention (`get(nil, 0)` gives the
/// length, then `get(buffer, length + 1)` fills it); nil on failure.
private func h5String(_ get: (UnsafeMutablePointer<CChar>?, Int) -> Int) -> String? {
    let n = get(nil, 0)
    guard n >= 0, n < 1 << 20 else { return nil }
    var buf = [CChar](repeating: 0, count: n + 1)
    guard get(&buf, n + 1) >= 0 else { return nil }
    return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension H5File {
    /// The error for `key` when one of its components is an external link that does not
    /// resolve (its file is missing, not HDF5, or lacks the object), else nil.
    /// Cost: one link query per path component, plus one file open for a broken link.
    func brokenExternalLink(_ key: String) -> FeatureIOError? {
        var prefix = ""
        for part in H5File.normalize(key).split(separator: "/") {
            prefix = prefix.isEmpty ? String(part) : prefix + "/" + part
            guard H5Lexists(id, prefix, afg_H5P_DEFAULT()) > 0 else { return nil }
            var target = [CChar](repeating: 0, count: 4096), object = [CChar](repeating: 0, count: 4096)
            let kind = afg_external_link(id, prefix, &target, target.count, &object, object.count)
            if kind == 1, H5Oexists_by_name(id, prefix, afg_H5P_DEFAULT()) <= 0 {
                let t = String(cString: target), o = String(cString: object)
                let found = firstRegularFile(linkedFileCandidates(t, parent: path, envVar: "HDF5_EXT_PREFIX"))
                let why = found.map { "\($0) has no object \(o)" } ?? "file \(t) not found (looked beside \(path) and in the working directory)"
                return FeatureIOError(.fileMissing, file: path, dataset: H5File.normalize(key),
                                      problem: "external link \(prefix) -> \(t):\(o) does not resolve: \(why)")
            }
            if kind != 1, H5Oexists_by_name(id, prefix, afg_H5P_DEFAULT()) <= 0 { return nil }
        }
        return nil
    }

    /// The extent of dataset `name` in this file, or nil if there is no such dataset.
    fileprivate func datasetExtent(_ name: String) -> [hsize_t]? {
        guard hasDataset(name) else { return nil }
        let d = H5Dopen2(id, name, afg_H5P_DEFAULT())
        guard d >= 0 else { return nil }
        defer { H5Dclose(d) }
        let s = H5Dget_space(d)
        guard s >= 0 else { return nil }
        defer { H5Sclose(s) }
        let rank = Int(H5Sget_simple_extent_ndims(s))
        guard rank >= 0 else { return nil }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        guard H5Sget_simple_extent_dims(s, &dims, nil) >= 0 else { return nil }
        return Array(dims.prefix(rank))
    }
}

extension H5Dataset {
    /// Refuses a dataset whose data lives elsewhere and cannot all be read: a VDS mapping
    /// whose source is missing or too small, external raw storage whose files are missing
    /// or shorter than the data. Cost: one file open per VDS mapping, one `stat` per
    /// external file; nothing for ordinary datasets.
    func checkLinkedStorage() throws {
        if layout == H5D_VIRTUAL { try checkVirtualSources() }
        if externalFileCount > 0 { try checkExternalFiles() }
    }

    /// Each VDS mapping's source file must resolve (as HDF5 resolves it), open as HDF5 and
    /// hold the source dataset, with the mapped selection inside its extent.
    private func checkVirtualSources() throws {
        let dcpl = createPlist.id
        func refuse(_ problem: String) -> FeatureIOError {
            FeatureIOError(.fileMissing, file: file.path, dataset: name, problem: "virtual dataset: \(problem)")
        }
        var count = 0
        guard H5Pget_virtual_count(dcpl, &count) >= 0 else { throw refuse("cannot read its mappings (corrupt file)") }
        for i in 0..<count {
            guard let srcFile = h5String({ H5Pget_virtual_filename(dcpl, i, $0, $1) }),
                  let srcName = h5String({ H5Pget_virtual_dsetname(dcpl, i, $0, $1) }) else {
                throw refuse("cannot read mapping \(i) (corrupt file)")
            }
            guard !srcFile.contains("%b"), !srcName.contains("%b") else {
                throw refuse("mapping \(i) names its sources by a printf pattern (\(srcFile):\(srcName)), which afg does not read")
            }
            let fileName = srcFile.replacingOccurrences(of: "%%", with: "%")
            let dsetName = srcName.replacingOccurrences(of: "%%", with: "%")
            let source = sourceSelection(H5Pget_virtual_srcspace(dcpl, i))
            let mapped = selectionPoints(H5Pget_virtual_vspace(dcpl, i))
            let extent: [hsize_t]?
            let shown: String
            if fileName == "." {
                (extent, shown) = (self.file.datasetExtent(dsetName), "this file")
            } else {
                guard let found = firstRegularFile(linkedFileCandidates(fileName, parent: file.path, envVar: "HDF5_VDS_PREFIX")) else {
                    throw refuse("source file \(fileName) (of source dataset \(dsetName)) not found, looked beside \(file.path) and in the working directory")
                }
                shown = found
                if sameFile(found, file.path) {
                    extent = self.file.datasetExtent(dsetName)
                } else {
                    guard let src = H5File.openShared(found) else { throw refuse("source file \(found) cannot be opened as HDF5") }
                    defer { src.handle.close() }
                    extent = src.datasetExtent(dsetName)
                }
            }
            guard let extent else { throw refuse("source dataset \(dsetName) not found in \(shown)") }
            let fits: Bool
            switch source {
            case .all:
                var elements = 1, overflow = false
                for d in extent where !overflow { (elements, overflow) = elements.multipliedReportingOverflow(by: Int(clamping: d)) }
                fits = mapped == 0 || (!overflow && elements == mapped)
            case .bounded(let end): fits = end.count == extent.count && zip(end, extent).allSatisfy { $0 < $1 }
            case .unknown: fits = true
            }
            guard fits else {
                throw refuse("source dataset \(dsetName) in \(shown) has shape \(extent), which does not match the \(mapped) elements mapped from it")
            }
        }
    }

    /// A VDS mapping's source selection: the whole source dataset (its extent is not
    /// stored: the source must hold exactly the mapped elements), a selection whose last
    /// index in each dimension must lie inside the source's extent, or one afg cannot
    /// bound (empty or unlimited). Closes `space`.
    private enum SourceSelection { case all, bounded([hsize_t]), unknown }

    private func sourceSelection(_ space: hid_t) -> SourceSelection {
        guard space >= 0 else { return .unknown }
        defer { H5Sclose(space) }
        if H5Sget_select_type(space) == H5S_SEL_ALL { return .all }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank > 0, H5Sget_select_npoints(space) > 0 else { return .unknown }
        var start = [hsize_t](repeating: 0, count: rank), end = start
        guard H5Sget_select_bounds(space, &start, &end) >= 0, !end.contains(afg_H5S_UNLIMITED()) else { return .unknown }
        return .bounded(end)
    }

    /// The number of points a selection holds (0 if unknown); closes `space`.
    private func selectionPoints(_ space: hid_t) -> Int {
        guard space >= 0 else { return 0 }
        defer { H5Sclose(space) }
        return Int(max(0, H5Sget_select_npoints(space)))
    }

    /// External raw storage: each file HDF5 will read (resolved as HDF5 1.10 does: relative
    /// to `$HDF5_EXTFILE_PREFIX`, else the access list's prefix, else the working directory)
    /// must exist and hold its segment's bytes, up to the data's size.
    private func checkExternalFiles() throws {
        let dcpl = createPlist.id
        let count = Int(externalFileCount)
        var remaining = shape.reduce(1, *) * elementSize
        let prefix = externalFilePrefix()
        for i in 0..<count where remaining > 0 {
            var nameBytes = [CChar](repeating: 0, count: 4096)
            var offset = off_t(0), size = hsize_t(0)
            guard H5Pget_external(dcpl, UInt32(i), nameBytes.count, &nameBytes, &offset, &size) >= 0 else {
                throw FeatureIOError(.hdf5, file: file.path, dataset: name, problem: "cannot read external storage entry \(i) (corrupt file)")
            }
            let ext = String(cString: nameBytes)
            let covered = size == afg_H5F_UNLIMITED() ? remaining : min(remaining, Int(clamping: size))
            remaining -= covered
            let resolved = ext.hasPrefix("/") || prefix == nil ? ext : prefix! + "/" + ext
            var st = stat()
            guard stat(resolved, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw FeatureIOError(.fileMissing, file: file.path, dataset: name,
                                     problem: "external raw data file \(resolved) not found (HDF5 resolves it from \(prefix ?? "the working directory"))")
            }
            let (needed, overflow) = Int(offset).addingReportingOverflow(covered)
            guard !overflow, offset >= 0, Int(st.st_size) >= needed else {
                throw FeatureIOError(.fileMissing, file: file.path, dataset: name,
                                     problem: "external raw data file \(resolved) holds \(st.st_size) bytes, but the dataset needs \(needed) (bytes \(offset)..<\(needed))")
            }
        }
    }

    /// The folder HDF5 prefixes to relative external file names: `$HDF5_EXTFILE_PREFIX`,
    /// else the dataset access list's prefix, with a leading `${ORIGIN}` made the file's
    /// folder; nil (the working directory) when neither is set or it is `.`.
    private func externalFilePrefix() -> String? {
        var prefix = ProcessInfo.processInfo.environment["HDF5_EXTFILE_PREFIX"] ?? ""
        if prefix.isEmpty {
            let dapl = H5Dget_access_plist(handle.id)
            if dapl >= 0 {
                prefix = h5String({ H5Pget_efile_prefix(dapl, $0, $1) }) ?? ""
                H5Pclose(dapl)
            }
        }
        guard !prefix.isEmpty, prefix != "." else { return nil }
        if prefix.hasPrefix("${ORIGIN}") {
            let folder = (file.path as NSString).deletingLastPathComponent
            prefix = (folder.isEmpty ? "." : folder) + prefix.dropFirst("${ORIGIN}".count)
        }
        return prefix
    }
}
