import UniRLTensor

/// Batched autoregressive generation over any ``CausalLanguageModel``: one prefill of the
/// left-padded prompts (images included) into a ``KeyValueCache``, then one token per row and
/// step. Each new token takes its row's next rotary position (one past the prompt's largest, as
/// transformers' Qwen2.5-VL `rope_deltas` give); rows that emit a stop token leave the batch and
/// the cache (``KeyValueCache/selectRows(_:)``), so they cost nothing afterwards. Runs without
/// a tape; same seed, same tokens.
public struct TokenGenerator<Model: CausalLanguageModel> {
    public let model: Model
    public init(_ model: Model) { self.model = model }

    public func generate(_ prompts: TokenBatch, options requested: GenerationOptions,
                         using rng: inout RandomState) throws -> [GeneratedSequence] {
        // An image placeholder in a completion would make prompt + completion unreadable for
        // replay or for a later turn ("1 image placeholder runs for 0 images"): never draw one.
        var options = requested
        options.suppressedTokens.formUnion(model.placeholderTokenIDs)
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
        guard options.suppressedTokens.filter({ (0..<v).contains($0) }).count < v else {
            throw GenerationError.invalidOptions("every token of the vocabulary is suppressed")
        }
        return try withoutGrad {
            let cache = model.makeCache()
            let positions = try model.positionIDs(for: prompts)
            var next = positions.nextPositions(mask: prompts.attentionMask)
            var logits = try model.logits(for: prompts, positions: positions, cache: cache)
            // Original row of each row still decoding; finished rows leave the batch and the cache.
            var rows = Array(0..<b)
            for step in 0..<options.maxNewTokens {
                // Logits of each running row's last column.
                let columns = logits.shape[1]
                let last = logits.slice(axis: 1, (columns - 1)..<columns)
                var feed = [Int](), keep = [Int]()
                last.storage.pointer.withMemoryRebound(to: Float.self, capacity: rows.count * v) { base in
                    for (c, r) in rows.enumerated() {
                        let (token, lp) = sampler.pick(UnsafeBufferPointer(start: base + c * v, count: v), rng: &rng)
                        out[r].tokens.append(token); out[r].logProbs.append(lp)
                        if options.stopTokens.contains(token) { out[r].isTruncated = false } else { feed.append(token); keep.append(c) }
                    }
                }
                if keep.isEmpty || step == options.maxNewTokens - 1 { break }
                if keep.count < rows.count {
                    cache.selectRows(keep)
                    rows = keep.map { rows[$0] }
                    next = keep.map { next[$0] }
                }
                let stepBatch = TokenBatch(ids: feed, batch: rows.count)
                logits = try model.logits(for: stepBatch, positions: PositionIDs(text: next, batch: rows.count), cache: cache)
                next = next.map { $0 + 1 }
            }
            return out
        }
    }
}
