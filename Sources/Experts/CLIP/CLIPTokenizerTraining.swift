import Foundation

extension CLIPTokenizer {
    /// Learns a small CLIP-style vocabulary from `texts`: the texts are cleaned and split as CLIP
    /// does (``CLIPPreTokenizer``), then the most frequent adjacent pair (ties broken by the pair's
    /// text, so the result is deterministic) is merged, repeatedly, until no pair occurs
    /// `minimumFrequency` times or `maximumMerges` merges are made. The vocabulary is laid out as
    /// OpenAI's (``vocabulary(fromMerges:)``): byte characters, the same with `</w>`, the merges,
    /// then the two special tokens, so any text still encodes.
    public static func train(on texts: [String], maximumMerges: Int = 2_000, minimumFrequency: Int = 2,
                             maxLength: Int = 77) throws(TokenizerError) -> CLIPTokenizer {
        var counts: [String: Int] = [:]
        for text in texts {
            for piece in CLIPPreTokenizer.pieces(CLIPPreTokenizer.normalized(text)) { counts[piece, default: 0] += 1 }
        }
        // Each distinct word as symbols: byte characters, `</w>` on the last.
        var words: [(symbols: [String], count: Int)] = counts.sorted { $0.key < $1.key }.map { word, n in
            let chars = Array(word.utf8).map { String(ByteLevelAlphabet.characters[Int($0)]) }
            return (chars.enumerated().map { $0.offset == chars.count - 1 ? $0.element + "</w>" : $0.element }, n)
        }
        var merges: [(String, String)] = []
        while merges.count < maximumMerges {
            var pairs: [String: (pair: (String, String), count: Int)] = [:]
            for w in words where w.symbols.count > 1 {
                for i in 0..<(w.symbols.count - 1) {
                    let key = w.symbols[i] + " " + w.symbols[i + 1]
                    pairs[key, default: ((w.symbols[i], w.symbols[i + 1]), 0)].count += w.count
                }
            }
            guard let best = pairs.max(by: { $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key > $1.key) }),
                  best.value.count >= minimumFrequency else { break }
            let (a, b) = best.value.pair
            merges.append((a, b))
            for k in words.indices where words[k].symbols.count > 1 {
                var s = words[k].symbols, i = 0
                while i < s.count - 1 {
                    if s[i] == a && s[i + 1] == b { s[i] = a + b; s.remove(at: i + 1) }
                    i += 1
                }
                words[k].symbols = s
            }
        }
        return try CLIPTokenizer(vocabulary: vocabulary(fromMerges: merges), merges: merges, maxLength: maxLength)
    }
}
