// afg-fuzz: runs one of the project's file parsers on seeded mutations of small valid
// inputs, in a process of its own, so that a crash (trap, abort, signal) names its seed
// instead of killing the test runner. The fuzz tests (Tests/*/FuzzTests.swift) spawn it.
//
//     afg-fuzz <parser> <first-seed> <count> <work-folder> [seed-file ...]
//
// parsers: safetensors, idx, gzip, cifar, folder (Backbone); features, classifier,
// statistics, images (FeatureIO, through HDF5); zip, npz, npy (FeatureIO's NumPy readers,
// Containers.swift). Seed files add valid inputs to the ones
// built here (e.g. the committed fixtures).
//
// Before each input it writes `seed N` to stderr, so the last line names the input that
// crashed; `afg-fuzz <parser> N 1 <folder>` replays it. At the end it prints one summary
// line on stdout. Exit 0: every input parsed or threw the parser's typed error (one line,
// naming the file). Exit 1: an error of another type or form (the seed is named).
// SIGALRM: one input took longer than AFG_FUZZ_SECONDS_PER_INPUT (default 5).
// The address space is capped (AFG_FUZZ_MEMORY_GB, default 4), so an absurd allocation
// crashes instead of exhausting the machine.
import Backbone
import FeatureIO
import Foundation
import Linalg

// MARK: - Mutations

/// A field whose value the mutator likes to replace: `width` bytes at `offset`.
struct Field { var offset: Int, width: Int, bigEndian: Bool }

/// Values that break length and count fields: zero, one, sign and width boundaries,
/// sizes just beyond 2^31 / 2^32, and 4 × 2^31 (a 32 GiB float32 matrix).
let interesting: [UInt64] = [
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000,
    0xFFFF_FFFF, 0x1_0000_0000, 4 << 31, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000,
    UInt64.max, UInt64.max - 1, 1 << 40, 1 << 48,
]

struct Mutator {
    var rng: Xoshiro256
    init(seed: UInt64) { rng = Xoshiro256(seed: seed, stream: 0xF0_2223) }

    /// Uniform in `0..<n` (n > 0).
    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() >> 11) / Double(1 << 53) < p }

    /// One to four random edits: bit flips, byte replacements, truncations, extensions,
    /// block copies and deletions, and `fields` (or random positions) overwritten with
    /// `interesting` values or small deltas.
    mutating func mutate(_ b: inout [UInt8], fields: [Field] = []) {
        for _ in 0...below(4) {
            switch below(9) {
            case 0, 1:
                guard !b.isEmpty else { continue }
                b[below(b.count)] ^= 1 << UInt8(below(8))
            case 2:
                guard !b.isEmpty else { continue }
                b[below(b.count)] = chance(0.5) ? UInt8(truncatingIfNeeded: rng.next()) : [0, 0xFF, 0x7F, 0x80][below(4)]
            case 3:
                let keep = chance(0.5) ? below(b.count + 1) : max(0, b.count - 1 - below(16))
                b.removeLast(b.count - keep)
            case 4:
                let n = 1 + below(chance(0.8) ? 16 : 4096)
                let zeros = chance(0.5)
                for _ in 0..<n { b.append(zeros ? 0 : UInt8(truncatingIfNeeded: rng.next())) }
            case 5:
                guard b.count > 1 else { continue }
                let from = below(b.count), to = below(b.count), n = min(1 + below(64), b.count - max(from, to))
                b.replaceSubrange(to..<(to + n), with: b[from..<(from + n)])
            case 6:
                guard b.count > 1 else { continue }
                let at = below(b.count), n = min(1 + below(64), b.count - at)
                b.removeSubrange(at..<(at + n))
            default:
                let f: Field
                if !fields.isEmpty && chance(0.7) { f = fields[below(fields.count)] } else {
                    let w = [1, 2, 4, 8][below(4)]
                    f = Field(offset: below(max(1, b.count / w)) * w, width: w, bigEndian: chance(0.5))
                }
                guard f.offset + f.width <= b.count else { continue }
                var v = interesting[below(interesting.count)]
                if chance(0.3) { v = read(b, f) &+ UInt64(bitPattern: Int64(below(17) - 8)) }
                write(&b, f, v)
            }
        }
    }

    func read(_ b: [UInt8], _ f: Field) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<f.width { v |= UInt64(b[f.offset + (f.bigEndian ? f.width - 1 - i : i)]) << (8 * UInt64(i)) }
        return v
    }

    func write(_ b: inout [UInt8], _ f: Field, _ v: UInt64) {
        for i in 0..<f.width { b[f.offset + (f.bigEndian ? f.width - 1 - i : i)] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }
}

// MARK: - Valid seeds

func le(_ v: UInt64, _ w: Int) -> [UInt8] { (0..<w).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }

/// Safetensors bytes with one tensor per entry (`dtype`, shape, raw data), header as given.
func safetensors(_ entries: [(String, String, [Int], [UInt8])], metadata: String? = nil) -> [UInt8] {
    var parts: [String] = metadata.map { ["\"__metadata__\":\($0)"] } ?? []
    var data: [UInt8] = []
    for (name, dtype, shape, bytes) in entries {
        parts.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
        data += bytes
    }
    let header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
    return le(UInt64(header.count), 8) + header + data
}

func safetensorsSeeds() -> [[UInt8]] {
    let ours = SafeTensorsFile(tensors: [
        "fc.weight": StoredTensor(shape: [2, 3], floats: [1, -2, 3.5, 0, 1e-3, 7]),
        "fc.bias": StoredTensor(shape: [2], floats: [0.5, -0.5]),
        "bn.num_batches_tracked": StoredTensor(shape: [], values: .int64([42])),
    ], metadata: ["format": "pt"]).encoded()
    let bytes = (0..<16).map { UInt8($0 * 7 + 1) }
    let every = safetensors([
        ("a", "F64", [2], Array(bytes[0..<16])), ("b", "F16", [2, 1], Array(bytes[0..<4])),
        ("c", "BF16", [2], Array(bytes[4..<8])), ("d", "I32", [1, 2], Array(bytes[0..<8])),
        ("e", "I16", [2], Array(bytes[8..<12])), ("f", "I8", [3], Array(bytes[0..<3])),
        ("g", "U8", [2], Array(bytes[3..<5])), ("h", "BOOL", [1], [1]), ("i", "I64", [0], []),
    ], metadata: "{\"k\":\"v\",\"n\":3}")
    return [[UInt8](ours), every]
}

/// Numbers in a safetensors header rewritten as text: huge, negative, fractional,
/// beyond Int64, the ones a length-field edit cannot express in JSON. The 8-byte header
/// length is then fixed up most of the time, so the JSON still gets parsed.
func editJSONNumber(_ b: inout [UInt8], _ m: inout Mutator) {
    guard b.count >= 8 else { return }
    let hlen = Int(min(m.read(b, Field(offset: 0, width: 8, bigEndian: false)), UInt64(b.count - 8)))
    let header = 8..<(8 + hlen)
    let digits = header.filter { b[$0] >= 0x30 && b[$0] <= 0x39 && ($0 == 8 || !(b[$0 - 1] >= 0x30 && b[$0 - 1] <= 0x39)) }
    let tokens: [String] = ["0", "-1", "-8", "1e30", "1.5", "-0", "2147483648", "4294967296", "8589934592",
                            "9223372036854775807", "-9223372036854775808", "18446744073709551616",
                            "99999999999999999999999", "4611686018427387904", "3074457345618258603", "null", "\"7\""]
    let dtypes = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "C64", "\"", ""]
    var text = b[header]
    if m.chance(0.8), !digits.isEmpty {
        let start = digits[m.below(digits.count)]
        var end = start
        while end < header.upperBound, b[end] >= 0x30 && b[end] <= 0x39 { end += 1 }
        text.replaceSubrange(start..<end, with: Array(tokens[m.below(tokens.count)].utf8))
    } else {
        let s = String(decoding: text, as: UTF8.self)
        let from = dtypes[m.below(dtypes.count - 2)], to = dtypes[m.below(dtypes.count)]
        if let r = s.range(of: "\"\(from)\"") { text = ArraySlice(s.replacingCharacters(in: r, with: "\"\(to)\"").utf8) }
    }
    let newLength = m.chance(0.9) ? UInt64(text.count) : UInt64(hlen)
    b = le(newLength, 8) + Array(text) + Array(b[header.upperBound...])
}

/// An IDX image file (N × H × W uint8) and its label file.
func idxSeed(n: Int = 6, h: Int = 4, w: Int = 3) -> (images: [UInt8], labels: [UInt8]) {
    let images = be32(0x803) + be32(n) + be32(h) + be32(w) + (0..<(n * h * w)).map { UInt8($0 % 251) }
    let labels = be32(0x801) + be32(n) + (0..<n).map { UInt8($0 % 4) }
    return (images, labels)
}
let idxImageFields = [0, 4, 8, 12].map { Field(offset: $0, width: 4, bigEndian: true) }
let idxLabelFields = [0, 4].map { Field(offset: $0, width: 4, bigEndian: true) }

/// CIFAR records: `label` bytes then 3072 pixels, `n` of them.
func cifarSeed(records n: Int, labelBytes: Int) -> [UInt8] {
    var b: [UInt8] = []
    for i in 0..<n {
        b += (0..<labelBytes).map { UInt8((i + $0 * 3) % 10) }
        b += (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
    }
    return b
}

/// `bytes` gzipped by the system `gzip -n` (deterministic: no name, no time).
func gzip(_ bytes: [UInt8], work: String) throws -> [UInt8] {
    let plain = work + "/gzip-seed"
    try Data(bytes).write(to: URL(fileURLWithPath: plain))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["gzip", "-n", "-6", "-f", plain]
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw BackboneError("gzip failed") }
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
}

// MARK: - Checks

struct Untyped: Error { var message: String }

/// AFG_FUZZ_VERBOSE=1 prints each refusal (to replay one seed).
let verbose = ProcessInfo.processInfo.environment["AFG_FUZZ_VERBOSE"] == "1"

/// Runs `body`, accepting success or an `E` that `ok` approves (one line, names the file).
func expectTyped<E: Error & CustomStringConvertible>(_ kind: E.Type, file: String, seed: UInt64,
                                                    _ body: () throws -> Void) throws -> Bool {
    do {
        try body()
        return true
    } catch let e as E {
        let text = e.description
        if verbose { fputs("refused: \(text)\n", stderr) }
        guard !text.contains("\n"), text.contains(file) else {
            throw Untyped(message: "seed \(seed): error is not one line naming \(file): \(text)")
        }
        return false
    } catch {
        throw Untyped(message: "seed \(seed): untyped error \(Swift.type(of: error)): \(error)")
    }
}

func write(_ b: [UInt8], _ path: String) throws { try Data(b).write(to: URL(fileURLWithPath: path)) }

// MARK: - Main

setvbuf(stderr, nil, _IONBF, 0)
let args = CommandLine.arguments
guard args.count >= 5, let first = UInt64(args[2]), let count = UInt64(args[3]) else {
    fputs("usage: afg-fuzz <parser> <first-seed> <count> <work-folder> [seed-file ...]\n", stderr)
    exit(2)
}
let parser = args[1], work = args[4]
let seedFiles = try args.dropFirst(5).map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))) }
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)

var limit = rlimit()
let gib = UInt64(ProcessInfo.processInfo.environment["AFG_FUZZ_MEMORY_GB"].flatMap { UInt64($0) } ?? 4)
limit.rlim_cur = rlim_t(gib << 30); limit.rlim_max = rlim_t(gib << 30)
setrlimit(Int32(RLIMIT_AS.rawValue), &limit)

/// One input: `seed` → a mutated file set → one parse. Returns true when it parsed.
let fuzzOne: (UInt64) throws -> Bool
switch parser {
case "safetensors":
    let seeds = safetensorsSeeds() + seedFiles
    fuzzOne = { seed in
        var m = Mutator(seed: seed)
        var b = seeds[m.below(seeds.count)]
        if m.chance(0.4) { editJSONNumber(&b, &m) }
        if m.chance(0.8) { m.mutate(&b, fields: [Field(offset: 0, width: 8, bigEndian: false)]) }
        let name = "fuzz-\(seed).safetensors"
        return try expectTyped(FeatureIOError.self, file: name, seed: seed) { _ = try SafeTensorsFile.decode(Data(b), name: name) }
    }
case "idx", "gzip":
    let plain = idxSeed(), wide = idxSeed(n: 3, h: 28, w: 28)
    var imageSeeds = [plain.images, wide.images], labelSeeds = [plain.labels, wide.labels]
    if parser == "gzip" {
        imageSeeds = try imageSeeds.map { try gzip($0, work: work) }
        labelSeeds = try labelSeeds.map { try gzip($0, work: work) }
        // Two gzip members, concatenated (what `cat a.gz b.gz` gives).
        let half = plain.images.count / 2
        imageSeeds.append(try gzip(Array(plain.images[..<half]), work: work) + gzip(Array(plain.images[half...]), work: work))
        labelSeeds.append(labelSeeds[0])
    }
    let images = work + "/images", labels = work + "/labels"
    fuzzOne = { seed in
        var m = Mutator(seed: seed)
        let k = m.below(imageSeeds.count)
        var ib = imageSeeds[k], lb = labelSeeds[k]
        let which = m.below(3)
        let gzFields = [Field(offset: 3, width: 1, bigEndian: false), Field(offset: 10, width: 2, bigEndian: false)]
        if which != 1 { m.mutate(&ib, fields: parser == "gzip" ? gzFields + [Field(offset: max(0, ib.count - 4), width: 4, bigEndian: false)] : idxImageFields) }
        if which != 0 { m.mutate(&lb, fields: parser == "gzip" ? gzFields : idxLabelFields) }
        try write(ib, images)
        try write(lb, labels)
        let classes: Int? = m.chance(0.3) ? [1, 4, 10, 256][m.below(4)] : nil
        return try expectTyped(BackboneError.self, file: work, seed: seed) {
            _ = try ImageSet.readIDX(images: images, labels: labels, numClasses: classes)
        }
    }
case "cifar":
    let seeds = [cifarSeed(records: 3, labelBytes: 1), cifarSeed(records: 2, labelBytes: 2)]
    let path = work + "/batch.bin", valid = work + "/valid.bin"
    try write(seeds[0], valid)
    fuzzOne = { seed in
        var m = Mutator(seed: seed)
        var b = seeds[m.below(seeds.count)]
        let labelFields = [0, 3073, 3074, 6147].map { Field(offset: $0, width: 1, bigEndian: false) }
        m.mutate(&b, fields: labelFields)
        try write(b, path)
        let kind: ImageSet.CIFARKind? = [nil, .cifar10, .cifar100][m.below(3)]
        let paths = m.chance(0.2) ? [valid, path] : [path]
        return try expectTyped(BackboneError.self, file: work, seed: seed) { _ = try ImageSet.readCIFAR(paths: paths, kind: kind) }
    }
case "folder":
    let idx = idxSeed()
    let layouts: [[(String, [UInt8])]] = [
        [("train-images-idx3-ubyte", idx.images), ("train-labels-idx1-ubyte", idx.labels)],
        [("t10k-images.idx3-ubyte.gz", try gzip(idx.images, work: work)), ("t10k-labels.idx1-ubyte", idx.labels)],
        [("train.bin", cifarSeed(records: 2, labelBytes: 2)), ("test.bin", cifarSeed(records: 1, labelBytes: 2))],
        [("data_batch_1.bin", cifarSeed(records: 1, labelBytes: 1)), ("data_batch_3.bin", cifarSeed(records: 2, labelBytes: 1)),
         ("test_batch.bin", cifarSeed(records: 1, labelBytes: 1))],
    ]
    let dir = work + "/folder"
    fuzzOne = { seed in
        var m = Mutator(seed: seed)
        let layout = layouts[m.below(layouts.count)]
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let victim = m.below(layout.count)
        for (i, (name, bytes)) in layout.enumerated() {
            var b = bytes
            if i == victim || m.chance(0.2) { m.mutate(&b, fields: name.contains("idx3") ? idxImageFields : idxLabelFields) }
            try write(b, dir + "/" + name)
        }
        let train = m.chance(0.5)
        return try expectTyped(BackboneError.self, file: dir, seed: seed) { _ = try ImageSet.loadFolder(dir, train: train) }
    }
case "features", "classifier", "statistics", "images":
    // Valid files written by our own writers (plain and shuffle+gzip), plus seed files.
    var seeds = seedFiles
    for compress in [false, true] {
        let p = work + "/seed-\(compress).h5"
        switch parser {
        case "features":
            let x = (0..<(12 * 4)).map { Float($0 % 7) - 2.5 }
            let y = (0..<12).map { Int32($0 % 3) }
            try FeatureStore.writeFeatures(FeatureSet(features: x, dim: 4, labels: y, numClasses: 3, classNames: ["a", "b", "ç"],
                                                      attributes: ["split": "train"]), to: p, compress: compress,
                                           extraDatasets: ["is_generated": .uint8((0..<12).map { UInt8($0 % 2) })])
        case "classifier":
            try FeatureStore.writeClassifier(ClassifierFile(numClasses: 3, dim: 4, weight: (0..<12).map { Float($0) / 4 }, bias: [0.1, -0.2, 0.3],
                                                            classCounts: [9, 4, 1], method: "glag", tukeyLambda: 0.5,
                                                            configJSON: "{\"seed\":1}", classNames: ["a", "b", "c"]), to: p, compress: compress)
        case "statistics":
            try FeatureStore.writeStatistics(StatisticsFile(numClasses: 2, dim: 3, means: [0, 1, 2, 3, 4, 5], counts: [7, 2],
                                                            covariances: (0..<18).map { Float($0 % 4) }, tukeyLambda: 0.5,
                                                            attributes: ["source": "train.h5"]), to: p, compress: compress)
        default:
            try FeatureStore.writeImages(ImageFile(height: 4, width: 3, channels: compress ? 3 : 1,
                                                   pixels: (0..<(5 * 12 * (compress ? 3 : 1))).map { UInt8($0 % 256) },
                                                   labels: [0, 1, 2, 0, 1], numClasses: 3, classNames: ["x", "y", "z"],
                                                   attributes: ["imbalance": "10"]), to: p, compress: compress)
        }
        seeds.append([UInt8](try Data(contentsOf: URL(fileURLWithPath: p))))
    }
    let path = work + "/input.h5"
    fuzzOne = { seed in
        var m = Mutator(seed: seed)
        var b = seeds[m.below(seeds.count)]
        m.mutate(&b)
        try write(b, path)
        if parser == "features" {
            // The streamed summary does not refuse NaN, so it reaches files readFeatures refuses.
            _ = try expectTyped(FeatureIOError.self, file: path, seed: seed) { _ = try FeatureSummary.compute(path: path) }
        }
        return try expectTyped(FeatureIOError.self, file: path, seed: seed) {
            switch parser {
            case "features": _ = try FeatureStore.readFeatures(path: path)
            case "classifier": _ = try FeatureStore.readClassifier(path: path)
            case "statistics": _ = try FeatureStore.readStatistics(path: path)
            default: _ = try FeatureStore.readImages(path: path)
            }
        }
    }
case "zip", "npz":
    // zip: the container's headers (local, central, zip64 extras and end records, data
    // descriptors); npz: the .npy header dicts of its members, rewritten with valid CRCs.
    let x = (0..<(6 * 4)).map { Float($0) / 8 - 1 }
    let built = work + "/seed.npz"
    try FeatureStore.writeFeatureArrays(FeatureSet(features: x, dim: 4, labels: [0, 2, 1, 2, 0, 1], numClasses: 3,
                                                   classNames: ["a", "b", "ç"]), to: built)
    let seeds = ([[UInt8](try Data(contentsOf: URL(fileURLWithPath: built)))] + seedFiles).map(zipMembers)
    let path = work + "/input.npz"
    fuzzOne = { seed in
        var m = Mutator(seed: seed)
        var members = seeds[m.below(seeds.count)]
        if parser == "npz", !members.isEmpty {
            let k = m.below(members.count)
            if members[k].method == 0 {
                members[k].data = mutateNpyHeader(members[k].data, &m)
                members[k].size = members[k].data.count
                members[k].crc = crc(members[k].data)
            }
        }
        var (b, fields) = zipBytes(members, randomLayout(&m))
        if parser == "zip" || m.chance(0.3) { m.mutate(&b, fields: fields) }
        try write(b, path)
        return try expectTyped(FeatureIOError.self, file: path, seed: seed) {
            _ = try FeatureStore.readFeatures(path: path)
            _ = try FeatureStream(path: path)
        }
    }
case "npy":
    let x = (0..<(6 * 4)).map { Float($0) / 8 - 1 }
    let built = work + "/seed.npy"
    try FeatureStore.writeFeatureArrays(FeatureSet(features: x, dim: 4, labels: [0, 2, 1, 2, 0, 1], numClasses: 3,
                                                   classNames: ["a", "b", "ç"]), to: built)
    let sibling = { (p: String, k: String) in String(p.dropLast(4)) + ".\(k).npy" }
    let read = { (p: String) in [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: p))) ?? Data()) }
    let features = [read(built)] + seedFiles
    let labels = [read(sibling(built, "labels"))], names = [read(sibling(built, "class_names"))]
    let path = work + "/input.npy"
    fuzzOne = { seed in
        var m = Mutator(seed: seed)
        var files = [features[m.below(features.count)], labels[0], names[0]]
        let victim = m.below(3)
        for i in 0..<3 where i == victim || m.chance(0.1) {
            if m.chance(0.7) { files[i] = mutateNpyHeader(files[i], &m) }
            if m.chance(0.5) { m.mutate(&files[i], fields: npyFields) }
        }
        try write(files[0], path)
        try write(files[1], sibling(path, "labels"))
        try write(files[2], sibling(path, "class_names"))
        return try expectTyped(FeatureIOError.self, file: work, seed: seed) {
            _ = try FeatureStore.readFeatures(path: path)
            _ = try FeatureStream(path: path)
        }
    }
default:
    fputs("afg-fuzz: unknown parser \(parser)\n", stderr)
    exit(2)
}

let clock = ContinuousClock()
let start = clock.now
var parsed = 0
// A watchdog per input: an input that takes longer than this ends the process with
// SIGALRM (a hang, named by the last `seed` line).
let secondsPerInput = UInt32(ProcessInfo.processInfo.environment["AFG_FUZZ_SECONDS_PER_INPUT"].flatMap { UInt32($0) } ?? 5)
for seed in first..<(first + count) {
    fputs("seed \(seed)\n", stderr)
    alarm(secondsPerInput)
    do {
        if try fuzzOne(seed) { parsed += 1 }
    } catch let e as Untyped {
        fputs("afg-fuzz \(parser): \(e.message)\n", stderr)
        exit(1)
    }
}
let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
print("afg-fuzz \(parser): \(count) inputs (seeds \(first)..<\(first + count)), \(parsed) parsed, \(Int(count) - parsed) refused, \(String(format: "%.1f", seconds)) s")
