/// The split Qwen (and GPT-4's cl100k) applies before byte-level BPE, as a hand-written scanner
/// over Unicode scalars with the regex's exact semantics:
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// (dashscope/tokenizers/qwen_tokenizer.py `PAT_STR`; transformers' Qwen2 tokenizer splits the
/// same way). Alternatives are tried in order at each position, as a backtracking regex does;
/// `\s` is White_Space, `\p{L}` / `\p{N}` the letter / number general categories.
enum QwenPreTokenizer {
    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value >= 0x30 && s.value <= 0x39 }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always) static func isSpace(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value == 0x20 || (s.value >= 0x09 && s.value <= 0x0D) }
        return s.properties.isWhitespace
    }

    @inline(__always) static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }

    /// Case-insensitive letter match for the contractions (simple case folding, so 'ſ' is an 's').
    static func folds(_ s: Unicode.Scalar, to c: Unicode.Scalar) -> Bool {
        if s == c { return true }
        if s.value < 0x80 { return s.value | 0x20 == c.value }
        return c == "s" && s == "\u{017F}"
    }

    /// The end of the piece starting at `i`.
    static func pieceEnd(_ u: [Unicode.Scalar], _ i: Int) -> Int {
        let n = u.count, c = u[i]
        // 1. contractions
        if c == "'" && i + 1 < n {
            if i + 2 < n {
                for pair in [("r", "e"), ("v", "e"), ("l", "l")] as [(Unicode.Scalar, Unicode.Scalar)]
                where folds(u[i + 1], to: pair.0) && folds(u[i + 2], to: pair.1) { return i + 3 }
            }
            for one in ["s", "t", "m", "d"] as [Unicode.Scalar] where folds(u[i + 1], to: one) { return i + 2 }
        }
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        var start = -1
        if isLetter(c) { start = i + 1 } else if !isNewline(c) && !isNumber(c) && i + 1 < n && isLetter(u[i + 1]) { start = i + 2 }
        if start >= 0 {
            var j = start
            while j < n && isLetter(u[j]) { j += 1 }
            return j
        }
        // 3. \p{N}
        if isNumber(c) { return i + 1 }
        // 4.  ?[^\s\p{L}\p{N}]+[\r\n]*
        func isOther(_ s: Unicode.Scalar) -> Bool { !isSpace(s) && !isLetter(s) && !isNumber(s) }
        var k = -1
        if isOther(c) { k = i } else if c == " " && i + 1 < n && isOther(u[i + 1]) { k = i + 1 }
        if k >= 0 {
            var j = k
            while j < n && isOther(u[j]) { j += 1 }
            while j < n && isNewline(u[j]) { j += 1 }
            return j
        }
        // Whitespace from here on: the run is u[i..<end].
        var end = i
        while end < n && isSpace(u[end]) { end += 1 }
        // 5. \s*[\r\n]+ : up to the last newline of the run
        if let last = (i..<end).last(where: { isNewline(u[$0]) }) { return last + 1 }
        // 6. \s+(?!\S) : the run, minus its last scalar when a non-space follows
        if end == n { return end }
        if end - i >= 2 { return end - 1 }
        // 7. \s+
        return end
    }

    /// The pieces of `text` as scalar ranges.
    static func split(_ text: String) -> [String.UnicodeScalarView.SubSequence] {
        let scalars = Array(text.unicodeScalars)
        var out: [String.UnicodeScalarView.SubSequence] = []
        var index = text.unicodeScalars.startIndex
        var i = 0
        while i < scalars.count {
            let j = pieceEnd(scalars, i)
            let next = text.unicodeScalars.index(index, offsetBy: j - i)
            out.append(text.unicodeScalars[index..<next])
            index = next
            i = j
        }
        return out
    }
}
