import Foundation
import UniRLExperts
import UniRLTensor

/// Problems finding or reading the tiny SANA models.
public enum TinyModelError: Error, CustomStringConvertible {
    /// The package was built without the `tiny-sana` resource folder.
    case notBundled
    /// A model folder lacks a part.
    case missingPart(path: String)
    /// The package was built without the tiny unified model (`Resources/tiny-unified` with lm/, connector/, dm/, vae/).
    case unifiedNotBundled

    public var description: String {
        switch self {
        case .notBundled: "the tiny SANA models are not in the UniRLScenarios bundle (Sources/Scenarios/Resources/tiny-sana)"
        case .missingPart(let p): "the tiny SANA folder has no \(p); run `unirl pretrain sana --output <dir>` to make one"
        case .unifiedNotBundled:
            "the tiny unified model is not in the UniRLScenarios bundle (Sources/Scenarios/Resources/tiny-unified with lm/, "
                + "connector/, dm/, vae/); run `unirl pretrain unified` or pass scenario.model=<folder>"
        }
    }
}

/// The tiny text-to-image model of ShapesWorld that ships with the package: a SANA transformer on
/// 8 × 8 latents of a DC-AE with spatial compression 4 (32 × 32 images), conditioned by a small
/// ``CaptionEncoder``. `unirl pretrain sana` trains it (``TinySanaPretraining``); the result lies
/// in `Sources/Scenarios/Resources/tiny-sana/` in diffusers' pipeline layout:
///
///     transformer/      config.json, diffusion_pytorch_model.safetensors   (SanaTransformer2DModel)
///     vae/              config.json, diffusion_pytorch_model.safetensors   (AutoencoderDC)
///     caption_encoder/  config.json, model.safetensors                     (CaptionEncoder)
///
/// Weights are stored as F16 (loading widens them to F32).
///
/// ```swift
/// let models = try TinySana.load()          // the bundled folder
/// let image = models.decode(latents)        // [B, 4, 8, 8] → [RGBImage]
/// ```
public struct TinySana {
    public let transformer: SanaTransformer
    public let autoencoder: AutoencoderDC
    public let captionEncoder: CaptionEncoder

    public init(transformer: SanaTransformer, autoencoder: AutoencoderDC, captionEncoder: CaptionEncoder) {
        self.transformer = transformer
        self.autoencoder = autoencoder
        self.captionEncoder = captionEncoder
    }

    /// Image side in pixels.
    public static let imageSize = 32

    /// The DiT: 4 layers of width 64 (2 linear heads of 32; 2 cross heads of 32), patch 1 on
    /// 4 × 8 × 8 latents, sinusoidal 2-D positions, captions of width 64.
    public static let transformerConfiguration = SanaTransformerConfiguration(
        inChannels: 4, outChannels: 4, numAttentionHeads: 2, attentionHeadDim: 32, numLayers: 4,
        numCrossAttentionHeads: 2, crossAttentionHeadDim: 32, crossAttentionDim: 64, captionChannels: 64,
        mlpRatio: 2.5, sampleSize: 8, patchSize: 1, interpolationScale: 1)

    /// The DC-AE: f4 (32 × 32 → 8 × 8), 4 latent channels; a pixel-unshuffle input block, ResBlock
    /// stages of 32 (16 × 16) and 64 (8 × 8) channels, the mirror image in the decoder.
    public static let autoencoderConfiguration: AutoencoderDCConfiguration = {
        var c = AutoencoderDCConfiguration()
        c.latentChannels = 4
        c.attentionHeadDim = 16
        c.encoderBlockTypes = .uniform("ResBlock")
        c.decoderBlockTypes = .uniform("ResBlock")
        c.encoderBlockOutChannels = [16, 32, 64]
        c.decoderBlockOutChannels = [16, 32, 64]
        c.encoderLayersPerBlock = [0, 2, 2]
        c.decoderLayersPerBlock = [0, 2, 2]
        c.encoderQkvMultiscales = [[], [], []]
        c.decoderQkvMultiscales = [[], [], []]
        c.downsampleBlockType = "pixel_unshuffle"
        c.upsampleBlockType = "pixel_shuffle"
        c.scalingFactor = 1
        return c
    }()

    /// The caption encoder: 2 bidirectional blocks of width 64 over at most 24 words.
    public static func captionEncoderConfiguration(vocabulary: [String]) -> CaptionEncoderConfiguration {
        CaptionEncoderConfiguration(vocabulary: vocabulary, hiddenSize: 64, numLayers: 2, numHeads: 2,
                                    intermediateSize: 128, maxLength: 24)
    }

    /// The bundled folder, if the package was built with it.
    public static var bundledDirectory: URL? {
        Bundle.module.url(forResource: "tiny-sana", withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "tiny-sana", withExtension: nil)
    }

    /// Loads the three models from `directory` (the bundled folder by default).
    public static func load(from directory: URL? = nil) throws -> TinySana {
        guard let root = directory ?? bundledDirectory else { throw TinyModelError.notBundled }
        for part in ["transformer/config.json", "vae/config.json", "caption_encoder/config.json"] {
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent(part).path) else {
                throw TinyModelError.missingPart(path: part)
            }
        }
        return TinySana(transformer: try SanaTransformer.load(from: root.appendingPathComponent("transformer")),
                        autoencoder: try AutoencoderDC.load(from: root.appendingPathComponent("vae")),
                        captionEncoder: try CaptionEncoder.load(from: root.appendingPathComponent("caption_encoder")))
    }

    /// Writes the three models into `directory` in the layout ``load(from:)`` reads.
    public func save(to directory: URL, dtype: SafeTensorsDType = .F16) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        func write(_ module: some Module, configuration: some Encodable, className: String, folder: String) throws {
            let url = directory.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            var object = try JSONSerialization.jsonObject(with: encoder.encode(configuration)) as? [String: Any] ?? [:]
            object["_class_name"] = className
            let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: url.appendingPathComponent("config.json"), options: .atomic)
            try SafeTensors.write(module.stateDict(), dtype: dtype, to: url.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        }
        try write(transformer, configuration: transformer.configuration, className: "SanaTransformer2DModel", folder: "transformer")
        try write(autoencoder, configuration: autoencoder.configuration, className: "AutoencoderDC", folder: "vae")
        try captionEncoder.save(to: directory.appendingPathComponent("caption_encoder"), dtype: dtype)
    }

    /// Latents [B, C, 8, 8] in the transformer's scale → images, through the DC-AE (no tape).
    public func decode(_ latents: Tensor) -> [RGBImage] {
        withoutGrad {
            let pixels = autoencoder.decode(latents / Float(autoencoder.configuration.scalingFactor))
            return (0..<pixels.shape[0]).map { RGBImage(tensor: pixels.slice(axis: 0, $0..<($0 + 1)).squeezed(0)) }
        }
    }

    /// Images → latents [B, C, 8, 8] in the transformer's scale (no tape).
    public func encode(_ images: [RGBImage]) -> Tensor {
        withoutGrad {
            autoencoder.encode(Tensor.stack(images.map { $0.tensor() }, axis: 0)) * Float(autoencoder.configuration.scalingFactor)
        }
    }
}
