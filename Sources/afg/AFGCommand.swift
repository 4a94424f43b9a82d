import ArgumentParser
import FeatureIO

/// `afg`: long-tailed classification with GLAG. Thin: parses, validates, calls the libraries.
@main
struct AFGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "afg",
        abstract: "Long-tailed classification: GraLoss stage one, Adaptive Feature Generator stage two.",
        discussion: """
        Stage two works on frozen features stored in HDF5 (see docs/FORMAT.md): \
        `afg inspect` checks a feature file, `afg calibrate` computes class statistics \
        and generates tail features, `afg train` / `afg evaluate` fit and score the \
        linear classifier.
        """,
        version: "afg \(afgVersion)",
        subcommands: AFGCommand.allSubcommands
    )
}
