import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// Wraps the toy token scenario to inject failures.
final class FaultyScenario: Scenario {
    let inner: ToyTokenScenario
    var poisonReplay = false
    let reward: any RewardFunction<ToyTokenSample>

    init(inner: ToyTokenScenario, reward: (any RewardFunction<ToyTokenSample>)? = nil) {
        self.inner = inner
        self.reward = reward ?? inner.reward
    }
    var experts: [AnyPolicyExpert] { inner.experts }
    func prompts(_ split: DatasetSplit) throws -> [Int] { try inner.prompts(split) }
    func rollout(_ prompts: [Int], group: Int, using rng: inout RandomState) throws -> [Trajectory<ToyTokenSample>] {
        try inner.rollout(prompts, group: group, using: &rng)
    }
    func replay(_ trajectories: [Trajectory<ToyTokenSample>], experts: Set<String>) throws -> [[ExpertReplay?]] {
        let r = try inner.replay(trajectories, experts: experts)
        guard poisonReplay else { return r }
        return r.map { $0.map { x in x.map { .tokens(TokenReplay(logProbs: $0.logProbs * Float.nan)) } } }
    }
}

func weights(_ policy: ToyTokenPolicy) -> [String: [Float]] {
    Dictionary(uniqueKeysWithValues: policy.network.namedParameters().map { ($0.name, $0.parameter.value.scalars) })
}

@Suite struct TrainerTests {
    /// With μ = 1 and no minibatching, π_θ = π_old at the update: ρ = 1 exactly, and with β = 0,
    /// `grpo` aggregation and no advantage clipping the loss reads 0 (its gradient does not).
    @Test(arguments: [1, 3])
    func ratioIsExactlyOneAndLossReadsZero(accumulation: Int) async throws {
        let scenario = makeTokenScenario()
        var config = tokenConfiguration()
        config.trainer.gradientAccumulation = accumulation
        config.trainer.advantageClip = 0
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let before = weights(scenario.policy)
        let m = try await trainer.trainStep().metrics
        #expect(m["ratio/min"] == 1 && m["ratio/max"] == 1)
        #expect(m["clip_ratio/region_mean"] == 0)
        #expect(abs(m["loss"]!) < 1e-6)
        #expect(m["grad_norm"]! > 0)
        #expect(weights(scenario.policy) != before)
    }

    @Test func samplingLogProbsAgreeWithReplay() async throws {
        var config = tokenConfiguration()
        config.trainer.recomputeOldLogProbs = false
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
        let m = try await trainer.trainStep().metrics
        #expect(abs(m["ratio/min"]! - 1) < 1e-5 && abs(m["ratio/max"]! - 1) < 1e-5)
    }

    @Test func laterInnerEpochsMoveTheRatio() async throws {
        var config = tokenConfiguration(learningRate: 0.05)
        config.trainer.innerEpochs = 3
        config.trainer.minibatches = 2
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
        let m = try await trainer.trainStep().metrics
        #expect(m["updates/count"] == 6)
        #expect(m["ratio/max"]! > 1 && m["ratio/min"]! < 1)
        #expect(m["approx_kl"]! > 0)
    }

    /// Accumulating gradients over micro-batches gives the gradient of the whole minibatch.
    @Test func gradientAccumulationMatchesOneBatch() async throws {
        var results: [[String: [Float]]] = []
        for accumulation in [1, 4] {
            let scenario = makeTokenScenario()
            var config = tokenConfiguration(beta: 0.1)
            config.trainer.optimizer = .sgd
            config.trainer.gradientAccumulation = accumulation
            config.trainer.maxGradNorm = 0
            config.trainer.lossAggregation = .tokenMean
            let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
            try await trainer.trainStep()
            results.append(weights(scenario.policy))
        }
        for (name, a) in results[0] {
            let b = results[1][name]!
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 }, "\(name)")
        }
    }

    @Test func failingRewardsDropSamplesWithAWarning() async throws {
        // NaN for token 0 at the first position, a throw for token 1, otherwise the task reward.
        let target = TargetSequenceReward(vocabularySize: 5)
        let reward = FunctionReward<ToyTokenSample>(name: "fragile") { batch in
            if batch.count == 1, batch[0].tokens.first == 1 { throw CancellationError() }
            if batch.contains(where: { $0.tokens.first == 1 }) { throw CancellationError() }
            let s = try await target.scores(for: batch)
            return zip(batch, s).map { $0.tokens.first == 0 ? Float.nan : $1 }
        }
        let scenario = FaultyScenario(inner: makeTokenScenario(), reward: reward)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: tokenConfiguration())
        let report = try await trainer.trainStep()
        #expect(report.metrics["samples/failed"]! > 0)
        #expect(report.warnings.contains { $0.contains("dropped from its group") })
        #expect(report.metrics["updates/count"] == 1)
        #expect(weights(scenario.inner.policy).values.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    @Test func groupsWithFewerThanTwoScoresContributeNothing() async throws {
        let reward = FunctionReward<ToyTokenSample>(name: "sparse") { batch in batch.map { _ in nil } }
        let scenario = makeTokenScenario(reward: reward)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: tokenConfiguration())
        let before = weights(scenario.policy)
        let m = try await trainer.trainStep().metrics
        #expect(m["groups/dropped"] == 4)
        #expect(m["samples/unscored"] == 32)
        #expect(weights(scenario.policy) == before)
    }

    @Test func nonFiniteLossSkipsTheUpdate() async throws {
        let scenario = FaultyScenario(inner: makeTokenScenario())
        let trainer = try GRPOTrainer(scenario: scenario, configuration: tokenConfiguration())
        let before = weights(scenario.inner.policy)
        scenario.poisonReplay = true
        let report = try await trainer.trainStep()
        #expect(report.metrics["updates/skipped"] == 1 && report.metrics["updates/count"] == 0)
        #expect(report.warnings.contains { $0.contains("skipped") })
        #expect(weights(scenario.inner.policy) == before)
        scenario.poisonReplay = false
        let next = try await trainer.trainStep()
        #expect(next.metrics["updates/count"] == 1)
        try trainer.saveCheckpoint(to: temporaryDirectory().appendingPathComponent("ok"))
    }

    @Test func checkpointsRefuseNonFiniteTensors() throws {
        let state = TrainerState(step: 1, samplingRNG: RandomState(seed: 1), trainingRNG: RandomState(seed: 2),
                                 tracker: PerPromptStatTracker(), optimizerSteps: [:])
        let c = Checkpoint(weights: ["w": Tensor([1, .nan])], reference: [:], optimizer: [:], state: state,
                           configuration: GRPOConfiguration())
        let dir = temporaryDirectory()
        #expect(throws: CheckpointError.self) { try c.write(to: dir.appendingPathComponent("step-000001")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func frozenExpertsAreNotTrained() async throws {
        let scenario = makeTokenScenario()
        var config = tokenConfiguration()
        config.experts["lm"]?.frozen = true
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        #expect(trainer.trainableExperts.isEmpty)
        let before = weights(scenario.policy)
        try await trainer.trainStep()
        #expect(weights(scenario.policy) == before)
    }
}
