import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLTensor

/// The language policy: replay equals sampling, for text and image prompts; GRPO learns a toy
/// preference; SFT trains assistant tokens only.
@Suite struct QwenPolicyTests {
    static func conditions() -> [LanguagePrompt] {
        [LanguagePrompt(tokens: [3, 9, 4, 1, 7]), LanguagePrompt(tokens: [2, 8]), LanguagePrompt(tokens: [5, 5, 6])]
    }

    @Test(arguments: [GenerationOptions(maxNewTokens: 7, temperature: 1),
                      GenerationOptions(maxNewTokens: 7, temperature: 0.7, topK: 5, topP: 0.9),
                      GenerationOptions(maxNewTokens: 7, temperature: 1.3, topP: 0.8, stopTokens: [3, 11])])
    func replayEqualsSamplingLogProbs(options: GenerationOptions) throws {
        let policy = QwenPolicy(model: GenerationTests.qwen2(), options: options)
        var rng = RandomState(seed: 4)
        let rollouts = try policy.sample(Self.conditions(), using: &rng)
        let replays = try policy.replay(rollouts, given: Self.conditions())
        for (r, rep) in zip(rollouts, replays) {
            #expect(rep.logProbs.shape == [r.tokens.count])
            let diff = zip(rep.logProbs.scalars, r.actionLogProbs).map { abs($0 - $1) }.max() ?? 0
            #expect(diff < 1e-5, "replay differs from sampling by \(diff)")
            #expect(rep.entropy.map { $0.scalars.allSatisfy { $0 >= 0 } } ?? false)
        }
        // Gradients reach the model through replay.
        replays.map { $0.logProbs.sum() }.reduce(Tensor.zeros([]), +).backward()
        #expect(policy.model.model.layers[0].selfAttention.qProj.weight.grad != nil)
    }

    /// Image prompts: the same equality through the Qwen2.5-VL model (3-D positions, vision tower).
    @Test func replayEqualsSamplingWithImages() throws {
        var rng = RandomState(seed: 9)
        let model = QwenVLForConditionalGeneration(QwenVLConfigurationTests.tiny(), rng: &rng)
        let c = model.configuration
        let image = { (grid: (Int, Int, Int), seed: UInt64) in QwenVLModelTests.image(grid: grid, seed: seed) }
        let prompts = [
            LanguagePrompt(tokens: [4, c.visionStartTokenID] + Array(repeating: c.imageTokenID, count: 6) + [c.visionEndTokenID, 8],
                           images: [image((1, 4, 6), 1)]),
            LanguagePrompt(tokens: [1, 2, 3]),
            LanguagePrompt(tokens: [c.visionStartTokenID] + Array(repeating: c.imageTokenID, count: 4) + [c.visionEndTokenID],
                           images: [image((1, 4, 4), 2)]),
        ]
        let policy = QwenPolicy(model: model, options: GenerationOptions(maxNewTokens: 5, temperature: 0.9, topK: 20))
        let rollouts = try policy.sample(prompts, using: &rng)
        let replays = try policy.replay(rollouts, given: prompts)
        for (r, rep) in zip(rollouts, replays) {
            let diff = zip(rep.logProbs.scalars, r.actionLogProbs).map { abs($0 - $1) }.max() ?? 0
            #expect(diff < 1e-5, "replay differs from sampling by \(diff)")
        }
    }

    /// GRPO on a tiny random Qwen2: the reward (share of generated tokens equal to 7) rises.
    @Test func grpoRaisesAToyReward() async throws {
        let policy = QwenPolicy(model: GenerationTests.qwen2(seed: 11, vocab: 12), options: GenerationOptions(maxNewTokens: 4))
        let scenario = PreferredTokenScenario(policy: policy)
        var config = GRPOConfiguration()
        config.run.steps = 12
        config.run.progressBar = .never
        config.run.jsonl = false
        config.run.tensorboard = false
        config.run.checkpointEvery = 0
        config.run.logEvery = 0
        config.trainer.promptsPerStep = 3
        config.trainer.groupSize = 8
        var lm = ExpertSettings()
        lm.learningRate = 0.01
        config.experts = ["lm": lm]
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let before = try await trainer.evaluate(samplesPerPrompt: 32)
        var first: StepReport?
        while trainer.step < 12 {
            let report = try await trainer.trainStep()
            if first == nil { first = report }
        }
        let after = try await trainer.evaluate(samplesPerPrompt: 32)
        print("QwenPolicy GRPO: share of token 7 \(before) → \(after)")
        #expect(after > before + 0.2)
        // The importance ratio is exactly 1 before the first update (recorded == replayed).
        let ratios = (first?.metrics ?? [:]).filter {
            ($0.key.hasSuffix("ratio/min") || $0.key.hasSuffix("ratio/max")) && !$0.key.contains("clip")
        }
        #expect(ratios.count == 2)
        for (_, r) in ratios { #expect(abs(r - 1) < 1e-5) }
    }

    /// SFT: the loss is the masked next-token cross-entropy; user tokens do not count; steps lower it.
    @Test func supervisedFineTuningTrainsAssistantTokensOnly() throws {
        let lm = GenerationTests.qwen2(seed: 12, vocab: 20)
        let sft = SupervisedFineTuning(model: lm)
        let examples = [SupervisedExample(tokens: [1, 2, 3, 4, 5, 6], lossMask: [0, 0, 0, 1, 1, 1]),
                        SupervisedExample(tokens: [7, 8, 9, 10], lossMask: [0, 0, 1, 1])]
        let loss = try #require(try sft.loss(examples)).item
        // By hand: −log softmax at each target from single-row forwards.
        var total: Float = 0, count = 0
        for e in examples {
            let b = TokenBatch(ids: e.tokens, batch: 1)
            let lp = withoutGrad { try! lm.logits(for: b, positions: lm.positionIDs(for: b), cache: nil) }.logSoftmax(axis: -1).scalars
            for i in 1..<e.tokens.count where e.lossMask[i] == 1 { total -= lp[(i - 1) * 20 + e.tokens[i]]; count += 1 }
        }
        #expect(abs(loss - total / Float(count)) < 1e-4)
        // Changing a user token's value changes context but a masked-out target does not count:
        // changing the first token (never a target) of a masked position keeps the targets' set.
        let onlyUser = [SupervisedExample(tokens: [1, 2, 3], lossMask: [0, 0, 0])]
        #expect(try sft.loss(onlyUser) == nil)
        let optimizer = AdamW(parameters: lm.trainableParameters(), learningRate: 0.01)
        var last = loss
        for _ in 0..<20 { last = try sft.step(examples, optimizer: optimizer) ?? last }
        let final = try #require(try sft.loss(examples)).item
        print("SFT loss \(loss) → \(final)")
        #expect(final < loss * 0.5)
    }
}

/// Reward: the share of generated tokens equal to 7.
struct PreferredTokenReward: RewardFunction {
    let name = "token7"
    func scores(for batch: [[Int]]) async throws -> [Float?] {
        batch.map { t in Float(t.filter { $0 == 7 }.count) / Float(max(t.count, 1)) }
    }
}

/// Three fixed prompts; the output is the generated tokens.
final class PreferredTokenScenario: Scenario {
    let policy: QwenPolicy<Qwen2CausalLM>
    let reward: any RewardFunction<[Int]> = PreferredTokenReward()
    let experts: [AnyPolicyExpert]

    init(policy: QwenPolicy<Qwen2CausalLM>) {
        self.policy = policy
        experts = [AnyPolicyExpert(policy)]
    }

    func prompts(_ split: DatasetSplit) throws -> [[Int]] { [[1, 2, 3], [4, 5], [6, 8, 9, 10]] }

    func rollout(_ prompts: [[Int]], group: Int, using rng: inout RandomState) throws -> [Trajectory<[Int]>] {
        let conditions = prompts.flatMap { p in Array(repeating: LanguagePrompt(tokens: p), count: group) }
        let rollouts = try policy.sample(conditions, using: &rng)
        return rollouts.enumerated().map { i, r in
            Trajectory(promptIndex: i / group, output: r.tokens,
                       segments: [TrajectorySegment(expert: policy, rollout: r, condition: conditions[i])])
        }
    }
}
