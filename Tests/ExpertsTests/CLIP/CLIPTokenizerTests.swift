import Foundation
import Testing
import UniRLExperts

/// CLIP's tokenizer against transformers' `CLIPTokenizer` with the real CLIP vocabulary
/// (fixtures from scripts/make_clip_tokenizer_fixtures.py).
@Suite struct CLIPTokenizerTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer/clip")

    struct Cases: Decodable {
        struct Case: Decodable { var text: String; var ids: [Int] }
        struct Padded: Decodable { var texts: [String]; var input_ids: [[Int]]; var attention_mask: [[Int]] }
        var vocab_size: Int
        var cases: [Case]
        var padded: Padded
    }

    static func load() throws -> (CLIPTokenizer, Cases) {
        let tokenizer = try CLIPTokenizer(mergesFile: folder.appendingPathComponent("merges.txt"))
        let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: folder.appendingPathComponent("cases.json")))
        return (tokenizer, cases)
    }

    @Test func idsEqualTransformersOnTheCorpus() throws {
        let (tokenizer, fixture) = try Self.load()
        #expect(tokenizer.vocabularySize == fixture.vocab_size)
        #expect(fixture.cases.count >= 1_000)
        var wrong: [String] = []
        for c in fixture.cases where tokenizer.encode(c.text) != c.ids {
            wrong.append("\(c.text.prefix(60).debugDescription): \(tokenizer.encode(c.text).prefix(12)) vs \(c.ids.prefix(12))")
        }
        let count = wrong.count
        #expect(count == 0, "\(count) strings differ, e.g. \(wrong.prefix(4).joined(separator: "; "))")
    }

    @Test func paddedBatchEqualsTransformers() throws {
        let (tokenizer, fixture) = try Self.load()
        let batch = tokenizer(fixture.padded.texts)
        #expect(batch.length == 77)
        let idsMatch = batch.ids == fixture.padded.input_ids.flatMap { $0 }
        let maskMatches = batch.attentionMask == fixture.padded.attention_mask.flatMap { $0 }
        #expect(idsMatch && maskMatches)
    }

    @Test func vocabJSONAndMergesLoadTheSameTokenizer() throws {
        let (tokenizer, _) = try Self.load()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocab = try JSONSerialization.data(withJSONObject: tokenizer.vocabulary)
        try vocab.write(to: dir.appendingPathComponent("vocab.json"))
        let fromFiles = try CLIPTokenizer(vocabJSON: dir.appendingPathComponent("vocab.json"),
                                          mergesFile: Self.folder.appendingPathComponent("merges.txt"))
        let text = "A photo of two RED circles, don't you think? 日本語 🙂"
        #expect(fromFiles.encode(text) == tokenizer.encode(text))
        #expect(try tokenizer.decode(tokenizer.encode("two red circles")) == "<|startoftext|>two red circles <|endoftext|>")
    }

    @Test func badFilesAreTypedErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let merges = dir.appendingPathComponent("merges.txt")
        try "#version: 0.2\na b c\n".write(to: merges, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.self) { _ = try CLIPTokenizer(mergesFile: merges) }
        try "#version: 0.2\nq q\n".write(to: merges, atomically: true, encoding: .utf8)
        let vocab = dir.appendingPathComponent("vocab.json")
        try #"{"q": 0}"#.write(to: vocab, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.self) { _ = try CLIPTokenizer(vocabJSON: vocab, mergesFile: merges) }
        #expect(throws: TokenizerError.self) { _ = try CLIPTokenizer(mergesFile: dir.appendingPathComponent("missing.txt")) }
    }
}
