import ArgumentParser

@main
struct UniRL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unirl",
        abstract: "Reinforcement learning for unified language + diffusion models.",
        subcommands: [DemoCommand.self, BenchCommand.self])
}
