import Foundation

// `afg-bench [NAME ...]`: release-build benchmarks printing measured figures.
// Run through `make bench`. Each benchmark prints lines of `name: value unit`.

let registry: [(name: String, run: () throws -> Void)] = [
    ("sgemm", benchSGEMM),
    ("afg", benchAFG),
    ("backbone", benchBackbone),
    ("featureio", benchFeatureIO),
    ("afg-cifar", benchAFGCifarShape),
    ("afg-imagenet", benchAFGImageNetShape),
    ("train", benchTrain),
    ("solver", benchSolver),
    ("scale-data", benchScaleData),
]

let requested = Array(CommandLine.arguments.dropFirst())
let unknown = requested.filter { r in !registry.contains { $0.name == r } }
if !unknown.isEmpty {
    FileHandle.standardError.write("afg-bench: unknown benchmark(s) \(unknown.joined(separator: ", ")); known: \(registry.map(\.name).joined(separator: ", "))\n".data(using: .utf8)!)
    exit(2)
}
for (name, run) in registry where requested.isEmpty || requested.contains(name) {
    print("== \(name)")
    do { try run() } catch {
        print("\(name): failed: \(error)")
        exit(1)
    }
}
