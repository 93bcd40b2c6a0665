import Foundation
import UniRLTensor

/// SANA's linear diffusion transformer, diffusers' `SanaTransformer2DModel`
/// (models/transformers/sana_transformer.py), computed as diffusers computes it and loaded from a
/// diffusers checkpoint by its parameter names (`patch_embed.proj.weight`,
/// `transformer_blocks.3.attn1.to_out.0.weight`, …):
///
///     x = PatchEmbed(latent) (+ 2-D sin-cos positions when `interpolation_scale` is set)
///     x += ref_linear(ref_PatchEmbed(reference))       only with the reference path (below)
///     m, e = AdaLayerNormSingle(t)                     m: 6 modulation vectors per sample
///     c = RMSNorm(PixArtTextProjection(caption))       ε = 1e-5, with weight
///     x = block_i(x, c, mask, m)                       i = 0 … num_layers−1
///     shift, scale = scale_shift_table + e
///     v = proj_out(LN(x) · (1 + scale) + shift), unpatchified to [B, C_out, H, W]
///
/// **Reference path** (UniRL-Zero's editing DiT, G-U-N/UniRL
/// unimodel/blip3o/model/multimodal_encoder/sana_transformer.py): a second patch embedding
/// `ref_patch_embed` (built like `patch_embed`, initialised as its copy) and a zero-initialised
/// `ref_linear` (inner → inner) add `ref_linear(ref_patch_embed(reference latent))` to the patch
/// embeddings; without a reference latent the reference is zeros. A checkpoint that holds
/// `ref_patch_embed.*` and `ref_linear.*` gets the path; one without loads as plain diffusers.
///
/// ```swift
/// let model = try SanaTransformer.load(from: URL(fileURLWithPath: "Sana_1600M_1024px_diffusers/transformer"))
/// let velocity = model(latents, encoderHiddenStates: caption, timestep: t * 1000, encoderAttentionMask: mask)
/// ```
public final class SanaTransformer: Module {
    public let configuration: SanaTransformerConfiguration
    let patchEmbed: SanaPatchEmbedding
    /// The reference path (`ref_patch_embed`, `ref_linear`), when the model has one.
    let refPatchEmbed: SanaPatchEmbedding?
    let refLinear: Linear?
    let timeEmbed: SanaTimestepEmbedding
    let captionProjection: SanaCaptionProjection
    let captionNorm: RMSNorm
    let transformerBlocks: ModuleList<SanaTransformerBlock>
    let scaleShiftTable: Parameter
    /// `norm_out` (diffusers' `SanaModulatedNorm`): LayerNorm without affine, ε = 1e-6.
    let normOut: LayerNorm
    let projOut: Linear
    /// Recompute each transformer block in the backward instead of keeping its activations
    /// (gradient checkpointing per block, diffusers' `gradient_checkpointing`): the backward's
    /// activation memory drops to one block's, for one more forward of the blocks. Gradients are
    /// identical either way. Default off.
    public var gradientCheckpointing = false

    /// A model with PyTorch's default initialisation; throws for a configuration that
    /// ``SanaTransformerConfiguration/validate()`` refuses.
    /// With `referencePath`, the model also has UniRL-Zero's `ref_patch_embed` (a copy of
    /// `patch_embed`) and `ref_linear` (zeros), so it starts out computing what the plain model does.
    public convenience init(configuration: SanaTransformerConfiguration, referencePath: Bool = false,
                            rng: inout RandomState) throws {
        try configuration.validate()
        self.init(configuration: configuration, referencePath: referencePath, .random(rng.fork()))
        if let refPatchEmbed {
            let source = Dictionary(uniqueKeysWithValues: patchEmbed.namedParameters().map { ($0.name, $0.parameter.value) })
            for (name, p) in refPatchEmbed.namedParameters() { p.assign(source[name]!) }
        }
    }

    /// Builds the module tree with parameters from `vb` (random, loaded or shapes only);
    /// `configuration` must be valid.
    init(configuration c: SanaTransformerConfiguration, referencePath: Bool = false, _ vb: ParameterBuilder) {
        configuration = c
        let d = c.innerDim
        patchEmbed = SanaPatchEmbedding(c, vb.scoped("patch_embed"))
        refPatchEmbed = referencePath ? SanaPatchEmbedding(c, vb.scoped("ref_patch_embed")) : nil
        refLinear = referencePath ? Linear(inputSize: d, outputSize: d, zeroInitialized: true, vb.scoped("ref_linear")) : nil
        timeEmbed = SanaTimestepEmbedding(width: d, vb.scoped("time_embed"))
        captionProjection = SanaCaptionProjection(captionChannels: c.captionChannels, width: d, vb.scoped("caption_projection"))
        captionNorm = RMSNorm(dimension: d, eps: 1e-5, vb.scoped("caption_norm"))
        transformerBlocks = ModuleList((0..<c.numLayers).map { SanaTransformerBlock(c, vb.scoped("transformer_blocks.\($0)")) })
        // diffusers: torch.randn(2, inner_dim) / inner_dim**0.5
        scaleShiftTable = vb.parameter("scale_shift_table", [2, d], .normal(std: 1 / Float(d).squareRoot()))
        normOut = LayerNorm(dimension: d, eps: 1e-6, affine: false, vb.scoped("norm_out"))
        projOut = Linear(inputSize: d, outputSize: c.patchSize * c.patchSize * c.resolvedOutChannels, vb.scoped("proj_out"))
    }

    /// Loads a diffusers model folder: `config.json` and `diffusion_pytorch_model.safetensors`
    /// (or its sharded form with an index). Every parameter must be present with its shape, and
    /// nothing else; F32, F16 and BF16 weights are read.
    public static func load(from directory: URL) throws -> SanaTransformer {
        try load(from: directory, matrices: .float32)
    }

    /// The same, with the weight matrices kept as `matrices` says (``WeightPrecision/bfloat16``:
    /// frozen, memory-mapped from `BF16` files).
    public static func load(from directory: URL, matrices: WeightPrecision) throws -> SanaTransformer {
        let configuration = try SanaTransformerConfiguration.load(from: directory.appendingPathComponent("config.json"))
        return try load(configuration: configuration, from: .loading(ShardedCheckpoint(contentsOf: directory), matrices: matrices))
    }

    /// Builds a model of `configuration` from a loading builder (scoped to the DiT's names), with
    /// the reference path when the checkpoint holds it, and checks that nothing is missing or left over.
    static func load(configuration: SanaTransformerConfiguration, from vb: ParameterBuilder) throws -> SanaTransformer {
        try vb.build { SanaTransformer(configuration: configuration, referencePath: holdsReferencePath($0.availableNames), $0) }
    }

    /// Whether weight names (already stripped of any prefix) include UniRL-Zero's reference path.
    static func holdsReferencePath(_ names: [String]) -> Bool {
        names.contains { $0.hasPrefix("ref_patch_embed.") || $0.hasPrefix("ref_linear.") }
    }

    /// Whether this model has the reference path (`ref_patch_embed`, `ref_linear`).
    public var hasReferencePath: Bool { refLinear != nil }

    public var parameters: [String: Parameter] { ["scale_shift_table": scaleShiftTable] }
    public var submodules: [String: any Module] {
        var s: [String: any Module] = [
            "patch_embed": patchEmbed, "time_embed": timeEmbed, "caption_projection": captionProjection,
            "caption_norm": captionNorm, "transformer_blocks": transformerBlocks, "proj_out": projOut]
        if let refPatchEmbed, let refLinear { s["ref_patch_embed"] = refPatchEmbed; s["ref_linear"] = refLinear }
        return s
    }

    /// The predicted velocity for latents `hiddenStates` [B, C_in, H, W] (H, W multiples of the
    /// patch size), caption features `encoderHiddenStates` [B, L, caption_channels], `timestep`
    /// [B] on diffusers' 0…1000 scale (t·1000) and an optional caption mask [B, L] (1 keep,
    /// 0 padding); returns [B, C_out, H, W]. `referenceHiddenStates` [B, C_in, H, W] is the
    /// reference latent of the reference path (zeros when `nil`); a model without the path must
    /// not be given one.
    public func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor, timestep: Tensor,
                               encoderAttentionMask: Tensor? = nil, referenceHiddenStates: Tensor? = nil) -> Tensor {
        let c = configuration, p = c.patchSize, d = c.innerDim
        precondition(hiddenStates.rank == 4 && hiddenStates.shape[1] == c.inChannels,
                     "SanaTransformer expects latents [B, \(c.inChannels), H, W], got \(hiddenStates.shape)")
        let (b, height, width) = (hiddenStates.shape[0], hiddenStates.shape[2], hiddenStates.shape[3])
        precondition(height % p == 0 && width % p == 0, "latent size \(height) × \(width) is not a multiple of the patch size \(p)")
        precondition(
            encoderHiddenStates.rank == 3 && encoderHiddenStates.shape[0] == b && encoderHiddenStates.shape[2] == c.captionChannels,
                     "caption features must be [\(b), L, \(c.captionChannels)], got \(encoderHiddenStates.shape)")
        precondition(timestep.elementCount == b, "one timestep per sample is needed, got \(timestep.shape) for batch \(b)")
        if let mask = encoderAttentionMask {
            precondition(mask.shape == [b, encoderHiddenStates.shape[1]],
                         "caption mask must be [\(b), \(encoderHiddenStates.shape[1])], got \(mask.shape)")
        }
        precondition(
            referenceHiddenStates == nil || hasReferencePath, "a reference latent was given to a SANA model without the reference path")
        if let reference = referenceHiddenStates {
            precondition(
                reference.shape == hiddenStates.shape, "reference latents \(reference.shape) differ from latents \(hiddenStates.shape)")
        }
        let (gridH, gridW) = (height / p, width / p)

        var x = patchEmbed(hiddenStates)
        if let refPatchEmbed, let refLinear {
            if let reference = referenceHiddenStates {
                x = x + refLinear(refPatchEmbed(reference))
            } else {
                // Zeros give every row the same term: compute it once and broadcast.
                let zeros = Tensor.zeros([1, c.inChannels, height, width])
                x = x + refLinear(refPatchEmbed(zeros))
            }
        }
        let (modulation, embedded) = timeEmbed(timestep.reshaped([b]))
        let caption = captionNorm(captionProjection(encoderHiddenStates))
        let captionMask = SanaAttention.mask(forCaptionMask: encoderAttentionMask)
        for block in transformerBlocks.items {
            if gradientCheckpointing {
                x = Tensor.recomputed([x, caption, modulation]) {
                    block($0[0], caption: $0[1], captionMask: captionMask, modulation: $0[2], height: gridH, width: gridW)
                }
            } else {
                x = block(x, caption: caption, captionMask: captionMask, modulation: modulation, height: gridH, width: gridW)
            }
        }

        let shiftScale = (scaleShiftTable.value.reshaped([1, 2, d]) + embedded.reshaped([b, 1, d])).chunked(2, axis: 1)
        x = projOut(SanaKernels.modulate(normOut(x), shift: shiftScale[0], scale: shiftScale[1]))
        // Unpatchify: [B, h, w, p, p, C] → [B, C, h, p, w, p] → [B, C, H, W].
        let cOut = c.resolvedOutChannels
        return x.reshaped([b, gridH, gridW, p, p, cOut]).permuted([0, 5, 1, 3, 2, 4]).reshaped([b, cOut, height, width])
    }
}
