import Testing
import UniRLTensor

@testable import UniRLExperts

/// Per-block gradient checkpointing of the SANA DiT: the same output, and the same gradients with
/// the blocks recomputed in the backward: bit-identical for the input and every block parameter;
/// for the caption and timestep layers, whose gradient is a sum over the blocks, equal up to the
/// order of that sum (each block's share arrives as one tensor instead of op by op).
@Suite struct GradientCheckpointingTests {
    @Test func gradientsAreIdenticalWithAndWithoutRecomputation() throws {
        var rng = RandomState(seed: 4)
        let model = try SanaTransformer(
            configuration: SanaTransformerConfiguration(
                inChannels: 4, outChannels: 4, numAttentionHeads: 2, attentionHeadDim: 16, numLayers: 3, numCrossAttentionHeads: 2,
                crossAttentionHeadDim: 16, crossAttentionDim: 32, captionChannels: 24, mlpRatio: 2.5, sampleSize: 4, patchSize: 1,
                interpolationScale: 1), rng: &rng)
        let x0 = Tensor.randomNormal([2, 4, 4, 4], using: &rng), caption = Tensor.randomNormal([2, 5, 24], using: &rng)
        let probe = Tensor.randomNormal([2, 4, 4, 4], using: &rng)
        func run(checkpointing: Bool) -> (out: [Float], input: [Float], parameters: [String: [Float]]) {
            model.gradientCheckpointing = checkpointing
            for (_, p) in model.namedParameters() { p.zeroGrad() }
            let x = x0.detached().requiringGrad()
            let out = model(x, encoderHiddenStates: caption, timestep: Tensor([300, 700]))
            (out * probe).sum().backward()
            let grads = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.grad?.scalars ?? []) })
            return (out.scalars, x.grad!.scalars, grads)
        }
        let plain = run(checkpointing: false), recomputed = run(checkpointing: true)
        #expect(recomputed.out == plain.out)
        #expect(recomputed.input == plain.input)
        #expect(plain.parameters.keys.contains { $0.hasPrefix("transformer_blocks.2.") })
        for (name, g) in plain.parameters {
            #expect(!g.isEmpty, "\(name) has a gradient")
            let other = recomputed.parameters[name] ?? []
            if name.hasPrefix("transformer_blocks.") || name.hasPrefix("proj_out.") || name == "scale_shift_table" {
                #expect(other == g, "\(name)")
            } else {
                let scale = g.map(abs).max() ?? 0
                #expect(other.count == g.count && zip(other, g).allSatisfy { abs($0 - $1) <= 1e-5 * max(scale, 1) }, "\(name)")
            }
        }
    }
}
