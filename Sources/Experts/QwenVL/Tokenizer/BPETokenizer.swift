import Foundation

/// Byte-level byte-pair encoding as Qwen (and GPT-4) use it.
///
/// Encoding: special and added tokens written in the text are split out first (longest match),
/// the rest is normalised if the file asks for it (NFC), cut into pieces by a ``SplitPattern``, and
/// each piece's UTF-8 bytes start as one part per byte; the adjacent pair of parts with the lowest
/// merge priority is merged, leftmost first, until no pair merges (openai/tiktoken src/lib.rs
/// `byte_pair_merge`; huggingface/tokenizers tokenizers/src/models/bpe/word.rs `merge_all`).
///
/// Two vocabularies load:
/// - tiktoken rank files (``init(tiktokenRanks:specialTokens:pattern:normalization:)``): the
///   priority of merging parts `a`, `b` is the rank (= id) of the bytes `a + b`, and a piece that is
///   itself a token is taken whole;
/// - Hugging Face `tokenizer.json` files of the byte-level BPE kind (``init(tokenizerJSON:)``):
///   the priority is the position of the pair in `merges`.
///
/// ```swift
/// let tokenizer = try BPETokenizer(tiktokenRanks: url, specialTokens: QwenTokenizer.specialTokens, pattern: .qwen2)
/// let ids = tokenizer.encode("Hello<|im_end|>")          // [9707, 151645]
/// let text = try tokenizer.decode(ids)                    // "Hello<|im_end|>"
/// ```
///
/// The value is immutable and `Sendable`; ``encodeBatch(_:allowedSpecial:threads:)`` encodes
/// strings in parallel.
public struct BPETokenizer: Sendable {
    /// How the vocabulary says which pairs merge.
    enum Merges: Sendable {
        /// tiktoken: priority = id of the concatenated bytes.
        case ranks
        /// tokenizer.json: explicit rules.
        case rules(MergeTable)
    }

    /// Unicode normalisation applied to the text between special tokens before splitting.
    public enum Normalization: String, Sendable {
        case none
        /// Canonical composition (NFC), as Qwen2's `tokenizer.json` asks.
        case nfc
    }

    /// Which special tokens written in the text become their ids; the others are encoded as
    /// ordinary text (tiktoken's `allowed_special` without the `disallowed_special` check).
    public struct AllowedSpecial: Sendable {
        let set: Set<String>?
        let any: Bool
        /// Every special and added token (tiktoken's `allowed_special="all"`, what HF does).
        public static let all = AllowedSpecial(set: nil, any: true)
        /// None: the text is encoded as ordinary text (tiktoken's `encode_ordinary`).
        public static let none = AllowedSpecial(set: nil, any: false)
        /// Only these.
        public static func only(_ tokens: Set<String>) -> AllowedSpecial { AllowedSpecial(set: tokens, any: true) }
    }

    /// Regular tokens' bytes → id.
    let vocabulary: ByteSequenceTable
    /// Special and added tokens' bytes → id.
    let specials: ByteSequenceTable
    let merges: Merges
    /// Id of each single byte (the starting parts).
    let byteIDs: [Int]
    /// Whether a piece found whole in the vocabulary skips merging (tiktoken always; HF's `ignore_merges`).
    let wholePieceFirst: Bool
    /// Id → its bytes, for decoding (regular and special).
    let decoder: [[UInt8]?]
    /// Lengths of the special tokens, longest first, and which (first, second) bytes start one.
    let specialLengths: [Int]
    let specialStarts: [Bool]
    /// The special and added tokens, by text.
    public let specialTokens: [String: Int]
    /// The pre-tokenizer's split.
    public let pattern: SplitPattern
    /// The normalisation applied before splitting.
    public let normalization: Normalization

    init(vocabulary: ByteSequenceTable, merges: Merges, wholePieceFirst: Bool, specialTokens: [String: Int],
         pattern: SplitPattern, normalization: Normalization) throws {
        self.vocabulary = vocabulary
        self.merges = merges
        self.wholePieceFirst = wholePieceFirst
        self.specialTokens = specialTokens
        self.pattern = pattern
        self.normalization = normalization
        var byteIDs = [Int](repeating: -1, count: 256)
        for b in 0..<256 {
            guard let id = vocabulary.id(of: [UInt8(b)]) else {
                throw TokenizerError.unsupported("a byte-level vocabulary without a token for byte \(b)")
            }
            byteIDs[b] = id
        }
        self.byteIDs = byteIDs
        let entries = specialTokens.map { (bytes: Array($0.key.utf8), id: $0.value) }
        if let empty = entries.first(where: { $0.bytes.isEmpty }) {
            throw TokenizerError.unsupported("an empty special token (id \(empty.id))")
        }
        specials = ByteSequenceTable(entries)
        specialLengths = Set(entries.map(\.bytes.count)).sorted(by: >)
        var starts = [Bool](repeating: false, count: 256 * 257)
        for e in entries { starts[Int(e.bytes[0]) * 257 + (e.bytes.count > 1 ? Int(e.bytes[1]) : 256)] = true }
        specialStarts = starts
        var maxID = -1
        vocabulary.forEach { maxID = max(maxID, $1) }
        for (text, id) in specialTokens {
            guard id >= 0 else { throw TokenizerError.unsupported("special token \(text) with negative id \(id)") }
            maxID = max(maxID, id)
        }
        guard maxID < 1 << 24 else { throw TokenizerError.unsupported("ids up to \(maxID) (at most 2^24)") }
        var decoder = [[UInt8]?](repeating: nil, count: maxID + 1)
        vocabulary.forEach { decoder[$1] = Array($0) }
        for e in entries { decoder[e.id] = e.bytes }
        self.decoder = decoder
    }

    /// One past the largest id (regular or special).
    public var vocabularySize: Int { decoder.count }

    /// The id of a special or added token, e.g. `"<|im_end|>"`.
    public func specialID(_ text: String) -> Int? { specialTokens[text] }

    /// The id of a regular token given as bytes.
    public func tokenID(bytes: [UInt8]) -> Int? { vocabulary.id(of: bytes) }

    // MARK: encoding

    /// The ids of `text`.
    public func encode(_ text: String, allowedSpecial: AllowedSpecial = .all) -> [Int] {
        var sink = IDSink()
        sink.ids.reserveCapacity(text.utf8.count / 3 + 1)
        encode(text, allowedSpecial: allowedSpecial, into: &sink)
        return sink.ids
    }

    /// The ids of `text` and each token's UTF-8 byte range in ``normalized(_:)`` of `text` (the
    /// text itself unless normalisation changes it).
    public func encodeWithOffsets(_ text: String, allowedSpecial: AllowedSpecial = .all) -> (ids: [Int], offsets: [Range<Int>]) {
        var sink = OffsetSink()
        encode(text, allowedSpecial: allowedSpecial, into: &sink)
        return (sink.ids, sink.offsets)
    }

    /// The ids of many strings, on `threads` threads (contiguous shares of about equal bytes).
    public func encodeBatch(_ texts: [String], allowedSpecial: AllowedSpecial = .all, threads: Int = 1) -> [[Int]] {
        let workers = max(1, min(threads, texts.count))
        if workers == 1 { return texts.map { encode($0, allowedSpecial: allowedSpecial) } }
        let bounds = Self.shares(of: texts.map(\.utf8.count), count: workers)
        let shares = [[[Int]]](unsafeUninitializedCapacity: workers) { buffer, count in
            nonisolated(unsafe) let out = buffer
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                (out.baseAddress! + w).initialize(to: texts[bounds[w]..<bounds[w + 1]].map { encode($0, allowedSpecial: allowedSpecial) })
            }
            count = workers
        }
        return shares.flatMap { $0 }
    }

    /// Boundaries of `count` contiguous shares of about equal total size.
    static func shares(of sizes: [Int], count: Int) -> [Int] {
        let total = sizes.reduce(0, +)
        var bounds = [0], done = 0
        for (i, size) in sizes.enumerated() {
            done += size
            if bounds.count < count, done * count >= total * bounds.count { bounds.append(i + 1) }
        }
        while bounds.count <= count { bounds.append(sizes.count) }
        bounds[count] = sizes.count
        return bounds
    }

    /// `text` as the splitter sees it: with NFC normalisation, the stretches between special
    /// tokens are normalised (special tokens are matched first, as HF does for added tokens with
    /// `normalized: false`); otherwise `text` itself.
    public func normalized(_ text: String) -> String {
        guard normalization == .nfc else { return text }
        var copy = text
        return copy.withUTF8 { bytes in
            var out = "", start = 0
            while start < bytes.count {
                let (at, length) = nextSpecial(bytes, from: start, allowed: .all)
                out += String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                    .precomposedStringWithCanonicalMapping
                out += String(decoding: UnsafeBufferPointer(rebasing: bytes[at..<at + length]), as: UTF8.self)
                start = at + length
            }
            return out
        }
    }

    func encode<Sink: TokenSink>(_ text: String, allowedSpecial: AllowedSpecial, into sink: inout Sink) {
        var copy = text
        copy.withUTF8 { bytes in
            var start = 0, base = 0
            while start < bytes.count {
                let (at, length) = allowedSpecial.any ? nextSpecial(bytes, from: start, allowed: allowedSpecial) : (bytes.count, 0)
                if at > start { base += encodeOrdinary(UnsafeBufferPointer(rebasing: bytes[start..<at]), base: base, into: &sink) }
                if length > 0 {
                    sink.append(specials.id(bytes.baseAddress! + at, length), base..<base + length)
                    base += length
                }
                start = at + length
            }
        }
    }

    /// The first allowed special token at or after `from` (longest where several start together):
    /// its start and length, or (count, 0).
    func nextSpecial(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, allowed: AllowedSpecial) -> (Int, Int) {
        guard !specialLengths.isEmpty else { return (bytes.count, 0) }
        let n = bytes.count
        return specialStarts.withUnsafeBufferPointer { starts in
            var i = from
            while i < n {
                let b0 = Int(bytes[i]) * 257
                if starts[b0 + (i + 1 < n ? Int(bytes[i + 1]) : 256)] || starts[b0 + 256] {
                    for length in specialLengths where i + length <= n {
                        let id = specials.id(bytes.baseAddress! + i, length)
                        if id >= 0, allowed.set == nil || allowed.set!.contains(
                            String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<i + length]), as: UTF8.self)) {
                            return (i, length)
                        }
                    }
                }
                i += 1
            }
            return (n, 0)
        }
    }

    /// Encodes text that holds no special token; returns its length after normalisation.
    func encodeOrdinary<Sink: TokenSink>(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, into sink: inout Sink) -> Int {
        // Every scalar below U+0300 is NFC-stable (NFC_Quick_Check=Yes, combining class 0), and
        // those are exactly the UTF-8 sequences whose first byte is below 0xCC.
        if normalization == .nfc, bytes.contains(where: { $0 >= 0xCC }) {
            var text = String(decoding: bytes, as: UTF8.self).precomposedStringWithCanonicalMapping
            return text.withUTF8 { encodePieces($0, base: base, into: &sink) }
        }
        return encodePieces(bytes, base: base, into: &sink)
    }

    func encodePieces<Sink: TokenSink>(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, into sink: inout Sink) -> Int {
        var scanner = PieceScanner(bytes: bytes, digitsPerPiece: pattern.digitsPerPiece)
        var start = 0
        while start < bytes.count {
            let end = scanner.pieceEnd(from: start)
            encodePiece(UnsafeBufferPointer(rebasing: bytes[start..<end]), base: base + start, into: &sink)
            start = end
        }
        return bytes.count
    }

    @inline(__always) func encodePiece<Sink: TokenSink>(_ piece: UnsafeBufferPointer<UInt8>, base: Int, into sink: inout Sink) {
        let n = piece.count
        if n == 1 { sink.append(byteIDs[Int(piece[0])], base..<base + 1); return }
        if wholePieceFirst {
            let id = vocabulary.id(piece.baseAddress!, n)
            if id >= 0 { sink.append(id, base..<base + n); return }
        }
        switch merges {
        case .ranks: BytePairMerge.run(piece, base: base, byteIDs: byteIDs, lookup: RankLookup(vocabulary: vocabulary), into: &sink)
        case .rules(let table): BytePairMerge.run(piece, base: base, byteIDs: byteIDs, lookup: RuleLookup(table: table), into: &sink)
        }
    }

    // MARK: decoding

    /// The bytes of `ids` (special tokens as their text).
    public func decodeBytes(_ ids: [Int]) throws(TokenizerError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0, id < decoder.count, let bytes = decoder[id] else { throw .unknownToken(id) }
            out += bytes
        }
        return out
    }

    /// The text of `ids`. Byte sequences that are not valid UTF-8 (a multi-byte character cut
    /// between ids) become U+FFFD, as tiktoken's `decode(errors="replace")`.
    public func decode(_ ids: [Int]) throws(TokenizerError) -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }
}

// MARK: - merging

/// Where encoded tokens go: ids only, or ids with byte ranges.
protocol TokenSink {
    mutating func append(_ id: Int, _ range: Range<Int>)
}

struct IDSink: TokenSink {
    var ids: [Int] = []
    @inline(__always) mutating func append(_ id: Int, _ range: Range<Int>) { ids.append(id) }
}

struct OffsetSink: TokenSink {
    var ids: [Int] = []
    var offsets: [Range<Int>] = []
    @inline(__always) mutating func append(_ id: Int, _ range: Range<Int>) { ids.append(id); offsets.append(range) }
}

/// How a pair of adjacent parts merges: `UInt64.max` (no) or priority << 32 | merged id.
protocol PairLookup {
    /// Parts `left` = piece[from..<mid] and `right` = piece[mid..<to].
    func rule(_ piece: UnsafeBufferPointer<UInt8>, from: Int, to: Int, left: Int, right: Int) -> UInt64
}

/// tiktoken: the concatenation's rank, which is also its id.
struct RankLookup: PairLookup {
    let vocabulary: ByteSequenceTable
    @inline(__always) func rule(_ piece: UnsafeBufferPointer<UInt8>, from: Int, to: Int, left: Int, right: Int) -> UInt64 {
        let id = vocabulary.id(piece.baseAddress! + from, to - from)
        return id < 0 ? .max : UInt64(id) << 32 | UInt64(id)
    }
}

/// tokenizer.json: the merge rule of the pair of ids.
struct RuleLookup: PairLookup {
    let table: MergeTable
    @inline(__always) func rule(_ piece: UnsafeBufferPointer<UInt8>, from: Int, to: Int, left: Int, right: Int) -> UInt64 {
        table.rule(left, right)
    }
}

enum BytePairMerge {
    /// Pieces longer than this merge with a heap (O(n log n)) instead of rescanning (O(n²)).
    static let heapThreshold = 96

    /// Merges one piece and appends its tokens.
    @inline(__always)
    static func run<L: PairLookup, Sink: TokenSink>(_ piece: UnsafeBufferPointer<UInt8>, base: Int, byteIDs: [Int], lookup: L,
                                                   into sink: inout Sink) {
        if piece.count > heapThreshold { return runWithHeap(piece, base: base, byteIDs: byteIDs, lookup: lookup, into: &sink) }
        let n = piece.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * n + 1) { parts in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { rules in
                // Part k is piece[start[k]..<start[k + 1]] with id ids[k]; rules[k] merges parts k, k + 1.
                let start = parts.baseAddress!, ids = parts.baseAddress! + n + 1
                for k in 0..<n { start[k] = k; ids[k] = byteIDs[Int(piece[k])] }
                start[n] = n
                var m = n
                for k in 0..<(m - 1) { rules[k] = lookup.rule(piece, from: k, to: k + 2, left: ids[k], right: ids[k + 1]) }
                while m > 1 {
                    var best = 0, bestRule = rules[0]
                    for k in 1..<(m - 1) where rules[k] < bestRule { best = k; bestRule = rules[k] }
                    if bestRule == .max { break }
                    ids[best] = Int(truncatingIfNeeded: bestRule & 0xFFFF_FFFF)
                    // Remove part best + 1 (and the rule that joined it to its right neighbour).
                    for k in (best + 1)..<m { start[k] = start[k + 1] }
                    for k in (best + 1)..<(m - 1) { ids[k] = ids[k + 1] }
                    for k in (best + 1)..<max(best + 1, m - 2) { rules[k] = rules[k + 1] }
                    m -= 1
                    if best + 1 < m {
                        rules[best] = lookup.rule(piece, from: start[best], to: start[best + 2], left: ids[best], right: ids[best + 1])
                    } else {
                        rules[best] = .max
                    }
                    if best > 0 {
                        rules[best - 1] = lookup.rule(piece, from: start[best - 1], to: start[best + 1],
                                                      left: ids[best - 1], right: ids[best])
                    }
                }
                for k in 0..<m { sink.append(ids[k], base + start[k]..<base + start[k + 1]) }
            }
        }
    }

    /// The same merges for long pieces: parts in a linked list, candidate pairs in a min-heap of
    /// `priority << 32 | position` (stale entries skipped), so the lowest-priority pair, leftmost
    /// among equals, still merges first.
    static func runWithHeap<L: PairLookup, Sink: TokenSink>(_ piece: UnsafeBufferPointer<UInt8>, base: Int, byteIDs: [Int], lookup: L,
                                                           into sink: inout Sink) {
        let n = piece.count
        // Parts are named by their first byte; next[k] is the start of the following part (n at the end).
        var next = Array(1...n), prev = Array(-1..<(n - 1))
        var ids = piece.map { byteIDs[Int($0)] }
        var rules = [UInt64](repeating: .max, count: n)
        var heap: [UInt64] = []
        heap.reserveCapacity(2 * n)
        func refresh(_ k: Int) {
            let j = next[k]
            guard j < n else { rules[k] = .max; return }
            rules[k] = lookup.rule(piece, from: k, to: next[j], left: ids[k], right: ids[j])
            if rules[k] != .max { MinHeap.push(&heap, rules[k] & 0xFFFF_FFFF_0000_0000 | UInt64(k)) }
        }
        for k in 0..<(n - 1) { refresh(k) }
        while let top = MinHeap.pop(&heap) {
            let k = Int(truncatingIfNeeded: top & 0xFFFF_FFFF)
            // Valid while part k still starts a pair of that priority (merged parts get rules .max).
            guard rules[k] != .max, rules[k] >> 32 == top >> 32 else { continue }
            let j = next[k]
            ids[k] = Int(truncatingIfNeeded: rules[k] & 0xFFFF_FFFF)
            rules[j] = .max
            next[k] = next[j]
            if next[k] < n { prev[next[k]] = k }
            refresh(k)
            if prev[k] >= 0 { refresh(prev[k]) }
        }
        var k = 0
        while k < n { sink.append(ids[k], base + k..<base + next[k]); k = next[k] }
    }
}

/// A binary min-heap of packed integers.
enum MinHeap {
    static func push(_ items: inout [UInt64], _ value: UInt64) {
        items.append(value)
        items.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard value < h[parent] else { break }
                h[i] = h[parent]
                i = parent
            }
            h[i] = value
        }
    }

    static func pop(_ items: inout [UInt64]) -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        items.withUnsafeMutableBufferPointer { h in
            let count = h.count
            guard count > 0 else { return }
            var i = 0
            while true {
                var child = 2 * i + 1
                if child >= count { break }
                if child + 1 < count, h[child + 1] < h[child] { child += 1 }
                guard h[child] < last else { break }
                h[i] = h[child]
                i = child
            }
            h[i] = last
        }
        return top
    }
}
