import Foundation
import Testing
import UniRLTensor
import UniRLToys

@testable import UniRLCore

/// The new settings inside the trainer: the DAPO normaliser hook, the truncation mask, the entropy
/// bonus and metrics, and the toy scenarios still learning with each setting on.
@Suite struct TrainerMenuTests {
    func weightsAfterOneStep(
        _ edit: (inout GRPOConfiguration) -> Void, globalScale: Int? = nil,
        truncationToken: Int? = nil
    ) async throws -> (weights: [Float], metrics: [String: Double]) {
        let scenario = makeTokenScenario()
        scenario.policy.truncationToken = truncationToken
        var config = tokenConfiguration()
        config.trainer.optimizer = .sgd
        config.trainer.maxGradNorm = 0
        edit(&config)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        if let k = globalScale { trainer.globalActionCount = { _, local in k * local } }
        let m = try await trainer.trainStep().metrics
        let p = weights(scenario.policy)
        return (p.keys.sorted().flatMap { p[$0]! }, m)
    }

    func delta(_ a: [Float], from base: [Float]) -> [Float] { zip(a, base).map { $0 - $1 } }

    @Test func dapoUsesTheGlobalCount() async throws {
        let start = try await weightsAfterOneStep { $0.experts["lm"]!.learningRate = 0 }.weights
        let tokenMean = try await weightsAfterOneStep { $0.trainer.lossAggregation = .tokenMean }.weights
        let dapo = try await weightsAfterOneStep { $0.trainer.lossAggregation = .dapo }.weights
        let dapoTwoRanks = try await weightsAfterOneStep({ $0.trainer.lossAggregation = .dapo }, globalScale: 2).weights
        #expect(dapo == tokenMean)
        // SGD without clipping: twice the normaliser, half the step.
        let full = delta(dapo, from: start), half = delta(dapoTwoRanks, from: start)
        #expect(full.contains { $0 != 0 })
        #expect(zip(full, half).allSatisfy { abs($0 * 0.5 - $1) <= 1e-6 + 1e-4 * abs($0) })
    }

    @Test func bnpoDependsOnTheMicroBatching() async throws {
        // Equal-length toy sequences, 32 samples: 4 micro-batches of 8 keep bnpo = token mean; 3 unequal ones do not.
        let tokenMean = try await weightsAfterOneStep { $0.trainer.lossAggregation = .tokenMean }.weights
        let even = try await weightsAfterOneStep {
            $0.trainer.lossAggregation = .bnpo
            $0.trainer.gradientAccumulation = 4
        }.weights
        let uneven = try await weightsAfterOneStep {
            $0.trainer.lossAggregation = .bnpo
            $0.trainer.gradientAccumulation = 3
        }.weights
        #expect(zip(even, tokenMean).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(uneven, tokenMean).contains { abs($0 - $1) > 1e-7 })
    }

    @Test func truncatedCompletionsAreMaskedAndCounted() async throws {
        let plain = try await weightsAfterOneStep({ _ in }, truncationToken: 2)
        let masked = try await weightsAfterOneStep({ $0.trainer.maskTruncatedCompletions = true }, truncationToken: 2)
        let clipped = masked.metrics["completions/clipped_ratio"]!
        #expect(clipped > 0 && clipped < 1)
        #expect(masked.metrics["completions/max_length"] == 3 && masked.metrics["completions/min_length"] == 3)
        #expect(masked.metrics["completions/mean_terminated_length"] == 3)
        #expect(plain.weights != masked.weights)
        // Without truncated samples the mask changes nothing.
        let none = try await weightsAfterOneStep({ $0.trainer.maskTruncatedCompletions = true })
        let reference = try await weightsAfterOneStep { _ in }
        #expect(none.weights == reference.weights)
    }

    @Test func entropyBonusAndMaskMetrics() async throws {
        let bonus = try await weightsAfterOneStep {
            $0.experts["lm"]!.entropyCoeff = 0.5
            $0.experts["lm"]!.topEntropyQuantile = 0.5
            $0.experts["lm"]!.clipRatioC = 3
        }
        let plain = try await weightsAfterOneStep { _ in }
        #expect(bonus.weights != plain.weights)
        let masked = bonus.metrics["entropy_mask/masked_frac"]!
        #expect(masked > 0.3 && masked <= 0.5)
        #expect(bonus.metrics["clip_ratio/dual_mean"] == 0)
        #expect(bonus.metrics["entropy"]! > 0)
    }

    /// An entropy bonus keeps the policy's entropy higher over training.
    @Test func entropyBonusKeepsEntropyUp() async throws {
        func finalEntropy(_ coeff: Float) async throws -> Double {
            var config = tokenConfiguration(steps: 30, learningRate: 0.03)
            config.experts["lm"]!.entropyCoeff = coeff
            let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
            var last = 0.0
            for _ in 0..<30 { last = try await trainer.trainStep().metrics["entropy"]! }
            return last
        }
        let without = try await finalEntropy(0), with = try await finalEntropy(1)
        print("entropy after 30 steps: coeff 0 → \(without), coeff 1 → \(with)")
        #expect(with > without + 0.05)
    }

    /// The token toy still learns with each setting on (mean greedy-free reward over 64 samples per prompt).
    @Test(arguments: [
        "trainer.loss_aggregation=bnpo", "trainer.loss_aggregation=dapo", "experts.lm.importance_sampling_level=sequence",
        "experts.lm.policy_loss=cispo", "experts.lm.policy_loss=sapo", "experts.lm.clip_ratio_c=3", "experts.lm.delta=1.5",
        "trainer.advantage_estimator=rloo", "trainer.advantage_estimator=reinforce_pp",
        "trainer.advantage_estimator=reinforce_pp_baseline", "trainer.advantage_estimator=pass_at_k",
        "experts.lm.top_entropy_quantile=0.5", "experts.lm.entropy_coeff=0.01",
    ])
    func tokenToyLearnsWith(_ setting: String) async throws {
        var config = try tokenConfiguration(steps: 40, learningRate: 0.03).applying(overrides: [setting])
        config.trainer.innerEpochs = 2
        config.trainer.minibatches = 2
        try config.validate()
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
        let before = try await trainer.evaluate(samplesPerPrompt: 32)
        for _ in 0..<40 { try await trainer.trainStep() }
        let after = try await trainer.evaluate(samplesPerPrompt: 32)
        print("token toy with \(setting): reward \(before) → \(after)")
        #expect(after > before + 0.25)
    }

    /// The flow toy (SDE segments) still learns with the settings that have a meaning there.
    @Test(arguments: [
        "experts.dm.importance_sampling_level=sequence", "experts.dm.policy_loss=cispo", "experts.dm.policy_loss=sapo",
        "trainer.advantage_estimator=rloo", "trainer.loss_aggregation=dapo", "experts.dm.clip_ratio_c=3",
    ])
    func flowToyLearnsWith(_ setting: String) async throws {
        let steps = 25
        var config = try flowConfiguration(steps: steps, beta: 0, learningRate: 3e-3).applying(overrides: [setting])
        config.trainer.innerEpochs = 2
        config.trainer.minibatches = 2
        try config.validate()
        let trainer = try GRPOTrainer(scenario: ToyFlowScenario(policy: pretrainedFlowPolicy()), configuration: config)
        var rewards: [Double] = []
        for _ in 0..<steps { rewards.append(try await trainer.trainStep().metrics["reward"] ?? .nan) }
        let early = rewards.prefix(5).reduce(0, +) / 5, late = rewards.suffix(5).reduce(0, +) / 5
        print("flow toy with \(setting): reward \(early) → \(late)")
        #expect(late > early + 0.2)
    }
}
