import Foundation
import Testing
import UniRLTensor
@testable import UniRLExperts

/// Generation with the KV cache: cached decoding equals full forwards, greedy/top-k/top-p/stop
/// rules, recorded log-probs, reproducibility.
@Suite struct GenerationTests {
    static func qwen2(seed: UInt64 = 5, vocab: Int = 40) -> Qwen2CausalLM {
        var rng = RandomState(seed: seed)
        let lm = Qwen2CausalLM(Qwen2Configuration(vocabSize: vocab, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2,
                                                  numAttentionHeads: 4, numKeyValueHeads: 2), rng: &rng)
        // Sharper logits than the default init so sampling choices are not all near-uniform.
        for (_, p) in lm.namedParameters() where p.shape.count == 2 { p.assign(p.value * 3) }
        return lm
    }

    static let prompts = TokenBatch(leftPadding: [[3, 9, 4, 1, 7], [2, 8], [5, 5, 6]], padID: 0)

    /// Prefill of a left-padded batch, then one teacher-forced token per step through the cache,
    /// gives the logits of one full forward over the left-padded prompts + continuations.
    @Test func incrementalLogitsEqualFullSequenceLogits() throws {
        let lm = Self.qwen2()
        let (b, t, v, steps) = (3, Self.prompts.length, lm.vocabularySize, 4)
        let continuation = [[11, 2, 30, 7], [1, 1, 39, 5], [20, 6, 9, 13]]
        var ids = [Int](), mask = [Int]()
        for r in 0..<b {
            ids += Self.prompts.ids[(r * t)..<((r + 1) * t)] + continuation[r]
            mask += Self.prompts.attentionMask[(r * t)..<((r + 1) * t)] + Array(repeating: 1, count: steps)
        }
        let full = TokenBatch(ids: ids, attentionMask: mask, batch: b)
        let expected = withoutGrad { try! lm.logits(for: full, positions: lm.positionIDs(for: full), cache: nil) }.scalars
        let cache = lm.makeCache()
        let positions = try lm.positionIDs(for: Self.prompts)
        var next = positions.nextPositions(mask: Self.prompts.attentionMask)
        var got = [withoutGrad { try! lm.logits(for: Self.prompts, positions: positions, cache: cache) }.scalars]
        for k in 0..<(steps - 1) {
            let step = TokenBatch(ids: continuation.map { $0[k] }, batch: b)
            got.append(withoutGrad { try! lm.logits(for: step, positions: PositionIDs(text: next, batch: b), cache: cache) }.scalars)
            next = next.map { $0 + 1 }
        }
        var worst: Float = 0
        for r in 0..<b {
            for j in 0..<t where Self.prompts.attentionMask[r * t + j] == 1 {   // prefill columns
                for i in 0..<v { worst = max(worst, abs(got[0][(r * t + j) * v + i] - expected[(r * (t + steps) + j) * v + i])) }
            }
            for k in 1..<steps {   // decode steps: column t + k − 1 of the full sequence
                for i in 0..<v { worst = max(worst, abs(got[k][r * v + i] - expected[(r * (t + steps) + t + k - 1) * v + i])) }
            }
        }
        #expect(worst <= 1e-5, "cached logits differ from the full forward by \(worst)")
    }

    /// Suppressed tokens are never drawn, greedy or sampled, and the recorded log-prob stays that
    /// of the whole tempered distribution (the one replay computes).
    @Test func suppressedTokensAreNeverDrawn() {
        let logits = [Float](repeating: 0, count: 64)
        var rng = RandomState(seed: 2)
        var free = TokenSampler(options: GenerationOptions(temperature: 1)), hits = 0
        var banned = free
        banned.options.suppressedTokens = Set(0..<8)
        logits.withUnsafeBufferPointer { row in
            for _ in 0..<400 {
                if free.pick(row, rng: &rng).token < 8 { hits += 1 }
                let (token, lp) = banned.pick(row, rng: &rng)
                #expect(token >= 8 && abs(lp + Foundation.log(64)) < 1e-5)
            }
            free = TokenSampler(options: .greedy(maxNewTokens: 1))
            banned.options.temperature = 0
            #expect(free.pick(row, rng: &rng).token == 0 && banned.pick(row, rng: &rng).token == 8)
        }
        #expect(hits > 20, "the unsuppressed draw reaches tokens 0..<8 (\(hits) of 400)")
    }

    /// A completion never holds one of Qwen2.5-VL's image placeholders: prompt + completion would
    /// be unreadable for replay ("1 image placeholder runs for 0 images", seen in a `cot-t2i` run).
    @Test func imagePlaceholdersAreNeverGenerated() throws {
        let model = QwenVLModelTests.model()
        #expect(model.placeholderTokenIDs == [60, 61, 62, 63])
        var rng = RandomState(seed: 4)
        let batch = TokenBatch(leftPadding: [[3, 9, 4], [2, 8], [5, 5, 6]], padID: 0)
        let out = try TokenGenerator(model).generate(batch, options: GenerationOptions(maxNewTokens: 60, temperature: 3), using: &rng)
        #expect(out.allSatisfy { $0.tokens.count == 60 && $0.tokens.allSatisfy { $0 < 60 } })
    }

    /// Greedy tokens are the argmax of a full forward over prompt + tokens so far, and their
    /// recorded log-probs are that forward's log-softmax: the cache changes nothing.
    @Test(arguments: [1, 0.7] as [Float])
    func cachedSamplingAgreesWithFullForwards(temperature: Float) throws {
        let lm = Self.qwen2()
        var rng = RandomState(seed: 1)
        let options = GenerationOptions(maxNewTokens: 6, temperature: temperature)
        let generated = try TokenGenerator(lm).generate(Self.prompts, options: options, using: &rng)
        let rows = (0..<3).map { r in Array(Self.prompts.ids[(r * 5)..<((r + 1) * 5)]).enumerated()
            .filter { Self.prompts.attentionMask[r * 5 + $0.offset] == 1 }.map(\.element) }
        for (r, g) in generated.enumerated() {
            #expect(g.tokens.count == 6 && g.isTruncated)
            let full = TokenBatch(ids: rows[r] + g.tokens, batch: 1)
            let logits = withoutGrad { try! lm.logits(for: full, positions: lm.positionIDs(for: full), cache: nil) }
            let lp = (logits * (1 / temperature)).logSoftmax(axis: -1).scalars
            let v = lm.vocabularySize
            for (k, token) in g.tokens.enumerated() {
                let column = rows[r].count + k - 1
                #expect(abs(lp[column * v + token] - g.logProbs[k]) < 1e-5, "row \(r) token \(k)")
            }
        }
    }

    @Test func greedyIsArgmaxAndTopKOneIsGreedy() throws {
        let lm = Self.qwen2()
        var rng = RandomState(seed: 2)
        let greedy = try TokenGenerator(lm).generate(Self.prompts, options: .greedy(maxNewTokens: 8), using: &rng)
        var rng2 = RandomState(seed: 99)
        let topOne = try TokenGenerator(lm).generate(Self.prompts, options: GenerationOptions(maxNewTokens: 8, topK: 1), using: &rng2)
        #expect(greedy.map(\.tokens) == topOne.map(\.tokens))
        // Argmax of full forwards, one token at a time, without any cache.
        let row = [3, 9, 4, 1, 7]
        var seq = row
        for _ in 0..<8 {
            let b = TokenBatch(ids: seq, batch: 1)
            let l = withoutGrad { try! lm.logits(for: b, positions: lm.positionIDs(for: b), cache: nil) }.scalars
            let last = Array(l[((seq.count - 1) * lm.vocabularySize)...])
            seq.append(last.indices.max { last[$0] < last[$1] }!)
        }
        #expect(greedy[0].tokens == Array(seq[row.count...]))
    }

    @Test func stopTokensEndRowsAndSameSeedSameTokens() throws {
        let lm = Self.qwen2()
        var rng = RandomState(seed: 3)
        let free = try TokenGenerator(lm).generate(Self.prompts, options: .greedy(maxNewTokens: 8), using: &rng)
        let stop = free[0].tokens[2]
        let stopped = try TokenGenerator(lm).generate(Self.prompts, options: .greedy(maxNewTokens: 8, stopTokens: [stop]), using: &rng)
        let firstStop = free[0].tokens.firstIndex(of: stop)!
        #expect(stopped[0].tokens == Array(free[0].tokens[...firstStop]))
        #expect(stopped[0].isTruncated == false)
        // Other rows are unaffected by row 0 finishing (unless they emit the stop token too).
        for r in 1..<3 where !free[r].tokens.contains(stop) { #expect(stopped[r].tokens == free[r].tokens && stopped[r].isTruncated) }

        let options = GenerationOptions(maxNewTokens: 10, temperature: 1, topP: 0.9)
        var a = RandomState(seed: 7), b = RandomState(seed: 7), c = RandomState(seed: 8)
        let x = try TokenGenerator(lm).generate(Self.prompts, options: options, using: &a)
        let y = try TokenGenerator(lm).generate(Self.prompts, options: options, using: &b)
        let z = try TokenGenerator(lm).generate(Self.prompts, options: options, using: &c)
        #expect(x == y)
        #expect(x.map(\.tokens) != z.map(\.tokens))
    }

    /// top-k keeps the k most likely; top-p keeps the shortest prefix reaching p (at least one).
    @Test func truncationRules() {
        let lp: [Float] = [0.5, 0.25, 0.15, 0.1].map { Foundation.log($0) }
        #expect(TokenSampler(options: GenerationOptions(topK: 2)).candidates(lp) == [0, 1])
        #expect(TokenSampler(options: GenerationOptions(topP: 0.7)).candidates(lp) == [0, 1])
        #expect(TokenSampler(options: GenerationOptions(topP: 0.75)).candidates(lp) == [0, 1])
        #expect(TokenSampler(options: GenerationOptions(topP: 0.76)).candidates(lp) == [0, 1, 2])
        #expect(TokenSampler(options: GenerationOptions(topP: 0.1)).candidates(lp) == [0])
        #expect(TokenSampler(options: GenerationOptions(topK: 3, topP: 0.6)).candidates(lp) == [0, 1])
        // Sampling never leaves the candidate set.
        let sampler = TokenSampler(options: GenerationOptions(topK: 2))
        var rng = RandomState(seed: 0)
        let logits: [Float] = [2, 1, 0.5, 0.1]
        let picks = (0..<200).map { _ in logits.withUnsafeBufferPointer { sampler.pick($0, rng: &rng).token } }
        #expect(Set(picks) == [0, 1])
    }

    @Test func badRequestsAreTypedErrors() {
        let lm = Self.qwen2()
        var rng = RandomState(seed: 0)
        let right = TokenBatch(ids: [1, 2, 0], attentionMask: [1, 1, 0], batch: 1)
        #expect(throws: GenerationError.rightPadded(row: 0)) {
            try TokenGenerator(lm).generate(right, options: .greedy(maxNewTokens: 2), using: &rng)
        }
        #expect(throws: GenerationError.self) {
            try TokenGenerator(lm).generate(Self.prompts, options: GenerationOptions(topP: 0), using: &rng)
        }
        #expect(throws: ModelInputError.tokenOutOfRange(40, vocabularySize: 40)) {
            try TokenGenerator(lm).generate(TokenBatch(ids: [40], batch: 1), options: .greedy(maxNewTokens: 2), using: &rng)
        }
    }
}
