import Foundation
import UniRLTensor

/// Qwen2's decoder stack (transformers' `Qwen2Model`): token embedding, pre-norm decoder layers
/// (the engine's ``TransformerBlock``: RMSNorm, grouped-query attention with q/k/v bias and rotary
/// positions, SwiGLU), final RMSNorm.
public final class Qwen2Model: Module {
    public let configuration: Qwen2Configuration
    public let embedTokens: Embedding
    public let layers: ModuleList<TransformerBlock>
    public let norm: RMSNorm

    public init(_ c: Qwen2Configuration, rng: inout RandomState) {
        configuration = c
        embedTokens = Embedding(count: c.vocabSize, dimension: c.hiddenSize, rng: &rng)
        let block = TransformerBlockConfiguration(hiddenSize: c.hiddenSize, numHeads: c.numAttentionHeads,
                                                  numKeyValueHeads: c.numKeyValueHeads, intermediateSize: c.intermediateSize,
                                                  ropeTheta: c.ropeTheta, eps: c.rmsNormEps)
        layers = ModuleList((0..<c.numHiddenLayers).map { _ in TransformerBlock(block, rng: &rng) })
        norm = RMSNorm(dimension: c.hiddenSize, eps: c.rmsNormEps)
    }

    public var submodules: [String: any Module] { ["embed_tokens": embedTokens, "layers": layers, "norm": norm] }

    /// Hidden states [B, T, C] for token ids laid out [B, T]. Positions are 0..<T for every row
    /// (as transformers' forward without `position_ids`); `attentionMask` [B, T] (1 keep, 0 pad)
    /// hides padded keys under the causal mask.
    public func callAsFunction(_ ids: [Int], batch: Int, attentionMask: Tensor?) -> Tensor {
        let t = ids.count / batch
        var h = embedTokens(ids, shape: [batch, t])
        let headDim = configuration.hiddenSize / configuration.numAttentionHeads
        let rotary = RotaryEmbedding.tables(positions: Array(0..<t), dimension: headDim, theta: configuration.ropeTheta)
        let mask = AttentionMask(causal: true, keyPadding: attentionMask)
        for layer in layers.items { h = layer(h, rotary: rotary, mask: mask) }
        return norm(h)
    }
}

/// Qwen2 with its language-model head (transformers' `Qwen2ForCausalLM`); the head shares the
/// embedding matrix when `tie_word_embeddings` is set. Parameter names are the checkpoint's
/// (`model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`).
public final class Qwen2CausalLM: Module {
    public let model: Qwen2Model
    public let lmHead: Linear?

    public init(_ c: Qwen2Configuration, rng: inout RandomState) {
        model = Qwen2Model(c, rng: &rng)
        lmHead = c.tieWordEmbeddings ? nil : Linear(inputSize: c.hiddenSize, outputSize: c.vocabSize, bias: false, rng: &rng)
    }

    public var submodules: [String: any Module] {
        var s: [String: any Module] = ["model": model]
        if let lmHead { s["lm_head"] = lmHead }
        return s
    }

    /// Loads `config.json` and the weights (single file or sharded) of a transformers checkpoint.
    public static func load(from directory: URL) throws -> Qwen2CausalLM {
        let c = try Qwen2Configuration.load(from: directory.appendingPathComponent("config.json"))
        var rng = RandomState(seed: 0)
        let lm = Qwen2CausalLM(c, rng: &rng)
        // Tied checkpoints may still carry a copy of the head; it is the embedding by definition.
        try lm.load(from: ShardedCheckpoint(contentsOf: directory)) { name in
            c.tieWordEmbeddings && name == "lm_head.weight" ? nil : name
        }
        return lm
    }

    /// Logits [B, T, V].
    public func callAsFunction(_ ids: [Int], batch: Int, attentionMask: Tensor? = nil) -> Tensor {
        let h = model(ids, batch: batch, attentionMask: attentionMask)
        if let lmHead { return lmHead(h) }
        return h.matmul(model.embedTokens.weight.value, transposeOther: true)
    }
}
