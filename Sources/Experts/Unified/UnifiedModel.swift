import Foundation
import UniRLTensor

/// Problems with a unified model folder or request.
public enum UnifiedModelError: Error, CustomStringConvertible, Equatable {
    /// The folder is neither the four-part layout nor the official single checkpoint.
    case unrecognizedLayout(path: String)
    /// A required file or folder is missing.
    case missingPart(path: String)
    /// The official checkpoint's configuration asks for something this implementation does not compute.
    case unsupported(path: String, reason: String)
    /// A request the model cannot serve (empty prompt, missing autoencoder, mismatched widths).
    case invalidRequest(String)
    /// A part of the folder is there but cannot be loaded (malformed config, missing or mis-shaped weights).
    case partFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unrecognizedLayout(let p):
            "\(p) is not a unified model folder: expected lm/, connector/, dm/ (and vae/) or an official UniRL-Zero "
                + "checkpoint (config.json + weights with model.t2i_queries, model.down_projector.*, model.dit.*)"
        case .missingPart(let p): "the unified model folder lacks \(p)"
        case .unsupported(let p, let r): "\(p): \(r)"
        case .invalidRequest(let r): "unified model: \(r)"
        case .partFailed(let p, let r): "cannot load \(p): \(r)"
        }
    }
}

/// UniRL-Zero's unified model (docs/ARCHITECTURE.md, "The unified model"; G-U-N/UniRL unimodel/blip3o/):
/// a Qwen2.5-VL LM whose input is the chat-formatted prompt followed by learned meta-queries, the
/// connector over the LM's final-norm states at those positions, and SANA conditioned on the
/// connector's output (no caption mask); DC-AE maps latents to pixels.
///
///     e = [embed(prompt, right-padded; image pads filled by the vision tower) ; queries]
///     mask = [attention_mask ; 1…1],  positions = cumsum(mask) − 1 (1 where mask = 0), all three rotary streams
///     h = LM(e)[:, −N:]                       final RMSNorm applied (transformers' hidden_states[-1])
///     c = connector(h)                        SANA's encoder_hidden_states [B, N, caption_channels]
///
/// The positions follow the official `_prepare_img_hidden_states`, which calls the LM with
/// `inputs_embeds` and no `input_ids`: transformers then counts positions from the mask, so image
/// tokens of an edit prompt take 1-D positions there too.
///
/// ```swift
/// let model = try UnifiedModel.load(from: folder)          // lm/ connector/ dm/ vae/, or the official checkpoint
/// let condition = try model.condition(for: [prompt], querySet: .t2i)
/// let v = model.transformer(latents, encoderHiddenStates: condition, timestep: t)
/// ```
public final class UnifiedModel: Module {
    public let lm: QwenVLForConditionalGeneration
    public let connector: MetaQueryConnector
    public let transformer: SanaTransformer
    public let autoencoder: AutoencoderDC?
    /// The token that right-pads prompts (masked out; any id in the vocabulary).
    public var padID: Int = 0

    public init(
        lm: QwenVLForConditionalGeneration, connector: MetaQueryConnector, transformer: SanaTransformer,
        autoencoder: AutoencoderDC?
    ) throws {
        guard connector.configuration.hiddenSize == lm.configuration.text.hiddenSize else {
            throw UnifiedModelError.invalidRequest(
                "the connector is \(connector.configuration.hiddenSize) wide, the LM \(lm.configuration.text.hiddenSize)")
        }
        guard connector.configuration.outputSize == transformer.configuration.captionChannels else {
            throw UnifiedModelError.invalidRequest(
                "the connector writes \(connector.configuration.outputSize) channels, "
                    + "SANA reads \(transformer.configuration.captionChannels)"
            )
        }
        if let autoencoder, autoencoder.configuration.latentChannels != transformer.configuration.inChannels {
            throw UnifiedModelError.invalidRequest(
                "DC-AE has \(autoencoder.configuration.latentChannels) latent channels, SANA takes \(transformer.configuration.inChannels)")
        }
        self.lm = lm
        self.connector = connector
        self.transformer = transformer
        self.autoencoder = autoencoder
    }

    public var submodules: [String: any Module] {
        var s: [String: any Module] = ["lm": lm, "connector": connector, "dm": transformer]
        if let autoencoder { s["vae"] = autoencoder }
        return s
    }

    /// The right-padded prompt batch (ids, mask) the queries follow.
    func promptBatch(_ prompts: [LanguagePrompt]) throws -> TokenBatch {
        guard !prompts.isEmpty else { throw UnifiedModelError.invalidRequest("no prompts") }
        guard prompts.allSatisfy({ !$0.tokens.isEmpty }) else { throw UnifiedModelError.invalidRequest("an empty prompt") }
        let t = prompts.map(\.tokens.count).max()!
        var ids: [Int] = [], mask: [Int] = []
        for p in prompts {
            ids += p.tokens + [Int](repeating: padID, count: t - p.tokens.count)
            mask += [Int](repeating: 1, count: p.tokens.count) + [Int](repeating: 0, count: t - p.tokens.count)
        }
        return TokenBatch(ids: ids, attentionMask: mask, batch: prompts.count, images: prompts.flatMap(\.images))
    }

    /// Positions `cumsum(mask) − 1`, 1 where the mask is 0 (transformers' rope index without ids).
    static func maskPositions(_ mask: [Int], batch: Int) -> PositionIDs {
        let t = mask.count / batch
        var out = [Int](repeating: 1, count: mask.count)
        for b in 0..<batch {
            var seen = 0
            for j in 0..<t where mask[b * t + j] != 0 { out[b * t + j] = seen; seen += 1 }
        }
        return PositionIDs(text: out, batch: batch)
    }

    /// The LM's final-norm states at the N query positions, [B, N, d] (on the tape when anything
    /// upstream trains).
    public func queryStates(for prompts: [LanguagePrompt], querySet: MetaQuerySet) throws -> Tensor {
        try queryStates(for: promptBatch(prompts), querySet: querySet)
    }

    /// As ``queryStates(for:querySet:)-(LanguagePrompt,_)`` for a prompt batch already laid out
    /// (right-padded, as the official tokenizer call with `padding="longest"` gives it).
    public func queryStates(for batch: TokenBatch, querySet: MetaQuerySet) throws -> Tensor {
        let queries = try connector.queries(querySet)
        let (b, t, n, d) = (batch.batch, batch.length, queries.shape[1], queries.shape[2])
        let embeddings = Tensor.concatenate([try lm.inputEmbeddings(for: batch), queries.broadcast(to: [b, n, d])], axis: 1)
        var mask: [Int] = []
        for r in 0..<b { mask += Array(batch.attentionMask[(r * t)..<((r + 1) * t)]) + [Int](repeating: 1, count: n) }
        let maskTensor = Tensor(shape: [b, t + n], scalars: mask.map(Float.init))
        let states = lm.model(embeddings: embeddings, positions: Self.maskPositions(mask, batch: b), attentionMask: maskTensor)
        return states.slice(axis: 1, t..<(t + n))
    }

    /// SANA's conditioning for each prompt: connector(query states), [B, N, caption_channels].
    public func condition(for prompts: [LanguagePrompt], querySet: MetaQuerySet) throws -> Tensor {
        try connector.project(queryStates(for: prompts, querySet: querySet))
    }

    /// The DC-AE, or a typed error when the model was loaded without one.
    public func requireAutoencoder() throws -> AutoencoderDC {
        guard let autoencoder else { throw UnifiedModelError.invalidRequest("this unified model has no DC-AE (vae/)") }
        return autoencoder
    }

    /// Latents in the transformer's scale → images (no tape).
    public func decode(_ latents: Tensor) throws -> [RGBImage] {
        let ae = try requireAutoencoder()
        return withoutGrad {
            let pixels = ae.decode(latents / Float(ae.configuration.scalingFactor))
            return (0..<pixels.shape[0]).map { RGBImage(tensor: pixels.slice(axis: 0, $0..<($0 + 1)).squeezed(0)) }
        }
    }

    /// Images → latents in the transformer's scale (no tape).
    public func encode(_ images: [RGBImage]) throws -> Tensor {
        let ae = try requireAutoencoder()
        return withoutGrad { ae.encode(Tensor.stack(images.map { $0.tensor() }, axis: 0)) * Float(ae.configuration.scalingFactor) }
    }
}
