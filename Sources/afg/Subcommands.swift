import ArgumentParser

extension AFGCommand {
    /// Every subcommand, in the order `afg --help` lists them. Each lives in its own file and
    /// names itself (`commandName`): without one ArgumentParser derives the name from
    /// `String(describing:)` of the type on every start, a runtime conformance search that
    /// cost about a sixth of `afg --version`'s CPU time in the static build.
    static let allSubcommands: [ParsableCommand.Type] = [
        Inspect.self,
        Calibrate.self,
        Train.self,
        Evaluate.self,
        MakeLT.self,
        Pretrain.self,
        Extract.self,
        Export.self,
        SettingsDump.self,
    ]
}
