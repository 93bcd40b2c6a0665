import Foundation

/// CLIP's text clean-up and word split, as transformers' `CLIPTokenizer` configures the tokenizers
/// library (models/clip/tokenization_clip.py): NFC, every run of white space → one space,
/// lower-casing (per character), then the pieces matched
/// by `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
/// everything between them dropped.
public enum CLIPPreTokenizer {
    /// NFC, white-space runs collapsed to a single space, lower case.
    public static func normalized(_ text: String) -> String {
        let nfc = text.precomposedStringWithCanonicalMapping
        var collapsed = String.UnicodeScalarView()
        var inSpace = false
        for s in nfc.unicodeScalars {
            if s.properties.isWhitespace {
                if !inSpace { collapsed.append(" ") }
                inSpace = true
            } else {
                collapsed.append(s)
                inSpace = false
            }
        }
        return lowercased(Array(collapsed))
    }

    /// Unicode full lower-casing, character by character (the tokenizers library's `Lowercase`
    /// normaliser maps each character alone, so a final capital sigma becomes σ, not ς).
    static func lowercased(_ scalars: [Unicode.Scalar]) -> String {
        var out = String.UnicodeScalarView()
        for s in scalars { out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
        return String(out)
    }

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    static let specialLiterals: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    /// The pieces of normalised text, in order (the regex's matches; unmatched white space dropped).
    public static func pieces(_ normalizedText: String) -> [String] {
        let s = Array(normalizedText.unicodeScalars)
        var out: [String] = []
        var i = 0
        func startsWith(_ lit: [Unicode.Scalar], at i: Int) -> Bool {
            i + lit.count <= s.count && zip(lit, s[i..<(i + lit.count)]).allSatisfy { $0 == $1 }
        }
        func emit(_ r: Range<Int>) { var v = String.UnicodeScalarView(); v.append(contentsOf: s[r]); out.append(String(v)) }
        while i < s.count {
            let c = s[i]
            if let lit = (specialLiterals + contractions).first(where: { startsWith($0, at: i) }) {
                emit(i..<(i + lit.count)); i += lit.count
            } else if isLetter(c) {
                var j = i + 1
                while j < s.count, isLetter(s[j]) { j += 1 }
                emit(i..<j); i = j
            } else if isNumber(c) {
                emit(i..<(i + 1)); i += 1
            } else if c.properties.isWhitespace {
                i += 1
            } else {
                var j = i + 1
                while j < s.count, !isLetter(s[j]), !isNumber(s[j]), !s[j].properties.isWhitespace { j += 1 }
                emit(i..<j); i = j
            }
        }
        return out
    }
}
