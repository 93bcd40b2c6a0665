import Foundation

extension BPETokenizer {
    /// Qwen's split pattern as tokenizer.json files spell it.
    public static let qwenPattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// A tiktoken rank file (`base64-bytes rank` per line) plus special tokens, split with Qwen's pattern.
    public init(tiktokenRanks url: URL, specialTokens: [String: Int]) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw TokenizerError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        var encoder: [[UInt8]: Int] = [:]
        var seen = Set<Int>()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let data = Data(base64Encoded: String(parts[0])), let rank = Int(parts[1]), rank >= 0 else {
                throw TokenizerError.malformedRanks(line: n + 1, reason: "expected 'base64 rank'")
            }
            guard seen.insert(rank).inserted else { throw TokenizerError.malformedRanks(line: n + 1, reason: "rank \(rank) repeated") }
            guard encoder.updateValue(rank, forKey: Array(data)) == nil else {
                throw TokenizerError.malformedRanks(line: n + 1, reason: "token bytes repeated")
            }
        }
        for b in 0..<256 where encoder[[UInt8(b)]] == nil {
            throw TokenizerError.malformedRanks(line: 0, reason: "byte \(b) has no rank (every byte must be a token)")
        }
        self.init(encoder: encoder, merges: nil, wholePieceFirst: true, specials: specialTokens, nfc: false)
    }

    /// GPT-2's byte ↔ printable-character table used by byte-level tokenizer.json vocabularies.
    static let byteToCharacter: [Character] = {
        var bs = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) { bs.append(b); cs.append(256 + n); n += 1 }
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Character(Unicode.Scalar(UInt32(c))!) }
        return table
    }()

    static let characterToByte: [Character: UInt8] = {
        var m: [Character: UInt8] = [:]
        for (b, c) in byteToCharacter.enumerated() { m[c] = UInt8(b) }
        return m
    }()

    static func bytes(ofVocabularyString s: String, path: String) throws -> [UInt8] {
        try s.map { c in
            guard let b = characterToByte[c] else { throw TokenizerError.malformedJSON(path: path, reason: "vocabulary entry '\(s)' is not byte-level") }
            return b
        }
    }

    /// A Hugging Face `tokenizer.json` of the byte-level BPE kind with Qwen2's pre-tokenizer
    /// (`Split` on Qwen's pattern, then `ByteLevel` without its own regex) and an optional NFC
    /// normaliser; anything else is refused by name.
    public init(tokenizerJSON url: URL) throws {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw TokenizerError.unreadable(path: path, reason: error.localizedDescription) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: path, reason: "not a JSON object")
        }
        guard let model = root["model"] as? [String: Any] else { throw TokenizerError.malformedJSON(path: path, reason: "missing 'model'") }
        guard (model["type"] as? String) == "BPE" else { throw TokenizerError.unsupported("model type '\(model["type"] ?? "none")' (only BPE)") }
        if (model["byte_fallback"] as? Bool) == true { throw TokenizerError.unsupported("byte_fallback") }
        // Normaliser: none or NFC.
        var nfc = false
        if let norm = root["normalizer"] as? [String: Any] {
            guard (norm["type"] as? String) == "NFC" else { throw TokenizerError.unsupported("normalizer '\(norm["type"] ?? "?")' (only NFC)") }
            nfc = true
        }
        try Self.checkPreTokenizer(root["pre_tokenizer"])
        guard let vocab = model["vocab"] as? [String: Int] else { throw TokenizerError.malformedJSON(path: path, reason: "missing model.vocab") }
        var encoder: [[UInt8]: Int] = [:]
        encoder.reserveCapacity(vocab.count)
        for (s, id) in vocab { encoder[try Self.bytes(ofVocabularyString: s, path: path)] = id }
        guard let rawMerges = model["merges"] as? [Any] else { throw TokenizerError.malformedJSON(path: path, reason: "missing model.merges") }
        var merges: [Pair: Int] = [:]
        for (i, m) in rawMerges.enumerated() {
            let parts: [String]
            if let s = m as? String { parts = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
            else if let a = m as? [String] { parts = a }
            else { throw TokenizerError.malformedJSON(path: path, reason: "merge \(i) is neither \"a b\" nor [a, b]") }
            guard parts.count == 2 else { throw TokenizerError.malformedJSON(path: path, reason: "merge \(i) does not have two parts") }
            let pair = Pair(a: try Self.bytes(ofVocabularyString: parts[0], path: path), b: try Self.bytes(ofVocabularyString: parts[1], path: path))
            guard encoder[pair.a + pair.b] != nil else { throw TokenizerError.malformedJSON(path: path, reason: "merge \(i) makes a token outside the vocabulary") }
            if merges[pair] == nil { merges[pair] = i }
        }
        var specials: [String: Int] = [:]
        for t in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = t["content"] as? String, let id = t["id"] as? Int else {
                throw TokenizerError.malformedJSON(path: path, reason: "added token without content/id")
            }
            specials[content] = id
        }
        self.init(encoder: encoder, merges: merges, wholePieceFirst: (model["ignore_merges"] as? Bool) ?? false,
                  specials: specials, nfc: nfc)
    }

    static func checkPreTokenizer(_ value: Any?) throws {
        guard let p = value as? [String: Any], (p["type"] as? String) == "Sequence", let steps = p["pretokenizers"] as? [[String: Any]],
              steps.count == 2 else {
            throw TokenizerError.unsupported("pre_tokenizer other than Sequence[Split(Qwen pattern), ByteLevel]")
        }
        let split = steps[0], level = steps[1]
        let pattern = (split["pattern"] as? [String: Any])?["Regex"] as? String
        guard (split["type"] as? String) == "Split", pattern == qwenPattern, (split["behavior"] as? String) == "Isolated" else {
            throw TokenizerError.unsupported("Split pre-tokenizer with pattern \(pattern ?? "none") (only Qwen's, Isolated)")
        }
        guard (level["type"] as? String) == "ByteLevel", (level["add_prefix_space"] as? Bool) != true, (level["use_regex"] as? Bool) != true else {
            throw TokenizerError.unsupported("ByteLevel pre-tokenizer with add_prefix_space or use_regex")
        }
    }
}
