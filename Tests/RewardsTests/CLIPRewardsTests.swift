import Foundation
import Testing
import UniRLExperts
import UniRLRewards
import UniRLTensor

/// The CLIP rewards on a small random CLIP: each equals its formula computed by hand from the
/// embeddings, batches equal one-by-one scoring, and the symmetries of the definitions hold.
@Suite struct CLIPRewardsTests {
    static func tinyCLIP() throws -> CLIPEmbedder {
        let tokenizer = try CLIPTokenizer.train(on: ["a red circle", "two blue squares", "a green triangle and a red square"])
        let config = CLIPConfiguration(
            text: .text(vocabSize: tokenizer.vocabularySize, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
                        numAttentionHeads: 2, maxPositionEmbeddings: 16, eosTokenID: tokenizer.eosID),
            vision: .vision(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, imageSize: 8, patchSize: 4),
            projectionDim: 8)
        var rng = RandomState(seed: 5)
        return CLIPEmbedder(model: CLIPModel(config, rng: &rng), tokenizer: tokenizer)
    }

    static func image(_ seed: UInt64, size: Int = 8) -> RGBImage {
        var rng = RandomState(seed: seed)
        return RGBImage(width: size, height: size, pixels: (0..<(size * size * 3)).map { _ in UInt8(rng.next() % 256) })
    }

    static func dot(_ a: Tensor, _ b: Tensor) -> Float { zip(a.scalars, b.scalars).map(*).reduce(0, +) }

    @Test func clipScoreIsTheScaledCosineAndBatchesLikeSingles() async throws {
        let clip = try Self.tinyCLIP()
        let batch = [CaptionedImage(image: Self.image(1), caption: "a red circle"),
                     CaptionedImage(image: Self.image(2, size: 12), caption: "two blue squares"),
                     CaptionedImage(image: Self.image(3), caption: "a red circle")]
        let reward = CLIPScore(clip: clip, scale: 2.5)
        let scores = try await reward.scores(for: batch).map { $0! }
        for (i, sample) in batch.enumerated() {
            let expected = 2.5 * Self.dot(try clip.imageEmbeddings([sample.image]), try clip.textEmbeddings([sample.caption]))
            #expect(abs(scores[i] - expected) < 1e-5)
            let single = try await reward.scores(for: [sample])[0]!
            #expect(abs(single - scores[i]) < 1e-5)
        }
        #expect(Set(scores.map { ($0 * 1e4).rounded() }).count == 3)
    }

    @Test func imageSimilarityIsOneForTheSameImageAndSymmetric() async throws {
        let clip = try Self.tinyCLIP()
        let reward = CLIPImageSimilarity(clip: clip)
        let s = try await reward.scores(for: [ImagePair(image: Self.image(4), reference: Self.image(4)),
                                              ImagePair(image: Self.image(4), reference: Self.image(5)),
                                              ImagePair(image: Self.image(5), reference: Self.image(4))]).map { $0! }
        #expect(abs(s[0] - 1) < 1e-5)
        #expect(s[1] < 0.9999 && abs(s[1] - s[2]) < 1e-6)
    }

    @Test func directionIsTheCosineOfTheDifferences() async throws {
        let clip = try Self.tinyCLIP()
        let (src, dst) = (Self.image(6), Self.image(7))
        let edit = ImageEdit(source: src, edited: dst, sourceCaption: "a red circle", targetCaption: "two blue squares")
        let reward = CLIPDirection(clip: clip)
        let s = try await reward.scores(for: [edit])[0]!
        let di = try clip.imageEmbeddings([dst]) - clip.imageEmbeddings([src])
        let dt = try clip.textEmbeddings(["two blue squares"]) - clip.textEmbeddings(["a red circle"])
        let expected = Self.dot(di, dt) / (Self.dot(di, di) * Self.dot(dt, dt)).squareRoot()
        #expect(abs(s - expected) < 1e-5)
        // Swapping the captions reverses the text direction; swapping both directions keeps the score.
        var captionsSwapped = edit
        swap(&captionsSwapped.sourceCaption, &captionsSwapped.targetCaption)
        var bothSwapped = captionsSwapped
        swap(&bothSwapped.source, &bothSwapped.edited)
        let more = try await reward.scores(for: [captionsSwapped, bothSwapped]).map { $0! }
        #expect(abs(more[0] + s) < 1e-5 && abs(more[1] - s) < 1e-5)
        // No change, no direction.
        let none = try await reward.scores(for: [ImageEdit(source: src, edited: src, sourceCaption: "a red circle",
                                                           targetCaption: "two blue squares")])[0]!
        #expect(none == 0)
    }
}
