import Foundation
import Testing
import UniRLExperts

/// ``BPETrainer``: deterministic merges, a `tokenizer.json` our loader reads back, lossless
/// round trips, added tokens kept whole.
@Suite struct BPETrainerTests {
    static let corpus = [
        "a red circle to the left of a blue square", "three green triangles", "How many red circles are there?",
        "What is 7 + 5?", "<think>7+5=12</think><answer>12</answer>", "a photo of two blue squares",
        "Is there a yellow circle?", "the red circle is above the blue square", "What colour is the square?",
    ]
    static let added = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<answer>", "</answer>"]

    @Test func mergesAreDeterministicAndMostFrequentFirst() {
        let a = BPETrainer(vocabularySize: 300).train(Self.corpus, addedTokens: Self.added)
        let b = BPETrainer(vocabularySize: 300).train(Self.corpus.reversed(), addedTokens: Self.added)
        #expect(a == b)
        #expect(a.tokens.count > 256 && a.tokens.count <= 300)
        // " r"+"e"… : the first merge is the most frequent adjacent byte pair over all pieces.
        #expect(a.merges.count == a.tokens.count - 256)
        let first = a.tokens[256]
        #expect(first.count == 2)
        // Digits never merge (Qwen's split isolates them), and no merge crosses a space-led piece.
        for t in a.tokens.dropFirst(256) { #expect(!t.contains { (48...57).contains($0) } || t.count == 1) }
    }

    @Test func tokenizerJSONLoadsAndRoundTrips() throws {
        let trained = BPETrainer(vocabularySize: 320).train(Self.corpus, addedTokens: Self.added)
        let tokenizer = try trained.tokenizer()
        #expect(tokenizer.vocabularySize == trained.vocabularySize)
        for (i, token) in Self.added.enumerated() { #expect(tokenizer.specialID(token) == trained.tokens.count + i) }
        let samples = Self.corpus + ["unseen words: zebra × 42 — ünïcödé ✓ 🙂", "<|im_start|>user\nhi<|im_end|>\n", ""]
        for s in samples {
            let ids = tokenizer.encode(s)
            #expect(try tokenizer.decode(ids) == s)
        }
        // A corpus word is one token after enough merges; specials are single ids.
        #expect(tokenizer.encode("<think>").count == 1)
        #expect(tokenizer.encode(" circle").count < " circle".utf8.count)
        #expect(tokenizer.encode("12") == [Int(UInt8(ascii: "1")), Int(UInt8(ascii: "2"))])
    }

    @Test func plainAddedTokensAreWrittenAsNonSpecial() throws {
        var trained = BPETrainer(vocabularySize: 260).train(Self.corpus, addedTokens: Self.added)
        trained.plainAddedTokens = ["<think>"]
        let root = try #require(JSONSerialization.jsonObject(with: trained.tokenizerJSON()) as? [String: Any])
        let added = try #require(root["added_tokens"] as? [[String: Any]])
        #expect(added.first { $0["content"] as? String == "<think>" }?["special"] as? Bool == false)
        #expect(added.first { $0["content"] as? String == "<|im_end|>" }?["special"] as? Bool == true)
        let config = HFTokenizerConfig.qwen2(trained, eos: "<|im_end|>", pad: "<|endoftext|>")
        #expect((config["added_tokens_decoder"] as? [String: Any])?.count == Self.added.count)
    }

    @Test func trainingStopsWhenNoPairIsFrequentEnough() {
        let trained = BPETrainer(vocabularySize: 10_000, minimumFrequency: 2).train(["abab", "cd"])
        // "ab" occurs twice in "abab" → merged; then "ab ab" → "abab" occurs once: stop.
        #expect(trained.tokens.count == 257)
        #expect(trained.tokens[256] == Array("ab".utf8))
    }
}
