import Foundation
import Testing
import UniRLExperts

/// Special tokens, decoding, offsets, the split scanner and malformed files.
@Suite struct TokenizerTests {
    @Test func tokenizerSplitsLikeQwensPattern() {
        func pieces(_ s: String, _ p: SplitPattern = .qwen2) -> [String] {
            let bytes = Array(s.utf8)
            return p.pieces(of: s).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        #expect(pieces("Hello world") == ["Hello", " world"])
        #expect(pieces("DON'T we'LL") == ["DON", "'T", " we", "'LL"])
        #expect(pieces("2024 abc") == ["2", "0", "2", "4", " abc"])
        #expect(pieces("2024 abc", .cl100k) == ["202", "4", " abc"])
        #expect(pieces("a  b") == ["a", " ", " b"])
        #expect(pieces("a \n\n b  ") == ["a", " \n\n", " b", "  "])
        #expect(pieces("x !!?\n\ny") == ["x", " !!?\n\n", "y"])
        #expect(pieces("\tfoo\u{00A0}bar") == ["\tfoo", "\u{00A0}bar"])
        #expect(pieces("e\u{301}") == ["e", "\u{301}"])
        #expect(pieces("") == [])
    }

    @Test func tokenizerSpecialTokensLongestMatchAndAllowedSets() throws {
        let tok = try TokenizerFixtures.dashscope.get()
        #expect(tok.encode("<|im_start|>user") == [151_644, 872])
        #expect(tok.encode("<|im_start|>", allowedSpecial: .none).count > 1)
        let only = tok.encode("<|im_start|>x<|im_end|>", allowedSpecial: .only(["<|im_end|>"]))
        #expect(only.last == 151_645 && !only.contains(151_644))
        #expect(try tok.decode([151_645, 151_850]) == "<|im_end|><|extra_204|>")
        #expect(tok.specialID("<|extra_204|>") == 151_850 && tok.vocabularySize == 151_851)

        // Overlapping specials: the longest starting first wins, then the next match starts after it.
        let url = try TokenizerFixtures.scratch().appendingPathComponent("r.tiktoken")
        try TokenizerFixtures.byteRanks().write(to: url, atomically: true, encoding: .utf8)
        let small = try BPETokenizer(tiktokenRanks: url, specialTokens: ["<a>": 300, "<a>b": 301, "b<c>": 302, "<": 303])
        #expect(small.encode("x<a>b<c>") == [120, 301, 303, 99, 62])
        #expect(small.encode("<a>c") == [300, 99])
        #expect(small.encode("<a>b", allowedSpecial: .only(["<a>"])) == [300, 98])
        #expect(small.encode("<<") == [303, 303])
    }

    @Test func tokenizerDecodesCutCharactersAndRejectsUnknownIds() throws {
        let tok = try TokenizerFixtures.dashscope.get()
        let bytes = Array("😀中".utf8)
        // Byte tokens of the emoji's first two bytes only: invalid UTF-8, replaced, never a crash.
        let partial = bytes.prefix(2).map { tok.tokenID(bytes: [$0])! }
        #expect(try tok.decodeBytes(partial) == Array(bytes.prefix(2)))
        #expect(try tok.decode(partial).unicodeScalars.allSatisfy { $0 == "\u{FFFD}" })
        #expect(try tok.decode([partial[0]] + tok.encode("中")).hasSuffix("中"))
        #expect(throws: TokenizerError.unknownToken(999_999)) { try tok.decode([999_999]) }
        #expect(throws: TokenizerError.unknownToken(-1)) { try tok.decode([-1]) }
        #expect(try tok.decode([]) == "")
    }

    @Test func tokenizerOffsetsCoverTheText() throws {
        let tok = try TokenizerFixtures.dashscope.get()
        for text in ["Hello<|im_end|> world", "😀 中文 e\u{301}", "a" + String(repeating: "b", count: 300), ""] {
            let (ids, offsets) = tok.encodeWithOffsets(text)
            #expect(ids == tok.encode(text))
            #expect(offsets.first?.lowerBound ?? 0 == 0 && offsets.last?.upperBound ?? 0 == text.utf8.count)
            for (i, (id, range)) in zip(ids, offsets).enumerated() {
                if i > 0 { #expect(offsets[i - 1].upperBound == range.lowerBound) }
                #expect(try tok.decodeBytes([id]) == Array(Array(text.utf8)[range]))
            }
        }
    }

    @Test func tokenizerNormalizesToNFCWhenAsked() throws {
        let nfc = try QwenTokenizer(tiktokenRanks: TokenizerFixtures.folder.appendingPathComponent("qwen.tiktoken"))
        let raw = try TokenizerFixtures.dashscope.get()
        #expect(nfc.encode("cafe\u{301}") == raw.encode("café"))
        #expect(raw.encode("cafe\u{301}") != raw.encode("café"))
        #expect(nfc.bpe.normalized("e\u{301}<|im_end|>\u{338}") == "é<|im_end|>\u{338}")
    }

    // MARK: malformed and unsupported files

    @Test func tokenizerRankFileErrorsAreTyped() throws {
        let dir = try TokenizerFixtures.scratch()
        func load(_ s: String) throws -> BPETokenizer {
            let u = dir.appendingPathComponent("r.tiktoken")
            try s.write(to: u, atomically: true, encoding: .utf8)
            return try BPETokenizer(tiktokenRanks: u, specialTokens: [:])
        }
        #expect(throws: TokenizerError.malformedRanks(line: 1, reason: "invalid base64")) { try load("!!notbase64 0\n") }
        #expect(throws: TokenizerError.malformedRanks(line: 1, reason: "invalid base64")) { try load("YWJ 0\n") }
        #expect(throws: TokenizerError.malformedRanks(line: 1, reason: "expected 'base64 rank'")) { try load("YWI=\n") }
        #expect(throws: TokenizerError.malformedRanks(line: 1, reason: "rank is not a non-negative integer")) { try load("YWI= x\n") }
        #expect(throws: TokenizerError.malformedRanks(line: 257, reason: "rank 3 repeated")) {
            try load(TokenizerFixtures.byteRanks(["YWI= 3"]))
        }
        #expect(throws: TokenizerError.self) { try load(TokenizerFixtures.byteRanks(["YQ== 300"])) }      // bytes of "a" twice
        #expect(throws: TokenizerError.unsupported("a byte-level vocabulary without a token for byte 255")) {
            try load(TokenizerFixtures.byteRanks().split(separator: "\n").dropLast().joined(separator: "\n"))
        }
        #expect(throws: TokenizerError.self) {
            try BPETokenizer(tiktokenRanks: Data(TokenizerFixtures.byteRanks().utf8), specialTokens: ["<x>": 5])
        }
        #expect(throws: TokenizerError.unreadable(path: "/nonexistent/r.tiktoken", reason: "")) {
            do { _ = try BPETokenizer(tiktokenRanks: URL(fileURLWithPath: "/nonexistent/r.tiktoken"), specialTokens: [:]) }
            catch TokenizerError.unreadable(let p, _) { throw TokenizerError.unreadable(path: p, reason: "") }
        }
        // Windows line ends and a trailing blank line are fine.
        let ok = try load(TokenizerFixtures.byteRanks(["YWI= 256"]).replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
        #expect(ok.encode("abc") == [256, 99])
    }

    @Test func tokenizerJSONErrorsAreTyped() throws {
        let base = try JSONSerialization.jsonObject(
            with: Data(contentsOf: TokenizerFixtures.folder.appendingPathComponent("ignore_merges.json"))) as! [String: Any]
        func load(_ edit: (inout [String: Any], inout [String: Any]) -> Void) throws {
            var root = base, model = base["model"] as! [String: Any]
            edit(&root, &model)
            if root["model"] != nil { root["model"] = model }
            _ = try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: root), path: "t.json")
        }
        func malformed(_ reason: String) -> TokenizerError { .malformedJSON(path: "t.json", reason: reason) }
        try load { _, _ in }
        #expect(throws: malformed("missing 'model'")) { try load { r, _ in r["model"] = nil } }
        #expect(throws: malformed("missing 'model.vocab'")) { try load { _, m in m["vocab"] = nil } }
        #expect(throws: malformed("missing 'model.merges'")) { try load { _, m in m["merges"] = nil } }
        #expect(throws: TokenizerError.unsupported("model type 'WordPiece' (only BPE)")) { try load { _, m in m["type"] = "WordPiece" } }
        #expect(throws: TokenizerError.unsupported("BPE byte_fallback")) { try load { _, m in m["byte_fallback"] = true } }
        #expect(throws: TokenizerError.unsupported("normalizer 'NFKC' (only NFC)")) {
            try load { r, _ in r["normalizer"] = ["type": "NFKC"] }
        }
        #expect(throws: TokenizerError.unsupported("decoder 'Metaspace' (only ByteLevel)")) {
            try load { r, _ in r["decoder"] = ["type": "Metaspace"] }
        }
        #expect(throws: TokenizerError.unsupported("ByteLevel use_regex (GPT-2's split)")) {
            try load { r, _ in
                var p = r["pre_tokenizer"] as! [String: Any], steps = p["pretokenizers"] as! [[String: Any]]
                steps[1]["use_regex"] = true; p["pretokenizers"] = steps; r["pre_tokenizer"] = p
            }
        }
        #expect(throws: TokenizerError.self) { try load { r, _ in r["pre_tokenizer"] = ["type": "Whitespace"] } }
        #expect(throws: TokenizerError.unsupported("Split pattern \\s+")) {
            try load { r, _ in
                var p = r["pre_tokenizer"] as! [String: Any], steps = p["pretokenizers"] as! [[String: Any]]
                steps[0]["pattern"] = ["Regex": "\\s+"]; p["pretokenizers"] = steps; r["pre_tokenizer"] = p
            }
        }
        #expect(throws: malformed("merge 0 ('a', 'q') makes a token outside the vocabulary")) { try load { _, m in m["merges"] = ["a q"] } }
        #expect(throws: malformed("merge 0 ('a', 'zz') has a part outside the vocabulary")) {
            try load { _, m in m["merges"] = [["a", "zz"]] }
        }
        #expect(throws: malformed("merge 0 does not have two parts")) { try load { _, m in m["merges"] = ["a b c"] } }
        #expect(throws: malformed("merge 0 is neither \"a b\" nor [\"a\", \"b\"]")) { try load { _, m in m["merges"] = [7] } }
        #expect(throws: malformed("vocabulary entry ' ' is not byte-level")) { try load { _, m in m["vocab"] = [" ": 0] } }
        #expect(throws: malformed("id 0 repeated in the vocabulary")) {
            try load { _, m in var v = m["vocab"] as! [String: Any]; v["abc"] = 0; m["vocab"] = v }
        }
        #expect(throws: TokenizerError.unsupported("added token '<x>' with lstrip")) {
            try load { r, _ in r["added_tokens"] = [["id": 999, "content": "<x>", "lstrip": true]] }
        }
        #expect(throws: malformed("added token 0 without content or id")) { try load { r, _ in r["added_tokens"] = [["content": "<x>"]] } }
        let full = try Data(contentsOf: TokenizerFixtures.folder.appendingPathComponent("ignore_merges.json"))
        #expect(throws: TokenizerError.self) { _ = try BPETokenizer(tokenizerJSON: full.prefix(full.count / 2)) }
        #expect(throws: malformed("not a JSON object")) { _ = try BPETokenizer(tokenizerJSON: Data("[1, 2]".utf8), path: "t.json") }
        #expect(throws: TokenizerError.self) { _ = try BPETokenizer(tokenizerJSON: Data(), path: "t.json") }
    }
}
