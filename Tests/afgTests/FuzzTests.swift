import Foundation
import XCTest

/// The built `afg-fuzz` binary, next to the test bundle in the build products folder.
let fuzzBinary: URL = {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidate = products.appendingPathComponent("afg-fuzz")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("afg-fuzz")
}()

/// A temporary folder for fuzz inputs: /dev/shm when there is one (thousands of small
/// file writes are 30× slower on this machine's disk), else the system's.
func fuzzFolder(_ parser: String) throws -> URL {
    let shm = URL(fileURLWithPath: "/dev/shm")
    let base = FileManager.default.isWritableFile(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
    let url = base.appendingPathComponent("afg-fuzz-\(parser)-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `afg-fuzz parser` on `seeds` (plus the valid `files`) in child processes and
/// fails, naming the seed to replay, when an input traps (SIGILL / SIGTRAP: a Swift
/// check), ends in any other signal, or gets an error that is not the parser's typed
/// one-line error.
///
/// `libhdf5Faults`: the HDF5 readers run on the system libhdf5 1.10.8, which itself
/// segfaults, aborts or loops forever on some corrupt files (the crash sits inside
/// libhdf5, e.g. `H5Aiterate2` → `H5A__attr_release_table` on a damaged attribute table,
/// `H5HG_read` looping on a damaged global heap). Those signals (SEGV, BUS, ABRT, and
/// ALRM from the per-input watchdog) are then listed, not failed, and the run resumes at
/// the next seed; a Swift trap still fails.
func runFuzz(_ parser: String, seeds: Range<UInt64>, files: [String] = [], libhdf5Faults: Bool = false,
             file: StaticString = #filePath, line: UInt = #line) throws {
    let work = try fuzzFolder(parser)
    defer { try? FileManager.default.removeItem(at: work) }
    let outPath = work.appendingPathComponent("stdout").path, errPath = work.appendingPathComponent("stderr").path
    var next = seeds.lowerBound
    var tolerated: [String] = []
    let started = Date()
    while next < seeds.upperBound {
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let p = Process()
        p.executableURL = fuzzBinary
        p.arguments = [parser, String(next), String(seeds.upperBound - next), work.appendingPathComponent("files").path]
            + files.map { repoRoot.appendingPathComponent($0).path }
        // A 2 s watchdog per input (a valid or refused input takes milliseconds).
        p.environment = ProcessInfo.processInfo.environment.merging(["AFG_FUZZ_SECONDS_PER_INPUT": "2"]) { $1 }
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        try p.run()
        p.waitUntilExit()
                let errLines = ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").split(separator: "\n")
        guard p.terminationReason == .uncaughtSignal || p.terminationStatus != 0 else { break }
        guard let last = errLines.last(where: { $0.hasPrefix("seed ") }).flatMap({ UInt64($0.dropFirst(5)) }) else {
            XCTFail("afg-fuzz \(parser) failed before its first input: \(errLines.suffix(3).joined(separator: " | "))", file: file, line: line)
            return
        }
        let signal = p.terminationReason == .uncaughtSignal ? p.terminationStatus : 0
        if libhdf5Faults, [SIGSEGV, SIGBUS, SIGABRT, SIGALRM].contains(signal) {
            tolerated.append("\(last) (signal \(signal))")
            next = last + 1
            continue
        }
        let how = signal != 0 ? "crashed (signal \(signal)\(signal == SIGALRM ? ", a hang" : ""))" : "exit \(p.terminationStatus)"
        let message = errLines.last(where: { $0.hasPrefix("afg-fuzz") }).map(String.init) ?? ""
        XCTFail("afg-fuzz \(parser): \(how) at seed \(last) (replay: afg-fuzz \(parser) \(last) 1 DIR \(files.joined(separator: " "))) \(message)",
                file: file, line: line)
        return
    }
    print("afg-fuzz \(parser): \(seeds.count) inputs (seeds \(seeds.lowerBound)..<\(seeds.upperBound)) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
          + (tolerated.isEmpty ? "" : "; \(tolerated.count) crashed or ran past the watchdog inside libhdf5: seeds \(tolerated.joined(separator: ", "))"))
}

/// Fuzzing of the Backbone parsers: every mutated input (bit flips, byte replacements,
/// truncations, extensions, huge / negative / overflowing length fields) either parses or
/// throws a `BackboneError` naming the file; never a trap, abort, hang or huge allocation.
/// Fixed seed ranges, so a failure replays; each parser takes a few seconds.
final class BackboneFuzzTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: fuzzBinary.path), "afg-fuzz not built at \(fuzzBinary.path)")
    }

    func testSafeTensorsFuzz() throws {
        try runFuzz("safetensors", seeds: 0..<20_000, files: ["fixtures/torch/resnet32_io.safetensors"])
    }

    func testIDXFuzz() throws { try runFuzz("idx", seeds: 0..<20_000) }

    func testGzipFuzz() throws { try runFuzz("gzip", seeds: 0..<20_000) }

    func testCIFARFuzz() throws { try runFuzz("cifar", seeds: 0..<20_000) }

    func testFolderFuzz() throws { try runFuzz("folder", seeds: 0..<10_000) }
}

/// Fuzzing of the HDF5 readers (FeatureIO): mutated bytes of small valid files (written
/// by our writers, plus the committed h5py / fmnist-lt fixtures) read through
/// `FeatureStore` and `FeatureSummary`; every input parses or throws a `FeatureIOError`
/// naming the file.
final class FeatureIOFuzzTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: fuzzBinary.path), "afg-fuzz not built at \(fuzzBinary.path)")
    }

    func testFeatureFileFuzz() throws {
        try runFuzz("features", seeds: 0..<1_500, files: ["f16_uint8_utf8names.h5", "f32_int32_plain.h5",
                                                          "f64_gzip_int64_fixednames.h5", "lzf_filter.h5"].map { "fixtures/h5py/" + $0 },
                    libhdf5Faults: true)
    }

    func testClassifierFileFuzz() throws { try runFuzz("classifier", seeds: 0..<1_000, files: ["fixtures/fmnist-lt/head.h5"], libhdf5Faults: true) }

    func testStatisticsFileFuzz() throws { try runFuzz("statistics", seeds: 0..<1_000, libhdf5Faults: true) }

    func testImageFileFuzz() throws { try runFuzz("images", seeds: 0..<1_000, libhdf5Faults: true) }
}

/// Structure-aware fuzzing of the NumPy containers (Sources/afg-fuzz/Containers.swift):
/// zip archives re-laid with zip64 extra fields, zip64 end records and data descriptors
/// and then mutated field by field; `.npz` members and `.npy` files whose header dicts
/// carry forged dtypes and shapes. 50,000 inputs each; every one parses or is refused
/// with a `FeatureIOError` naming the file.
final class ContainerFuzzTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: fuzzBinary.path), "afg-fuzz not built at \(fuzzBinary.path)")
    }

    static let npz = ["f16_uint16_deflated.npz", "f32_int64_stored.npz", "f64_int8.npz", "f32_uint64.npz", "object_labels.npz"]
        .map { "fixtures/numpy/" + $0 }

    func testZipFuzz() throws { try runFuzz("zip", seeds: 0..<50_000, files: Self.npz) }

    func testNpzFuzz() throws { try runFuzz("npz", seeds: 0..<50_000, files: Self.npz) }

    func testNpyFuzz() throws { try runFuzz("npy", seeds: 0..<50_000, files: ["fixtures/numpy/f16_int32.npy", "fixtures/numpy/fortran.npy"]) }
}
