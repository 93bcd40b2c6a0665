import UniRLTensor

/// Batched autoregressive generation over any ``CausalLanguageModel``: one prefill of the
/// left-padded prompts (images included) into a ``KeyValueCache``, then one token per row and
/// step. Each new token takes its row's next rotary position (one past the prompt's largest, as
/// transformers' Qwen2.5-VL `rope_deltas` give); finished rows feed masked padding. Runs without
/// a tape; same seed, same tokens.
public struct TokenGenerator<Model: CausalLanguageModel> {
    public let model: Model
    public init(_ model: Model) { self.model = model }

    public func generate(_ prompts: TokenBatch, options: GenerationOptions,
                         using rng: inout RandomState) throws -> [GeneratedSequence] {
        guard options.maxNewTokens >= 0, options.temperature >= 0 else {
            throw GenerationError.invalidOptions("maxNewTokens and temperature must be ≥ 0")
        }
        if let k = options.topK, k < 1 { throw GenerationError.invalidOptions("topK must be ≥ 1") }
        if let p = options.topP, !(p > 0 && p <= 1) { throw GenerationError.invalidOptions("topP must be in (0, 1]") }
        let (b, t) = (prompts.batch, prompts.length)
        for r in 0..<b where prompts.attentionMask[r * t + t - 1] == 0 { throw GenerationError.rightPadded(row: r) }
        var out = (0..<b).map { _ in GeneratedSequence(tokens: [], logProbs: [], isTruncated: true) }
        guard options.maxNewTokens > 0 else { return out }
        let sampler = TokenSampler(options: options)
        let v = model.vocabularySize
        return try withoutGrad {
            let cache = model.makeCache()
            let positions = try model.positionIDs(for: prompts)
            var next = positions.nextPositions(mask: prompts.attentionMask)
            var logits = try model.logits(for: prompts, positions: positions, cache: cache)
            var active = [Bool](repeating: true, count: b)
            for step in 0..<options.maxNewTokens {
                // Logits of each row's last column.
                let columns = logits.shape[1]
                let last = logits.slice(axis: 1, (columns - 1)..<columns)
                var feed = [Int](repeating: options.padID, count: b), mask = [Int](repeating: 0, count: b)
                last.storage.pointer.withMemoryRebound(to: Float.self, capacity: b * v) { base in
                    for r in 0..<b where active[r] {
                        let (token, lp) = sampler.pick(UnsafeBufferPointer(start: base + r * v, count: v), rng: &rng)
                        out[r].tokens.append(token); out[r].logProbs.append(lp)
                        if options.stopTokens.contains(token) { active[r] = false; out[r].isTruncated = false }
                        feed[r] = token; mask[r] = 1
                    }
                }
                if !active.contains(true) || step == options.maxNewTokens - 1 { break }
                let stepBatch = TokenBatch(ids: feed, attentionMask: mask, batch: b)
                logits = try model.logits(for: stepBatch, positions: PositionIDs(text: next, batch: b), cache: cache)
                next = next.map { $0 + 1 }
            }
            return out
        }
    }
}
