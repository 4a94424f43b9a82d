/// HDF5 image files: the input of stage one (`afg make-lt` writes them, `afg pretrain`
/// and `afg extract` read them).
///
/// Layout: `images` (N × H × W × C uint8, channels last), `labels` (N int64),
/// `class_names` (optional), root attributes `num_classes` (int64), `afg_file = "images"`,
/// `created_by`, plus any string attributes the writer passes (imbalance factor, seed).

/// An image file in memory.
public struct ImageFile: Equatable, Sendable {
    public var height: Int, width: Int, channels: Int
    /// `N × H × W × C` uint8, row-major.
    public var pixels: [UInt8]
    /// `N` labels in `0..<numClasses`.
    public var labels: [Int32]
    public var numClasses: Int
    public var classNames: [String]?
    /// Root attributes as text.
    public var attributes: [String: String]

    public init(height: Int, width: Int, channels: Int, pixels: [UInt8], labels: [Int32], numClasses: Int,
                classNames: [String]? = nil, attributes: [String: String] = [:]) {
        precondition(pixels.count == labels.count * height * width * channels,
                     "ImageFile: \(pixels.count) pixels for \(labels.count) images of \(height)×\(width)×\(channels)")
        self.height = height; self.width = width; self.channels = channels
        self.pixels = pixels; self.labels = labels; self.numClasses = numClasses
        self.classNames = classNames; self.attributes = attributes
    }

    public var count: Int { labels.count }
}

extension FeatureStore {
    /// Writes an image file atomically (`images` chunked, shuffle+gzip when `compress`).
    /// - Precondition: labels in `0..<numClasses`; class names, if any, one per class.
    public static func writeImages(_ img: ImageFile, to path: String, compress: Bool = true) throws {
        precondition(img.labels.allSatisfy { $0 >= 0 && Int($0) < img.numClasses }, "writeImages: label outside 0..<\(img.numClasses)")
        precondition(img.classNames.map { $0.count == img.numClasses } ?? true, "writeImages: class names ≠ num_classes")
        try writeAtomically(to: path) { tmp in
            let f = try H5File.create(tmp)
            try f.writeDataset("images", shape: [img.count, img.height, img.width, img.channels], values: img.pixels, compress: compress)
            try f.writeDataset("labels", shape: [img.count], values: img.labels.map { Int64($0) }, compress: compress)
            if let names = img.classNames { try f.writeStrings("class_names", names) }
            var attrs = img.attributes.mapValues { H5AttributeValue.string($0) }
            attrs["num_classes"] = .int(Int64(img.numClasses))
            attrs["afg_file"] = .string("images")
            attrs["created_by"] = .string(createdBy)
            for k in attrs.keys.sorted() { try f.writeRootAttribute(k, attrs[k]!) }
            try f.close()
        }
    }

    /// Reads an image file: `images` must be 3-D (N × H × W, one channel) or 4-D
    /// (N × H × W × C, or N × C × H × W with root attribute `layout = "NCHW"`, returned
    /// channels last) unsigned 8-bit; `labels` N integers in `0..<C`, where C is the
    /// `num_classes` attribute, else the number of class names, else the largest label + 1.
    /// - Throws: `FeatureIOError` naming the file and dataset.
    public static func readImages(path: String) throws -> ImageFile {
        let f = try H5File.open(path)
        let d = try f.dataset("images")
        guard d.shape.count == 3 || d.shape.count == 4 else {
            throw FeatureIOError(.wrongShape, file: path, dataset: d.name, problem: "expected N × H × W × C, found shape \(d.shape)")
        }
        guard case .integer(bits: 8, signed: false) = d.elementType else {
            throw FeatureIOError(.wrongType, file: path, dataset: d.name, problem: "expected uint8 pixels, found \(d.elementType)")
        }
        if let m = d.missingFilter {
            throw FeatureIOError(.hdf5, file: path, dataset: d.name, problem: "compressed with filter \(m), which this HDF5 lacks")
        }
        let attrs = try f.rootAttributes()
        let channelsFirst: Bool
        switch attrs["layout"]?.text.uppercased() {
        case nil, "NHWC", "HWC": channelsFirst = false
        case "NCHW", "CHW": channelsFirst = d.shape.count == 4
        case let other?:
            throw FeatureIOError(.invalidAttribute, file: path, problem: "attribute layout = \(other): expected NHWC or NCHW")
        }
        let n = d.shape[0], c = d.shape.count == 4 ? (channelsFirst ? d.shape[1] : d.shape[3]) : 1
        let h = channelsFirst ? d.shape[2] : d.shape[1], w = channelsFirst ? d.shape[3] : d.shape[2]
        guard n > 0 else { throw FeatureIOError(.empty, file: path, dataset: d.name, problem: "no images") }
        var pixels = [UInt8](repeating: 0, count: n * h * w * c)
        try pixels.withUnsafeMutableBufferPointer { try d.read(rows: 0..<n, into: $0) }
        if channelsFirst { pixels = channelsLast(pixels, n: n, c: c, h: h, w: w) }
        let ld = try f.dataset("labels")
        guard ld.shape == [n] else {
            throw FeatureIOError(.countMismatch, file: path, dataset: ld.name, problem: "expected \(n) labels, found shape \(ld.shape)")
        }
        guard case .integer = ld.elementType else {
            throw FeatureIOError(.wrongType, file: path, dataset: ld.name, problem: "expected integer labels, found \(ld.elementType)")
        }
        var raw = [Int64](repeating: 0, count: n)
        try raw.withUnsafeMutableBufferPointer { try ld.read(rows: 0..<n, into: $0) }
        let names: [String]? = f.hasDataset("class_names") ? try f.dataset("class_names").readStrings() : nil
        var numClasses = Int(min(raw.max() ?? -1, Int64(FeatureFileReader.maxClasses))) + 1
        var source = "largest label + 1"
        if let names = names { numClasses = names.count; source = "class_names" }
        if let v = attrs["num_classes"] {
            guard case .int(let k) = v, k > 0 else {
                throw FeatureIOError(.invalidAttribute, file: path, problem: "attribute num_classes = \(v.text) is not a positive integer")
            }
            numClasses = Int(k); source = "num_classes attribute"
        }
        guard numClasses <= FeatureFileReader.maxClasses else {
            throw FeatureIOError(.labelOutOfRange, file: path, dataset: ld.name,
                                 problem: "\(numClasses) classes (\(source)) is more than \(FeatureFileReader.maxClasses); labels must be class indices 0..<C")
        }
        if let bad = raw.firstIndex(where: { $0 < 0 || $0 >= Int64(numClasses) }) {
            throw FeatureIOError(.labelOutOfRange, file: path, dataset: ld.name,
                                 problem: "label \(raw[bad]) at row \(bad) outside 0..<\(numClasses) (\(source))")
        }
        if let names = names, names.count != numClasses {
            throw FeatureIOError(.classCountMismatch, file: path, dataset: "class_names", problem: "\(names.count) names for \(numClasses) classes")
        }
        return ImageFile(height: h, width: w, channels: c, pixels: pixels, labels: raw.map { Int32($0) }, numClasses: numClasses,
                         classNames: names, attributes: attrs.mapValues(\.text))
    }

    /// N × C × H × W → N × H × W × C. O(N·C·H·W).
    private static func channelsLast(_ x: [UInt8], n: Int, c: Int, h: Int, w: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: x.count)
        let plane = h * w
        for i in 0..<n {
            for ch in 0..<c {
                let src = (i * c + ch) * plane
                for p in 0..<plane { out[(i * plane + p) * c + ch] = x[src + p] }
            }
        }
        return out
    }
}
