import Foundation
import UniRLTensor

/// Qwen2's decoder stack (transformers' `Qwen2Model`, and the text model of Qwen2.5-VL): token
/// embedding, pre-norm decoder layers (the engine's ``TransformerBlock``: RMSNorm, grouped-query
/// attention with q/k/v bias and rotary positions, SwiGLU), final RMSNorm.
public final class Qwen2Model: Module {
    public let configuration: Qwen2Configuration
    public let embedTokens: Embedding
    public let layers: ModuleList<TransformerBlock>
    public let norm: RMSNorm
    /// Qwen2.5-VL's `mrope_section` (frequencies per temporal/height/width stream); nil for 1-D rotary.
    public let ropeSections: [Int]?

    /// Builds the decoder with parameters from `vb` (random, loaded or shapes only).
    public init(_ c: Qwen2Configuration, ropeSections: [Int]? = nil, _ vb: ParameterBuilder) {
        configuration = c
        self.ropeSections = ropeSections
        embedTokens = Embedding(count: c.vocabSize, dimension: c.hiddenSize, vb.scoped("embed_tokens"))
        let block = TransformerBlockConfiguration(hiddenSize: c.hiddenSize, numHeads: c.numAttentionHeads,
                                                  numKeyValueHeads: c.numKeyValueHeads, intermediateSize: c.intermediateSize,
                                                  ropeTheta: c.ropeTheta, eps: c.rmsNormEps)
        layers = ModuleList((0..<c.numHiddenLayers).map { TransformerBlock(block, vb.scoped("layers.\($0)")) })
        norm = RMSNorm(dimension: c.hiddenSize, eps: c.rmsNormEps, vb.scoped("norm"))
    }

    /// A randomly initialised decoder, drawing from `rng`.
    public convenience init(_ c: Qwen2Configuration, ropeSections: [Int]? = nil, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, ropeSections: ropeSections, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] { ["embed_tokens": embedTokens, "layers": layers, "norm": norm] }

    var headDim: Int { configuration.hiddenSize / configuration.numAttentionHeads }

    /// Hidden states [B, T, C] for input embeddings [B, T, C] at `positions`, causal attention with
    /// key padding `attentionMask` [B, T] (1 keep, 0 pad). With a `cache` the new positions attend
    /// to the cached ones and are appended.
    public func callAsFunction(embeddings: Tensor, positions: PositionIDs, attentionMask: Tensor?,
                               cache: KeyValueCache? = nil) -> Tensor {
        let rotary = MultimodalRotary.tables(positions, headDim: headDim, theta: configuration.ropeTheta, sections: ropeSections)
        var padding = attentionMask
        if let cache {
            let m = attentionMask ?? Tensor.ones([embeddings.shape[0], embeddings.shape[1]])
            padding = cache.extendKeyPadding(m)
        }
        let mask = AttentionMask(causal: true, keyPadding: padding)
        var h = embeddings
        for (i, layer) in layers.items.enumerated() { h = layer(h, rotary: rotary, mask: mask, cache: cache, layer: i) }
        return norm(h)
    }

    /// Hidden states [B, T, C] for token ids laid out [B, T]. Positions are 0..<T for every row
    /// (as transformers' forward without `position_ids`).
    public func callAsFunction(_ ids: [Int], batch: Int, attentionMask: Tensor?) -> Tensor {
        let t = ids.count / batch
        return self(embeddings: embedTokens(ids, shape: [batch, t]), positions: .sequential(batch: batch, length: t),
                    attentionMask: attentionMask)
    }
}

/// Qwen2 with its language-model head (transformers' `Qwen2ForCausalLM`); the head shares the
/// embedding matrix when `tie_word_embeddings` is set. Parameter names are the checkpoint's
/// (`model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`).
public final class Qwen2CausalLM: CausalLanguageModel {
    public let model: Qwen2Model
    public let lmHead: Linear?

    /// Builds the model with parameters from `vb` (random, loaded or shapes only).
    public init(_ c: Qwen2Configuration, _ vb: ParameterBuilder) {
        model = Qwen2Model(c, vb.scoped("model"))
        lmHead = c.tieWordEmbeddings ? nil : Linear(inputSize: c.hiddenSize, outputSize: c.vocabSize, bias: false, vb.scoped("lm_head"))
    }

    /// A randomly initialised model, drawing from `rng`.
    public convenience init(_ c: Qwen2Configuration, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        var s: [String: any Module] = ["model": model]
        if let lmHead { s["lm_head"] = lmHead }
        return s
    }

    public var configuration: Qwen2Configuration { model.configuration }
    public var vocabularySize: Int { model.configuration.vocabSize }
    public var layerCount: Int { model.configuration.numHiddenLayers }

    /// Loads `config.json` and the weights (single file or sharded) of a transformers checkpoint.
    public static func load(from directory: URL) throws -> Qwen2CausalLM {
        let c = try Qwen2Configuration.load(from: directory.appendingPathComponent("config.json"))
        // Tied checkpoints may still carry a copy of the head; it is the embedding by definition.
        let vb = ParameterBuilder.loading(try ShardedCheckpoint(contentsOf: directory)) { name in
            c.tieWordEmbeddings && name == "lm_head.weight" ? nil : name
        }
        return try vb.build { Qwen2CausalLM(c, $0) }
    }

    /// Logits [B, T, V] from final hidden states [B, T, C].
    public func head(_ h: Tensor) -> Tensor {
        if let lmHead { return lmHead(h) }
        if let frozen = model.embedTokens.weight.bfloat16 { return h.linear(bfloat16: frozen, bias: nil) }
        return h.matmul(model.embedTokens.weight.value, transposeOther: true)
    }

    /// Logits [B, T, V], positions 0..<T in every row (transformers' forward without `position_ids`).
    public func callAsFunction(_ ids: [Int], batch: Int, attentionMask: Tensor? = nil) -> Tensor {
        head(model(ids, batch: batch, attentionMask: attentionMask))
    }

    /// Positions counting real tokens only, so a row's numbers do not depend on its padding.
    public func positionIDs(for batch: TokenBatch) throws -> PositionIDs {
        .counting(mask: batch.attentionMask, batch: batch.batch)
    }

    public func logits(for batch: TokenBatch, positions: PositionIDs, cache: KeyValueCache?) throws -> Tensor {
        if let bad = batch.ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw ModelInputError.tokenOutOfRange(bad, vocabularySize: vocabularySize)
        }
        let e = model.embedTokens(batch.ids, shape: [batch.batch, batch.length])
        return head(model(embeddings: e, positions: positions, attentionMask: batch.maskTensor, cache: cache))
    }
}

/// Inputs a model cannot take.
public enum ModelInputError: Error, CustomStringConvertible, Equatable {
    case tokenOutOfRange(Int, vocabularySize: Int)
    case imageTokensMismatch(tokens: Int, features: Int)
    case imageCountMismatch(runs: Int, images: Int)
    case positionShape(expected: [Int], got: [Int])
    case imagePatches(expected: Int, got: Int, grid: [Int])

    public var description: String {
        switch self {
        case .tokenOutOfRange(let id, let v): "token id \(id) is outside the vocabulary (0..<\(v))"
        case .imageTokensMismatch(let t, let f): "\(t) image placeholder tokens for \(f) image features"
        case .imageCountMismatch(let r, let i): "\(r) image placeholder runs for \(i) images"
        case .positionShape(let e, let g): "position ids shaped \(g), expected \(e)"
        case .imagePatches(let e, let g, let grid):
            "image patches of \(g) values with grid \(grid); the vision tower takes \(e) values per patch "
                + "and grids divisible by the merge size"
        }
    }
}
