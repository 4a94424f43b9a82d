import Foundation
import Linalg

// `afg-bench [NAME ...]`: release-build benchmarks printing measured figures.
// Run through `make bench`. Each benchmark prints lines of `name: value unit`; the run ends
// with the table of every afg-versus-peer ratio measured (`Peers.swift`).
// Without names, every benchmark marked `byDefault` runs: `afg-cifar` and `afg-imagenet`
// are the two halves of `afg`, and `scale-data` writes `make bench-scale`'s 3.6 GB data.

let registry: [(name: String, byDefault: Bool, run: () throws -> Void)] = [
    ("sgemm", true, benchSGEMM),
    ("afg", true, benchAFG),
    ("backbone", true, benchBackbone),
    ("featureio", true, benchFeatureIO),
    ("afg-cifar", false, benchAFGCifarShape),
    ("afg-imagenet", false, benchAFGImageNetShape),
    ("afg-digest", false, benchAFGDigest),
    ("train", true, benchTrain),
    ("solver", true, benchSolver),
    ("memory-head", true, benchMemoryHead),
    ("scale-data", false, benchScaleData),
]

// The process set-up `afg` runs with: BLAS threads parked, freed blocks kept for reuse
// (without it every streamed batch was a fresh mapping, faulted in and zeroed again).
prepareBLAS()
keepFreedBlocks()
let requested = Array(CommandLine.arguments.dropFirst())
let unknown = requested.filter { r in !registry.contains { $0.name == r } }
if !unknown.isEmpty {
    FileHandle.standardError.write("afg-bench: unknown benchmark(s) \(unknown.joined(separator: ", ")); known: \(registry.map(\.name).joined(separator: ", "))\n".data(using: .utf8)!)
    exit(2)
}
setvbuf(stdout, nil, _IOLBF, 0)   // lines appear as measured, also through a pipe
switch Peers.python {
case .success(let p): print("peers' python: \(p)")
case .failure(let m): print("peers' python: none, peers skipped: \(m.reason)")
}
for (name, byDefault, run) in registry where requested.isEmpty ? byDefault : requested.contains(name) {
    print("== \(name)")
    do { try run() } catch {
        print("\(name): failed: \(error)")
        printRatioSummary()
        exit(1)
    }
}
printRatioSummary()
