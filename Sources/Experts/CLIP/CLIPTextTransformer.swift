import Foundation
import UniRLTensor

/// CLIP's text tower (transformers' `CLIPTextModel`): token + learned position embeddings, a causal
/// encoder with key padding, `final_layer_norm`, and pooling at the end token.
public final class CLIPTextTransformer: Module {
    public let configuration: CLIPTowerConfiguration
    public let tokenEmbedding: Embedding, positionEmbedding: Embedding
    public let encoder: CLIPEncoder
    public let finalLayerNorm: LayerNorm

    /// Builds the tower with parameters from `vb` (random, loaded or shapes only).
    public init(_ c: CLIPTowerConfiguration, _ vb: ParameterBuilder) {
        configuration = c
        tokenEmbedding = Embedding(count: c.vocabSize, dimension: c.hiddenSize, vb.scoped("embeddings.token_embedding"))
        positionEmbedding = Embedding(count: c.maxPositionEmbeddings, dimension: c.hiddenSize, vb.scoped("embeddings.position_embedding"))
        encoder = CLIPEncoder(c, vb.scoped("encoder"))
        finalLayerNorm = LayerNorm(dimension: c.hiddenSize, eps: c.layerNormEps, vb.scoped("final_layer_norm"))
    }

    /// A randomly initialised tower, drawing from `rng`.
    public convenience init(_ c: CLIPTowerConfiguration, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        ["embeddings": ModuleDictionary(["token_embedding": tokenEmbedding, "position_embedding": positionEmbedding]),
         "encoder": encoder, "final_layer_norm": finalLayerNorm]
    }

    /// The position each row is pooled at. With the legacy `eos_token_id == 2` (configs from before
    /// transformers PR #24773) it is the first largest id of the row; otherwise the first position
    /// holding `eos_token_id`, and position 0 when the row has none (transformers' argmax of zeros).
    public func poolingPositions(_ ids: [Int], batch: Int) -> [Int] {
        let t = ids.count / batch
        return (0..<batch).map { b in
            let row = ids[(b * t)..<((b + 1) * t)]
            if configuration.eosTokenID == 2 {
                var best = row.startIndex
                for i in row.indices where row[i] > row[best] { best = i }
                return best - b * t
            }
            guard let eos = configuration.eosTokenID, let i = row.firstIndex(of: eos) else { return 0 }
            return i - b * t
        }
    }

    /// Final-norm states [B, T, C] for ids laid out [B, T] with an optional key padding mask [B, T].
    public func hiddenStates(_ ids: [Int], batch: Int, attentionMask: Tensor?) throws -> Tensor {
        let c = configuration
        guard batch > 0, ids.count % batch == 0, !ids.isEmpty else { throw CLIPInputError.tokenLayout(count: ids.count, batch: batch) }
        let t = ids.count / batch
        guard t <= c.maxPositionEmbeddings else { throw CLIPInputError.sequenceTooLong(t, maximum: c.maxPositionEmbeddings) }
        if let bad = ids.first(where: { $0 < 0 || $0 >= c.vocabSize }) {
            throw ModelInputError.tokenOutOfRange(bad, vocabularySize: c.vocabSize)
        }
        if let m = attentionMask, m.shape != [batch, t] { throw CLIPInputError.maskShape(expected: [batch, t], got: m.shape) }
        let positions = positionEmbedding.weight.value.slice(axis: 0, 0..<t)
        let x = tokenEmbedding(ids, shape: [batch, t]) + positions
        return finalLayerNorm(encoder(x, mask: AttentionMask(causal: true, keyPadding: attentionMask)))
    }

    /// Pooled states [B, C]: the final-norm state at each row's end token.
    public func callAsFunction(_ ids: [Int], batch: Int, attentionMask: Tensor?) throws -> Tensor {
        let h = try hiddenStates(ids, batch: batch, attentionMask: attentionMask)
        let t = h.shape[1]
        let rows = poolingPositions(ids, batch: batch).enumerated().map { $0.offset * t + $0.element }
        return h.reshaped([batch * t, configuration.hiddenSize]).indexSelect(axis: 0, rows)
    }
}

/// Inputs CLIP cannot take.
public enum CLIPInputError: Error, CustomStringConvertible, Equatable {
    case tokenLayout(count: Int, batch: Int)
    case sequenceTooLong(Int, maximum: Int)
    case maskShape(expected: [Int], got: [Int])
    case pixelShape(expected: [Int], got: [Int])
    case batchMismatch(String)

    public var description: String {
        switch self {
        case .tokenLayout(let n, let b): "\(n) token ids cannot be laid out as \(b) equal non-empty rows"
        case .sequenceTooLong(let t, let m): "sequence of \(t) tokens is longer than CLIP's \(m) positions"
        case .maskShape(let e, let g): "attention mask shaped \(g), expected \(e)"
        case .pixelShape(let e, let g): "pixel values shaped \(g), expected [batch] + \(e)"
        case .batchMismatch(let s): s
        }
    }
}
