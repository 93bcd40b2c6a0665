import Foundation
import UniRLTensor

/// A setting that `config.json` gives either once for every stage (`"silu"`) or per stage
/// (`["relu", "relu", "silu"]`), as diffusers' `AutoencoderDC` accepts both.
public enum AutoencoderDCStageSetting: Codable, Sendable, Equatable {
    case uniform(String)
    case perStage([String])

    /// The value for stage `index`.
    public func value(at index: Int) -> String {
        switch self {
        case .uniform(let v): v
        case .perStage(let values): values[index]
        }
    }

    var stageCount: Int? {
        if case .perStage(let values) = self { return values.count }
        return nil
    }

    var allValues: [String] {
        switch self {
        case .uniform(let v): [v]
        case .perStage(let values): values
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let single = try? c.decode(String.self) { self = .uniform(single) } else { self = .perStage(try c.decode([String].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .uniform(let v): try c.encode(v)
        case .perStage(let values): try c.encode(values)
        }
    }
}

/// The settings of diffusers' `AutoencoderDC` (models/autoencoders/autoencoder_dc.py), the deep
/// compression autoencoder, read from and written to its `config.json` with the same keys and
/// defaults (a missing key takes diffusers' default).
///
/// ``validate()`` refuses what this implementation does not compute (`batch_norm` stages, the
/// `mish` activation) and shapes diffusers could not run, so that nothing is silently ignored.
public struct AutoencoderDCConfiguration: Codable, Sendable, Equatable, ModelConfigurationFile {
    /// Image channels.
    public var inChannels: Int = 3
    public var latentChannels: Int = 32
    /// Channels per head of the EfficientViT blocks' linear attention (heads = channels / this).
    public var attentionHeadDim: Int = 32
    /// `"ResBlock"` or `"EfficientViTBlock"`, once or per stage.
    public var encoderBlockTypes: AutoencoderDCStageSetting = .uniform("ResBlock")
    public var decoderBlockTypes: AutoencoderDCStageSetting = .uniform("ResBlock")
    public var encoderBlockOutChannels: [Int] = [128, 256, 512, 512, 1024, 1024]
    public var decoderBlockOutChannels: [Int] = [128, 256, 512, 512, 1024, 1024]
    public var encoderLayersPerBlock: [Int] = [2, 2, 2, 3, 3, 3]
    public var decoderLayersPerBlock: [Int] = [3, 3, 3, 3, 3, 3]
    /// Kernel sizes of the extra multi-scale q/k/v aggregations per stage (`[]`: none).
    public var encoderQkvMultiscales: [[Int]] = [[], [], [], [5], [5], [5]]
    public var decoderQkvMultiscales: [[Int]] = [[], [], [], [5], [5], [5]]
    /// `"interpolate"` (nearest ×2, then a 3×3 conv) or `"pixel_shuffle"` (conv to 4× channels, then shuffle).
    public var upsampleBlockType: String = "pixel_shuffle"
    /// `"pixel_unshuffle"` (conv to ¼ channels, then unshuffle) or `"Conv"` (3×3 conv with stride 2).
    public var downsampleBlockType: String = "pixel_unshuffle"
    /// Norm of the decoder's blocks; only `"rms_norm"` is implemented.
    public var decoderNormTypes: AutoencoderDCStageSetting = .uniform("rms_norm")
    /// Activation of the decoder's ResBlocks: `silu` (`swish`), `relu` or `gelu`.
    public var decoderActFns: AutoencoderDCStageSetting = .uniform("silu")
    public var encoderOutShortcut: Bool = true
    public var decoderInShortcut: Bool = true
    public var decoderConvActFn: String = "relu"
    /// The pipeline's latent scale (z·scaling_factor goes to the transformer); `encode` and
    /// `decode` do not apply it, as in diffusers.
    public var scalingFactor: Double = 1.0

    public init() {}

    /// DC-AE f32c32 as SANA uses it (`mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers`): 32×
    /// spatial compression to 32 channels, three ResBlock stages (128, 256, 512) and three
    /// EfficientViT stages (512, 1024, 1024) with 5×5 multi-scale attention, strided-conv
    /// downsampling, nearest-interpolation upsampling, scaling factor 0.41407.
    public static let dcAEf32c32: AutoencoderDCConfiguration = {
        var c = AutoencoderDCConfiguration()
        let types = ["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"]
        c.encoderBlockTypes = .perStage(types)
        c.decoderBlockTypes = .perStage(types)
        c.encoderLayersPerBlock = [2, 2, 2, 3, 3, 3]
        c.decoderLayersPerBlock = [3, 3, 3, 3, 3, 3]
        c.upsampleBlockType = "interpolate"
        c.downsampleBlockType = "Conv"
        c.scalingFactor = 0.41407
        return c
    }()

    /// Spatial downsampling factor of the encoder (32 for f32c32).
    public var spatialCompressionRatio: Int { 1 << (encoderBlockOutChannels.count - 1) }

    /// Whether the encoder downsamples by conv + pixel-unshuffle (diffusers tests for exactly
    /// `"pixel_unshuffle"`; anything else is a stride-2 conv).
    var downsamplesByUnshuffle: Bool { downsampleBlockType == "pixel_unshuffle" }
    /// Whether the decoder upsamples by nearest interpolation + conv (else conv + pixel-shuffle).
    var upsamplesByInterpolation: Bool { upsampleBlockType == "interpolate" }

    /// Throws ``ModelConfigurationError/inconsistent(_:)`` for settings that cannot describe a
    /// working diffusers model or that this implementation does not compute.
    public func validate() throws {
        func fail(_ reason: String) -> ModelConfigurationError { .inconsistent("AutoencoderDC: " + reason) }
        guard inChannels > 0, latentChannels > 0, attentionHeadDim > 0 else {
            throw fail("in_channels, latent_channels and attention_head_dim must be positive")
        }
        guard ["pixel_unshuffle", "conv", "Conv"].contains(downsampleBlockType) else {
            throw fail("downsample_block_type '\(downsampleBlockType)' is neither 'pixel_unshuffle' nor 'Conv'")
        }
        guard ["interpolate", "pixel_shuffle"].contains(upsampleBlockType) else {
            throw fail("upsample_block_type '\(upsampleBlockType)' is neither 'interpolate' nor 'pixel_shuffle'")
        }
        for (side, channels, layers, scales, types) in [
            ("encoder", encoderBlockOutChannels, encoderLayersPerBlock, encoderQkvMultiscales, encoderBlockTypes),
            ("decoder", decoderBlockOutChannels, decoderLayersPerBlock, decoderQkvMultiscales, decoderBlockTypes),
        ] {
            let n = channels.count
            guard n >= 1 else { throw fail("\(side)_block_out_channels is empty") }
            guard layers.count == n, scales.count == n, types.stageCount ?? n == n else {
                throw fail(
                    "\(side) settings list \(n) stages in block_out_channels but \(layers.count) layer counts, "
                        + "\(scales.count) multiscale lists and \(types.stageCount ?? n) block types")
            }
            guard channels.allSatisfy({ $0 > 0 }), layers.allSatisfy({ $0 >= 0 }) else {
                throw fail("\(side) channels must be positive and layer counts non-negative")
            }
            guard layers[0] > 0 || n >= 2 else { throw fail("\(side) stage 0 has no layers and there is no stage 1") }
            for type in types.allValues where type != "ResBlock" && type != "EfficientViTBlock" {
                throw fail("\(side) block type '\(type)' is neither 'ResBlock' nor 'EfficientViTBlock'")
            }
            for stage in 0..<n where types.value(at: stage) == "EfficientViTBlock" && layers[stage] > 0 {
                guard channels[stage] / attentionHeadDim >= 1 else {
                    throw fail("\(side) stage \(stage): \(channels[stage]) channels give no heads of \(attentionHeadDim)")
                }
                for k in scales[stage] where k < 1 || k % 2 == 0 {
                    throw fail("\(side) stage \(stage): multi-scale kernel size \(k) is not a positive odd number")
                }
            }
            // Resampling shortcuts: channel-group means (down) and channel repeats (up).
            for stage in 0..<(n - 1) where layers[stage] > 0 {
                let (a, b) = (channels[stage], channels[stage + 1])
                if side == "encoder" {
                    guard (4 * a) % b == 0, !downsamplesByUnshuffle || b % 4 == 0 else {
                        throw fail("encoder stage \(stage) → \(stage + 1): \(a) → \(b) channels cannot be downsampled with a shortcut")
                    }
                } else {
                    guard (4 * a) % b == 0 else {
                        throw fail("decoder stage \(stage + 1) → \(stage): \(b) → \(a) channels cannot be upsampled with a shortcut")
                    }
                }
            }
        }
        let lastEncoder = encoderBlockOutChannels.last!, lastDecoder = decoderBlockOutChannels.last!
        if encoderOutShortcut, lastEncoder % latentChannels != 0 {
            throw fail("encoder_out_shortcut needs \(lastEncoder) channels to be a multiple of latent_channels \(latentChannels)")
        }
        if decoderInShortcut, lastDecoder % latentChannels != 0 {
            throw fail("decoder_in_shortcut needs \(lastDecoder) channels to be a multiple of latent_channels \(latentChannels)")
        }
        if encoderLayersPerBlock[0] == 0, downsamplesByUnshuffle, encoderBlockOutChannels[1] % 4 != 0 {
            throw fail("a pixel-unshuffle conv_in needs encoder_block_out_channels[1] divisible by 4")
        }
        let stages = decoderBlockOutChannels.count
        guard decoderNormTypes.stageCount ?? stages == stages, decoderActFns.stageCount ?? stages == stages else {
            throw fail("decoder_norm_types / decoder_act_fns list a different number of stages than decoder_block_out_channels")
        }
        for norm in decoderNormTypes.allValues where norm != "rms_norm" {
            throw fail("decoder norm type '\(norm)' is not implemented (only 'rms_norm')")
        }
        for activation in decoderActFns.allValues + [decoderConvActFn] where SanaActivation(name: activation) == nil {
            throw fail("activation '\(activation)' is not implemented (silu, swish, relu, gelu)")
        }
    }

    // MARK: config.json

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inChannels = "in_channels", latentChannels = "latent_channels", attentionHeadDim = "attention_head_dim"
        case encoderBlockTypes = "encoder_block_types", decoderBlockTypes = "decoder_block_types"
        case encoderBlockOutChannels = "encoder_block_out_channels", decoderBlockOutChannels = "decoder_block_out_channels"
        case encoderLayersPerBlock = "encoder_layers_per_block", decoderLayersPerBlock = "decoder_layers_per_block"
        case encoderQkvMultiscales = "encoder_qkv_multiscales", decoderQkvMultiscales = "decoder_qkv_multiscales"
        case upsampleBlockType = "upsample_block_type", downsampleBlockType = "downsample_block_type"
        case decoderNormTypes = "decoder_norm_types", decoderActFns = "decoder_act_fns"
        case encoderOutShortcut = "encoder_out_shortcut", decoderInShortcut = "decoder_in_shortcut"
        case decoderConvActFn = "decoder_conv_act_fn", scalingFactor = "scaling_factor"
    }

    /// Every key diffusers writes for this model (besides `_class_name`, `_diffusers_version`).
    public static let configurationKeys = Set(CodingKeys.allCases.map(\.rawValue))

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AutoencoderDCConfiguration()
        inChannels = try c.decode(.inChannels, default: d.inChannels)
        latentChannels = try c.decode(.latentChannels, default: d.latentChannels)
        attentionHeadDim = try c.decode(.attentionHeadDim, default: d.attentionHeadDim)
        encoderBlockTypes = try c.decode(.encoderBlockTypes, default: d.encoderBlockTypes)
        decoderBlockTypes = try c.decode(.decoderBlockTypes, default: d.decoderBlockTypes)
        encoderBlockOutChannels = try c.decode(.encoderBlockOutChannels, default: d.encoderBlockOutChannels)
        decoderBlockOutChannels = try c.decode(.decoderBlockOutChannels, default: d.decoderBlockOutChannels)
        encoderLayersPerBlock = try c.decode(.encoderLayersPerBlock, default: d.encoderLayersPerBlock)
        decoderLayersPerBlock = try c.decode(.decoderLayersPerBlock, default: d.decoderLayersPerBlock)
        encoderQkvMultiscales = try c.decode(.encoderQkvMultiscales, default: d.encoderQkvMultiscales)
        decoderQkvMultiscales = try c.decode(.decoderQkvMultiscales, default: d.decoderQkvMultiscales)
        upsampleBlockType = try c.decode(.upsampleBlockType, default: d.upsampleBlockType)
        downsampleBlockType = try c.decode(.downsampleBlockType, default: d.downsampleBlockType)
        decoderNormTypes = try c.decode(.decoderNormTypes, default: d.decoderNormTypes)
        decoderActFns = try c.decode(.decoderActFns, default: d.decoderActFns)
        encoderOutShortcut = try c.decode(.encoderOutShortcut, default: d.encoderOutShortcut)
        decoderInShortcut = try c.decode(.decoderInShortcut, default: d.decoderInShortcut)
        decoderConvActFn = try c.decode(.decoderConvActFn, default: d.decoderConvActFn)
        scalingFactor = try c.decode(.scalingFactor, default: d.scalingFactor)
    }

    /// Every parameter by diffusers name and shape, computed without allocating the model.
    public func parameterShapes() throws -> [String: [Int]] {
        try validate()
        let vb = ParameterBuilder.shapesOnly()
        _ = try vb.build { AutoencoderDC(configuration: self, $0) }
        return vb.declaredShapes
    }

    /// The number of parameters (DC-AE f32c32: about 323 M), from ``parameterShapes()``.
    public func parameterCount() throws -> Int {
        try parameterShapes().values.reduce(0) { $0 + $1.reduce(1, *) }
    }
}
