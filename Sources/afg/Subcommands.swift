import ArgumentParser

extension AFGCommand {
    /// Every subcommand, in the order `afg --help` lists them. Each lives in its own file.
    static let allSubcommands: [ParsableCommand.Type] = [
        Inspect.self,
        Calibrate.self,
        Train.self,
        Evaluate.self,
        MakeLT.self,
        Pretrain.self,
        Extract.self,
        Export.self,
    ]
}
