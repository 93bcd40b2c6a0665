import Foundation
import UniRLCore
import UniRLTensor

/// A prompt for a language expert: token ids (e.g. a rendered ChatML conversation) and the
/// processed images whose placeholder tokens it contains.
public struct LanguagePrompt: Sendable {
    public var tokens: [Int]
    public var images: [ProcessedImage]
    public init(tokens: [Int], images: [ProcessedImage] = []) { self.tokens = tokens; self.images = images }
}

/// A language model as a discrete GRPO policy (UniRL-Zero's LM expert): actions are the
/// generated tokens, sampled with ``TokenGenerator``; replay runs one teacher-forced forward over
/// prompt + completion and reads log softmax(logits / T) at each generated token, the quantity
/// recorded at sampling time (see ``GenerationOptions``).
public final class QwenPolicy<Model: CausalLanguageModel>: DiscretePolicyExpert {
    public typealias Condition = LanguagePrompt

    /// The generated tokens and their log-probabilities.
    public struct Rollout: RecordedActions, Sendable {
        public let tokens: [Int]
        public let actionLogProbs: [Float]
        public let isTruncated: Bool
    }

    public let name: String
    public let model: Model
    public var options: GenerationOptions
    public var module: any Module { model }

    public init(name: String = "lm", model: Model, options: GenerationOptions) {
        self.name = name
        self.model = model
        self.options = options
    }

    public func sample(_ conditions: [LanguagePrompt], using rng: inout RandomState) throws -> [Rollout] {
        let batch = TokenBatch(leftPadding: conditions.map(\.tokens), padID: options.padID, images: conditions.flatMap(\.images))
        return try TokenGenerator(model).generate(batch, options: options, using: &rng).map {
            Rollout(tokens: $0.tokens, actionLogProbs: $0.logProbs, isTruncated: $0.isTruncated)
        }
    }

    /// Log-probabilities [B, T, V] of `prompts + completions` (left padded) with gradients, and
    /// where each completion token's predicting column is.
    func sequenceLogProbs(_ rollouts: [Rollout], _ conditions: [LanguagePrompt]) throws -> (logProbs: Tensor, picks: [[Int]]) {
        let rows = zip(conditions, rollouts).map { $0.tokens + $1.tokens }
        let batch = TokenBatch(leftPadding: rows, padID: options.padID, images: conditions.flatMap(\.images))
        let (t, v) = (batch.length, model.vocabularySize)
        let logits = try model.logits(for: batch, positions: model.positionIDs(for: batch), cache: nil)
        let scaled = options.logProbTemperature == 1 ? logits : logits * (1 / options.logProbTemperature)
        let lp = scaled.logSoftmax(axis: -1)
        // Token k of row r's completion sits at column t − C + k and is predicted one column earlier.
        let picks = rollouts.enumerated().map { r, ro in
            ro.tokens.enumerated().map { k, token in (r * t + t - ro.tokens.count + k - 1) * v + token }
        }
        return (lp, picks)
    }

    public func replay(_ rollouts: [Rollout], given conditions: [LanguagePrompt]) throws -> [TokenReplay] {
        let (lp, picks) = try sequenceLogProbs(rollouts, conditions)
        let v = model.vocabularySize
        let chosen = lp.reshaped([lp.elementCount]).indexSelect(axis: 0, picks.flatMap { $0 })
        // Entropy H = −Σ_v p_v·log p_v of the predicting rows only, on the tape so that the entropy
        // bonus (`entropy_coeff`) trains it; it is also the metric and `top_entropy_quantile`'s input.
        // The fused op keeps no [tokens, V] copy on the tape (V is 151,936 for Qwen2.5).
        let entropy = lp.entropyOfLogProbabilities(rows: picks.flatMap { $0.map { $0 / v } })
        var out: [TokenReplay] = [], offset = 0
        for p in picks {
            let range = offset..<(offset + p.count)
            out.append(TokenReplay(logProbs: chosen.slice(axis: 0, range), entropy: entropy.slice(axis: 0, range)))
            offset += p.count
        }
        return out
    }
}
