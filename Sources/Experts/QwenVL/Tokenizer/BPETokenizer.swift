import Foundation

/// Byte-level byte-pair encoding as Qwen uses it: special tokens split out first, the rest cut by
/// ``QwenPreTokenizer``, each piece's UTF-8 bytes merged pairwise by priority until no known pair
/// remains (tiktoken's `byte_pair_merge`, openai/tiktoken src/lib.rs), decoding back to bytes.
///
/// Loads tiktoken rank files (`base64-bytes rank` per line, rank = id, merge priority = rank of
/// the merged bytes) and Hugging Face `tokenizer.json` files of the byte-level BPE kind (merge
/// priority = position in `merges`, in either the `"a b"` or the `["a", "b"]` format).
public struct BPETokenizer: Sendable {
    struct Pair: Hashable, Sendable { var a: [UInt8]; var b: [UInt8] }

    /// Token bytes → id.
    let encoder: [[UInt8]: Int]
    /// Id → token bytes (regular and special).
    let decoder: [Int: [UInt8]]
    /// Merge priorities of a tokenizer.json (nil: tiktoken, priority = rank of the merged bytes).
    let merges: [Pair: Int]?
    /// Whether a piece found whole in the vocabulary skips merging (tiktoken always; HF's `ignore_merges`).
    let wholePieceFirst: Bool
    /// Special and added tokens, longest first (so the longest wins where two start together).
    public let specialTokens: [(text: String, id: Int)]
    let nfc: Bool

    init(encoder: [[UInt8]: Int], merges: [Pair: Int]?, wholePieceFirst: Bool, specials: [String: Int], nfc: Bool) {
        self.encoder = encoder
        var decoder: [Int: [UInt8]] = [:]
        decoder.reserveCapacity(encoder.count + specials.count)
        for (bytes, id) in encoder { decoder[id] = bytes }
        for (text, id) in specials { decoder[id] = Array(text.utf8) }
        self.decoder = decoder
        self.merges = merges
        self.wholePieceFirst = wholePieceFirst
        specialTokens = specials.map { ($0.key, $0.value) }.sorted { $0.text.utf8.count > $1.text.utf8.count || ($0.text.utf8.count == $1.text.utf8.count && $0.text < $1.text) }
        self.nfc = nfc
    }

    /// The number of ids (regular + special).
    public var vocabularySize: Int { decoder.count }

    /// The id of a special token, e.g. `"<|im_end|>"`.
    public func specialID(_ text: String) -> Int? { specialTokens.first { $0.text == text }?.id }

    // MARK: encoding

    /// Ids of `text`; special tokens written in the text become their ids (tiktoken's
    /// `allowed_special="all"`) unless `allowSpecial` is false, when they are encoded as text.
    public func encode(_ text: String, allowSpecial: Bool = true) -> [Int] {
        let text = nfc ? text.precomposedStringWithCanonicalMapping : text
        var out: [Int] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            guard allowSpecial, let (range, id) = firstSpecial(in: rest) else { encodeOrdinary(rest, into: &out); break }
            encodeOrdinary(rest[..<range.lowerBound], into: &out)
            out.append(id)
            rest = rest[range.upperBound...]
        }
        return out
    }

    func firstSpecial(in s: Substring) -> (Range<Substring.Index>, Int)? {
        var best: (Range<Substring.Index>, Int)?
        for (text, id) in specialTokens {
            if let r = s.range(of: text), best == nil || r.lowerBound < best!.0.lowerBound { best = (r, id) }
        }
        return best
    }

    func encodeOrdinary(_ text: Substring, into out: inout [Int]) {
        guard !text.isEmpty else { return }
        for piece in QwenPreTokenizer.split(String(text)) {
            let bytes = Array(String(piece).utf8)
            if wholePieceFirst, let id = encoder[bytes] { out.append(id); continue }
            for part in merge(bytes) {
                // Every single byte is a token, so every merged part is found.
                out.append(encoder[part]!)
            }
        }
    }

    func priority(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int? {
        if let merges { return merges[Pair(a: Array(a), b: Array(b))] }
        return encoder[Array(a) + Array(b)]
    }

    /// Lowest-priority-first pair merging over the bytes of one piece.
    func merge(_ bytes: [UInt8]) -> [[UInt8]] {
        var bounds = Array(0...bytes.count)          // part k is bytes[bounds[k]..<bounds[k+1]]
        func rank(_ k: Int) -> Int? {
            guard k + 2 < bounds.count else { return nil }
            return priority(bytes[bounds[k]..<bounds[k + 1]], bytes[bounds[k + 1]..<bounds[k + 2]])
        }
        var ranks = (0..<(bounds.count - 1)).map(rank)
        while true {
            var best = -1, bestRank = Int.max
            for (k, r) in ranks.enumerated() { if let r, r < bestRank { best = k; bestRank = r } }
            guard best >= 0 else { break }
            bounds.remove(at: best + 1)
            ranks.remove(at: best + 1)
            ranks[best] = rank(best)
            if best > 0 { ranks[best - 1] = rank(best - 1) }
        }
        return (0..<(bounds.count - 1)).map { Array(bytes[bounds[$0]..<bounds[$0 + 1]]) }
    }

    // MARK: decoding

    /// The bytes of `ids`.
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            guard let b = decoder[id] else { throw TokenizerError.unknownToken(id) }
            out += b
        }
        return out
    }

    /// The text of `ids`; byte sequences that are not valid UTF-8 (a cut multi-byte character)
    /// become U+FFFD, as tiktoken's `decode(errors="replace")`.
    public func decode(_ ids: [Int]) throws -> String { String(decoding: try decodeBytes(ids), as: UTF8.self) }
}
