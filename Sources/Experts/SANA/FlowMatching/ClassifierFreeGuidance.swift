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
    /// Unconditional features and mask, same shapes; needed when w ≠ 1.
    public let unconditional: Tensor?
    public let unconditionalMask: Tensor?
    /// w.
    public let guidanceScale: Float

    public init(transformer: SanaTransformer, conditions: Tensor, mask: Tensor?, unconditional: Tensor? = nil,
                unconditionalMask: Tensor? = nil, guidanceScale: Float = 1) {
        precondition(guidanceScale == 1 || unconditional?.shape == conditions.shape,
                     "guidance needs unconditional features shaped like the conditions \(conditions.shape)")
        self.transformer = transformer
        self.conditions = conditions
        self.mask = mask
        self.unconditional = unconditional
        self.unconditionalMask = unconditionalMask
        self.guidanceScale = guidanceScale
    }

    /// Whether a call runs the unconditional branch.
    public var isGuided: Bool { guidanceScale != 1 }

    /// v for latents x [B, C, H, W] at levels t [B] (0…1; the transformer reads t·1000).
    public func callAsFunction(_ x: Tensor, levels: [Float]) -> Tensor {
        let b = x.shape[0]
        precondition(levels.count == b && conditions.shape[0] == b, "\(levels.count) levels and \(conditions.shape[0]) conditions for \(b) latents")
        let timestep = Tensor(levels.map { $0 * 1000 })
        guard isGuided, let unconditional else {
            return transformer(x, encoderHiddenStates: conditions, timestep: timestep, encoderAttentionMask: mask)
        }
        let both = Tensor.concatenate([x, x], axis: 0)
        let context = Tensor.concatenate([unconditional, conditions], axis: 0)
        let contextMask = Self.joinedMask(unconditionalMask, mask, batch: b, length: conditions.shape[1])
        let out = transformer(both, encoderHiddenStates: context, timestep: Tensor.concatenate([timestep, timestep], axis: 0),
                              encoderAttentionMask: contextMask)
        let halves = out.chunked(2, axis: 0)
        return halves[0] + (halves[1] - halves[0]) * guidanceScale
    }

    /// [unconditional; conditional] masks, ones where a side has none.
    static func joinedMask(_ a: Tensor?, _ b: Tensor?, batch: Int, length: Int) -> Tensor? {
        guard a != nil || b != nil else { return nil }
        let ones = Tensor.ones([batch, length])
        return Tensor.concatenate([a ?? ones, b ?? ones], axis: 0)
    }
}
