import Foundation
import UniRLTensor

extension BPETokenizer {
    // MARK: tiktoken rank files

    /// A tiktoken rank file (`base64-bytes rank` per line; rank = id = merge priority), e.g.
    /// dashscope's `qwen.tiktoken`, with the given special tokens.
    ///
    /// ```swift
    /// let qwen = try BPETokenizer(tiktokenRanks: url, specialTokens: QwenTokenizer.specialTokens, pattern: .qwen2)
    /// ```
    public init(tiktokenRanks url: URL, specialTokens: [String: Int], pattern: SplitPattern = .qwen2,
                normalization: Normalization = .none) throws {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw TokenizerError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(tiktokenRanks: data, specialTokens: specialTokens, pattern: pattern, normalization: normalization)
    }

    /// A tiktoken rank file's contents.
    public init(tiktokenRanks data: Data, specialTokens: [String: Int], pattern: SplitPattern = .qwen2,
                normalization: Normalization = .none) throws {
        var entries: [(bytes: [UInt8], id: Int)] = []
        entries.reserveCapacity(data.count / 16)
        var ranks = Set<Int>()
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = line[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty { continue }
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 2 else { throw TokenizerError.malformedRanks(line: lineNumber, reason: "expected 'base64 rank'") }
            guard let bytes = Base64.decode(fields[0]) else {
                throw TokenizerError.malformedRanks(line: lineNumber, reason: "invalid base64")
            }
            guard let rank = Int(String(decoding: fields[1], as: UTF8.self)), rank >= 0, rank < Int(Int32.max) else {
                throw TokenizerError.malformedRanks(line: lineNumber, reason: "rank is not a non-negative integer")
            }
            guard !bytes.isEmpty else { throw TokenizerError.malformedRanks(line: lineNumber, reason: "empty token") }
            guard ranks.insert(rank).inserted else {
                throw TokenizerError.malformedRanks(line: lineNumber, reason: "rank \(rank) repeated")
            }
            entries.append((bytes, rank))
        }
        let vocabulary = ByteSequenceTable(entries)
        if let d = vocabulary.duplicate {
            throw TokenizerError.malformedRanks(line: 0, reason: "token bytes \(d.bytes) repeated (ranks \(d.ids.0) and \(d.ids.1))")
        }
        for (text, id) in specialTokens where ranks.contains(id) {
            throw TokenizerError.unsupported("special token \(text) reuses rank \(id) of a regular token")
        }
        try self.init(vocabulary: vocabulary, merges: .ranks, wholePieceFirst: true, specialTokens: specialTokens,
                      pattern: pattern, normalization: normalization)
    }

    // MARK: tokenizer.json

    /// A Hugging Face `tokenizer.json` of the byte-level BPE kind, as Qwen2 / Qwen2.5(-VL) ship:
    /// `model` BPE (merges as `"a b"` strings or `["a", "b"]` arrays, optional `ignore_merges`),
    /// normaliser none or NFC, pre-tokenizer `Sequence[Split(pattern, Isolated), ByteLevel]` with one
    /// of the ``SplitPattern``s, decoder none or `ByteLevel`, and `added_tokens` (matched on the
    /// raw text, longest first). Encoding never adds post-processor tokens (`add_special_tokens=False`).
    /// Other features are refused with ``TokenizerError/unsupported(_:)`` naming them.
    public init(tokenizerJSON url: URL) throws {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw TokenizerError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(tokenizerJSON: data, path: url.path)
    }

    /// A `tokenizer.json`'s contents; `path` names it in errors.
    public init(tokenizerJSON data: Data, path: String = "tokenizer.json") throws {
        func malformed(_ reason: String) -> TokenizerError { .malformedJSON(path: path, reason: reason) }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw malformed("not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any] else { throw malformed("not a JSON object") }
        guard let model = root["model"] as? [String: Any] else { throw malformed("missing 'model'") }
        guard let type = model["type"] as? String else { throw malformed("missing 'model.type'") }
        guard type == "BPE" else { throw TokenizerError.unsupported("model type '\(type)' (only BPE)") }
        if (model["byte_fallback"] as? Bool) == true { throw TokenizerError.unsupported("BPE byte_fallback") }
        if let dropout = model["dropout"] as? Double, dropout > 0 { throw TokenizerError.unsupported("BPE dropout") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = model[key] as? String, !s.isEmpty { throw TokenizerError.unsupported("BPE \(key) '\(s)'") }
        }
        let normalization = try Self.normalization(root["normalizer"])
        let pattern = try Self.splitPattern(root["pre_tokenizer"])
        if let decoder = root["decoder"] as? [String: Any] {
            guard (decoder["type"] as? String) == "ByteLevel" else {
                throw TokenizerError.unsupported("decoder '\(decoder["type"] ?? "?")' (only ByteLevel)")
            }
        }

        guard let vocab = model["vocab"] as? [String: Any] else { throw malformed("missing 'model.vocab'") }
        var entries: [(bytes: [UInt8], id: Int)] = []
        entries.reserveCapacity(vocab.count)
        var ids = Set<Int>()
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0, id < Int(Int32.max) else {
                throw malformed("vocabulary entry '\(token)' has no valid id")
            }
            guard ids.insert(id).inserted else { throw malformed("id \(id) repeated in the vocabulary") }
            guard let bytes = ByteLevelAlphabet.bytes(of: token) else { throw malformed("vocabulary entry '\(token)' is not byte-level") }
            entries.append((bytes, id))
        }
        let vocabulary = ByteSequenceTable(entries)
        if let d = vocabulary.duplicate { throw malformed("token bytes \(d.bytes) repeated (ids \(d.ids.0) and \(d.ids.1))") }

        guard let rawMerges = model["merges"] as? [Any] else { throw malformed("missing 'model.merges'") }
        var rules: [(left: Int, right: Int, merged: Int)] = []
        rules.reserveCapacity(rawMerges.count)
        for (i, merge) in rawMerges.enumerated() {
            let parts: [String]
            if let s = merge as? String { parts = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
            else if let a = merge as? [Any], let strings = a as? [String] { parts = strings }
            else { throw malformed("merge \(i) is neither \"a b\" nor [\"a\", \"b\"]") }
            guard parts.count == 2 else { throw malformed("merge \(i) does not have two parts") }
            guard let a = ByteLevelAlphabet.bytes(of: parts[0]), let b = ByteLevelAlphabet.bytes(of: parts[1]),
                  let left = vocabulary.id(of: a), let right = vocabulary.id(of: b) else {
                throw malformed("merge \(i) ('\(parts[0])', '\(parts[1])') has a part outside the vocabulary")
            }
            guard let merged = vocabulary.id(of: a + b) else {
                throw malformed("merge \(i) ('\(parts[0])', '\(parts[1])') makes a token outside the vocabulary")
            }
            rules.append((left, right, merged))
        }

        var specials: [String: Int] = [:]
        for (i, value) in (root["added_tokens"] as? [Any] ?? []).enumerated() {
            guard let token = value as? [String: Any], let content = token["content"] as? String,
                  let id = token["id"] as? Int, id >= 0, id < Int(Int32.max) else {
                throw malformed("added token \(i) without content or id")
            }
            for flag in ["single_word", "lstrip", "rstrip"] where (token[flag] as? Bool) == true {
                throw TokenizerError.unsupported("added token '\(content)' with \(flag)")
            }
            if let existing = vocabulary.id(of: Array(content.utf8)), existing == id { continue }   // already a regular token
            specials[content] = id
        }
        try self.init(vocabulary: vocabulary, merges: .rules(MergeTable(rules)),
                      wholePieceFirst: (model["ignore_merges"] as? Bool) ?? false,
                      specialTokens: specials, pattern: pattern, normalization: normalization)
    }

    static func normalization(_ value: Any?) throws -> Normalization {
        guard let value, !(value is NSNull) else { return .none }
        guard let n = value as? [String: Any], let type = n["type"] as? String else {
            throw TokenizerError.unsupported("normalizer \(value)")
        }
        switch type {
        case "NFC": return .nfc
        case "Sequence":
            let steps = n["normalizers"] as? [Any] ?? []
            if steps.isEmpty { return .none }
            if steps.count == 1 { return try normalization(steps[0]) }
            throw TokenizerError.unsupported("normalizer Sequence of \(steps.count) steps")
        default: throw TokenizerError.unsupported("normalizer '\(type)' (only NFC)")
        }
    }

    static func splitPattern(_ value: Any?) throws -> SplitPattern {
        let expected = "pre_tokenizer Sequence[Split(pattern, Isolated), ByteLevel(use_regex: false)]"
        guard let p = value as? [String: Any], let type = p["type"] as? String else {
            throw TokenizerError.unsupported("a missing pre_tokenizer (expected \(expected))")
        }
        guard type == "Sequence", let steps = p["pretokenizers"] as? [[String: Any]], steps.count == 2 else {
            throw TokenizerError.unsupported("pre_tokenizer '\(type)' (expected \(expected))")
        }
        let split = steps[0], level = steps[1]
        guard (split["type"] as? String) == "Split", (level["type"] as? String) == "ByteLevel" else {
            throw TokenizerError.unsupported(
                "pre_tokenizer Sequence[\(split["type"] ?? "?"), \(level["type"] ?? "?")] (expected \(expected))")
        }
        guard let regex = (split["pattern"] as? [String: Any])?["Regex"] as? String else {
            throw TokenizerError.unsupported("Split pre-tokenizer without a Regex pattern")
        }
        guard let pattern = SplitPattern(regex: regex) else { throw TokenizerError.unsupported("Split pattern \(regex)") }
        guard (split["behavior"] as? String) == "Isolated", (split["invert"] as? Bool) != true else {
            throw TokenizerError.unsupported("Split behavior '\(split["behavior"] ?? "?")' (only Isolated, not inverted)")
        }
        if (level["add_prefix_space"] as? Bool) == true { throw TokenizerError.unsupported("ByteLevel add_prefix_space") }
        if (level["use_regex"] as? Bool) != false { throw TokenizerError.unsupported("ByteLevel use_regex (GPT-2's split)") }
        return pattern
    }
}

/// GPT-2's byte ↔ printable-character table of byte-level vocabularies (openai/gpt-2
/// src/encoder.py `bytes_to_unicode`): bytes 33–126, 161–172 and 174–255 stand for themselves,
/// the other 68 for U+0100 onwards in order.
public enum ByteLevelAlphabet {
    public static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(extra)!
                extra += 1
            }
        }
        return table
    }()

    static let byteOfScalar: [UInt32: UInt8] = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($1.value, UInt8($0)) })

    /// The bytes a vocabulary string stands for, or nil if a character is outside the alphabet.
    public static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = byteOfScalar[s.value] else { return nil }
            out.append(b)
        }
        return out
    }

    /// The vocabulary string of `bytes`.
    public static func string(of bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(characters[Int(b)]) }
        return String(s)
    }
}

/// Standard base64 (RFC 4648, with padding) without Foundation's per-line objects.
enum Base64 {
    static let values: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    static func decode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 4 == 0, !text.isEmpty else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var acc: UInt32 = 0, n = 0, padding = 0
        for c in text {
            if c == UInt8(ascii: "=") { padding += 1; acc <<= 6; n += 1 }
            else {
                guard padding == 0 else { return nil }
                let v = values[Int(c)]
                guard v >= 0 else { return nil }
                acc = acc << 6 | UInt32(v); n += 1
            }
            if n == 4 {
                out.append(UInt8(truncatingIfNeeded: acc >> 16))
                out.append(UInt8(truncatingIfNeeded: acc >> 8))
                out.append(UInt8(truncatingIfNeeded: acc))
                acc = 0; n = 0
            }
        }
        guard padding <= 2 else { return nil }
        out.removeLast(padding)
        return out
    }
}
