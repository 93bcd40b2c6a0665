/// The regular expression that cuts text into pieces before byte-pair merging, implemented as a
/// hand-written scanner over the UTF-8 bytes with the regex's exact (backtracking, leftmost-first)
/// semantics rather than through a regex engine.
///
/// ``qwen2`` is Qwen's pattern (dashscope/tokenizers/qwen_tokenizer.py `PAT_STR`; the `Split`
/// pre-tokenizer of Qwen2/2.5 `tokenizer.json` files):
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// ``cl100k`` is GPT-4's (openai/tiktoken tiktoken_ext/openai_public.py), the same but `\p{N}{1,3}`.
/// `\p{L}` and `\p{N}` are the letter and number general categories, `\s` is White_Space, and the
/// case-insensitive contractions use simple case folding (so `ſ` is an `s`), as in the Rust
/// `regex` crate that tiktoken uses.
public enum SplitPattern: String, Sendable, CaseIterable {
    case qwen2
    case cl100k

    /// The pattern as tiktoken and `tokenizer.json` files spell it.
    public var regex: String {
        switch self {
        case .qwen2: #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        case .cl100k:
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    /// The pattern whose spelling is `regex`, if it is one of ours.
    public init?(regex: String) {
        guard let p = Self.allCases.first(where: { $0.regex == regex }) else { return nil }
        self = p
    }

    /// The longest run of `\p{N}` one piece may hold.
    var digitsPerPiece: Int { self == .qwen2 ? 1 : 3 }

    /// The pieces of `text` as UTF-8 byte ranges (mostly for tests and inspection).
    public func pieces(of text: String) -> [Range<Int>] {
        var copy = text
        return copy.withUTF8 { bytes in
            var out: [Range<Int>] = []
            var scanner = PieceScanner(bytes: bytes, digitsPerPiece: digitsPerPiece)
            var start = 0
            while start < bytes.count {
                let end = scanner.pieceEnd(from: start)
                out.append(start..<end)
                start = end
            }
            return out
        }
    }
}

/// Character classes the split patterns test, one byte per scalar.
enum ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4
    /// `\r` or `\n` (also a space).
    static let newline: UInt8 = 8

    /// Classes of every scalar below `tableLimit` (covers the BMP, the emoji and CJK Extension B);
    /// the rest are computed on the fly.
    static let tableLimit: UInt32 = 0x2_0000
    /// Built once and never freed (immutable after initialisation, hence safe to share).
    nonisolated(unsafe) static let table: UnsafeBufferPointer<UInt8> = {
        let t = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Int(tableLimit))
        for v in 0..<tableLimit { t[Int(v)] = Unicode.Scalar(v).map(compute) ?? 0 }
        return UnsafeBufferPointer(t)
    }()

    static func compute(_ s: Unicode.Scalar) -> UInt8 {
        var c: UInt8 = 0
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: c |= letter
        case .decimalNumber, .letterNumber, .otherNumber: c |= number
        default: break
        }
        if s.properties.isWhitespace { c |= space }
        if s == "\r" || s == "\n" { c |= newline }
        return c
    }
}

/// The scanner behind ``SplitPattern``: given where a piece starts, where it ends. `bytes` must be
/// valid UTF-8 (it comes from a Swift `String`).
struct PieceScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let digitsPerPiece: Int
    let classes: UnsafeBufferPointer<UInt8>

    init(bytes: UnsafeBufferPointer<UInt8>, digitsPerPiece: Int) {
        self.bytes = bytes
        self.digitsPerPiece = digitsPerPiece
        classes = ScalarClass.table
    }

    /// The scalar at byte `i` and its UTF-8 length.
    @inline(__always) func scalar(at i: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 { return ((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), 3) }
        return ((b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F), 4)
    }

    @inline(__always) func classOf(_ v: UInt32) -> UInt8 {
        if v < ScalarClass.tableLimit { return classes[Int(v)] }
        return Unicode.Scalar(v).map(ScalarClass.compute) ?? 0
    }

    /// Neither space, letter nor number: `[^\s\p{L}\p{N}]`.
    @inline(__always) static func isOther(_ c: UInt8) -> Bool { c & (ScalarClass.letter | ScalarClass.number | ScalarClass.space) == 0 }

    /// The lowercase ASCII letter `v` folds to for the contractions (`ſ` folds to `s`), else 0.
    @inline(__always) static func folded(_ v: UInt32) -> UInt32 {
        if v == 0x17F { return 0x73 }
        if (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) { return v | 0x20 }
        return 0
    }

    /// The end of the letter run starting at byte `i`.
    @inline(__always) func lettersEnd(from i: Int) -> Int {
        var j = i
        while j < bytes.count {
            let (v, l) = scalar(at: j)
            guard classOf(v) & ScalarClass.letter != 0 else { break }
            j += l
        }
        return j
    }

    /// The end of the piece starting at byte `i` (`i < bytes.count`): the alternatives are tried in
    /// order, as a backtracking regex does.
    mutating func pieceEnd(from i: Int) -> Int {
        let n = bytes.count
        let (c, length) = scalar(at: i)
        let j = i + length
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c == 0x27, j < n {
            let (c1, l1) = scalar(at: j)
            switch Self.folded(c1) {
            case 0x73, 0x74, 0x6D, 0x64: return j + l1                      // s t m d
            case let f where f == 0x72 || f == 0x76 || f == 0x6C:            // r v l
                if j + l1 < n {
                    let (c2, l2) = scalar(at: j + l1)
                    if Self.folded(c2) == (f == 0x6C ? 0x6C : 0x65) { return j + l1 + l2 }
                }
            default: break
            }
        }
        let k = classOf(c)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if k & ScalarClass.letter != 0 { return lettersEnd(from: j) }
        if k & (ScalarClass.newline | ScalarClass.number) == 0, j < n {
            let (c1, l1) = scalar(at: j)
            if classOf(c1) & ScalarClass.letter != 0 { return lettersEnd(from: j + l1) }
        }
        // \p{N} (or \p{N}{1,3})
        if k & ScalarClass.number != 0 {
            var end = j, count = 1
            while count < digitsPerPiece, end < n {
                let (v, l) = scalar(at: end)
                guard classOf(v) & ScalarClass.number != 0 else { break }
                end += l; count += 1
            }
            return end
        }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        var otherStart = -1
        if Self.isOther(k) { otherStart = i } else if c == 0x20, j < n, Self.isOther(classOf(scalar(at: j).value)) { otherStart = j }
        if otherStart >= 0 {
            var end = otherStart
            while end < n {
                let (v, l) = scalar(at: end)
                guard Self.isOther(classOf(v)) else { break }
                end += l
            }
            while end < n, bytes[end] == 0x0D || bytes[end] == 0x0A { end += 1 }
            return end
        }
        // Only whitespace is left here: the run is bytes[i..<end].
        var end = j, lastStart = i, afterLastNewline = k & ScalarClass.newline != 0 ? j : -1
        while end < n {
            let (v, l) = scalar(at: end)
            let cls = classOf(v)
            guard cls & ScalarClass.space != 0 else { break }
            if cls & ScalarClass.newline != 0 { afterLastNewline = end + l }
            lastStart = end
            end += l
        }
        // \s*[\r\n]+ : backtracking \s* leaves the run's last newline to [\r\n]+
        if afterLastNewline >= 0 { return afterLastNewline }
        // \s+(?!\S) : the whole run at the end of the text, else all but its last scalar
        if end == n { return end }
        if lastStart > i { return lastStart }
        // \s+
        return end
    }
}
