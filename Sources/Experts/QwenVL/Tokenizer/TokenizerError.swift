/// Problems with tokenizer files or inputs.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformedRanks(line: Int, reason: String)
    case malformedJSON(path: String, reason: String)
    case unsupported(String)
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
