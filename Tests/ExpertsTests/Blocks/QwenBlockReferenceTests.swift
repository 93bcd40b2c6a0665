import Foundation
import Testing
import UniRLTensor

@testable import UniRLExperts

/// Qwen2's decoder layer (``TransformerBlock``: RMSNorm, grouped-query attention with q/k/v bias
/// and rotary positions, causal + padding mask, SwiGLU) against PyTorch, forward and every gradient.
@Suite struct QwenBlockReferenceTests {
    @Test func transformerBlockMatchesPyTorch() throws {
        let f = try ExpertBlockFixtures.fixture("transformer_block")
        let block = try ParameterBuilder.loading(f.weights).build { TransformerBlock(try f.config(TransformerBlockConfiguration.self), $0) }
        let mask = try Tensor(shape: [2, 7], scalars: f.inputs.integers(named: "attention_mask").map(Float.init))
        ExpertBlockFixtures.expectPassed(try f.check(block, mask: mask) { block($0, attentionMask: mask) })
    }

    @Test func afewAdamWStepsLowerTheLoss() throws {
        let f = try ExpertBlockFixtures.fixture("transformer_block")
        var rng = RandomState(seed: 0)
        let block = TransformerBlock(try f.config(TransformerBlockConfiguration.self), rng: &rng)
        try block.load(from: f.weights)
        let x = try f.inputs.tensor(named: "hidden_states")
        let target = Tensor.randomNormal(x.shape, using: &rng)
        let optimizer = AdamW(parameters: block.trainableParameters(), learningRate: 1e-2, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<5 {
            block.zeroGrad()
            let loss = (block(x) - target).square().mean()
            losses.append(loss.item)
            loss.backward()
            optimizer.step()
        }
        #expect(losses.last! < losses.first! * 0.9, "losses \(losses)")
    }

    @Test func parameterNamesFollowTheModuleTree() {
        var rng = RandomState(seed: 0)
        let block = TransformerBlock(.init(hiddenSize: 8, numHeads: 2, intermediateSize: 16), rng: &rng)
        let names = block.namedParameters().map(\.name)
        #expect(names.contains("self_attn.q_proj.weight"))
        #expect(names.contains("self_attn.k_proj.bias"))
        #expect(!names.contains("self_attn.o_proj.bias"))
        #expect(names.contains("mlp.down_proj.weight"))
        #expect(names == names.sorted())
        #expect(block.parameterCount() == 8 + 8 + 3 * (64 + 8) + 64 + 3 * 128)
        let list = ModuleList([block])
        #expect(list.namedParameters().first?.name.hasPrefix("0.") == true)
    }
}
