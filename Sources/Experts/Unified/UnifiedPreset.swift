import Foundation
import UniRLTensor

/// The parts of a unified model declared by configuration only, so that a real-scale model can
/// be listed by name and shape (and counted) without allocating it.
public struct UnifiedPreset: Sendable, Equatable {
    public var lm: QwenVLConfiguration
    public var connector: MetaQueryConnectorConfiguration
    public var transformer: SanaTransformerConfiguration
    /// Whether the DiT has UniRL-Zero's reference path (`ref_patch_embed`, `ref_linear`).
    public var referencePath: Bool
    public var autoencoder: AutoencoderDCConfiguration

    public init(
        lm: QwenVLConfiguration, connector: MetaQueryConnectorConfiguration, transformer: SanaTransformerConfiguration,
        referencePath: Bool, autoencoder: AutoencoderDCConfiguration
    ) {
        self.lm = lm; self.connector = connector; self.transformer = transformer
        self.referencePath = referencePath; self.autoencoder = autoencoder
    }

    /// UniRL-Zero's model (G-U-N/UniRL unimodel/blip3o/): Qwen2.5-VL-3B-Instruct, 256 t2i and 256
    /// i2i queries of width 2048, the 12-layer 8-head connector 2048 → 2304, Sana_1600M at
    /// 1024 px with the reference path, DC-AE f32c32.
    public static let unirlZero = UnifiedPreset(
        lm: .qwen2_5_VL_3B_Instruct, connector: .unirlZero, transformer: .sana1600M1024,
        referencePath: true, autoencoder: .dcAEf32c32)

    /// Presets by the name `unirl inspect --preset` takes.
    public static let named: [String: UnifiedPreset] = ["unirl-zero": .unirlZero]

    /// Every parameter as `lm.<hub name>`, `connector.<name>`, `dm.<name>`, `vae.<name>`: the four
    /// parts declared shape-only through one ``ParameterBuilder``, each scoped to its part.
    public func parameterShapes() throws -> [String: [Int]] {
        try shapeOnlyBuild().declaredShapes
    }

    /// The builder after declaring the four parts shape-only (names, shapes and initialisers).
    func shapeOnlyBuild() throws -> ParameterBuilder {
        try validate()
        let vb = ParameterBuilder.shapesOnly()
        _ = try vb.scoped("lm").build { QwenVLForConditionalGeneration(lm, $0) }
        _ = try vb.scoped("connector").build { MetaQueryConnector(configuration: connector, querySets: MetaQuerySet.allCases, $0) }
        _ = try vb.scoped("dm").build { SanaTransformer(configuration: transformer, referencePath: referencePath, $0) }
        _ = try vb.scoped("vae").build { AutoencoderDC(configuration: autoencoder, $0) }
        return vb
    }

    /// Parameters per part (`lm`, `connector`, `dm`, `vae`) and in total.
    public func parameterCounts() throws -> (parts: [(name: String, count: Int)], total: Int) {
        var counts: [String: Int] = [:]
        for (name, shape) in try parameterShapes() {
            counts[String(name.prefix { $0 != "." }), default: 0] += shape.reduce(1, *)
        }
        let parts = ["lm", "connector", "dm", "vae"].map { ($0, counts[$0] ?? 0) }
        return (parts, parts.reduce(0) { $0 + $1.1 })
    }

    /// Throws when the parts do not fit together (widths, channels).
    public func validate() throws {
        try connector.validate()
        try transformer.validate()
        try autoencoder.validate()
        guard connector.hiddenSize == lm.text.hiddenSize else {
            throw ModelConfigurationError.inconsistent("connector width \(connector.hiddenSize) ≠ LM hidden size \(lm.text.hiddenSize)")
        }
        guard connector.outputSize == transformer.captionChannels else {
            throw ModelConfigurationError.inconsistent(
                "connector output \(connector.outputSize) ≠ SANA caption_channels \(transformer.captionChannels)")
        }
        guard autoencoder.latentChannels == transformer.inChannels else {
            throw ModelConfigurationError.inconsistent(
                "DC-AE latent channels \(autoencoder.latentChannels) ≠ SANA in_channels \(transformer.inChannels)")
        }
    }
}
