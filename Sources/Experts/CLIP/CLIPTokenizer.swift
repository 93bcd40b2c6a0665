import Foundation
import UniRLTensor

/// CLIP's byte-level BPE tokenizer, giving the ids of transformers' `CLIPTokenizer`
/// (models/clip/tokenization_clip.py): `<|startoftext|>` and `<|endoftext|>` taken whole from the
/// raw text, the rest cleaned and split by ``CLIPPreTokenizer``, each piece's UTF-8 bytes spelled in
/// GPT-2's byte alphabet with `</w>` on the last character, merged by rank, then wrapped in
/// `<|startoftext|>` … `<|endoftext|>` and truncated to ``maxLength`` (77); batches are padded on
/// the right with `<|endoftext|>` (transformers' pad token) and a 0 mask.
public struct CLIPTokenizer: Sendable {
    /// Token string → id.
    public let vocabulary: [String: Int]
    let idToToken: [String]
    /// (left id, right id) → (rank, merged id).
    let merges: [MergeKey: (rank: Int, merged: Int)]
    /// The merges in rank order, as `merges.txt` lists them.
    public let mergeList: [(String, String)]
    /// Id of each byte's character, without and with `</w>`.
    let byteIDs: [Int?], byteEndIDs: [Int?]
    public let bosID: Int, eosID: Int
    /// The padding id, `<|endoftext|>` as transformers' `CLIPTokenizer` sets it.
    public var padID: Int { eosID }
    /// Tokens per text, both special tokens included (CLIP's 77 positions).
    public var maxLength: Int

    struct MergeKey: Hashable, Sendable { let left: Int32, right: Int32 }

    public static let startOfText = "<|startoftext|>", endOfText = "<|endoftext|>"

    public var vocabularySize: Int { idToToken.count }

    /// A tokenizer from a vocabulary (token → id) and merges in rank order.
    public init(vocabulary: [String: Int], merges mergeList: [(String, String)], maxLength: Int = 77) throws(TokenizerError) {
        self.vocabulary = vocabulary
        guard let maxID = vocabulary.values.max(), vocabulary.values.allSatisfy({ $0 >= 0 }) else {
            throw .unsupported("CLIP vocabulary is empty or has negative ids")
        }
        var names = [String](repeating: "", count: maxID + 1)
        for (token, id) in vocabulary { names[id] = token }
        idToToken = names
        guard let bos = vocabulary[Self.startOfText], let eos = vocabulary[Self.endOfText] else {
            throw .unsupported("CLIP vocabulary without \(Self.startOfText) and \(Self.endOfText)")
        }
        bosID = bos; eosID = eos
        guard maxLength >= 2 else { throw .unsupported("maxLength \(maxLength) leaves no room for the two special tokens") }
        self.maxLength = maxLength
        var table: [MergeKey: (rank: Int, merged: Int)] = [:]
        for (rank, (a, b)) in mergeList.enumerated() {
            guard let l = vocabulary[a], let r = vocabulary[b], let m = vocabulary[a + b] else {
                throw .unsupported("merge \(rank + 1) '\(a) \(b)' names tokens outside the vocabulary")
            }
            let key = MergeKey(left: Int32(l), right: Int32(r))
            if table[key] == nil { table[key] = (rank, m) }
        }
        merges = table
        self.mergeList = mergeList
        byteIDs = ByteLevelAlphabet.characters.map { vocabulary[String($0)] }
        byteEndIDs = ByteLevelAlphabet.characters.map { vocabulary[String($0) + "</w>"] }
    }

    /// Reads `vocab.json` and `merges.txt` (transformers' layout; a `#version` first line is skipped).
    public init(vocabJSON: URL, mergesFile: URL, maxLength: Int = 77) throws(TokenizerError) {
        let vocabData: Data
        do { vocabData = try Data(readingFileAt: vocabJSON) } catch { throw .unreadable(path: vocabJSON.path, reason: "\(error)") }
        guard let object = (try? JSONSerialization.jsonObject(with: vocabData)) as? [String: Any] else {
            throw .malformedJSON(path: vocabJSON.path, reason: "not a JSON object of token → id")
        }
        var vocabulary: [String: Int] = [:]
        for (k, v) in object {
            guard let n = v as? NSNumber else { throw .malformedJSON(path: vocabJSON.path, reason: "id of '\(k)' is not a number") }
            vocabulary[k] = n.intValue
        }
        try self.init(vocabulary: vocabulary, merges: Self.readMerges(mergesFile), maxLength: maxLength)
    }

    /// CLIP's own vocabulary built from its merges alone, as OpenAI's and open_clip's
    /// `SimpleTokenizer` do: the 256 byte characters, the same with `</w>`, one token per merge,
    /// then `<|startoftext|>` and `<|endoftext|>`.
    public init(mergesFile: URL, maxLength: Int = 77) throws(TokenizerError) {
        let list = try Self.readMerges(mergesFile)
        try self.init(vocabulary: Self.vocabulary(fromMerges: list), merges: list, maxLength: maxLength)
    }

    /// Reads a Hugging Face `tokenizer.json` of CLIP's kind (BPE model with `end_of_word_suffix` `</w>`).
    public init(tokenizerJSON url: URL, maxLength: Int = 77) throws(TokenizerError) {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch { throw .unreadable(path: url.path, reason: "\(error)") }
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let model = top["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Any],
              let rawMerges = model["merges"] as? [Any] else {
            throw .malformedJSON(path: url.path, reason: "expected model.vocab and model.merges")
        }
        guard (model["type"] as? String) == "BPE", (model["end_of_word_suffix"] as? String) == "</w>" else {
            throw .unsupported("tokenizer.json is not CLIP's BPE with end_of_word_suffix '</w>'")
        }
        var vocabulary: [String: Int] = [:]
        for (k, v) in vocab {
            guard let n = v as? NSNumber else { throw .malformedJSON(path: url.path, reason: "id of '\(k)' is not a number") }
            vocabulary[k] = n.intValue
        }
        for added in (top["added_tokens"] as? [[String: Any]]) ?? [] {
            if let content = added["content"] as? String, let id = added["id"] as? NSNumber { vocabulary[content] = id.intValue }
        }
        var list: [(String, String)] = []
        for m in rawMerges {
            if let s = m as? String, let pair = Self.pair(s) { list.append(pair) }
            else if let p = m as? [String], p.count == 2 { list.append((p[0], p[1])) }
            else { throw .malformedJSON(path: url.path, reason: "merge \(list.count + 1) is neither 'a b' nor [a, b]") }
        }
        try self.init(vocabulary: vocabulary, merges: list, maxLength: maxLength)
    }

    static func pair(_ line: Substring) -> (String, String)? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
    }
    static func pair(_ line: String) -> (String, String)? { pair(Substring(line)) }

    static func readMerges(_ url: URL) throws(TokenizerError) -> [(String, String)] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch { throw .unreadable(path: url.path, reason: "\(error)") }
        var list: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            guard let p = pair(line) else { throw .malformedRanks(line: n + 1, reason: "a merge line is two tokens separated by a space") }
            list.append(p)
        }
        return list
    }

    /// The vocabulary OpenAI's CLIP derives from its merge list.
    public static func vocabulary(fromMerges list: [(String, String)]) -> [String: Int] {
        // GPT-2's `bytes_to_unicode()` order: the bytes that stand for themselves first, then the others.
        let printable = (0..<256).filter { (33...126).contains($0) || (161...172).contains($0) || (174...255).contains($0) }
        let order = printable + (0..<256).filter { !printable.contains($0) }
        var tokens = order.map { String(ByteLevelAlphabet.characters[$0]) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += list.map { $0.0 + $0.1 }
        tokens += [startOfText, endOfText]
        var v: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where v[t] == nil { v[t] = i }
        return v
    }

    /// BPE of one piece: its bytes as characters, `</w>` on the last, lowest-rank pair merged first
    /// (leftmost on ties), as the tokenizers library's BPE does. Characters outside the vocabulary
    /// become `<|endoftext|>` (the unknown token).
    func bpe(_ piece: String) -> [Int] {
        let bytes = Array(piece.utf8)
        var symbols = bytes.enumerated().map { i, b in (i == bytes.count - 1 ? byteEndIDs[Int(b)] : byteIDs[Int(b)]) ?? eosID }
        while symbols.count > 1 {
            var best = -1, bestRank = Int.max, bestMerged = 0
            for i in 0..<(symbols.count - 1) {
                if let m = merges[MergeKey(left: Int32(symbols[i]), right: Int32(symbols[i + 1]))], m.rank < bestRank {
                    best = i; bestRank = m.rank; bestMerged = m.merged
                }
            }
            if best < 0 { break }
            symbols[best] = bestMerged
            symbols.remove(at: best + 1)
        }
        return symbols
    }

    /// Token ids of `text` without the special tokens around it and without truncation.
    public func encodeOrdinary(_ text: String) -> [Int] {
        var ids: [Int] = []
        // Special tokens are taken whole from the raw text before any clean-up (tokenizers' added tokens).
        var rest = Substring(text)
        while !rest.isEmpty {
            let hits = [(Self.startOfText, bosID), (Self.endOfText, eosID)].compactMap { lit, id in
                rest.range(of: lit).map { ($0, id) }
            }
            guard let (range, id) = hits.min(by: { $0.0.lowerBound < $1.0.lowerBound }) else {
                ids += encodePlain(String(rest)); break
            }
            ids += encodePlain(String(rest[..<range.lowerBound]))
            ids.append(id)
            rest = rest[range.upperBound...]
        }
        return ids
    }

    func encodePlain(_ text: String) -> [Int] {
        guard !text.isEmpty else { return [] }
        return CLIPPreTokenizer.pieces(CLIPPreTokenizer.normalized(text)).flatMap { bpe($0) }
    }

    /// `<|startoftext|>` ids `<|endoftext|>`, the ids cut so the whole fits ``maxLength``
    /// (transformers' `tokenizer(text, truncation=True, max_length=77)`).
    public func encode(_ text: String) -> [Int] {
        [bosID] + encodeOrdinary(text).prefix(maxLength - 2) + [eosID]
    }

    /// A padded batch: ids and attention mask laid out [texts.count, length], right-padded with
    /// ``padID``; `length` is ``maxLength`` (transformers' `padding="max_length"`) or, with
    /// `padToLongest`, the longest row (`padding="longest"`).
    public func callAsFunction(_ texts: [String], padToLongest: Bool = false) -> (ids: [Int], attentionMask: [Int], length: Int) {
        let rows = texts.map(encode)
        let length = padToLongest ? (rows.map(\.count).max() ?? 0) : maxLength
        var ids: [Int] = [], mask: [Int] = []
        for row in rows {
            ids += row + Array(repeating: padID, count: length - row.count)
            mask += Array(repeating: 1, count: row.count) + Array(repeating: 0, count: length - row.count)
        }
        return (ids, mask, length)
    }

    /// The text of `ids`: tokens joined, `</w>` read as a space, specials kept (transformers' decode).
    public func decode(_ ids: [Int]) throws(TokenizerError) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0, id < idToToken.count, !idToToken[id].isEmpty else { throw .unknownToken(id) }
            let token = idToToken[id]
            if id == bosID || id == eosID { bytes += Array(token.utf8); continue }
            let word = token.hasSuffix("</w>") ? String(token.dropLast(4)) : token
            guard let b = ByteLevelAlphabet.bytes(of: word) else { throw .unknownToken(id) }
            bytes += b
            if token.hasSuffix("</w>") { bytes.append(UInt8(ascii: " ")) }
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
