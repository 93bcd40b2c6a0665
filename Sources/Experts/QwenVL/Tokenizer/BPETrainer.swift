import Foundation

/// Trains a byte-level BPE vocabulary on a corpus, as Hugging Face `tokenizers`' `BpeTrainer`
/// does for GPT-2 / Qwen2-style tokenizers: texts are split by a ``SplitPattern`` (no merge ever
/// crosses a piece, so with Qwen's pattern digits stay single tokens), every piece starts as its
/// bytes, and the most frequent adjacent pair is merged until the vocabulary is full or no pair
/// occurs ``minimumFrequency`` times.
///
/// Deterministic: ties between equally frequent pairs go to the pair whose (left bytes, right
/// bytes) sort first, so the same corpus always gives the same merges in the same order.
///
/// ```swift
/// let trained = BPETrainer(vocabularySize: 600).train(corpus, addedTokens: ["<|endoftext|>", "<|im_start|>"])
/// try trained.tokenizerJSON().write(to: folder.appendingPathComponent("tokenizer.json"))
/// let tokenizer = try trained.tokenizer()        // the same file, through our loader
/// ```
public struct BPETrainer: Sendable {
    /// Regular tokens at most: the 256 bytes plus the merges (added tokens come on top).
    public var vocabularySize: Int
    /// A pair must occur at least this often (counting piece frequencies) to be merged.
    public var minimumFrequency: Int
    public var pattern: SplitPattern

    public init(vocabularySize: Int, minimumFrequency: Int = 2, pattern: SplitPattern = .qwen2) {
        self.vocabularySize = vocabularySize
        self.minimumFrequency = minimumFrequency
        self.pattern = pattern
    }

    /// The vocabulary of `corpus`. Occurrences of `addedTokens` in the texts are cut out before
    /// counting (they are whole tokens of their own); the added tokens get the ids after the
    /// regular tokens, in the order given.
    public func train(_ corpus: [String], addedTokens: [String] = []) -> TrainedBPE {
        // Frequency of every piece's bytes.
        var counts: [[UInt8]: Int] = [:]
        for text in corpus {
            for segment in Self.segments(of: text, without: addedTokens) {
                let utf8 = Array(segment.utf8)
                for range in pattern.pieces(of: segment) { counts[Array(utf8[range]), default: 0] += 1 }
            }
        }
        // Each distinct piece as a list of token ids; ids 0…255 are the bytes.
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var words: [(ids: [Int], count: Int)] = counts.keys.sorted { $0.lexicographicallyPrecedes($1) }
            .map { bytes in (bytes.map(Int.init), counts[bytes] ?? 0) }
        var merges: [(Int, Int)] = []
        while tokens.count < vocabularySize {
            var pairCounts: [Pair: Int] = [:]
            for w in words where w.ids.count > 1 {
                for i in 0..<(w.ids.count - 1) { pairCounts[Pair(left: w.ids[i], right: w.ids[i + 1]), default: 0] += w.count }
            }
            // The most frequent pair; ties to the lexicographically first (left bytes, right bytes).
            var best: (pair: Pair, count: Int)?
            for (pair, count) in pairCounts where count >= minimumFrequency {
                guard let b = best else { best = (pair, count); continue }
                if count > b.count || (count == b.count && Self.precedes(pair, b.pair, tokens)) { best = (pair, count) }
            }
            guard let chosen = best?.pair else { break }
            let merged = tokens.count
            tokens.append(tokens[chosen.left] + tokens[chosen.right])
            merges.append((chosen.left, chosen.right))
            for w in words.indices where words[w].ids.count > 1 {
                var ids = words[w].ids, out: [Int] = [], i = 0
                out.reserveCapacity(ids.count)
                while i < ids.count {
                    if i + 1 < ids.count, ids[i] == chosen.left, ids[i + 1] == chosen.right { out.append(merged); i += 2 }
                    else { out.append(ids[i]); i += 1 }
                }
                ids = out
                words[w].ids = ids
            }
        }
        return TrainedBPE(tokens: tokens, merges: merges, addedTokens: addedTokens, pattern: pattern, plainAddedTokens: [])
    }

    struct Pair: Hashable { var left: Int, right: Int }

    static func precedes(_ a: Pair, _ b: Pair, _ tokens: [[UInt8]]) -> Bool {
        if tokens[a.left] != tokens[b.left] { return tokens[a.left].lexicographicallyPrecedes(tokens[b.left]) }
        return tokens[a.right].lexicographicallyPrecedes(tokens[b.right])
    }

    /// `text` split around every occurrence of the added tokens (longest first), the tokens dropped.
    static func segments(of text: String, without addedTokens: [String]) -> [String] {
        var parts = [text]
        for token in addedTokens.sorted(by: { $0.count > $1.count }) where !token.isEmpty {
            parts = parts.flatMap { $0.components(separatedBy: token) }
        }
        return parts.filter { !$0.isEmpty }
    }
}

/// A trained byte-level BPE vocabulary: ids 0…255 are the bytes, then one token per merge in
/// merge order, then the added tokens.
public struct TrainedBPE: Sendable, Equatable {
    /// The bytes of every regular token, by id.
    public let tokens: [[UInt8]]
    /// Merge rules in priority order, as (left id, right id); merge i makes token 256 + i.
    public let merges: [(Int, Int)]
    /// Added (special) tokens; token i has id `tokens.count + i`.
    public let addedTokens: [String]
    public let pattern: SplitPattern
    /// Added tokens written with `"special": false` (kept by Hugging Face's `skip_special_tokens`
    /// decoding, as Qwen3 does with `<think>`); the others are special.
    public var plainAddedTokens: Set<String> = []

    public static func == (a: TrainedBPE, b: TrainedBPE) -> Bool {
        a.tokens == b.tokens && a.merges.elementsEqual(b.merges, by: { $0 == $1 }) && a.addedTokens == b.addedTokens
            && a.pattern == b.pattern && a.plainAddedTokens == b.plainAddedTokens
    }

    /// Regular and added tokens together.
    public var vocabularySize: Int { tokens.count + addedTokens.count }

    /// The id of an added token.
    public func addedTokenID(_ token: String) -> Int? { addedTokens.firstIndex(of: token).map { tokens.count + $0 } }

    /// A Hugging Face `tokenizer.json` in Qwen2's form: NFC normaliser, pre-tokenizer
    /// `Sequence[Split(pattern, Isolated), ByteLevel(use_regex: false)]`, BPE model with the
    /// vocabulary in GPT-2's byte alphabet and `[left, right]` merges, ByteLevel decoder, and the
    /// added tokens (none stripped or normalised; `special` unless in ``plainAddedTokens``).
    public func tokenizerJSON() throws -> Data {
        var vocab: [String: Int] = [:]
        for (id, bytes) in tokens.enumerated() { vocab[ByteLevelAlphabet.string(of: bytes)] = id }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]
        let root: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": addedTokens.enumerated().map { i, content -> [String: Any] in
                ["id": tokens.count + i, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
                 "normalized": false, "special": !plainAddedTokens.contains(content)]
            },
            "normalizer": ["type": "NFC"],
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": pattern.regex], "behavior": "Isolated", "invert": false],
                byteLevel,
            ]],
            "post_processor": byteLevel,
            "decoder": byteLevel,
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab,
                "merges": merges.map { [ByteLevelAlphabet.string(of: tokens[$0.0]), ByteLevelAlphabet.string(of: tokens[$0.1])] },
            ] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// The tokenizer, read back from ``tokenizerJSON()`` by our `tokenizer.json` loader.
    public func tokenizer() throws -> BPETokenizer { try BPETokenizer(tokenizerJSON: tokenizerJSON()) }
}
