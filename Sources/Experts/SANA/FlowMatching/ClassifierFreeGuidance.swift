import UniRLTensor

/// SANA's velocity v(x_t, t, c) for a batch of conditions, with classifier-free guidance
///
///     v = v_u + w·(v_c − v_u)
///
/// where v_c is conditioned on the caption and v_u on the unconditional ("empty") embedding, as
/// diffusers' `SanaPipeline.__call__` computes it (pipelines/sana/pipeline_sana.py: the latents
/// doubled into one batch, `noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond)`).
/// w = 1 is the plain conditional model (one pass), w = 0 the unconditional one.
///
/// With reference latents (UniRL-Zero's editing, the DiT's reference path) guidance is triple,
/// as `_sample_images_edit` of G-U-N/UniRL unimodel/blip3o/model/language_model/blip3o_qwen_inference.py:
///
///     v = v_u + w_ref·(v_ref − v_u) + w·(v_full − v_ref)
///
/// v_u: unconditional features and a zero reference; v_ref: unconditional features and the
/// reference; v_full: the caption and the reference. w = w_ref = 1 is one conditional pass.
///
/// ```swift
/// let field = GuidedVelocity(transformer: model, conditions: caption, mask: mask,
///                            unconditional: empty, unconditionalMask: emptyMask, guidanceScale: 4.5)
/// let v = field(latents, levels: [0.7, 0.7])   // t on the 0…1 scale, one per sample
/// ```
public struct GuidedVelocity {
    public let transformer: SanaTransformer
    /// Caption features [B, L, D] and their mask [B, L] (1 keep, 0 padding).
    public let conditions: Tensor
    public let mask: Tensor?
    /// Unconditional features and mask, same shapes; needed when w ≠ 1 (or w_ref ≠ 1).
    public let unconditional: Tensor?
    public let unconditionalMask: Tensor?
    /// w.
    public let guidanceScale: Float
    /// Reference latents [B, C, H, W] for the DiT's reference path (editing), or nil.
    public let reference: Tensor?
    /// w_ref of triple guidance (used only with `reference`).
    public let referenceGuidanceScale: Float

    public init(transformer: SanaTransformer, conditions: Tensor, mask: Tensor?, unconditional: Tensor? = nil,
                unconditionalMask: Tensor? = nil, guidanceScale: Float = 1, reference: Tensor? = nil,
                referenceGuidanceScale: Float = 1) {
        precondition(!(guidanceScale != 1 || (reference != nil && referenceGuidanceScale != 1)) || unconditional?.shape == conditions.shape,
                     "guidance needs unconditional features shaped like the conditions \(conditions.shape)")
        self.transformer = transformer
        self.conditions = conditions
        self.mask = mask
        self.unconditional = unconditional
        self.unconditionalMask = unconditionalMask
        self.guidanceScale = guidanceScale
        self.reference = reference
        self.referenceGuidanceScale = referenceGuidanceScale
    }

    /// Whether a call runs more than the conditional branch.
    public var isGuided: Bool { guidanceScale != 1 || (reference != nil && referenceGuidanceScale != 1) }

    /// v for latents x [B, C, H, W] at levels t [B] (0…1; the transformer reads t·1000).
    public func callAsFunction(_ x: Tensor, levels: [Float]) -> Tensor {
        let b = x.shape[0]
        precondition(levels.count == b && conditions.shape[0] == b,
                     "\(levels.count) levels and \(conditions.shape[0]) conditions for \(b) latents")
        let timestep = Tensor(levels.map { $0 * 1000 })
        guard isGuided, let unconditional else {
            return transformer(x, encoderHiddenStates: conditions, timestep: timestep, encoderAttentionMask: mask,
                               referenceHiddenStates: reference)
        }
        let length = conditions.shape[1]
        guard let reference else {
            let out = transformer(Tensor.concatenate([x, x], axis: 0),
                                  encoderHiddenStates: Tensor.concatenate([unconditional, conditions], axis: 0),
                                  timestep: Tensor.concatenate([timestep, timestep], axis: 0),
                                  encoderAttentionMask: Self.joinedMask([unconditionalMask, mask], batch: b, length: length))
            let halves = out.chunked(2, axis: 0)
            return halves[0] + (halves[1] - halves[0]) * guidanceScale
        }
        // [unconditional, reference only, reference + caption], one batch of 3B.
        let out = transformer(Tensor.concatenate([x, x, x], axis: 0),
                              encoderHiddenStates: Tensor.concatenate([unconditional, unconditional, conditions], axis: 0),
                              timestep: Tensor.concatenate([timestep, timestep, timestep], axis: 0),
                              encoderAttentionMask: Self.joinedMask([unconditionalMask, unconditionalMask, mask], batch: b, length: length),
                              referenceHiddenStates: Tensor.concatenate([Tensor.zeros(reference.shape), reference, reference], axis: 0))
        let parts = out.chunked(3, axis: 0)
        return parts[0] + (parts[1] - parts[0]) * referenceGuidanceScale + (parts[2] - parts[1]) * guidanceScale
    }

    /// The branches' masks joined along the batch, ones where a branch has none.
    static func joinedMask(_ masks: [Tensor?], batch: Int, length: Int) -> Tensor? {
        guard masks.contains(where: { $0 != nil }) else { return nil }
        let ones = Tensor.ones([batch, length])
        return Tensor.concatenate(masks.map { $0 ?? ones }, axis: 0)
    }
}
