/// What can go wrong loading a tokenizer file or decoding ids. Loaders never trap on bad input:
/// every malformed or unsupported file ends up here, named.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read at all.
    case unreadable(path: String, reason: String)
    /// A tiktoken rank file line is not `base64-bytes rank`, or repeats a rank or a token.
    case malformedRanks(line: Int, reason: String)
    /// A `tokenizer.json` is not valid JSON, lacks a key, or holds an inconsistent value.
    case malformedJSON(path: String, reason: String)
    /// A `tokenizer.json` feature this tokenizer does not implement (the feature is named).
    case unsupported(String)
    /// An id with no token when decoding.
    case unknownToken(Int)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): "cannot read tokenizer file \(p): \(r)"
        case .malformedRanks(let l, let r): "tiktoken rank file, line \(l): \(r)"
        case .malformedJSON(let p, let r): "tokenizer.json \(p): \(r)"
        case .unsupported(let what): "tokenizer feature not supported: \(what)"
        case .unknownToken(let id): "token id \(id) is not in the vocabulary"
        }
    }
}
