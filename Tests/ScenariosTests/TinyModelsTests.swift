import Foundation
import Testing
import UniRLExperts
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// The shipped tiny SANA: it loads, it is small, its vocabulary covers ShapesWorld, and the
/// caption encoder's interface (caption → [L, D] + mask) holds.
@Suite struct TinyModelsTests {
    @Test func bundledModelsLoadWithTheirConfigurations() throws {
        let models = try TinySana.load()
        #expect(models.transformer.configuration == TinySana.transformerConfiguration)
        #expect(models.autoencoder.configuration.latentChannels == TinySana.autoencoderConfiguration.latentChannels)
        #expect(models.autoencoder.configuration.spatialCompressionRatio == 4)
        #expect(models.autoencoder.configuration.scalingFactor > 0)
        #expect(models.captionEncoder.configuration.hiddenSize == models.transformer.configuration.captionChannels)
    }

    @Test func shippedWeightsStayUnderFifteenMegabytes() throws {
        let root = try #require(TinySana.bundledDirectory)
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey]))
        var total = 0
        for case let url as URL in files { total += (try url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0 }
        #expect(total > 100_000 && total < 15_000_000, "\(total) bytes")
    }

    @Test func vocabularyCoversEveryEvaluationCaption() throws {
        let encoder = try TinySana.load().captionEncoder
        for prompt in try PromptGenerator.bundledEvaluationSet() {
            let (ids, length) = encoder.tokenize(prompt.caption)
            #expect(length == CaptionEncoder.words(of: prompt.caption).count, "\(prompt.caption) is longer than L")
            #expect(!ids.prefix(length).contains(1), "unknown word in '\(prompt.caption)'")
        }
    }

    @Test func captionEncoderGivesFeaturesAndPaddingMask() throws {
        var rng = RandomState(seed: 1)
        let vocabulary = CaptionEncoderConfiguration.vocabulary(from: ["a red circle", "two blue squares, flat style"])
        #expect(vocabulary.prefix(2) == ["<pad>", "<unk>"] && vocabulary.contains(","))
        let encoder = try CaptionEncoder(configuration: .init(vocabulary: vocabulary, hiddenSize: 8, numLayers: 1, numHeads: 2,
                                                               intermediateSize: 16, maxLength: 6), rng: &rng)
        let (ids, length) = encoder.tokenize("A red circle, zebra")
        #expect(length == 5 && ids.count == 6 && ids[4] == 1 && ids[5] == 0)
        let (features, mask) = encoder.encode(["a red circle", "two blue squares, flat style and more words"])
        #expect(features.shape == [2, 6, 8])
        #expect(mask.scalars == [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        // Padding does not change the features of real tokens.
        let alone = encoder.encode(["a red circle"]).features
        for i in 0..<24 { #expect(abs(alone.scalars[i] - features.scalars[i]) < 1e-5) }
        let empty = encoder.unconditional(count: 3)
        #expect(empty.features.shape == [3, 6, 8] && empty.mask.scalars.prefix(6) == [1, 0, 0, 0, 0, 0])

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("caption-encoder-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try encoder.save(to: folder)
        let loaded = try CaptionEncoder.load(from: folder)
        #expect(loaded.encode(["a red circle"]).features.scalars == alone.scalars)
    }

    @Test func autoencoderReconstructsShapesWorldRenders() throws {
        let models = try TinySana.load()
        var rng = RandomState(seed: 2)
        let renderer = SceneRenderer(size: TinySana.imageSize)
        let images = (0..<4).map { _ in renderer.render(PromptGenerator().prompt(split: .evaluation, using: &rng).scene) }
        let latents = models.encode(images)
        #expect(latents.shape == [4, 4, 8, 8])
        let rebuilt = models.decode(latents)
        var error = 0.0
        for (a, b) in zip(images, rebuilt) { for (p, q) in zip(a.pixels, b.pixels) { error += abs(Double(p) - Double(q)) } }
        let meanError = error / Double(4 * 32 * 32 * 3)
        #expect(meanError < 12, "mean absolute pixel error \(meanError)")
    }
}
