import Foundation
import UniRLTensor

/// The settings of diffusers' `SanaTransformer2DModel` (models/transformers/sana_transformer.py),
/// read from and written to its `config.json` with the same snake_case keys and defaults.
///
/// A key that diffusers writes but that is missing from a file takes diffusers' default (older
/// hub configs predate `qk_norm`, `guidance_embeds`, `timestep_scale`); `null` means what it means
/// to diffusers (`out_channels: null` → `in_channels`, `interpolation_scale: null` → no positional
/// embedding). ``validate()`` refuses settings this implementation does not compute
/// (see there), so that none is silently ignored.
///
/// ```swift
/// let configuration = try SanaTransformerConfiguration.load(from: directory.appendingPathComponent("config.json"))
/// let model = SanaTransformer(configuration: .sana1600M1024, rng: &rng)
/// ```
public struct SanaTransformerConfiguration: Codable, Sendable, Equatable, ModelConfigurationFile {
    /// Latent channels in (`in_channels`).
    public var inChannels: Int = 32
    /// Channels out; `nil` (`null` in the file) means `inChannels`, as in diffusers.
    public var outChannels: Int? = 32
    /// Heads of the linear self-attention (`num_attention_heads`).
    public var numAttentionHeads: Int = 70
    /// Channels per self-attention head; the model width is heads × head dim.
    public var attentionHeadDim: Int = 32
    public var numLayers: Int = 20
    /// Heads of the softmax cross-attention (`num_cross_attention_heads`).
    public var numCrossAttentionHeads: Int? = 20
    public var crossAttentionHeadDim: Int? = 112
    /// Width of the conditioning the cross-attention reads; it must be the model width, since the
    /// caption projection maps the text features to it.
    public var crossAttentionDim: Int? = 2240
    /// Width of the text encoder's features (Gemma-2-2B: 2304).
    public var captionChannels: Int = 2304
    /// Mix-FFN expansion: hidden = ⌊mlp_ratio · width⌋, doubled for the gate.
    public var mlpRatio: Double = 2.5
    /// Must be 0: dropout is not implemented (the released models use none).
    public var dropout: Double = 0
    /// Whether the self-attention's q/k/v projections have biases.
    public var attentionBias: Bool = false
    /// Latent side the model was configured for; the base grid of the sinusoidal positions.
    public var sampleSize: Int = 32
    public var patchSize: Int = 1
    /// Whether the feed-forward LayerNorm (`norm2`) has a weight and bias.
    public var normElementwiseAffine: Bool = false
    public var normEps: Double = 1e-6
    /// When set, 2-D sinusoidal positions (PixArt's `get_2d_sincos_pos_embed`) are added to the
    /// patch embeddings; `nil` for the 512 px and 1024 px models.
    public var interpolationScale: Double? = nil
    /// Sana-Sprint's guidance embedding; must be false (not implemented).
    public var guidanceEmbeds: Bool = false
    /// Used by the Sprint pipeline only; carried along.
    public var guidanceEmbedsScale: Double = 0.1
    /// `nil` or `"rms_norm_across_heads"` (RMSNorm with a weight over all heads' q and k).
    public var qkNorm: String? = nil
    /// The pipeline multiplies its timesteps by this before calling the model (the model itself
    /// does not read it, neither here nor in diffusers).
    public var timestepScale: Double = 1.0

    public init(inChannels: Int = 32, outChannels: Int? = 32, numAttentionHeads: Int = 70, attentionHeadDim: Int = 32,
                numLayers: Int = 20, numCrossAttentionHeads: Int? = 20, crossAttentionHeadDim: Int? = 112,
                crossAttentionDim: Int? = 2240, captionChannels: Int = 2304, mlpRatio: Double = 2.5,
                dropout: Double = 0, attentionBias: Bool = false, sampleSize: Int = 32, patchSize: Int = 1,
                normElementwiseAffine: Bool = false, normEps: Double = 1e-6, interpolationScale: Double? = nil,
                guidanceEmbeds: Bool = false, guidanceEmbedsScale: Double = 0.1, qkNorm: String? = nil,
                timestepScale: Double = 1.0) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.numAttentionHeads = numAttentionHeads; self.attentionHeadDim = attentionHeadDim
        self.numLayers = numLayers; self.numCrossAttentionHeads = numCrossAttentionHeads
        self.crossAttentionHeadDim = crossAttentionHeadDim; self.crossAttentionDim = crossAttentionDim
        self.captionChannels = captionChannels; self.mlpRatio = mlpRatio; self.dropout = dropout
        self.attentionBias = attentionBias; self.sampleSize = sampleSize; self.patchSize = patchSize
        self.normElementwiseAffine = normElementwiseAffine; self.normEps = normEps
        self.interpolationScale = interpolationScale; self.guidanceEmbeds = guidanceEmbeds
        self.guidanceEmbedsScale = guidanceEmbedsScale; self.qkNorm = qkNorm; self.timestepScale = timestepScale
    }

    /// Sana_1600M at 1024 px (`Efficient-Large-Model/Sana_1600M_1024px_diffusers`, transformer):
    /// 20 layers of width 2240 (70 linear heads of 32, 20 cross heads of 112), 32 × 32 latents of
    /// DC-AE f32c32, patch 1, Gemma-2-2B captions (2304), no positional embedding.
    public static let sana1600M1024 = SanaTransformerConfiguration(sampleSize: 32)

    /// Sana_1600M at 512 px (`Efficient-Large-Model/Sana_1600M_512px_diffusers`): as
    /// ``sana1600M1024`` on 16 × 16 latents.
    public static let sana1600M512 = SanaTransformerConfiguration(sampleSize: 16)

    // MARK: Derived sizes

    /// Model width (`inner_dim`): heads × head dim.
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }
    /// Channels the model predicts.
    public var resolvedOutChannels: Int { outChannels ?? inChannels }
    /// Width of the cross-attention's q/k/v.
    public var crossInnerDim: Int { (numCrossAttentionHeads ?? 0) * (crossAttentionHeadDim ?? 0) }
    /// Hidden channels of the Mix-FFN (`int(mlp_ratio * width)`).
    public var feedForwardHiddenChannels: Int { Int((mlpRatio * Double(innerDim)).rounded(.towardZero)) }

    /// Throws ``ModelConfigurationError/inconsistent(_:)`` for settings that cannot describe a
    /// working diffusers model or that this implementation does not compute.
    public func validate() throws {
        func fail(_ reason: String) -> ModelConfigurationError { .inconsistent("SanaTransformer2DModel: " + reason) }
        for (name, value) in [("in_channels", inChannels), ("num_attention_heads", numAttentionHeads),
                              ("attention_head_dim", attentionHeadDim), ("num_layers", numLayers),
                              ("caption_channels", captionChannels), ("sample_size", sampleSize),
                              ("patch_size", patchSize), ("out_channels", resolvedOutChannels)] where value < 1 {
            throw fail("\(name) must be positive, is \(value)")
        }
        guard let crossHeads = numCrossAttentionHeads, let crossHeadDim = crossAttentionHeadDim,
              let crossDim = crossAttentionDim else {
            throw fail(
                "a model without cross-attention (cross_attention_dim, num_cross_attention_heads or cross_attention_head_dim null) "
                    + "is not supported; diffusers cannot run it either")
        }
        guard crossHeads > 0, crossHeadDim > 0 else { throw fail("cross-attention heads and head dim must be positive") }
        guard crossDim == innerDim else {
            throw fail("cross_attention_dim \(crossDim) must equal the width num_attention_heads × attention_head_dim = \(innerDim)")
        }
        guard feedForwardHiddenChannels > 0 else { throw fail("mlp_ratio \(mlpRatio) gives no feed-forward channels") }
        guard dropout == 0 else { throw fail("dropout \(dropout) is not implemented (only 0)") }
        guard !guidanceEmbeds else {
            throw fail("guidance_embeds (Sana-Sprint's guidance embedding) is not implemented")
        }
        if let qkNorm, qkNorm != "rms_norm_across_heads" {
            throw fail("qk_norm '\(qkNorm)' is not implemented (only null and 'rms_norm_across_heads')")
        }
        guard normEps > 0 else { throw fail("norm_eps must be positive") }
        if let scale = interpolationScale {
            guard scale > 0, scale.isFinite else { throw fail("interpolation_scale must be positive, is \(scale)") }
            guard innerDim % 4 == 0 else { throw fail("sinusoidal positions need a width divisible by 4, is \(innerDim)") }
            guard sampleSize / patchSize > 0 else { throw fail("sample_size \(sampleSize) is smaller than patch_size \(patchSize)") }
        }
    }

    // MARK: config.json

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inChannels = "in_channels", outChannels = "out_channels"
        case numAttentionHeads = "num_attention_heads", attentionHeadDim = "attention_head_dim"
        case numLayers = "num_layers", numCrossAttentionHeads = "num_cross_attention_heads"
        case crossAttentionHeadDim = "cross_attention_head_dim", crossAttentionDim = "cross_attention_dim"
        case captionChannels = "caption_channels", mlpRatio = "mlp_ratio", dropout
        case attentionBias = "attention_bias", sampleSize = "sample_size", patchSize = "patch_size"
        case normElementwiseAffine = "norm_elementwise_affine", normEps = "norm_eps"
        case interpolationScale = "interpolation_scale", guidanceEmbeds = "guidance_embeds"
        case guidanceEmbedsScale = "guidance_embeds_scale", qkNorm = "qk_norm", timestepScale = "timestep_scale"
    }

    /// Every key diffusers writes for this model (besides `_class_name`, `_diffusers_version`).
    public static let configurationKeys = Set(CodingKeys.allCases.map(\.rawValue))

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SanaTransformerConfiguration()
        inChannels = try c.decode(.inChannels, default: d.inChannels)
        outChannels = try c.decodeNullable(.outChannels, default: d.outChannels)
        numAttentionHeads = try c.decode(.numAttentionHeads, default: d.numAttentionHeads)
        attentionHeadDim = try c.decode(.attentionHeadDim, default: d.attentionHeadDim)
        numLayers = try c.decode(.numLayers, default: d.numLayers)
        numCrossAttentionHeads = try c.decodeNullable(.numCrossAttentionHeads, default: d.numCrossAttentionHeads)
        crossAttentionHeadDim = try c.decodeNullable(.crossAttentionHeadDim, default: d.crossAttentionHeadDim)
        crossAttentionDim = try c.decodeNullable(.crossAttentionDim, default: d.crossAttentionDim)
        captionChannels = try c.decode(.captionChannels, default: d.captionChannels)
        mlpRatio = try c.decode(.mlpRatio, default: d.mlpRatio)
        dropout = try c.decode(.dropout, default: d.dropout)
        attentionBias = try c.decode(.attentionBias, default: d.attentionBias)
        sampleSize = try c.decode(.sampleSize, default: d.sampleSize)
        patchSize = try c.decode(.patchSize, default: d.patchSize)
        normElementwiseAffine = try c.decode(.normElementwiseAffine, default: d.normElementwiseAffine)
        normEps = try c.decode(.normEps, default: d.normEps)
        interpolationScale = try c.decodeNullable(.interpolationScale, default: d.interpolationScale)
        guidanceEmbeds = try c.decode(.guidanceEmbeds, default: d.guidanceEmbeds)
        guidanceEmbedsScale = try c.decode(.guidanceEmbedsScale, default: d.guidanceEmbedsScale)
        qkNorm = try c.decodeNullable(.qkNorm, default: d.qkNorm)
        timestepScale = try c.decode(.timestepScale, default: d.timestepScale)
    }

    /// Writes every key, `null` included, as diffusers does.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inChannels, forKey: .inChannels)
        try c.encode(outChannels, forKey: .outChannels)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(attentionHeadDim, forKey: .attentionHeadDim)
        try c.encode(numLayers, forKey: .numLayers)
        try c.encode(numCrossAttentionHeads, forKey: .numCrossAttentionHeads)
        try c.encode(crossAttentionHeadDim, forKey: .crossAttentionHeadDim)
        try c.encode(crossAttentionDim, forKey: .crossAttentionDim)
        try c.encode(captionChannels, forKey: .captionChannels)
        try c.encode(mlpRatio, forKey: .mlpRatio)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(attentionBias, forKey: .attentionBias)
        try c.encode(sampleSize, forKey: .sampleSize)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encode(normElementwiseAffine, forKey: .normElementwiseAffine)
        try c.encode(normEps, forKey: .normEps)
        try c.encode(interpolationScale, forKey: .interpolationScale)
        try c.encode(guidanceEmbeds, forKey: .guidanceEmbeds)
        try c.encode(guidanceEmbedsScale, forKey: .guidanceEmbedsScale)
        try c.encode(qkNorm, forKey: .qkNorm)
        try c.encode(timestepScale, forKey: .timestepScale)
    }

    /// Every parameter by diffusers name and shape, computed without allocating the model
    /// (it is built with empty placeholders).
    /// With `referencePath`, UniRL-Zero's `ref_patch_embed.*` and `ref_linear.*` are included.
    public func parameterShapes(referencePath: Bool = false) throws -> [String: [Int]] {
        try validate()
        let vb = ParameterBuilder.shapesOnly()
        _ = try vb.build { SanaTransformer(configuration: self, referencePath: referencePath, $0) }
        return vb.declaredShapes
    }

    /// The number of parameters (Sana_1600M: about 1.6 B), from ``parameterShapes(referencePath:)``.
    public func parameterCount(referencePath: Bool = false) throws -> Int {
        try parameterShapes(referencePath: referencePath).values.reduce(0) { $0 + $1.reduce(1, *) }
    }
}
