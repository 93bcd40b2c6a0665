import UniRLCore
import UniRLTensor
import UniRLToys

/// A reward defined outside the library: +1 for every rising step of the token sequence,
/// −1 for every falling one (the best sequence of 5 tokens scores 4).
struct RisingReward: RewardFunction {
    let name = "rising"

    func scores(for batch: [ToyTokenSample]) async throws -> [Float?] {
        batch.map { sample in
            let steps = zip(sample.tokens, sample.tokens.dropFirst())
            return Float(steps.filter { $0 < $1 }.count - steps.filter { $0 > $1 }.count)
        }
    }
}

/// Trains the bundled toy token policy with `RisingReward`.
/// Arguments of the form `key=value` override the configuration, e.g. `trainer.group_size=16`.
@main
struct CustomReward {
    static func main() async throws {
        // The toy policy acts as the discrete expert "lm"; start from that kind's defaults.
        var config = GRPOConfiguration().addingDefaults(for: [("lm", .discrete)])
        config.run.steps = 60
        config.run.outputDir = "runs/custom-reward"
        config.run.checkpointEvery = 0
        config.experts["lm"]?.learningRate = 0.01
        config = try config.applying(overrides: CommandLine.arguments.dropFirst().filter { $0.contains("=") })

        var rng = RandomState(seed: UInt64(config.run.seed))
        let policy = ToyTokenPolicy(promptCount: 4, vocabularySize: 8, length: 5, rng: &rng)
        let scenario = ToyTokenScenario(policy: policy, reward: RisingReward())
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)

        let before = try await trainer.evaluate(samplesPerPrompt: 32)
        try await trainer.train()   // progress bar, metrics.jsonl and TensorBoard curves in run.output_dir
        let after = try await trainer.evaluate(samplesPerPrompt: 32)
        print("mean reward \(before) → \(after) (best possible 4); greedy answer to prompt 0: \(policy.greedy(prompt: 0))")
    }
}
