import Foundation
import Testing
import UniRLCore
import UniRLTensor

@testable import UniRLExperts

/// Scores a latent by its mean (enough to give GRPO advantages).
struct LatentMeanReward: RewardFunction {
    let name = "latent_mean"
    func scores(for batch: [Tensor]) async throws -> [Float?] { batch.map { $0.mean().item } }
}

/// A scenario over the unified policy whose output is the drawn latent.
final class UnifiedToyScenario: Scenario {
    let policy: UnifiedPolicy
    let requests: [UnifiedRequest]
    let experts: [AnyPolicyExpert]
    let reward: any RewardFunction<Tensor> = LatentMeanReward()

    init(policy: UnifiedPolicy, requests: [UnifiedRequest]) {
        self.policy = policy
        self.requests = requests
        experts = policy.experts
    }

    func prompts(_ split: DatasetSplit) throws -> [UnifiedRequest] { requests }
    func promptKey(_ prompt: UnifiedRequest) -> String { prompt.prompt.tokens.map(String.init).joined(separator: ",") }
    func rollout(_ prompts: [UnifiedRequest], group: Int, using rng: inout RandomState) throws -> [Trajectory<Tensor>] {
        try policy.rollout(prompts, group: group, decode: false, using: &rng).map {
            Trajectory(promptIndex: $0.requestIndex, output: $0.latent, segments: $0.segments)
        }
    }
}

@Suite struct UnifiedPolicyTests {
    static let requests = [
        UnifiedRequest(prompt: LanguagePrompt(tokens: [3, 9, 14, 2])), UnifiedRequest(prompt: LanguagePrompt(tokens: [5, 11])),
    ]

    static func editRequests(_ rng: inout RandomState) -> [UnifiedRequest] {
        [UnifiedRequest(prompt: LanguagePrompt(tokens: [7, 8, 9]), querySet: .i2i, reference: .randomNormal([4, 4, 4], using: &rng))]
    }

    static func policy(_ model: UnifiedModel, writes: Bool, guidance: Float) -> UnifiedPolicy {
        UnifiedPolicy(
            model: model, writes: writes ? GenerationOptions(maxNewTokens: 3, temperature: 1) : nil,
            drawing: SanaPolicySettings(steps: 3, guidanceScale: guidance, referenceGuidanceScale: 1.5))
    }

    static func configuration(lmFrozen: Bool = false) -> GRPOConfiguration {
        var c = GRPOConfiguration()
        c.run.steps = 1
        c.run.progressBar = .never
        c.run.jsonl = false
        c.run.tensorboard = false
        c.run.checkpointEvery = 0
        c.run.logEvery = 0
        c.trainer.promptsPerStep = 2
        c.trainer.groupSize = 3
        var lm = ExpertSettings(), dm = ExpertSettings()
        lm.learningRate = 1e-3; lm.beta = 0; lm.frozen = lmFrozen
        dm.learningRate = 1e-3; dm.beta = 0
        c.experts = ["lm": lm, "dm": dm]
        return c
    }

    static func values(_ module: any Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.parameter.value.scalars) })
    }

    /// Each expert's replay of the joint trajectories gives the sampling-time log-probs: the LM's
    /// tokens, and the DM's steps whose condition is recomputed from prompt + written tokens.
    @Test(arguments: [Float(1), 3])
    func replayEqualsSamplingInBothSegments(guidance: Float) throws {
        let model = try UnifiedTestModels.model()
        let policy = Self.policy(model, writes: true, guidance: guidance)
        var rng = RandomState(seed: 11)
        let samples = try policy.rollout(Self.requests + Self.editRequests(&rng), group: 2, using: &rng)
        #expect(samples.count == 6)
        #expect(samples.allSatisfy { $0.segments.count == 2 && $0.segments[0].expert == "lm" && $0.segments[1].expert == "dm" })
        #expect(samples.allSatisfy { !$0.writtenTokens.isEmpty })
        for expert in policy.experts {
            let segments = samples.flatMap { $0.segments.filter { $0.expert == expert.name } }
            let replays = try expert.replay(segments)
            for (s, r) in zip(segments, replays) {
                let worst = zip(s.samplingLogProbs, r.logProbs.scalars).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst < 1e-4, "\(expert.name): \(worst)")
            }
        }
    }

    /// The first update compares the policy with itself: ρ = 1 exactly for both experts.
    @Test func ratioIsOneAtTheFirstUpdate() async throws {
        let model = try UnifiedTestModels.model()
        let scenario = UnifiedToyScenario(policy: Self.policy(model, writes: true, guidance: 2), requests: Self.requests)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: Self.configuration())
        let m = try await trainer.trainStep().metrics
        for e in ["lm", "dm"] {
            #expect(
                m["\(e)/ratio/min"] == 1 && m["\(e)/ratio/max"] == 1,
                "\(e): \(m["\(e)/ratio/min"] ?? .nan) … \(m["\(e)/ratio/max"] ?? .nan)")
        }
        #expect(m["grad_norm"]! > 0)
    }

    /// With β > 0 for both experts the trainer replays the joint trajectories under the reference
    /// weights too (LM k3 on tokens, the closed-form Gaussian KL on the DM's steps, whose means
    /// come through the recomputed condition): both KLs are 0 at the first step and the update runs.
    @Test func klToTheReferenceStartsAtZeroForBothExperts() async throws {
        let model = try UnifiedTestModels.model()
        let scenario = UnifiedToyScenario(policy: Self.policy(model, writes: true, guidance: 2), requests: Self.requests)
        var config = Self.configuration()
        config.experts["lm"]!.beta = 0.01
        config.experts["dm"]!.beta = 0.004
        config.experts["dm"]!.clipLow = 1e-4
        config.experts["dm"]!.clipHigh = 1e-4
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let m = try await trainer.trainStep().metrics
        #expect(m["lm/kl"].map { abs($0) < 1e-6 } == true && m["dm/kl"].map { abs($0) < 1e-6 } == true, "\(m)")
        #expect(m["updates/count"] == 1)
    }

    /// With the LM frozen its weights do not change at all, while the connector, the queries and
    /// the DiT move; with the LM trainable and not writing, the DM loss alone moves it.
    @Test(arguments: [true, false])
    func frozenLMStaysBitIdenticalWhileTheConnectorMoves(frozen: Bool) async throws {
        let model = try UnifiedTestModels.model()
        let scenario = UnifiedToyScenario(policy: Self.policy(model, writes: false, guidance: 2), requests: Self.requests)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: Self.configuration(lmFrozen: frozen))
        let lm = Self.values(model.lm), connector = Self.values(model.connector), dm = Self.values(model.transformer)
        try await trainer.trainStep()
        #expect((Self.values(model.lm) == lm) == frozen)
        let movedConnector = Self.values(model.connector)
        #expect(movedConnector["t2i_queries"] != connector["t2i_queries"])
        #expect(movedConnector["layers.0.attn.q_proj.weight"] != connector["layers.0.attn.q_proj.weight"])
        #expect(movedConnector["i2i_queries"] == connector["i2i_queries"])
        #expect(Self.values(model.transformer) != dm)
    }

    /// With the LM trainable, the DM segment's loss (here Σ of its replayed log-probs) has a
    /// gradient at an LM weight that central finite differences confirm.
    @Test func dmLossGradientReachesTheLMWeights() throws {
        let model = try UnifiedTestModels.model()
        let policy = Self.policy(model, writes: false, guidance: 2)
        var rng = RandomState(seed: 13)
        let samples = try policy.rollout(Self.requests, group: 2, decode: false, using: &rng)
        let dm = policy.experts[1]
        let segments = samples.map { $0.segments.last! }
        func loss() throws -> Tensor {
            try dm.replay(segments).map { $0.logProbs.sum() }.reduce(Tensor(0), +)
        }
        let weight = model.lm.namedParameters().first { $0.name == "model.layers.0.self_attn.v_proj.weight" }!.parameter
        model.zeroGrad()
        try loss().backward()
        let grad = try #require(weight.grad).scalars
        let k = grad.indices.max { abs(grad[$0]) < abs(grad[$1]) }!
        #expect(abs(grad[k]) > 1e-4)
        let original = weight.value
        func lossAt(_ delta: Float) throws -> Double {
            var v = original.scalars
            v[k] += delta
            weight.assign(Tensor(shape: original.shape, scalars: v))
            return Double(try withoutGrad { try loss() }.item)
        }
        let eps: Float = 1e-2
        let numeric = (try lossAt(eps) - lossAt(-eps)) / Double(2 * eps)
        weight.assign(original)
        #expect(abs(numeric - Double(grad[k])) <= 0.05 * abs(numeric), "analytic \(grad[k]), numeric \(numeric)")
    }
}
