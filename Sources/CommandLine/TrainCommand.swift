import ArgumentParser
import Foundation
import UniRLCore
import UniRLMPI
import UniRLScenarios

/// `unirl train`: GRPO on a registered scenario (``ScenarioRegistry``), configured by the
/// scenario's defaults, a JSON/YAML file and `key=value` overrides, in that order.
///
/// A user's package runs its own scenarios through the same front end:
///
/// ```swift
/// @main struct Train {
///     static func main() async {
///         ScenarioRegistry.shared.register(MyPack())
///         await TrainCommand.main()          // my-train --scenario my-task run.steps=20
///     }
/// }
/// ```
public struct TrainCommand: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "train",
            abstract: "Train a registered scenario with GRPO.",
            discussion: """
            Scenarios:
            \(ScenarioRegistry.shared.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n"))

            Settings are read in layers: the scenario's defaults < --config (a .json or .yaml file with the \
            sections run, trainer, experts, scenario) < key=value overrides (run.steps=20, trainer.group_size=16, \
            experts.dm.learning_rate=1e-4, scenario.guidance_scale=4). Metrics go to <run.output_dir>/metrics.jsonl \
            and TensorBoard event files; checkpoints every run.checkpoint_every steps; run.resume_from=latest (or a \
            checkpoint directory) continues exactly, with the scenario settings stored in the checkpoint. A new run \
            into a non-empty run.output_dir is refused unless run.overwrite=true. Every run writes reward_curve.png \
            and summary.json (scenario, metric, before, after, eval_prompts, steps, seconds).

            Data-parallel: mpirun -np N unirl train … (a build with `--traits MPI`): each rank rolls out and scores \
            its share of complete groups, gradients are summed over the ranks, rank 0 writes everything.
            """)
    }

    @Option(help: "The scenario to train (see --list).") public var scenario: String?
    @Flag(help: "List the registered scenarios.") public var list = false
    @Option(help: "A configuration file (.json or .yaml).") public var config: String?
    @Argument(help: "Configuration overrides, key=value.") public var overrides: [String] = []
    @Option(help: "Under mpirun: the seconds one collective operation may wait for the other ranks before the job is ended.")
    public var collectiveTimeout: Double = 1800
    @Option(help: "Under mpirun: compare the ranks' weights every this many steps (0: only after a resume).")
    public var weightCheckEvery = 10

    public init() {}

    public func run() async throws {
        guard let scenario, !list else {
            for pack in ScenarioRegistry.shared.all { print("\(pack.name)\t\(pack.summary)") }
            return
        }
        let pack = try ScenarioRegistry.shared.pack(named: scenario)
        // Under `mpirun -np N` (a build with the MPI trait): data-parallel over the N ranks.
        let dataParallel = try MPILaunch.dataParallel(timeout: collectiveTimeout, weightCheckInterval: weightCheckEvery)
        try await pack.run(configFile: config.map { URL(fileURLWithPath: $0) }, overrides: overrides, dataParallel: dataParallel)
        MPILaunch.finish(dataParallel?.collective)
    }
}
