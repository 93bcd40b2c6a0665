import ArgumentParser
import UniRLCommandLine

@main
struct UniRL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unirl",
        abstract: "Reinforcement learning for unified language + diffusion models.",
        subcommands: [DemoCommand.self, TrainCommand.self, PretrainCommand.self, BenchCommand.self, ShapesCommand.self,
                      GenerateCommand.self, InspectCommand.self])
}
