import Foundation
import Testing
import UniRLExperts

/// Our ids against tiktoken's and HF `tokenizers`' on the committed corpus.
@Suite struct TokenizerParityTests {
    /// Every difference, the first one spelled out.
    static func mismatches(_ rows: [(text: String, expected: [Int])], _ encode: (String) -> [Int]) -> (count: Int, first: String?) {
        var count = 0, first: String?
        for (text, expected) in rows {
            let ours = encode(text)
            guard ours != expected else { continue }
            count += 1
            if first == nil {
                let at = zip(ours, expected).prefix { $0 == $1 }.count
                first = "\(text.debugDescription): ours \(Array(ours[at...].prefix(8))) "
                    + "vs \(Array(expected[at...].prefix(8))) from token \(at)"
            }
        }
        return (count, first)
    }

    @Test func tokenizerIdsEqualTiktokenOnTheCorpus() throws {
        let tok = try TokenizerFixtures.dashscope.get()
        let corpus = try TokenizerFixtures.corpus.get()
        #expect(corpus.count >= 1000)
        let (count, first) = Self.mismatches(corpus.map { ($0.text, $0.ids) }) { tok.encode($0) }
        #expect(count == 0, "\(count) of \(corpus.count) strings differ from tiktoken; first: \(first ?? "")")
        let notRoundTripping = corpus.filter { (try? tok.decode(tok.encode($0.text))) != $0.text }
        #expect(notRoundTripping.isEmpty,
                "decode(encode(s)) != s for \(notRoundTripping.count); first: \(notRoundTripping.first?.text.debugDescription ?? "")")
    }

    @Test func tokenizerCl100kSplitEqualsTiktoken() throws {
        let tok = try BPETokenizer(tiktokenRanks: TokenizerFixtures.folder.appendingPathComponent("qwen.tiktoken"),
                                   specialTokens: QwenTokenizer.dashscopeSpecialTokens, pattern: .cl100k)
        let corpus = try TokenizerFixtures.corpus.get()
        let (count, first) = Self.mismatches(corpus.map { ($0.text, $0.ids_cl100k ?? []) }) { tok.encode($0) }
        #expect(count == 0, "\(count) differ; first: \(first ?? "")")
    }

    @Test func tokenizerOrdinaryEqualsTiktokenEncodeOrdinary() throws {
        let tok = try TokenizerFixtures.dashscope.get()
        let rows = try TokenizerFixtures.corpus.get().compactMap { r in r.ordinary.map { (r.text, $0) } }
        #expect(rows.count >= 20)
        let (count, first) = Self.mismatches(rows) { tok.encode($0, allowedSpecial: .none) }
        #expect(count == 0, "\(count) differ; first: \(first ?? "")")
    }

    @Test func tokenizerBatchOnTwoThreadsEqualsOneByOne() throws {
        let tok = try TokenizerFixtures.dashscope.get()
        let corpus = try TokenizerFixtures.corpus.get()
        let texts = corpus.map(\.text)
        let batch = tok.encodeBatch(texts, threads: 2)
        #expect(batch.count == texts.count)
        #expect(zip(batch, corpus).allSatisfy { $0 == $1.ids }, "batch ids differ from one-by-one ids")
        #expect(tok.encodeBatch(Array(texts.prefix(3)), threads: 8) == corpus.prefix(3).map(\.ids))
        #expect(tok.encodeBatch([], threads: 2).isEmpty)
    }

    @Test(arguments: ["tokenizer_strings.json", "tokenizer_arrays.json"])
    func tokenizerJSONEqualsHuggingFaceTokenizers(file: String) throws {
        let tok = try BPETokenizer(tokenizerJSON: TokenizerFixtures.folder.appendingPathComponent(file))
        #expect(tok.normalization == .nfc && tok.pattern == .qwen2)
        let rows = try TokenizerFixtures.rows("tokenizer_corpus.jsonl")
        #expect(rows.count >= 1000)
        let (count, first) = Self.mismatches(rows.map { ($0.text, $0.ids) }) { tok.encode($0) }
        #expect(count == 0, "\(count) of \(rows.count) differ from tokenizers; first: \(first ?? "")")
        let bad = rows.filter { (try? tok.decode(tok.encode($0.text))) != tok.normalized($0.text) }
        #expect(bad.isEmpty, "decode(encode(s)) != NFC(s) for \(bad.count); first: \(bad.first?.text.debugDescription ?? "")")
    }

    @Test(arguments: [false, true])
    func tokenizerIgnoreMergesEqualsTokenizers(ignoreMerges: Bool) throws {
        struct Case: Decodable { var text: String; var ids: [Int] }
        struct Row: Decodable { var ignore_merges: Bool; var cases: [Case] }
        let lines = try String(contentsOf: TokenizerFixtures.folder.appendingPathComponent("ignore_merges_corpus.jsonl"), encoding: .utf8)
        let row = try lines.split(separator: "\n").map { try JSONDecoder().decode(Row.self, from: Data($0.utf8)) }
            .first { $0.ignore_merges == ignoreMerges }!
        var json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: TokenizerFixtures.folder.appendingPathComponent("ignore_merges.json"))) as! [String: Any]
        var model = json["model"] as! [String: Any]
        model["ignore_merges"] = ignoreMerges
        json["model"] = model
        let tok = try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: json))
        for c in row.cases { #expect(tok.encode(c.text) == c.ids, "\(c.text)") }
    }
}
