import UniRLCore
import UniRLTensor

/// One request to the unified model: the chat-formatted prompt (with the source image for an
/// edit), the query set, and for editing the clean reference latent [C, H, W] for the DiT.
public struct UnifiedRequest: @unchecked Sendable {
    public var prompt: LanguagePrompt
    public var querySet: MetaQuerySet
    public var reference: Tensor?

    public init(prompt: LanguagePrompt, querySet: MetaQuerySet = .t2i, reference: Tensor? = nil) {
        self.prompt = prompt
        self.querySet = querySet
        self.reference = reference
    }
}

/// One joint rollout: the trajectory's segments (the LM's tokens when it wrote, then the DM's
/// SDE steps), the tokens the LM wrote, the final latent and, with a DC-AE, the image.
public struct UnifiedSample: @unchecked Sendable {
    /// Index of the request this sample answers.
    public var requestIndex: Int
    /// `[lm, dm]` or `[dm]`, in acting order.
    public var segments: [TrajectorySegment]
    /// What the LM wrote before drawing (empty when it did not write).
    public var writtenTokens: [Int]
    /// x_N [C, H, W].
    public var latent: Tensor
    /// The decoded image (nil without a DC-AE or when not decoded).
    public var image: RGBImage?
}

/// The unified model as a pair of GRPO experts acting in one trajectory (UniRL-Zero): optionally
/// the LM writes first (``QwenPolicy``, named `lm`: e.g. reasoning before drawing), then the DM
/// draws (``UnifiedImagePolicy``, named `dm`) conditioned on the connector output computed from
/// the prompt *and* those tokens — "the image is conditioned on the whole decoded prompt +
/// reasoning". Replaying the DM segment recomputes that condition on the tape, so one GRPO update
/// moves connector, queries and DiT through the DM surrogate, and the LM through both surrogates
/// when it is not frozen (per-expert learning rate, β, clipping and freezing come from the
/// trainer's `experts.lm` / `experts.dm` settings).
///
/// For an edit the reference latent is noised as 0.8·ref + 0.2·z once per sample (the official
/// `_sample_images_edit`) and kept in the condition, so replay sees what sampling saw.
///
/// ```swift
/// let policy = UnifiedPolicy(model: model, writes: GenerationOptions(maxNewTokens: 32, stopTokens: [imEnd]),
///                            drawing: SanaPolicySettings(steps: 10, guidanceScale: 3.5))
/// let samples = try policy.rollout(requests, group: 8, using: &rng)   // segments for Trajectory
/// scenario.experts = policy.experts
/// ```
public final class UnifiedPolicy {
    public let model: UnifiedModel
    public let language: QwenPolicy<QwenVLForConditionalGeneration>
    public let image: UnifiedImagePolicy
    /// Whether the LM writes before the DM draws.
    public var lmWrites: Bool

    /// `writes`: the LM's sampling options when it writes (nil: it does not).
    public init(
        model: UnifiedModel, writes: GenerationOptions? = nil, drawing: SanaPolicySettings = SanaPolicySettings(),
        latentSize: Int? = nil
    ) {
        self.model = model
        language = QwenPolicy(name: "lm", model: model.lm, options: writes ?? GenerationOptions(maxNewTokens: 0))
        image = UnifiedImagePolicy(model: model, settings: drawing, latentSize: latentSize)
        lmWrites = writes != nil
    }

    /// The two experts, for a scenario's `experts`.
    public var experts: [AnyPolicyExpert] { [AnyPolicyExpert(language), AnyPolicyExpert(image)] }

    /// `group` joint rollouts per request (request-major), without a tape. The generator draws the
    /// LM's tokens, then the reference noise, then the DM's sampler noise.
    public func rollout(
        _ requests: [UnifiedRequest], group: Int, decode: Bool = true,
        using rng: inout RandomState
    ) throws -> [UnifiedSample] {
        guard group >= 1 else { throw UnifiedModelError.invalidRequest("group size \(group) < 1") }
        let expanded = requests.indices.flatMap { [Int](repeating: $0, count: group) }
        guard !expanded.isEmpty else { return [] }
        return try withoutGrad {
            var written = [[Int]](repeating: [], count: expanded.count)
            var lmSegments = [TrajectorySegment?](repeating: nil, count: expanded.count)
            if lmWrites {
                let prompts = expanded.map { requests[$0].prompt }
                let tokens = try language.sample(prompts, using: &rng)
                for (i, t) in tokens.enumerated() {
                    written[i] = t.tokens
                    if !t.tokens.isEmpty { lmSegments[i] = TrajectorySegment(expert: language, rollout: t, condition: prompts[i]) }
                }
            }
            let conditions = expanded.enumerated().map { i, r in
                let request = requests[r]
                let reference = request.reference.map { ref in
                    ref * 0.8 + Tensor.randomNormal(ref.shape, using: &rng) * 0.2
                }
                return UnifiedImageCondition(
                    prompt: LanguagePrompt(tokens: request.prompt.tokens + written[i], images: request.prompt.images),
                    querySet: request.querySet, reference: reference)
            }
            let drawn = try image.sample(conditions, using: &rng)
            let images = decode && model.autoencoder != nil ? try model.decode(Tensor.stack(drawn.map(\.sample), axis: 0)) : nil
            return expanded.indices.map { i in
                let dm = TrajectorySegment(expert: image, rollout: drawn[i], condition: conditions[i])
                return UnifiedSample(
                    requestIndex: expanded[i], segments: (lmSegments[i].map { [$0] } ?? []) + [dm],
                    writtenTokens: written[i], latent: drawn[i].sample, image: images?[i])
            }
        }
    }
}
