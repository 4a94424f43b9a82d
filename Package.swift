// swift-tools-version:6.0
import Foundation
import PackageDescription

// HDF5 is linked statically when its archive is there (Debian's and Ubuntu's libhdf5-dev
// ship it): the shared library loads about 30 more (libcurl, gnutls, Kerberos, LDAP, ...)
// whose loading and symbol relocation cost about 5 ms of every `afg` start-up. Its
// shared library is the fallback. Either way CHDF5's shim finds the header itself.
let hdf5Archive = "/usr/lib/x86_64-linux-gnu/hdf5/serial/libhdf5.a"
let hdf5Linking: [LinkerSetting] = FileManager.default.fileExists(atPath: hdf5Archive)
    ? [.unsafeFlags(["-Xlinker", hdf5Archive]), .linkedLibrary("sz"), .linkedLibrary("z"), .linkedLibrary("dl"),
       .linkedLibrary("m")]
    : [.unsafeFlags(["-L/usr/lib/x86_64-linux-gnu/hdf5/serial"]), .linkedLibrary("hdf5")]

// Dependencies point one way: afg → Classifier → AFG → Linalg → CLAPACK, CMalloc, and
// afg → Backbone → Linalg (stage one does not link stage two: the schedule both share is
// Linalg's); FeatureIO (→ CHDF5, CZlib) sits at the bottom beside them (Backbone uses its
// safetensors).
// Distributed (→ CMPI, Open MPI; → Linalg for its double-double sums) sits beside them too,
// imported only by the CLI and its own tests: AFG and Classifier take sum-across-ranks
// closures instead. No library imports the CLI (its own test target does).
let package = Package(
    name: "afg",
    products: [
        .executable(name: "afg", targets: ["afg"]),
        .library(name: "FeatureIO", targets: ["FeatureIO"]),
        .library(name: "AFG", targets: ["AFG"]),
        .library(name: "Classifier", targets: ["Classifier"]),
        .library(name: "Backbone", targets: ["Backbone"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C behind one door each: HDF5 (with getters for its macro constants) and
        // CBLAS + LAPACKE (OpenBLAS). Only FeatureIO imports CHDF5; only Linalg imports CLAPACK.
        .systemLibrary(name: "CHDF5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CLAPACK", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // oneDNN's C API, opened with dlopen (not linked). Only Backbone imports CDNNL.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // glibc's mallopt (not in Swift's Glibc module). Only Linalg imports CMalloc.
        .systemLibrary(name: "CMalloc"),
        // Open MPI, with getters for its macro handles (MPI_COMM_WORLD, MPI_DOUBLE, ...).
        // Only Distributed imports CMPI.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .target(name: "Distributed", dependencies: ["CMPI", "Linalg"]),
        .target(name: "Linalg", dependencies: ["CLAPACK", "CMalloc"]),
        .target(name: "FeatureIO", dependencies: ["CHDF5", "CZlib"], linkerSettings: hdf5Linking),
        .target(name: "AFG", dependencies: ["Linalg"]),
        .target(name: "Classifier", dependencies: ["AFG", "Linalg"]),
        .target(name: "Backbone", dependencies: ["Linalg", "FeatureIO", "CDNNL"]),
        .executableTarget(name: "afg", dependencies: [
            "Backbone", "Classifier", "AFG", "Linalg", "FeatureIO", "Distributed",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "afg-bench", dependencies: [
            "Backbone", "Classifier", "AFG", "Linalg", "FeatureIO",
        ]),
        // Runs one file parser on seeded mutated inputs (the fuzz tests spawn it, so a
        // crash names its seed instead of killing the test runner).
        .executableTarget(name: "afg-fuzz", dependencies: ["Backbone", "FeatureIO", "Linalg"]),
        .testTarget(name: "LinalgTests", dependencies: ["Linalg"]),
        .testTarget(name: "FeatureIOTests", dependencies: ["FeatureIO"]),
        .testTarget(name: "AFGTests", dependencies: ["AFG", "Linalg"]),
        .testTarget(name: "BackboneTests", dependencies: ["Backbone", "Linalg", "FeatureIO"]),
        .testTarget(name: "afgTests", dependencies: ["afg", "FeatureIO"]),
        // Runs `mpirun -np N afg ...` against one process (Open MPI from `make setup`).
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "FeatureIO", "AFG", "Classifier", "Linalg"]),
        .testTarget(name: "ClassifierTests", dependencies: ["Classifier", "AFG", "Linalg", "FeatureIO"]),
    ],
    // Swift 5 mode: the numeric kernels hand raw buffers to `parallelFor` (Linalg's
    // Parallel.swift, over `concurrentPerform`), which Swift 6's strict Sendable checking
    // rejects without adding safety here.
    swiftLanguageModes: [.v5]
)
