import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLTensor

/// The language policy's token entropies on the tape: their values against float64, their gradient
/// against central finite differences, and the entropy settings (`entropy_coeff`,
/// `top_entropy_quantile`) inside GRPO on a tiny random Qwen2.
@Suite struct QwenPolicyEntropyTests {
    static func sampled(seed: UInt64 = 4) throws -> (QwenPolicy<Qwen2CausalLM>, [QwenPolicy<Qwen2CausalLM>.Rollout]) {
        let policy = QwenPolicy(
            model: GenerationTests.qwen2(seed: 6, vocab: 12), options: GenerationOptions(maxNewTokens: 5, temperature: 1.2))
        var rng = RandomState(seed: seed)
        return (policy, try policy.sample(QwenPolicyTests.conditions(), using: &rng))
    }

    /// Σ_k c_k·H_k over every replayed token, c_k fixed weights (so each token's gradient counts).
    static func weightedEntropy(_ policy: QwenPolicy<Qwen2CausalLM>, _ rollouts: [QwenPolicy<Qwen2CausalLM>.Rollout]) throws -> Tensor {
        let replays = try policy.replay(rollouts, given: QwenPolicyTests.conditions())
        var total = Tensor.zeros([])
        for (r, rep) in replays.enumerated() {
            let h = try #require(rep.entropy)
            let c = (0..<h.elementCount).map { Float(1 + r) * (0.5 + 0.25 * Float($0)) }
            total = total + (h * Tensor(c)).sum()
        }
        return total
    }

    @Test func entropyValuesMatchFloat64() throws {
        let (policy, rollouts) = try Self.sampled()
        let replays = try policy.replay(rollouts, given: QwenPolicyTests.conditions())
        for (r, (ro, rep)) in zip(rollouts, replays).enumerated() {
            let h = try #require(rep.entropy)
            #expect(h.requiresGrad)
            // Each predicting row's full log-softmax from a single-row forward, in float64.
            let tokens = QwenPolicyTests.conditions()[r].tokens + ro.tokens
            let b = TokenBatch(ids: tokens, batch: 1)
            let logits = try withoutGrad { try policy.model.logits(for: b, positions: policy.model.positionIDs(for: b), cache: nil) }
                .scalars
            let v = policy.model.vocabularySize, start = tokens.count - ro.tokens.count - 1
            for k in 0..<ro.tokens.count {
                let row = logits[((start + k) * v)..<((start + k + 1) * v)].map { Double($0) / 1.2 }
                let m = row.max()!
                let z = row.map { Foundation.exp($0 - m) }.reduce(0, +)
                let lp = row.map { $0 - m - Foundation.log(z) }
                let entropy = -lp.map { Foundation.exp($0) * $0 }.reduce(0, +)
                #expect(abs(Double(h.scalars[k]) - entropy) < 1e-4, "row \(r) token \(k): \(h.scalars[k]) vs \(entropy)")
            }
        }
    }

    /// d(Σ c·H)/dθ through the whole model against central differences, on entries of the
    /// embedding, an attention projection, an MLP weight, a norm and the output head.
    @Test func entropyGradientMatchesFiniteDifferences() throws {
        let (policy, rollouts) = try Self.sampled()
        let named = policy.model.namedParameters()
        let picked = named.filter { n, _ in
            n.contains("embed") || n.contains("q_proj.weight") || n.contains("down_proj") || n.hasSuffix("norm.weight")
                || n.contains("lm_head")
        }
        #expect(picked.count >= 4)
        for (_, p) in named { p.zeroGrad() }
        try Self.weightedEntropy(policy, rollouts).backward()
        var checked = 0
        for (name, p) in picked {
            let grad = try #require(p.grad, "no gradient for \(name)").scalars
            let base = p.value.scalars
            for index in [0, base.count / 3, base.count - 1] {
                func value(_ delta: Float) throws -> Double {
                    var s = base
                    s[index] += delta
                    p.assign(Tensor(shape: p.shape, scalars: s))
                    defer { p.assign(Tensor(shape: p.shape, scalars: base)) }
                    return Double(try withoutGrad { try Self.weightedEntropy(policy, rollouts) }.item)
                }
                let h: Float = 3e-3
                let numeric = (try value(h) - value(-h)) / Double(2 * h)
                let analytic = Double(grad[index])
                #expect(abs(numeric - analytic) <= 2e-3 + 2e-2 * abs(numeric), "\(name)[\(index)]: \(analytic) vs \(numeric)")
                checked += 1
            }
        }
        #expect(checked >= 12)
    }

    /// Token-7 GRPO on a tiny random Qwen2 with or without the entropy bonus; the last step's entropy.
    static func finalEntropy(coefficient: Float, quantile: Float = 1, steps: Int = 10) async throws -> (Double, [String: Double]) {
        let policy = QwenPolicy(model: GenerationTests.qwen2(seed: 11, vocab: 12), options: GenerationOptions(maxNewTokens: 4))
        var config = GRPOConfiguration()
        config.run.steps = steps
        config.run.progressBar = .never
        config.run.jsonl = false
        config.run.tensorboard = false
        config.run.checkpointEvery = 0
        config.run.logEvery = 0
        config.trainer.promptsPerStep = 3
        config.trainer.groupSize = 8
        var lm = ExpertSettings()
        lm.learningRate = 0.02
        lm.entropyCoeff = coefficient
        lm.topEntropyQuantile = quantile
        config.experts = ["lm": lm]
        let trainer = try GRPOTrainer(scenario: PreferredTokenScenario(policy: policy), configuration: config)
        var metrics: [String: Double] = [:]
        for _ in 0..<steps { metrics = try await trainer.trainStep().metrics }
        return (try #require(metrics["entropy"]), metrics)
    }

    /// `entropy_coeff` on Qwen: the bonus keeps the entropy higher than plain GRPO does.
    @Test func entropyBonusKeepsQwenEntropyUp() async throws {
        let (without, _) = try await Self.finalEntropy(coefficient: 0)
        let (with, _) = try await Self.finalEntropy(coefficient: 0.5)
        print("tiny Qwen2 entropy after 10 GRPO steps: entropy_coeff 0 → \(without), 0.5 → \(with)")
        #expect(with > without + 0.05)
    }

    /// `top_entropy_quantile` on Qwen: half the tokens are masked, and the step still trains.
    @Test func topEntropyQuantileWorksOnQwen() async throws {
        let (_, metrics) = try await Self.finalEntropy(coefficient: 0, quantile: 0.5, steps: 2)
        let masked = try #require(metrics["entropy_mask/masked_frac"])
        #expect(masked >= 0.3 && masked <= 0.5)
        #expect(metrics["grad_norm"].map { $0 > 0 } ?? false)
    }
}
