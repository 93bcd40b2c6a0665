import Foundation
import UniRLTensor

/// The deep compression autoencoder of SANA, diffusers' `AutoencoderDC`
/// (models/autoencoders/autoencoder_dc.py), computed as diffusers computes it (without tiling)
/// and loaded from a diffusers checkpoint by its parameter names.
///
/// `encode` maps images [B, 3, H, W] (H, W multiples of 32 for f32c32) to latents
/// [B, 32, H/32, W/32]; `decode` maps latents back. Neither applies `scaling_factor`: as in
/// diffusers, the pipeline multiplies latents by it before the transformer and divides after.
///
/// ```swift
/// let ae = try AutoencoderDC.load(from: URL(fileURLWithPath: "dc-ae-f32c32-sana-1.0-diffusers"))
/// let image = ae.decode(latents / Float(ae.configuration.scalingFactor))
/// ```
public final class AutoencoderDC: Module {
    public let configuration: AutoencoderDCConfiguration
    let encoder: AutoencoderDCEncoder
    let decoder: AutoencoderDCDecoder

    /// A model with PyTorch's default initialisation; throws for a configuration that
    /// ``AutoencoderDCConfiguration/validate()`` refuses.
    public convenience init(configuration: AutoencoderDCConfiguration, rng: inout RandomState) throws {
        try configuration.validate()
        self.init(configuration: configuration, .random(rng.fork()))
    }

    /// Builds the module tree with parameters from `vb` (random, loaded or shapes only).
    init(configuration: AutoencoderDCConfiguration, _ vb: ParameterBuilder) {
        self.configuration = configuration
        encoder = AutoencoderDCEncoder(configuration, vb.scoped("encoder"))
        decoder = AutoencoderDCDecoder(configuration, vb.scoped("decoder"))
    }

    /// Loads a diffusers model folder: `config.json` and `diffusion_pytorch_model.safetensors`
    /// (or its sharded form). Every parameter must be present with its shape, and nothing else.
    public static func load(from directory: URL) throws -> AutoencoderDC {
        try load(from: directory, matrices: .float32)
    }

    /// The same, with the weight matrices kept as `matrices` says (``WeightPrecision/bfloat16``:
    /// frozen, memory-mapped from `BF16` files).
    public static func load(from directory: URL, matrices: WeightPrecision) throws -> AutoencoderDC {
        let configuration = try AutoencoderDCConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let vb = ParameterBuilder.loading(try ShardedCheckpoint(contentsOf: directory), matrices: matrices)
        return try vb.build { AutoencoderDC(configuration: configuration, $0) }
    }

    public var submodules: [String: any Module] { ["encoder": encoder, "decoder": decoder] }

    /// Images [B, C, H, W] → latents [B, latent_channels, H/r, W/r], r = spatial compression.
    public func encode(_ sample: Tensor) -> Tensor {
        let r = configuration.spatialCompressionRatio
        precondition(
            sample.rank == 4 && sample.shape[1] == configuration.inChannels && sample.shape[2] % r == 0 && sample.shape[3] % r == 0,
                     "AutoencoderDC.encode expects [B, \(configuration.inChannels), H, W] with H, W multiples of \(r), got \(sample.shape)")
        return encoder(sample)
    }

    /// Latents [B, latent_channels, h, w] → images [B, C, h·r, w·r].
    public func decode(_ latent: Tensor) -> Tensor {
        precondition(latent.rank == 4 && latent.shape[1] == configuration.latentChannels,
                     "AutoencoderDC.decode expects [B, \(configuration.latentChannels), h, w], got \(latent.shape)")
        return decoder(latent)
    }
}
