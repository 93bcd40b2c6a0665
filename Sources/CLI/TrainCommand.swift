import ArgumentParser
import Foundation
import UniRLCore
import UniRLTensor

/// `unirl train`: GRPO on a bundled scenario, configured by a JSON/YAML file and `key=value`
/// overrides (e.g. `trainer.group_size=16 experts.lm.learning_rate=0.01`).
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a bundled scenario with GRPO.",
        discussion: """
        Scenarios: \(BundledScenario.allCases.map(\.rawValue).joined(separator: ", ")).
        Metrics go to <run.output_dir>/metrics.jsonl and TensorBoard event files; checkpoints every
        run.checkpoint_every steps; run.resume_from=<checkpoint dir> continues exactly.
        """)

    @Option(help: "The scenario to train.") var scenario: BundledScenario
    @Option(help: "A GRPO configuration file (.json or .yaml).") var config: String?
    @Argument(help: "Configuration overrides, key=value.") var overrides: [String] = []

    func run() async throws {
        var configuration = try GRPOConfiguration.load(from: config.map { URL(fileURLWithPath: $0) },
                                                       overrides: scenario.defaultOverrides + overrides)
        if configuration.run.outputDir == GRPOConfiguration().run.outputDir {
            configuration.run.outputDir = "runs/\(scenario.rawValue)"
        }
        try await scenario.train(configuration)
    }
}

/// The scenarios `unirl train` knows. Later scenario packs add their cases here.
enum BundledScenario: String, CaseIterable, ExpressibleByArgument {
    /// A softmax token policy learns prompt-dependent target sequences (reward: fraction matched).
    case toyTokens = "toy-tokens"
    /// A 2-D flow-matching model, pre-trained on four blobs, learns to land in one region.
    case toyFlow = "toy-flow"

    /// Settings that make each scenario learn visibly in a short run (the user's overrides win).
    var defaultOverrides: [String] {
        switch self {
        case .toyTokens: ["run.steps=80", "experts.lm.learning_rate=0.02", "experts.lm.beta=0"]
        case .toyFlow: ["run.steps=60", "experts.dm.learning_rate=0.003", "experts.dm.beta=0", "trainer.prompts_per_step=1",
                        "trainer.group_size=64"]
        }
    }

    func train(_ configuration: GRPOConfiguration) async throws {
        var rng = RandomState(seed: UInt64(configuration.run.seed))
        switch self {
        case .toyTokens:
            let policy = ToyTokenPolicy(promptCount: 8, vocabularySize: 16, length: 6, rng: &rng)
            try await run(ToyTokenScenario(policy: policy), configuration)
        case .toyFlow:
            let policy = ToyFlowPolicy(rng: &rng)
            print("Pre-training the flow model on four blobs (cold start)…")
            let losses = policy.pretrain(steps: 400, data: ToyFlowData.fourBlobs, rng: &rng)
            print(String(format: "flow-matching loss %.3f → %.3f", losses.first ?? 0, losses.last ?? 0))
            try await run(ToyFlowScenario(policy: policy), configuration)
        }
    }

    private func run<S: Scenario>(_ scenario: S, _ configuration: GRPOConfiguration) async throws {
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        let before = try await trainer.evaluate(samplesPerPrompt: 16)
        try await trainer.train()
        let after = try await trainer.evaluate(samplesPerPrompt: 16)
        print(String(format: "mean evaluation reward %.3f → %.3f; metrics and TensorBoard curves in %@",
                     before, after, configuration.run.outputDir))
    }
}
