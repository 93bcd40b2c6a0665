import Foundation
import Testing
import UniRLTensor
import UniRLToys

@testable import UniRLCore

/// REINFORCE++ with the KL in the reward (`trainer.kl_in_reward`): per-action advantages against a
/// float64 reference written out here, the trainer's gradient with them, the settings' checks, and
/// the toys still learning with it on.
@Suite struct KLInRewardTests {
    /// The float64 reference: returns to go R − β·Σ_{j≥k} KL_j over the trajectory's segments in
    /// order (or the group-centred total for the baseline), whitened per expert over the actions of
    /// the scored trajectories with Bessel's variance and ε = 1e-8 inside the root.
    static func reference(
        outcomes: [Double?], included: [Bool], groups: [Int], experts: [[String]], kl: [[[Double]]], beta: Double,
        baseline: Bool
    ) -> [[[Double]]] {
        let n = outcomes.count
        let scored = (0..<n).map { included[$0] && outcomes[$0] != nil }
        var g: [[[Double]]] = kl.map { $0.map { $0.map { _ in 0 } } }
        for i in 0..<n where scored[i] {
            let flat = kl[i].flatMap { $0 }
            var offset = 0
            for j in kl[i].indices {
                for k in kl[i][j].indices {
                    let ahead = flat[(offset + k)...].reduce(0, +)
                    g[i][j][k] = outcomes[i]! - beta * ahead
                }
                offset += kl[i][j].count
            }
            if baseline {
                let total = { (m: Int) in outcomes[m]! - beta * kl[m].flatMap { $0 }.reduce(0, +) }
                let mates = (0..<n).filter { scored[$0] && groups[$0] == groups[i] }
                let mean = mates.map(total).reduce(0, +) / Double(mates.count)
                g[i] = kl[i].map { $0.map { _ in total(i) - mean } }
            }
        }
        var out = g.map { $0.map { $0.map { _ in 0.0 } } }
        for expert in Set(experts.flatMap { $0 }) {
            var pool: [Double] = []
            for i in 0..<n where scored[i] { for j in kl[i].indices where experts[i][j] == expert { pool += g[i][j] } }
            guard !pool.isEmpty else { continue }
            let mean = pool.reduce(0, +) / Double(pool.count)
            let variance = pool.count > 1 ? pool.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(pool.count - 1) : 0
            for i in 0..<n where scored[i] {
                for j in kl[i].indices where experts[i][j] == expert {
                    out[i][j] = g[i][j].map { ($0 - mean) / (variance + 1e-8).squareRoot() }
                }
            }
        }
        return out
    }

    /// Two experts (a token segment then an SDE segment), two groups, an unscored and a failed sample.
    @Test(arguments: [false, true])
    func advantagesMatchTheFloat64Reference(baseline: Bool) throws {
        let kl: [[[Double]]] = [
            [[0.1, -0.2, 0.3], [0.05, 0.02]], [[0.4, 0.0], [-0.01, 0.03]], [[0.2], [0.1, 0.1]],
            [[0.3, 0.3], [0.0, 0.2]], [[0.5], [0.5, 0.5]], [[0.0, 0.1, 0.2, 0.6], [0.07, -0.03]],
        ]
        let outcomes: [Double?] = [1, 0, 0.5, 0.25, nil, 0.75]
        let included = [true, true, true, true, true, false]
        let groups = [0, 0, 0, 1, 1, 1]
        let experts = kl.map { _ in ["lm", "dm"] }
        let beta = 0.7
        let got = try KLRewardAdvantage.compute(
            outcomes: outcomes.map { $0.map(Float.init) }, included: included, groups: groups,
            segments: kl.indices.map { i in
                kl[i].indices.map { KLRewardAdvantage.Segment(expert: experts[i][$0], kl: kl[i][$0].map(Float.init)) }
            },
            coefficient: Float(beta), estimator: baseline ? .reinforcePlusPlusBaseline : .reinforcePlusPlus, clip: nil)
        let want = Self.reference(
            outcomes: outcomes, included: included, groups: groups, experts: experts, kl: kl, beta: beta, baseline: baseline)
        for i in kl.indices { for j in kl[i].indices { assertClose(got[i][j], want[i][j], tolerance: 1e-5) } }
        // The unscored and the failed samples get 0; the others vary within a trajectory unless baseline.
        #expect(got[4].allSatisfy { $0.allSatisfy { $0 == 0 } } && got[5].allSatisfy { $0.allSatisfy { $0 == 0 } })
        #expect(Set(got[0][0]).count == (baseline ? 1 : 3))
        // With β = 0 and no baseline, every action of a trajectory gets its whitened outcome.
        let plain = try KLRewardAdvantage.compute(
            outcomes: [1, 0], included: [true, true], groups: [0, 0],
            segments: [[.init(expert: "lm", kl: [0.3, 0.1])], [.init(expert: "lm", kl: [0.2, 0.2])]],
            coefficient: 0, estimator: .reinforcePlusPlus, clip: 0.5)
        // Pool [1, 1, 0, 0]: mean 0.5, Bessel std √(1/3); 0.866 is clipped to 0.5.
        #expect(plain == [[[0.5, 0.5]], [[-0.5, -0.5]]])
    }

    @Test func settingsAreChecked() throws {
        var c = tokenConfiguration()
        c.trainer.klInReward = true
        #expect(throws: ConfigurationError.self) { try c.validate() }
        c.trainer.advantageEstimator = .reinforcePlusPlus
        try c.validate()
        c.trainer.rewardAggregation = .normalizeThenSum
        #expect(throws: ConfigurationError.self) { try c.validate() }
        c.trainer.rewardAggregation = .sumThenNormalize
        c.trainer.klInRewardCoef = -1
        #expect(throws: ConfigurationError.self) { try c.validate() }
        let parsed = try tokenConfiguration().applying(overrides: [
            "trainer.advantage_estimator=reinforce_pp_baseline", "trainer.kl_in_reward=true", "trainer.kl_in_reward_coef=0.05",
        ])
        #expect(parsed.trainer.klInReward && parsed.trainer.klInRewardCoef == 0.05)
        do {
            var grpo = tokenConfiguration()
            grpo.trainer.klInReward = true
            try grpo.validate()
            Issue.record("kl_in_reward with grpo was accepted")
        } catch let ConfigurationError.invalidValue(key, reason) {
            #expect(key == "trainer.kl_in_reward" && reason.contains("reinforce_pp"))
        }
    }

    /// One SGD step on fixed trajectories whose policy has moved away from the reference: the
    /// change of the weights is −η·∇ Σ_k w_k·(−A_k)·log π(a_k), A_k from the float64 reference.
    @Test(arguments: [false, true])
    func trainerGradientUsesThePerActionAdvantages(baseline: Bool) async throws {
        let scenario = FixedTokenScenario()
        let policy = scenario.policy
        var config = tokenConfiguration(learningRate: 0.1)
        config.trainer.promptsPerStep = 2
        config.trainer.groupSize = 2
        config.trainer.optimizer = .sgd
        config.trainer.maxGradNorm = 0
        config.trainer.advantageClip = 0
        config.trainer.advantageEstimator = baseline ? .reinforcePlusPlusBaseline : .reinforcePlusPlus
        config.trainer.klInReward = true
        config.trainer.klInRewardCoef = 2
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let parameters = policy.network.namedParameters().map(\.1)
        let referenceWeights = parameters.map { $0.value.detached() }
        for p in parameters { p.assign(p.value * 1.4) }
        let start = parameters.map { $0.value.detached() }

        let report = try await trainer.trainStep()
        #expect(report.metrics["reward_kl_penalty"].map { $0 != 0 } ?? false)
        let step = zip(parameters, start).map { p, s in zip(p.value.scalars, s.scalars).map { Double($1 - $0) / 0.1 } }

        // The reference: log π_old at the start weights, log π_ref at the reference weights.
        func replayed() throws -> [[Double]] {
            try withoutGrad {
                try policy.replay(scenario.rollouts, given: scenario.conditions).map { $0.logProbs.scalars.map(Double.init) }
            }
        }
        for (p, v) in zip(parameters, referenceWeights) { p.assign(v) }
        let ref = try replayed()
        for (p, v) in zip(parameters, start) { p.assign(v) }
        let old = try replayed()
        let kl = zip(old, ref).map { o, r in [zip(o, r).map { $0 - $1 }] }
        let advantages = Self.reference(
            outcomes: scenario.rewards.map(Double.init), included: [true, true, true, true], groups: scenario.groups,
            experts: kl.map { _ in ["lm"] }, kl: kl, beta: 2, baseline: baseline)
        // grpo aggregation: w = 1 / (trajectories · length).
        let replays = try policy.replay(scenario.rollouts, given: scenario.conditions)
        var objective = Tensor.zeros([])
        for (r, a) in zip(replays, advantages) {
            let w = a[0].map { Float(-$0 / Double(4 * r.logProbs.elementCount)) }
            objective = objective + (r.logProbs * Tensor(w)).sum()
        }
        for p in parameters { p.zeroGrad() }
        objective.backward()
        var worst = 0.0, largest = 0.0
        for (p, s) in zip(parameters, step) {
            let g = p.grad?.scalars ?? [Float](repeating: 0, count: s.count)
            for (x, y) in zip(g, s) {
                worst = max(worst, abs(Double(x) - y))
                largest = max(largest, abs(Double(x)))
            }
        }
        #expect(largest > 1e-3)
        #expect(worst <= 2e-4 * max(1, largest), "gradient differs by \(worst) (largest \(largest))")
    }

    /// The token toy still learns with the KL in the reward, for both REINFORCE++ variants.
    @Test(arguments: ["reinforce_pp", "reinforce_pp_baseline"])
    func tokenToyLearnsWithKLInReward(_ estimator: String) async throws {
        var config = try tokenConfiguration(steps: 40, learningRate: 0.03).applying(overrides: [
            "trainer.advantage_estimator=\(estimator)", "trainer.kl_in_reward=true", "trainer.kl_in_reward_coef=0.05",
        ])
        config.trainer.innerEpochs = 2
        config.trainer.minibatches = 2
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
        let before = try await trainer.evaluate(samplesPerPrompt: 32)
        var kl = 0.0
        for _ in 0..<40 { kl = try await trainer.trainStep().metrics["reward_kl_penalty"] ?? .nan }
        let after = try await trainer.evaluate(samplesPerPrompt: 32)
        print("token toy, \(estimator) with the KL in the reward: reward \(before) → \(after), KL_k mean \(kl)")
        #expect(after > before + 0.25)
        #expect(kl.isFinite && kl != 0)
    }

    /// The flow toy (SDE steps: the per-step log-ratio as the per-action KL) still learns with it on.
    @Test func flowToyLearnsWithKLInReward() async throws {
        let steps = 25
        var config = try flowConfiguration(steps: steps, beta: 0, learningRate: 3e-3).applying(overrides: [
            "trainer.advantage_estimator=reinforce_pp", "trainer.kl_in_reward=true", "trainer.kl_in_reward_coef=0.05",
        ])
        config.trainer.innerEpochs = 2
        config.trainer.minibatches = 2
        let trainer = try GRPOTrainer(scenario: ToyFlowScenario(policy: pretrainedFlowPolicy()), configuration: config)
        var rewards: [Double] = [], kl = 0.0
        for _ in 0..<steps {
            let m = try await trainer.trainStep().metrics
            rewards.append(m["reward"] ?? .nan)
            kl = m["reward_kl_penalty"] ?? .nan
        }
        let early = rewards.prefix(5).reduce(0, +) / 5, late = rewards.suffix(5).reduce(0, +) / 5
        print("flow toy, reinforce_pp with the KL in the reward: reward \(early) → \(late), KL_k mean \(kl)")
        #expect(late > early + 0.2)
        #expect(kl.isFinite && kl != 0)
    }
}

/// Four fixed trajectories of the token toy (two groups of two), sampled once: every step trains
/// on the same tokens, so a test can replay them.
final class FixedTokenScenario: Scenario {
    let policy: ToyTokenPolicy
    let conditions = [0, 0, 1, 1]
    let groups = [0, 0, 1, 1]
    let rewards: [Float] = [1, 0, 0.2, 0.9]
    let rollouts: [ToyTokenPolicy.Rollout]
    let experts: [AnyPolicyExpert]
    let reward: any RewardFunction<Int> = TableReward(table: [1, 0, 0.2, 0.9])

    init() {
        var rng = RandomState(seed: 3)
        let toy = ToyTokenPolicy(promptCount: 2, vocabularySize: 5, length: 3, hidden: 8, rng: &rng)
        rollouts = try! withoutGrad { try toy.sample([0, 0, 1, 1], using: &rng) }
        policy = toy
        experts = [AnyPolicyExpert(toy)]
    }

    func prompts(_ split: DatasetSplit) throws -> [Int] { [0, 1] }

    func rollout(_ prompts: [Int], group: Int, using rng: inout RandomState) throws -> [Trajectory<Int>] {
        rollouts.enumerated().map { i, r in
            Trajectory(
                promptIndex: groups[i], output: i, segments: [TrajectorySegment(expert: policy, rollout: r, condition: conditions[i])])
        }
    }
}

/// The reward of output i is `table[i]`.
struct TableReward: RewardFunction {
    let name = "table"
    let table: [Float]
    func scores(for batch: [Int]) async throws -> [Float?] { batch.map { table[$0] } }
}
