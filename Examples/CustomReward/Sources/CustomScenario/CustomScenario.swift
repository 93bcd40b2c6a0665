import Foundation
import UniRLCommandLine
import UniRLCore
import UniRLScenarios
import UniRLTensor
import UniRLToys

/// The settings of the scenario below (`scenario.<key>=<value>` on the command line, or a
/// `scenario:` section in a configuration file).
struct RisingSettings: MergeableSettings, Sendable, Equatable {
    /// Tokens per answer.
    var length = 5
    /// Size of the vocabulary.
    var vocabulary = 8

    enum CodingKeys: String, CodingKey { case length, vocabulary }

    func validate() throws {
        if length < 2 { throw ConfigurationError.invalidValue(key: "scenario.length", reason: "must be ≥ 2") }
        if vocabulary < 2 { throw ConfigurationError.invalidValue(key: "scenario.vocabulary", reason: "must be ≥ 2") }
    }
}

/// A reward defined outside the library: +1 for every rising step of the token sequence, −1 for
/// every falling one, divided by the number of steps (1 is the best).
struct NormalisedRisingReward: RewardFunction {
    let name = "rising"

    func scores(for batch: [ToyTokenSample]) async throws -> [Float?] {
        batch.map { sample in
            let steps = zip(sample.tokens, sample.tokens.dropFirst())
            let net = steps.filter { $0 < $1 }.count - steps.filter { $0 > $1 }.count
            return Float(net) / Float(max(sample.tokens.count - 1, 1))
        }
    }
}

/// The scenario pack: its name, defaults, scenario, held-out evaluation. The registry's runner
/// adds the rest (configuration layers, resume, metrics, reward_curve.png, summary.json).
struct RisingTokensPack: ScenarioPack {
    let name = "rising-tokens"
    let summary = "a toy token policy learns to emit rising sequences (a scenario of the CustomReward example)"
    let metricName = "eval_reward"
    let experts = [ExpertDeclaration("lm", kind: .discrete)]
    var defaultOverrides: [String] { ["run.steps=60", "run.checkpoint_every=0", "experts.lm.learning_rate=0.01", "experts.lm.beta=0"] }
    var defaultSettings: RisingSettings { RisingSettings() }

    func makeScenario(settings: RisingSettings, configuration: GRPOConfiguration) throws -> ToyTokenScenario {
        var rng = RandomState(seed: UInt64(configuration.run.seed))
        let policy = ToyTokenPolicy(promptCount: 4, vocabularySize: settings.vocabulary, length: settings.length, rng: &rng)
        return ToyTokenScenario(policy: policy, reward: NormalisedRisingReward())
    }

    func evaluate(_ scenario: ToyTokenScenario, trainer: GRPOTrainer<ToyTokenScenario>, phase: EvaluationPhase,
                  output: URL) async throws -> ScenarioEvaluation {
        ScenarioEvaluation(metric: try await trainer.evaluate(samplesPerPrompt: 32), prompts: try scenario.prompts(.test).count)
    }
}

/// `swift run CustomScenario --scenario rising-tokens [key=value …]`: the same front end as
/// `unirl train`, with this package's scenario registered next to the bundled ones.
@main
struct CustomScenario {
    static func main() async {
        ScenarioRegistry.shared.register(RisingTokensPack())
        await TrainCommand.main()
    }
}
