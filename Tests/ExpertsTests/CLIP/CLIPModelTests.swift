import Foundation
import Testing
import UniRLExperts
import UniRLTensor

@Suite struct CLIPModelTests {
    static let tiny = CLIPConfiguration(
        text: .text(
            vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 2,
            maxPositionEmbeddings: 8, eosTokenID: 39),
        vision: .vision(hiddenSize: 12, intermediateSize: 20, numHiddenLayers: 1, numAttentionHeads: 3, imageSize: 8, patchSize: 4),
        projectionDim: 6)

    func decode(_ object: [String: Any]) throws -> CLIPConfiguration {
        try CLIPConfiguration.decode(JSONSerialization.data(withJSONObject: object), path: "config.json")
    }

    @Test func configurationRoundTripsThroughTransformersLayout() throws {
        #expect(try decode(Self.tiny.jsonObject()) == Self.tiny)
    }

    @Test func badConfigurationsAreTypedErrors() throws {
        var object = Self.tiny.jsonObject()
        object["vision_config"] = ["hidden_size": 10, "num_attention_heads": 3]
        #expect(throws: ModelConfigurationError.self) { try decode(object) }
        object = Self.tiny.jsonObject()
        object["text_config"] = ["hidden_act": "relu6"]
        #expect(throws: ModelConfigurationError.self) { try decode(object) }
        object = Self.tiny.jsonObject()
        object["projection_dimm"] = 3
        #expect(throws: ModelConfigurationError.unknownKeys(path: "config.json", keys: ["projection_dimm"])) { try decode(object) }
        object = Self.tiny.jsonObject()
        object["vision_config"] = ["image_size": 6, "patch_size": 7]
        #expect(throws: ModelConfigurationError.self) { try decode(object) }
        object = Self.tiny.jsonObject()
        object["text_config"] = ["eos_token_id": [1, 2]]
        #expect(throws: ModelConfigurationError.self) { try decode(object) }
    }

    @Test func absentKeysTakeTransformersDefaults() throws {
        let c = try decode(["text_config": [:], "vision_config": [:]])
        #expect(c.text.vocabSize == 49_408 && c.text.hiddenSize == 512 && c.text.eosTokenID == 49_407)
        #expect(c.vision.hiddenSize == 768 && c.vision.patchSize == 32 && c.vision.hiddenAct == "quick_gelu")
        #expect(c.projectionDim == 512)
    }

    @Test func badInputsAreTypedErrors() throws {
        var rng = RandomState(seed: 1)
        let model = CLIPModel(Self.tiny, rng: &rng)
        let pixels = Tensor.zeros([1, 3, 8, 8])
        #expect(throws: CLIPInputError.self) { _ = try model([1, 2, 3], batch: 2, pixels: pixels) }
        #expect(throws: CLIPInputError.sequenceTooLong(9, maximum: 8)) {
            _ = try model(Array(repeating: 1, count: 9), batch: 1, pixels: pixels)
        }
        #expect(throws: ModelInputError.tokenOutOfRange(40, vocabularySize: 40)) { _ = try model([1, 40], batch: 1, pixels: pixels) }
        #expect(throws: CLIPInputError.self) { _ = try model([1, 39], batch: 1, pixels: Tensor.zeros([1, 3, 9, 9])) }
        #expect(throws: CLIPInputError.self) {
            _ = try model([1, 39], batch: 1, attentionMask: Tensor.ones([1, 3]), pixels: pixels)
        }
    }

    @Test func embeddingsAreUnitVectorsAndPoolingFollowsTheEndToken() throws {
        var rng = RandomState(seed: 2)
        let model = CLIPModel(Self.tiny, rng: &rng)
        #expect(model.textModel.poolingPositions([5, 39, 39, 7, 8, 39], batch: 2) == [1, 2])
        #expect(model.textModel.poolingPositions([5, 6, 7], batch: 1) == [0])
        let out = try model([5, 6, 39, 4, 39, 39], batch: 2, pixels: .randomNormal([3, 3, 8, 8], using: &rng))
        for row in out.textEmbeds.square().sum(axis: 1).scalars + out.imageEmbeds.square().sum(axis: 1).scalars {
            #expect(abs(row - 1) < 1e-5)
        }
        #expect(out.logitsPerText.shape == [2, 3] && out.logitsPerImage.shape == [3, 2])
    }
}

extension CLIPModelTests {
    /// As transformers' strided patch conv, pixels past the last whole patch are ignored.
    @Test func imageSizeWithARemainderIgnoresTheLastPixels() throws {
        var whole = Self.tiny, ragged = Self.tiny
        whole.vision.imageSize = 8
        ragged.vision.imageSize = 10
        var rng1 = RandomState(seed: 9), rng2 = RandomState(seed: 9), data = RandomState(seed: 10)
        let a = CLIPModel(whole, rng: &rng1), b = CLIPModel(ragged, rng: &rng2)
        let pixels = Tensor.randomNormal([2, 3, 10, 10], using: &data)
        let cropped = pixels.slice(axis: 2, 0..<8).slice(axis: 3, 0..<8)
        let diff = zip(try b.imageFeatures(pixels).scalars, try a.imageFeatures(cropped).scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(diff == 0)
    }
}
