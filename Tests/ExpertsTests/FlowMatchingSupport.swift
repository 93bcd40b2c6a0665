import Foundation
import UniRLExperts
import UniRLTensor

/// Small models and helpers shared by the flow-matching tests.
enum FlowMatchingFixtures {
    /// A one-layer SANA on 2 × 4 × 4 latents reading 6-wide captions (fast in debug builds).
    static let configuration = SanaTransformerConfiguration(
        inChannels: 2, outChannels: 2, numAttentionHeads: 2, attentionHeadDim: 4, numLayers: 1,
        numCrossAttentionHeads: 2, crossAttentionHeadDim: 4, crossAttentionDim: 8, captionChannels: 6,
        sampleSize: 4, patchSize: 1)

    static func transformer(seed: UInt64 = 1) throws -> SanaTransformer {
        var rng = RandomState(seed: seed)
        return try SanaTransformer(configuration: configuration, rng: &rng)
    }

    /// `count` conditions of length 3 with the last token of every other one masked.
    static func conditions(_ count: Int, seed: UInt64 = 2) -> [SanaCondition] {
        var rng = RandomState(seed: seed)
        return (0..<count).map { i in
            SanaCondition(embedding: .randomNormal([3, 6], using: &rng), mask: Tensor(i % 2 == 0 ? [1, 1, 1] : [1, 1, 0]))
        }
    }

    static func unconditional() -> SanaCondition {
        var rng = RandomState(seed: 3)
        return SanaCondition(embedding: .randomNormal([3, 6], using: &rng), mask: Tensor([1, 0, 0]))
    }

    static func policy(guidance: Float = 1, steps: Int = 6, noiseLevel: Float = 0.7, kind: SDEStepKind = .sde,
                       trained: SDEStepSelection = .all, shift: Float = 1) throws -> SanaPolicy {
        SanaPolicy(transformer: try transformer(),
                   settings: SanaPolicySettings(steps: steps, shift: shift, noiseLevel: noiseLevel, kind: kind,
                                                guidanceScale: guidance, trainedSteps: trained),
                   unconditional: unconditional())
    }

    static func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
