import Foundation
import UniRLExperts

/// Tests/Fixtures/tokenizer (scripts/make_tokenizer_fixtures.py): Qwen's real vocabulary
/// (dashscope's `qwen.tiktoken`), a 1,500-string corpus with tiktoken's ids, and tokenizer.json
/// files with HF `tokenizers`' ids.
enum TokenizerFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer")

    struct Row: Decodable, Sendable {
        var text: String
        var ids: [Int]
        var ids_cl100k: [Int]?
        var ordinary: [Int]?
    }

    static func rows(_ name: String) throws -> [Row] {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Row.self, from: Data($0.utf8)) }
    }

    /// dashscope's tokenizer as tiktoken builds it: Qwen's ranks, Qwen's split, dashscope's specials.
    static let dashscope = Result { try BPETokenizer(tiktokenRanks: folder.appendingPathComponent("qwen.tiktoken"),
                                                     specialTokens: QwenTokenizer.dashscopeSpecialTokens, pattern: .qwen2) }
    static let corpus = Result { try rows("corpus.jsonl") }

    /// A scratch directory for malformed files.
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-tokenizer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A rank file of the 256 single bytes (rank = byte) plus `extra` lines.
    static func byteRanks(_ extra: [String] = []) -> String {
        ((0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" } + extra).joined(separator: "\n")
    }
}
