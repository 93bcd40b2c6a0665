import Foundation
import UniRLTensor

/// CLIP's vision tower (transformers' `CLIPVisionModel`): patch embedding (a bias-free conv whose
/// kernel equals its stride), a class token, learned positions, `pre_layrnorm` (sic, the
/// checkpoints' name), the encoder, and `post_layernorm` on the class token.
public final class CLIPVisionTransformer: Module {
    public let configuration: CLIPTowerConfiguration
    /// `embeddings.class_embedding`, [C].
    public let classEmbedding: Parameter
    /// `embeddings.patch_embedding.weight`, [C, channels, patch, patch].
    public let patchEmbedding: Parameter
    public let positionEmbedding: Embedding
    public let preLayerNorm: LayerNorm, postLayerNorm: LayerNorm
    public let encoder: CLIPEncoder

    /// Builds the tower with parameters from `vb` (random, loaded or shapes only).
    public init(_ c: CLIPTowerConfiguration, _ vb: ParameterBuilder) {
        configuration = c
        classEmbedding = vb.parameter("embeddings.class_embedding", [c.hiddenSize], .normal(std: 1))
        let fanIn = c.numChannels * c.patchSize * c.patchSize
        patchEmbedding = vb.parameter(
            "embeddings.patch_embedding.weight", [c.hiddenSize, c.numChannels, c.patchSize, c.patchSize],
            .normal(std: 1 / Float(fanIn).squareRoot()))
        positionEmbedding = Embedding(
            count: c.gridSize * c.gridSize + 1, dimension: c.hiddenSize, vb.scoped("embeddings.position_embedding"))
        preLayerNorm = LayerNorm(dimension: c.hiddenSize, eps: c.layerNormEps, vb.scoped("pre_layrnorm"))
        encoder = CLIPEncoder(c, vb.scoped("encoder"))
        postLayerNorm = LayerNorm(dimension: c.hiddenSize, eps: c.layerNormEps, vb.scoped("post_layernorm"))
    }

    /// A randomly initialised tower, drawing from `rng`.
    public convenience init(_ c: CLIPTowerConfiguration, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        ["embeddings": ModuleDictionary(["patch_embedding": ModuleDictionary(parameters: ["weight": patchEmbedding]),
                                         "position_embedding": positionEmbedding],
                                        parameters: ["class_embedding": classEmbedding]),
         "pre_layrnorm": preLayerNorm, "encoder": encoder, "post_layernorm": postLayerNorm]
    }

    /// Pooled states [B, C] (the class token after `post_layernorm`) for pixels [B, channels, H, W].
    public func callAsFunction(_ pixels: Tensor) throws -> Tensor {
        let c = configuration
        let expected = [c.numChannels, c.imageSize, c.imageSize]
        guard pixels.rank == 4, Array(pixels.shape.dropFirst()) == expected, pixels.shape[0] > 0 else {
            throw CLIPInputError.pixelShape(expected: expected, got: pixels.shape)
        }
        let (b, g, p) = (pixels.shape[0], c.gridSize, c.patchSize)
        // The strided conv ignores the pixels past the last whole patch.
        var pixels = pixels
        if g * p != c.imageSize { pixels = pixels.slice(axis: 2, 0..<(g * p)).slice(axis: 3, 0..<(g * p)) }
        // Non-overlapping patches as rows [B·g·g, channels·p·p] in the conv weight's (channel, y, x) order.
        let patches = pixels.reshaped([b, c.numChannels, g, p, g, p]).permuted([0, 2, 4, 1, 3, 5])
            .reshaped([b * g * g, c.numChannels * p * p])
        let embedded = patches.matmul(patchEmbedding.value.reshaped([c.hiddenSize, c.numChannels * p * p]), transposeOther: true)
            .reshaped([b, g * g, c.hiddenSize])
        let cls = classEmbedding.value.reshaped([1, 1, c.hiddenSize]).broadcast(to: [b, 1, c.hiddenSize])
        let x = Tensor.concatenate([cls, embedded], axis: 1) + positionEmbedding.weight.value
        let h = encoder(preLayerNorm(x), mask: .none)
        return postLayerNorm(h.slice(axis: 1, 0..<1).reshaped([b, c.hiddenSize]))
    }
}
