import Foundation
import Testing
import UniRLExperts

/// The byte-level BPE tokenizer against tiktoken (Qwen's real 151,643-token vocabulary from
/// dashscope) and Hugging Face `tokenizers` (scripts/make_tokenizer_fixtures.py).
@Suite struct TokenizerTests {
    static let folder = QwenVLConfigurationTests.fixtures.appendingPathComponent("tokenizer")

    static func corpus(_ name: String) throws -> [(text: String, ids: [Int])] {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (o["text"] as! String, o["ids"] as! [Int])
        }
    }

    static func qwen() throws -> BPETokenizer {
        try BPETokenizer(tiktokenRanks: folder.appendingPathComponent("qwen.tiktoken"), specialTokens: BPETokenizer.dashscopeSpecialTokens)
    }

    @Test func tokenizerIdsEqualTiktokenOnTheCorpus() throws {
        let tok = try Self.qwen()
        let corpus = try Self.corpus("corpus.jsonl")
        #expect(corpus.count >= 1000)
        var mismatches: [String] = []
        for (text, ids) in corpus {
            let ours = tok.encode(text)
            if ours != ids { mismatches.append("\(text.debugDescription): ours \(ours.prefix(12)) vs \(ids.prefix(12))") }
            #expect(try tok.decode(ours) == text)
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(corpus.count) differ; first: \(mismatches.first ?? "")")
    }

    @Test(arguments: ["small_tokenizer_strings.json", "small_tokenizer_arrays.json"])
    func tokenizerJSONEqualsHuggingFaceTokenizers(file: String) throws {
        let tok = try BPETokenizer(tokenizerJSON: Self.folder.appendingPathComponent(file))
        let corpus = try Self.corpus("small_corpus.jsonl")
        let bad = corpus.filter { tok.encode($0.text) != $0.ids }
        #expect(bad.isEmpty, "\(bad.count) differ; first: \(bad.first.map { $0.text.debugDescription } ?? "")")
        for (text, _) in corpus { #expect(try tok.decode(tok.encode(text)) == text.precomposedStringWithCanonicalMapping) }
    }

    @Test func specialTokensAndPartialBytes() throws {
        let tok = try Self.qwen()
        #expect(tok.encode("<|im_start|>user") == [151_644, 872])
        #expect(tok.encode("<|im_start|>", allowSpecial: false).count > 1)
        // Cutting a multi-byte character decodes to U+FFFD instead of failing.
        let ids = tok.encode("😀")
        #expect(try tok.decode(Array(ids.prefix(1))).contains("\u{FFFD}") || ids.count == 1)
        #expect(throws: TokenizerError.unknownToken(999_999)) { try tok.decode([999_999]) }
    }

    @Test func chatTemplateRendersChatML() throws {
        let messages = [ChatMessage(role: "user", parts: [.image, .text("How many circles?")]), ChatMessage(role: "assistant", "Three.")]
        let text = QwenChatTemplate.render(messages, addGenerationPrompt: false)
        #expect(text == "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>How many circles?<|im_end|>\n<|im_start|>assistant\nThree.<|im_end|>\n")
        #expect(QwenChatTemplate.render([ChatMessage(role: "user", "hi")], addGenerationPrompt: true)
                .hasSuffix("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"))
        let tok = try Self.qwen()
        let (ids, mask) = QwenChatTemplate.encodeForTraining([ChatMessage(role: "user", "2+2?"), ChatMessage(role: "assistant", "4")], tokenizer: tok)
        let trained = zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
        #expect(try tok.decode(trained) == "4<|im_end|>")
    }

    @Test func malformedFilesAreTypedErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-tok-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func ranks(_ s: String) throws -> BPETokenizer {
            let u = dir.appendingPathComponent("r.tiktoken"); try s.write(to: u, atomically: true, encoding: .utf8)
            return try BPETokenizer(tiktokenRanks: u, specialTokens: [:])
        }
        #expect(throws: TokenizerError.malformedRanks(line: 1, reason: "expected 'base64 rank'")) { try ranks("!!notbase64 0\n") }
        let bytes = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
        #expect(throws: TokenizerError.malformedRanks(line: 257, reason: "rank 3 repeated")) { try ranks((bytes + ["YWI= 3"]).joined(separator: "\n")) }
        #expect(throws: TokenizerError.self) { try ranks(bytes.dropLast().joined(separator: "\n")) }
        #expect(throws: TokenizerError.unreadable(path: "/nonexistent/t.json", reason: "")) {
            do { _ = try BPETokenizer(tokenizerJSON: URL(fileURLWithPath: "/nonexistent/t.json")) }
            catch TokenizerError.unreadable(let p, _) { throw TokenizerError.unreadable(path: p, reason: "") }
        }
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("small_tokenizer_strings.json"))) as! [String: Any]
        json["pre_tokenizer"] = ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]
        let u = dir.appendingPathComponent("t.json")
        try JSONSerialization.data(withJSONObject: json).write(to: u)
        #expect(throws: TokenizerError.self) { _ = try BPETokenizer(tokenizerJSON: u) }
        try Data("{\"model\": {".utf8).write(to: u)
        #expect(throws: TokenizerError.malformedJSON(path: u.path, reason: "not a JSON object")) { _ = try BPETokenizer(tokenizerJSON: u) }
    }
}
