import Foundation
import Linalg

/// A labelled image set in memory: `pixels` is `N × H × W × C` uint8 (row-major, channels
/// last, as in the HDF5 image files), `labels` are `0..<numClasses`.
public struct ImageSet: Equatable {
    public var height: Int, width: Int, channels: Int
    public var pixels: [UInt8]
    public var labels: [Int32]
    public var numClasses: Int
    public var classNames: [String]?

    /// - Precondition: `pixels.count == labels.count · H · W · C` and every label in
    ///   `0..<numClasses` (loaders validate data before building one).
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8], labels: [Int32], numClasses: Int, classNames: [String]? = nil) {
        precondition(pixels.count == labels.count * height * width * channels, "ImageSet: \(pixels.count) pixels for \(labels.count) images of \(height)×\(width)×\(channels)")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < numClasses }, "ImageSet: label outside 0..<\(numClasses)")
        self.height = height; self.width = width; self.channels = channels
        self.pixels = pixels; self.labels = labels; self.numClasses = numClasses; self.classNames = classNames
    }

    public var count: Int { labels.count }
    public var imageSize: Int { height * width * channels }

    /// Images per class. O(N).
    public var classCounts: [Int] {
        var c = [Int](repeating: 0, count: numClasses)
        for l in labels { c[Int(l)] += 1 }
        return c
    }

    /// The images at `indices`, in that order. O(|indices| · H · W · C).
    public func subset(_ indices: [Int]) -> ImageSet {
        var px = [UInt8](); px.reserveCapacity(indices.count * imageSize)
        for i in indices { px.append(contentsOf: pixels[(i * imageSize)..<((i + 1) * imageSize)]) }
        return ImageSet(height: height, width: width, channels: channels, pixels: px,
                        labels: indices.map { labels[$0] }, numClasses: numClasses, classNames: classNames)
    }
}

// MARK: - Readers

extension ImageSet {
    /// Reads a file, gunzipping it when it starts with the gzip magic.
    static func readMaybeGzip(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw BackboneError("\(path): cannot read file") }
        return [UInt8](Gzip.isGzip(data) ? try Gzip.decompress(data, name: path) : data)
    }

    /// Reads an IDX image file (`magic 0x00000803`, uint8, N × H × W) and its label file
    /// (`0x00000801`, N), gzipped or not: the MNIST family's format.
    /// `numClasses` defaults to `max label + 1`.
    /// - Throws: `BackboneError` naming the file on a bad magic, size or label count.
    public static func readIDX(images: String, labels: String, numClasses: Int? = nil) throws -> ImageSet {
        let ib = try readMaybeGzip(images), lb = try readMaybeGzip(labels)
        func be32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        guard ib.count >= 16, be32(ib, 0) == 0x0803 else { throw BackboneError("\(images): not an IDX uint8 image file (magic 0x00000803 expected)") }
        guard lb.count >= 8, be32(lb, 0) == 0x0801 else { throw BackboneError("\(labels): not an IDX uint8 label file (magic 0x00000801 expected)") }
        let n = be32(ib, 4), h = be32(ib, 8), w = be32(ib, 12), nl = be32(lb, 4)
        let (nh, o1) = n.multipliedReportingOverflow(by: h), (nhw, o2) = nh.multipliedReportingOverflow(by: w)
        guard h > 0, w > 0 else { throw BackboneError("\(images): header says images of \(h)×\(w) pixels") }
        guard !o1, !o2, ib.count - 16 == nhw else { throw BackboneError("\(images): header says \(n) images of \(h)×\(w) but the file has \(ib.count - 16) pixel bytes") }
        guard lb.count == 8 + nl else { throw BackboneError("\(labels): header says \(nl) labels but the file has \(lb.count - 8)") }
        guard nl == n else { throw BackboneError("\(labels): \(nl) labels for \(n) images in \(images)") }
        let labs = lb[8...].map { Int32($0) }
        let c = try resolveClasses(labs, numClasses: numClasses, file: labels)
        return ImageSet(height: h, width: w, channels: 1, pixels: Array(ib[16...]), labels: labs, numClasses: c)
    }

    static func resolveClasses(_ labels: [Int32], numClasses: Int?, file: String) throws -> Int {
        let maxLabel = Int(labels.max() ?? -1)
        if let c = numClasses {
            if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= c }) {
                throw BackboneError("\(file): row \(bad) has label \(labels[bad]) outside 0..<\(c)")
            }
            return c
        }
        return maxLabel + 1
    }

    /// The CIFAR binary formats: CIFAR-10 records are `label, 3072 pixels` (3073 bytes),
    /// CIFAR-100 records `coarse, fine, 3072 pixels` (3074 bytes, the fine label is used);
    /// pixels are 3 planes of 32 × 32 (R, G, B), converted here to H × W × C.
    public enum CIFARKind: Sendable { case cifar10, cifar100 }

    /// Reads one or more CIFAR binary files (CIFAR-10 `data_batch_*.bin`, `test_batch.bin`;
    /// CIFAR-100 `train.bin`, `test.bin`). `kind` nil infers it from the file size.
    public static func readCIFAR(paths: [String], kind: CIFARKind? = nil) throws -> ImageSet {
        var pixels = [UInt8](), labels = [Int32]()
        var resolved = kind
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { throw BackboneError("\(path): cannot read CIFAR file") }
            let b = [UInt8](data)
            let k: CIFARKind
            if let r = resolved { k = r } else {
                let by10 = b.count % 3073 == 0, by100 = b.count % 3074 == 0
                guard by10 != by100 else { throw BackboneError("\(path): \(b.count) bytes is not a whole number of CIFAR-10 (3073) or CIFAR-100 (3074) records") }
                k = by10 ? .cifar10 : .cifar100
            }
            resolved = k
            let rec = k == .cifar10 ? 3073 : 3074, off = rec - 3072
            guard b.count % rec == 0, !b.isEmpty else { throw BackboneError("\(path): \(b.count) bytes is not a whole number of \(rec)-byte records") }
            let n = b.count / rec
            pixels.reserveCapacity(pixels.count + n * 3072)
            for i in 0..<n {
                let r = i * rec
                labels.append(Int32(b[r + off - 1]))
                for p in 0..<1024 { for c in 0..<3 { pixels.append(b[r + off + c * 1024 + p]) } }
            }
        }
        let c = resolved == .cifar100 ? 100 : 10
        if let bad = labels.firstIndex(where: { Int($0) >= c }) {
            throw BackboneError("\(paths.joined(separator: ", ")): image \(bad) has label \(labels[bad]) outside 0..<\(c)")
        }
        return ImageSet(height: 32, width: 32, channels: 3, pixels: pixels, labels: labels, numClasses: c)
    }

    /// Loads a split from a folder holding the MNIST-family IDX files
    /// (`train-images-idx3-ubyte[.gz]`, `t10k-…`) or CIFAR binaries (`train.bin`/`test.bin`,
    /// or CIFAR-10's `data_batch_1..5.bin`/`test_batch.bin`).
    public static func loadFolder(_ dir: String, train: Bool) throws -> ImageSet {
        let fm = FileManager.default
        func find(_ names: [String]) -> String? {
            for n in names { for ext in ["", ".gz"] { let p = dir + "/" + n + ext; if fm.fileExists(atPath: p) { return p } } }
            return nil
        }
        let pre = train ? "train" : "t10k"
        if let im = find(["\(pre)-images-idx3-ubyte", "\(pre)-images.idx3-ubyte"]),
           let lb = find(["\(pre)-labels-idx1-ubyte", "\(pre)-labels.idx1-ubyte"]) {
            return try readIDX(images: im, labels: lb)
        }
        if let p = find([train ? "train.bin" : "test.bin"]) { return try readCIFAR(paths: [p]) }
        if train, find(["data_batch_1.bin"]) != nil {
            return try readCIFAR(paths: (1...5).compactMap { find(["data_batch_\($0).bin"]) }, kind: .cifar10)
        }
        if !train, let p = find(["test_batch.bin"]) { return try readCIFAR(paths: [p], kind: .cifar10) }
        throw BackboneError("\(dir): no IDX (\(pre)-images-idx3-ubyte[.gz]) or CIFAR binary (\(train ? "train.bin" : "test.bin")) files found")
    }
}

// MARK: - Long-tailed subsets

extension ImageSet {
    /// The exponential long-tail profile of the CIFAR-LT literature (Cao et al. 2019,
    /// `get_img_num_per_cls`): class `c` keeps `⌊nMax · IF^(−c/(C−1))⌋` samples.
    public static func longTailCounts(nMax: Int, numClasses: Int, imbalance: Double) -> [Int] {
        precondition(nMax > 0 && numClasses > 0 && imbalance >= 1, "longTailCounts: nMax > 0, C > 0, IF ≥ 1")
        if numClasses == 1 { return [nMax] }
        return (0..<numClasses).map { c in
            Int((Double(nMax) * pow(imbalance, -Double(c) / Double(numClasses - 1))).rounded(.down) + 1e-9)
        }
    }

    /// A long-tailed training subset and a class-balanced validation subset drawn from
    /// the images the subset did not take. Each class's images are shuffled with a
    /// stream of `seed`; class `c` contributes its first `counts[c]` to the training set
    /// and the next `valPerClass` to validation. `nMax` defaults to the smallest class
    /// size minus `valPerClass`. Classes keep their labels (class 0 is the largest).
    /// - Throws: `BackboneError` naming the class that lacks images.
    /// - Complexity: O(N + output pixels).
    public func longTailSplit(imbalance: Double, valPerClass: Int, seed: UInt64, nMax: Int? = nil) throws
        -> (train: ImageSet, validation: ImageSet, counts: [Int]) {
        guard imbalance >= 1 else { throw BackboneError("imbalance factor must be at least 1 (got \(imbalance))") }
        guard valPerClass >= 0 else { throw BackboneError("--val-per-class must be non-negative") }
        var byClass = [[Int]](repeating: [], count: numClasses)
        for (i, l) in labels.enumerated() { byClass[Int(l)].append(i) }
        let available = byClass.map(\.count)
        let top = nMax ?? ((available.min() ?? 0) - valPerClass)
        guard top > 0 else { throw BackboneError("no images left for the long-tailed subset: smallest class has \(available.min() ?? 0), --val-per-class is \(valPerClass)") }
        let counts = ImageSet.longTailCounts(nMax: top, numClasses: numClasses, imbalance: imbalance)
        var trainIdx = [Int](), valIdx = [Int]()
        for c in 0..<numClasses {
            guard counts[c] + valPerClass <= available[c] else {
                throw BackboneError("class \(c)\(classNames.map { " (\($0[c]))" } ?? ""): needs \(counts[c]) training + \(valPerClass) validation images, has \(available[c])")
            }
            var rng = Xoshiro256(seed: seed, streams: [0x4C54, UInt64(c)])
            var idx = byClass[c]
            seededShuffle(&idx, using: &rng)
            trainIdx += idx[0..<counts[c]]
            valIdx += idx[counts[c]..<(counts[c] + valPerClass)]
        }
        return (subset(trainIdx), subset(valIdx), counts)
    }
}

/// Fisher–Yates with 64-bit draws (Lemire's bounded method), identical on every platform
/// for the same generator state (the standard library's `shuffle` makes no such promise).
public func seededShuffle<T, G: RandomNumberGenerator>(_ a: inout [T], using rng: inout G) {
    var i = a.count - 1
    while i > 0 {
        let j = Int(boundedRandom(UInt64(i + 1), using: &rng))
        if i != j { a.swapAt(i, j) }
        i -= 1
    }
}

@inline(__always)
func boundedRandom<G: RandomNumberGenerator>(_ bound: UInt64, using rng: inout G) -> UInt64 {
    var m = rng.next().multipliedFullWidth(by: bound)
    if m.low < bound {
        let t = (0 &- bound) % bound
        while m.low < t { m = rng.next().multipliedFullWidth(by: bound) }
    }
    return m.high
}

// MARK: - Normalisation and batches

/// Per-channel normalisation `(pixel/255 − mean_c) / std_c`, as torchvision's
/// `ToTensor()` then `Normalize(mean, std)`.
public struct Normalization: Equatable, Codable, Sendable {
    public var mean: [Float], std: [Float]
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && std.allSatisfy { $0 > 0 }, "Normalization: one positive std per channel")
        self.mean = mean; self.std = std
    }
    /// The CIFAR statistics the long-tail literature hard-codes.
    public static let cifar = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010])

    /// Mean and (population) standard deviation per channel over every pixel of `set`.
    /// A constant channel gets std 1. O(N · H · W · C).
    public static func fit(_ set: ImageSet) -> Normalization {
        let c = set.channels
        var s = [Double](repeating: 0, count: c), ss = [Double](repeating: 0, count: c)
        set.pixels.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count { for k in 0..<c { let v = Double(p[i + k]); s[k] += v; ss[k] += v * v }; i += c }
        }
        let n = Double(max(set.count * set.height * set.width, 1))
        let mean = s.map { $0 / n / 255 }
        let std = (0..<c).map { k -> Double in let v = ss[k] / n / 65025 - mean[k] * mean[k]; return v > 1e-12 ? v.squareRoot() : 1 }
        return Normalization(mean: mean.map(Float.init), std: std.map(Float.init))
    }
}

/// Random crop with zero padding and horizontal flip (torchvision's
/// `RandomCrop(size, padding)` + `RandomHorizontalFlip()`); padding is black in pixel space.
public struct Augmentation: Equatable, Codable, Sendable {
    public var padding: Int
    public var flip: Bool
    public init(padding: Int = 4, flip: Bool = true) { self.padding = padding; self.flip = flip }
}

/// Builds network input blocks from an `ImageSet`.
public struct BatchBuilder {
    public var normalization: Normalization
    public var augmentation: Augmentation?
    /// Lay images out as vectors `(C·H·W) × n × 1 × 1` (for the `mlp`) instead of `C × n × H × W`.
    public var flatten: Bool

    public init(normalization: Normalization, augmentation: Augmentation? = nil, flatten: Bool = false) {
        self.normalization = normalization; self.augmentation = augmentation; self.flatten = flatten
    }

    /// Writes images `indices` of `set` into `x` (`C × n × H × W`, or `(C·H·W) × n` when
    /// flattening), normalised and, with an augmentation, randomly cropped and flipped
    /// with draws from `rng` (two per image, in order).
    /// - Precondition: `x` holds `indices.count · H · W · C` floats; the normalisation has `C` channels.
    public func fill<G: RandomNumberGenerator>(_ set: ImageSet, indices: ArraySlice<Int>, into x: UnsafeMutablePointer<Float>, using rng: inout G) {
        let n = indices.count, H = set.height, W = set.width, C = set.channels
        precondition(normalization.mean.count == C, "BatchBuilder: normalisation has \(normalization.mean.count) channels, images have \(C)")
        let scale = normalization.std.map { 1 / (255 * $0) }, shift = (0..<C).map { -normalization.mean[$0] / normalization.std[$0] }
        var offsets = [(Int, Int, Bool)](repeating: (0, 0, false), count: n)
        if let a = augmentation {
            for i in 0..<n {
                let oy = Int(boundedRandom(UInt64(2 * a.padding + 1), using: &rng)) - a.padding
                let ox = Int(boundedRandom(UInt64(2 * a.padding + 1), using: &rng)) - a.padding
                let f = a.flip && (rng.next() >> 63) == 1
                offsets[i] = (oy, ox, f)
            }
        }
        let idx = Array(indices)
        let flatten = self.flatten
        set.pixels.withUnsafeBufferPointer { px in
            offsets.withUnsafeBufferPointer { off in
                parallelRanges(n, costPerItem: H * W * C) { r in
                    for i in r {
                        let src = px.baseAddress! + idx[i] * H * W * C
                        let (oy, ox, f) = off[i]
                        for c in 0..<C {
                            let sc = scale[c], sh = shift[c]
                            for h in 0..<H { for w in 0..<W {
                                let sy = h + oy, sxw = (f ? W - 1 - w : w) + ox
                                let v: Float = (sy >= 0 && sy < H && sxw >= 0 && sxw < W) ? Float(src[(sy * W + sxw) * C + c]) : 0
                                let o = flatten ? (((c * H + h) * W + w) * n + i) : (((c * n + i) * H + h) * W + w)
                                x[o] = v * sc + sh
                            } }
                        }
                    }
                }
            }
        }
    }
}
