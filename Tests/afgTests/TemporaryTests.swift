import Foundation
import XCTest
import FeatureIO

/// afg's temporaries and outputs, end to end: signals remove the temporaries (one line,
/// exit 128 + signal); temporary names are short (a 250-byte output name works) and locked,
/// and the stale sweep removes only afg temporaries whose lock it can take; an output's
/// name must not claim a format afg does not write; and the smaller messages.
final class TemporaryTests: XCTestCase {
    var dir: URL!
    let fixtures = repoRoot.appendingPathComponent("fixtures/fmnist-lt").path

    override func setUpWithError() throws {
        dir = try scratchFolder("tmp")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    func assertRefused(_ r: (status: Int32, out: String, err: String), _ needle: String, status: Int32 = 1,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.err, file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err, file: file, line: line)
        XCTAssertTrue(r.err.contains(needle), r.err, file: file, line: line)
    }

    /// SIGTERM, SIGINT and SIGHUP while `calibrate --generate` writes: its temporaries are
    /// removed, one line is printed, the exit status is 128 + the signal, and no output exists.
    /// The signal comes as soon as a temporary's name appears, which is also the moment the
    /// file exists but may not yet be known to the handler; each signal is sent five times.
    func testSignalsRemoveTemporariesAndExitWithTheSignal() throws {
        for sig in Array(repeating: [SIGTERM, SIGINT, SIGHUP], count: 5).joined() {
            let p = Process()
            p.executableURL = afgBinary
            p.arguments = ["calibrate", "--train", "\(fixtures)/train.h5", "--out", path("s.h5"), "--generate", path("g.h5"),
                           "--target-per-class", "40000", "--quiet"]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            // Wait for a temporary to appear (the run is then writing), then signal.
            let deadline = Date().addingTimeInterval(60)
            while p.isRunning, Date() < deadline, try !names().contains(where: { $0.hasPrefix(".afg-") }) { usleep(2000) }
            XCTAssertTrue(p.isRunning, "the run ended before a temporary was seen")
            kill(p.processIdentifier, sig)
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .exit, "signal \(sig)")
            XCTAssertEqual(p.terminationStatus, 128 + sig, text)
            XCTAssertEqual(text.split(separator: "\n").count, 1, text)
            XCTAssertTrue(text.contains("temporary files are removed"), text)
            XCTAssertEqual(try names(), [], "signal \(sig)")
        }
    }

    /// The output's name may use all 255 bytes a name may have (`.h5` included).
    func testA250ByteOutputNameWorks() throws {
        let out = path(String(repeating: "n", count: 247) + ".h5")
        let r = try afg("train", "--method", "crt", "--epochs", "1", "--train", "\(fixtures)/train.h5", "--out", out, "--quiet")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try names(), [(out as NSString).lastPathComponent])
    }

    /// Names like afg's old `NAME.tmp-PID`, or any other file, survive the sweep; an afg
    /// temporary whose lock is held by another process (here: this test, standing for a
    /// writer in another PID namespace or on another node) survives; an unlocked one goes.
    func testTheSweepRemovesOnlyUnlockedAfgTemporaries() throws {
        let keep = ["notes.txt.tmp-4000000", "old.h5.tmp-99999999", ".afg-0123456789abcdeg.tmp", ".afg-0123.tmp"]
        for n in keep + [".afg-00000000000000aa.tmp", ".afg-00000000000000bb.tmp"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: path(n), contents: Data([1])))
        }
        let fd = open(path(".afg-00000000000000bb.tmp"), O_RDWR)
        defer { close(fd) }
        var l = flock()
        l.l_type = Int16(F_WRLCK); l.l_whence = Int16(SEEK_SET)
        XCTAssertEqual(fcntl(fd, 37 /* F_OFD_SETLK */, &l), 0)
        let r = try afg("train", "--method", "crt", "--epochs", "1", "--train", "\(fixtures)/train.h5", "--out", path("new.h5"), "--quiet")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try names(), (keep + [".afg-00000000000000bb.tmp", "new.h5"]).sorted())
    }

    /// Outputs written as HDF5 under a name afg reads as another format are refused before
    /// any work, as is an empty name.
    func testOutputNamesMustMatchTheFormatWritten() throws {
        let train = "\(fixtures)/train.h5"
        for (ext, format) in [("npz", "npz"), ("safetensors", "safetensors"), ("npy", "npy")] {
            assertRefused(try afg("train", "--method", "crt", "--train", train, "--out", path("o.\(ext)")),
                          "--out \(path("o.\(ext)")): this file is written as HDF5, but afg reads a .\(ext) name as \(format)")
            assertRefused(try afg("calibrate", "--train", train, "--out", path("s.h5"), "--generate", path("g.\(ext)")),
                          "--generate \(path("g.\(ext)")): this file is written as HDF5")
        }
        assertRefused(try afg("train", "--method", "crt", "--train", train, "--out", ""), "Error: --out: empty file name")
        XCTAssertEqual(try names(), [])
    }

    /// `--max-memory 1K` names 1 KB (not "0 MB"); a malformed size is a usage error (64).
    func testMaxMemoryMessages() throws {
        let train = "\(fixtures)/train.h5"
        assertRefused(try afg("train", "--method", "crt", "--train", train, "--out", path("o.h5"), "--max-memory", "1K"),
                      "--max-memory is 1 KB")
        assertRefused(try afg("train", "--method", "crt", "--train", train, "--out", path("o.h5"), "--max-memory", "lots"),
                      "Error: --max-memory: expected a size such as 8G, got 'lots'", status: 64)
    }

    /// A uint64 label of 2^63 + 1 is named as a label, not as "2147483647 classes".
    func testHugeUnsignedLabelIsNamed() throws {
        func npy(_ descr: String, _ shape: String, _ data: [UInt8]) -> Data {
            var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            while (11 + text.utf8.count) % 64 != 0 { text += " " }
            text += "\n"
            return Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.utf8.count), 0] + Array(text.utf8) + data)
        }
        let x = path("x.npy")
        try npy("<f4", "(2, 1)", [0, 0, 0, 0, 0, 0, 128, 63]).write(to: URL(fileURLWithPath: x))
        let big: UInt64 = 1 << 63 + 1
        let labels = (0..<8).map { UInt8(truncatingIfNeeded: big >> (8 * UInt64($0))) }
        try npy("<u8", "(2,)", [UInt8](repeating: 0, count: 8) + labels).write(to: URL(fileURLWithPath: path("x.labels.npy")))
        let r = try afg("inspect", x)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertFalse(r.err.contains("2147483647"), r.err)
        XCTAssertTrue(r.err.contains("largest label 9223372036854775807 or more"), r.err)
    }

    /// make-lt names the folder it cannot create with the system's reason, not Foundation's
    /// NSCocoaErrorDomain text.
    func testMakeLTFolderErrorIsPlain() throws {
        let images = path("img.h5")
        try FeatureStore.writeImages(ImageFile(height: 2, width: 2, channels: 1, pixels: (0..<(40 * 4)).map { UInt8($0 % 256) },
                                               labels: (0..<40).map { Int32($0 % 4) }, numClasses: 4), to: images)
        XCTAssertTrue(FileManager.default.createFile(atPath: path("file"), contents: Data([1])))
        let r = try afg("make-lt", "--data", images, "--out-dir", path("file") + "/sub", "--imbalance", "2", "--val-per-class", "0", "--quiet")
        assertRefused(r, "--out-dir \(path("file"))/sub: cannot create the folder: Not a directory")
        XCTAssertFalse(r.err.contains("NSCocoaErrorDomain"), r.err)
    }
}
