import Foundation
import UniRLTensor

@testable import UniRLExperts

/// Tiny random unified models for the tests (a few thousand parameters each part).
enum UnifiedTestModels {
    static func lmConfiguration() -> QwenVLConfiguration {
        QwenVLConfiguration(
            text: Qwen2Configuration(
                vocabSize: 64, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1,
                numAttentionHeads: 2, numKeyValueHeads: 1, tieWordEmbeddings: false),
            vision: QwenVisionConfiguration(
                depth: 1, hiddenSize: 8, intermediateSize: 12, numHeads: 2, outHiddenSize: 16,
                windowSize: 56, fullAttentionBlocks: [0]),
            mropeSection: [2, 1, 1], imageTokenID: 60, videoTokenID: 61, visionStartTokenID: 62, visionEndTokenID: 63)
    }

    static let connectorConfiguration = MetaQueryConnectorConfiguration(
        hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2,
        outputSize: 12, numQueries: 3)

    static let transformerConfiguration = SanaTransformerConfiguration(
        inChannels: 4, outChannels: 4, numAttentionHeads: 2, attentionHeadDim: 4, numLayers: 1, numCrossAttentionHeads: 2,
        crossAttentionHeadDim: 4, crossAttentionDim: 8, captionChannels: 12, mlpRatio: 2, sampleSize: 4, patchSize: 1)

    static var autoencoderConfiguration: AutoencoderDCConfiguration {
        var c = AutoencoderDCConfiguration()
        c.latentChannels = 4
        c.attentionHeadDim = 8
        c.encoderBlockTypes = .uniform("ResBlock")
        c.decoderBlockTypes = .uniform("ResBlock")
        c.encoderBlockOutChannels = [8, 8, 16]
        c.decoderBlockOutChannels = [8, 8, 16]
        c.encoderLayersPerBlock = [0, 1, 1]
        c.decoderLayersPerBlock = [0, 1, 1]
        c.encoderQkvMultiscales = [[], [], []]
        c.decoderQkvMultiscales = [[], [], []]
        c.downsampleBlockType = "pixel_unshuffle"
        c.upsampleBlockType = "pixel_shuffle"
        c.scalingFactor = 1
        return c
    }

    /// LM + connector + SANA (with the reference path, its `ref_linear` randomised so that it
    /// matters) + optionally a DC-AE (16 × 16 images ↔ 4 × 4 × 4 latents).
    static func model(seed: UInt64 = 1, autoencoder: Bool = false) throws -> UnifiedModel {
        var rng = RandomState(seed: seed)
        let lm = QwenVLForConditionalGeneration(lmConfiguration(), rng: &rng)
        let connector = try MetaQueryConnector(configuration: connectorConfiguration, rng: &rng)
        let dm = try SanaTransformer(configuration: transformerConfiguration, referencePath: true, rng: &rng)
        for (_, p) in dm.refLinear!.namedParameters() { p.assign(.randomNormal(p.shape, std: 0.2, using: &rng)) }
        let ae = autoencoder ? try AutoencoderDC(configuration: autoencoderConfiguration, rng: &rng) : nil
        return try UnifiedModel(lm: lm, connector: connector, transformer: dm, autoencoder: ae)
    }

    static func temporaryDirectory(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }
}
