import Foundation
import UniRLTensor

/// What ``CLIPModel`` returns for a batch of texts and images (transformers' `CLIPOutput`).
public struct CLIPOutput {
    /// Unit-length text embeddings [Bt, P].
    public var textEmbeds: Tensor
    /// Unit-length image embeddings [Bi, P].
    public var imageEmbeds: Tensor
    /// exp(logit_scale) · textEmbeds · imageEmbedsᵀ, [Bt, Bi].
    public var logitsPerText: Tensor
    /// The transpose, [Bi, Bt].
    public var logitsPerImage: Tensor { logitsPerText.transposed(0, 1) }
}

/// CLIP (transformers' `CLIPModel`, models/clip/modeling_clip.py): a text and a vision transformer,
/// bias-free projections to a shared width, and a learned temperature `logit_scale`. Parameter
/// names are the checkpoints' (`text_model.encoder.layers.0.self_attn.q_proj.weight`,
/// `vision_model.pre_layrnorm.weight`, `visual_projection.weight`, `logit_scale`).
public final class CLIPModel: Module {
    public let configuration: CLIPConfiguration
    public let textModel: CLIPTextTransformer
    public let visionModel: CLIPVisionTransformer
    public let textProjection: Linear, visualProjection: Linear
    public let logitScale: Parameter

    /// Builds the model with parameters from `vb` (random, loaded or shapes only).
    public init(_ c: CLIPConfiguration, _ vb: ParameterBuilder) {
        configuration = c
        textModel = CLIPTextTransformer(c.text, vb.scoped("text_model"))
        visionModel = CLIPVisionTransformer(c.vision, vb.scoped("vision_model"))
        textProjection = Linear(inputSize: c.text.hiddenSize, outputSize: c.projectionDim, bias: false, vb.scoped("text_projection"))
        visualProjection = Linear(
            inputSize: c.vision.hiddenSize, outputSize: c.projectionDim, bias: false, vb.scoped("visual_projection"))
        logitScale = vb.parameter("logit_scale", [], .constant(c.logitScaleInitValue))
    }

    /// A randomly initialised model, drawing from `rng`.
    public convenience init(_ c: CLIPConfiguration, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        ["text_model": textModel, "vision_model": visionModel, "text_projection": textProjection, "visual_projection": visualProjection]
    }

    public var parameters: [String: Parameter] { ["logit_scale": logitScale] }

    /// Loads `config.json` and the weights (single file or sharded) of a transformers checkpoint.
    /// Older checkpoints also store the `position_ids` buffers; they are the identity and are skipped.
    public static func load(from directory: URL) throws -> CLIPModel {
        let c = try CLIPConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let vb = ParameterBuilder.loading(try ShardedCheckpoint(contentsOf: directory)) {
            $0.hasSuffix(".position_ids") ? nil : $0
        }
        return try vb.build { CLIPModel(c, $0) }
    }

    /// Projected text features [B, P], not normalised (transformers' `get_text_features`).
    public func textFeatures(_ ids: [Int], batch: Int, attentionMask: Tensor? = nil) throws -> Tensor {
        textProjection(try textModel(ids, batch: batch, attentionMask: attentionMask))
    }

    /// Projected image features [B, P], not normalised (transformers' `get_image_features`).
    public func imageFeatures(_ pixels: Tensor) throws -> Tensor {
        visualProjection(try visionModel(pixels))
    }

    /// Unit-length rows, x / ‖x‖₂ (transformers' `_get_vector_norm`).
    public static func normalized(_ x: Tensor) -> Tensor {
        x / x.square().sum(axis: -1, keepDims: true).sqrt()
    }

    /// The full forward pass: texts `ids` laid out [batch, T] with an optional padding mask, and
    /// pixels [B_i, channels, H, W] as `CLIPImageProcessor` makes them.
    public func callAsFunction(_ ids: [Int], batch: Int, attentionMask: Tensor? = nil, pixels: Tensor) throws -> CLIPOutput {
        let image = CLIPModel.normalized(try imageFeatures(pixels))
        let text = CLIPModel.normalized(try textFeatures(ids, batch: batch, attentionMask: attentionMask))
        let logits = text.matmul(image, transposeOther: true) * logitScale.value.exp()
        return CLIPOutput(textEmbeds: text, imageEmbeds: image, logitsPerText: logits)
    }
}
