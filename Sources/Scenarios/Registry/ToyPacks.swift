import Foundation
import UniRLCore
import UniRLTensor
import UniRLToys

/// The held-out evaluation of the toy scenarios: the mean reward of 16 samples per test prompt.
private func meanRewardEvaluation<S: Scenario>(_ scenario: S, trainer: GRPOTrainer<S>) async throws -> ScenarioEvaluation {
    let prompts = try scenario.prompts(.test).count
    return ScenarioEvaluation(metric: try await trainer.evaluate(samplesPerPrompt: 16), prompts: prompts)
}

/// `toy-tokens`: a softmax token policy learns prompt-dependent target sequences (reward:
/// fraction matched). Trains in seconds.
public struct ToyTokensPack: ScenarioPack {
    public let name = "toy-tokens"
    public let summary = "a small token policy learns prompt-dependent target sequences (seconds)"
    public let metricName = "eval_reward"
    public let experts = [ExpertDeclaration("lm", kind: .discrete)]
    public var defaultOverrides: [String] { ["run.steps=80", "experts.lm.learning_rate=0.02", "experts.lm.beta=0"] }
    public var defaultSettings: NoScenarioSettings { NoScenarioSettings() }

    public init() {}

    public func makeScenario(settings: NoScenarioSettings, configuration: GRPOConfiguration) throws -> ToyTokenScenario {
        var rng = RandomState(seed: UInt64(configuration.run.seed))
        return ToyTokenScenario(policy: ToyTokenPolicy(promptCount: 8, vocabularySize: 16, length: 6, rng: &rng))
    }

    public func evaluate(_ scenario: ToyTokenScenario, trainer: GRPOTrainer<ToyTokenScenario>, phase: EvaluationPhase,
                         output: URL) async throws -> ScenarioEvaluation {
        try await meanRewardEvaluation(scenario, trainer: trainer)
    }
}

/// `toy-flow`: a 2-D flow-matching model, pre-trained on four blobs, learns to land in one region.
public struct ToyFlowPack: ScenarioPack {
    public let name = "toy-flow"
    public let summary = "a 2-D flow model pre-trained on four blobs learns to land in one (seconds)"
    public let metricName = "eval_reward"
    public let experts = [ExpertDeclaration("dm", kind: .sde)]
    public var defaultOverrides: [String] {
        ["run.steps=60", "experts.dm.learning_rate=0.003", "experts.dm.beta=0", "trainer.prompts_per_step=1", "trainer.group_size=64"]
    }
    public var defaultSettings: NoScenarioSettings { NoScenarioSettings() }

    public init() {}

    /// The policy after 400 flow-matching steps on the four blobs (the cold start).
    public func makeScenario(settings: NoScenarioSettings, configuration: GRPOConfiguration) throws -> ToyFlowScenario {
        var rng = RandomState(seed: UInt64(configuration.run.seed))
        let policy = ToyFlowPolicy(rng: &rng)
        print("Pre-training the flow model on four blobs (cold start)…")
        let losses = policy.pretrain(steps: 400, data: ToyFlowData.fourBlobs, rng: &rng)
        print(String(format: "flow-matching loss %.3f → %.3f", losses.first ?? 0, losses.last ?? 0))
        return ToyFlowScenario(policy: policy)
    }

    public func evaluate(_ scenario: ToyFlowScenario, trainer: GRPOTrainer<ToyFlowScenario>, phase: EvaluationPhase,
                         output: URL) async throws -> ScenarioEvaluation {
        try await meanRewardEvaluation(scenario, trainer: trainer)
    }
}
