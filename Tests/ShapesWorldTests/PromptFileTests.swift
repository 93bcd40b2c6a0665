import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

private func error(decoding text: String) -> PromptFileError? {
    do { _ = try PromptFile.decode(text, path: "p.jsonl"); return nil } catch let e as PromptFileError { return e } catch { return nil }
}

private let good = #"{"tag":"single_object","include":[{"class":"circle","count":1}],"prompt":"a circle"}"#

@Suite struct PromptFileTests {
    @Test func promptsRoundTrip() throws {
        let prompts = try PromptGenerator.bundledEvaluationSet()
        let text = try PromptFile.encode(prompts)
        #expect(try PromptFile.decode(text) == prompts)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("prompts-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try PromptFile.write(prompts, to: url)
        #expect(try PromptFile.read(from: url) == prompts)
    }

    @Test func blankLinesAreSkippedButCountedInLineNumbers() throws {
        #expect(try PromptFile.decode("\n" + good + "\n\n" + good + "\n").count == 2)
        let e = error(decoding: good + "\n\n{oops\n")
        #expect(e?.line == 3)
    }

    @Test func malformedJSONNamesTheLine() {
        let e = error(decoding: good + "\n" + good + "\n" + #"{"tag": "colors", "include": [}"#)
        #expect(e?.line == 3)
        #expect(e?.description.hasPrefix("p.jsonl:3: not a valid JSON object") == true)
    }

    @Test func missingAndUnknownFieldsAreNamed() {
        #expect(error(decoding: #"{"tag":"colors","include":[{"class":"circle","count":1}]}"#)?.description
                == "p.jsonl:1: missing key 'prompt'")
        #expect(error(decoding: #"{"tag":"colors","include":[{"class":"hexagon","count":1}],"prompt":"x"}"#)?.description
                == "p.jsonl:1: unknown class 'hexagon' (expected circle, square, triangle) at 'include[0].class'")
        #expect(error(decoding: #"{"tag":"colours","include":[{"class":"circle","count":1}],"prompt":"x"}"#)?.reason
                .hasPrefix("unknown tag 'colours'") == true)
        #expect(error(decoding: #"{"tag":"colors","include":[{"class":"circle","count":1,"color":"pink"}],"prompt":"x"}"#)?.reason
                .hasPrefix("unknown color 'pink'") == true)
        #expect(error(decoding: #"{"tag":"colors","include":[{"class":"circle","count":"one"}],"prompt":"x"}"#)?.description
                == "p.jsonl:1: expected an integer at 'include[0].count'")
        #expect(error(decoding: #"{"tag":"position","include":[{"class":"circle","count":1},"#
                          + #"{"class":"square","count":1,"position":["beside",0]}],"prompt":"x"}"#)?.reason
                .hasPrefix("unknown relation 'beside'") == true)
        #expect(error(decoding: "[1, 2]")?.reason == "expected an object")
    }

    @Test func unsatisfiableSpecificationsAreNamed() {
        let badTarget = #"{"tag":"position","include":[{"class":"circle","count":1,"position":["left of",1]},"#
            + #"{"class":"square","count":1}],"prompt":"x"}"#
        #expect(error(decoding: good + "\n" + badTarget)?.description
                == "p.jsonl:2: invalid prompt 'x': include[0] is placed against include[1], which is not an earlier entry")
        #expect(error(decoding: #"{"tag":"counting","include":[{"class":"circle","count":12}],"prompt":"x"}"#)?.reason
                .contains("asks for 12 objects") == true)
        #expect(error(decoding: #"{"tag":"counting","include":[],"prompt":"x"}"#)?.reason == "invalid prompt 'x': 'include' is empty")
    }

    @Test func emptyAndUnreadableFilesAreNamed() {
        #expect(error(decoding: "\n\n")?.description == "p.jsonl: the file holds no prompts")
        do {
            _ = try PromptFile.read(from: URL(fileURLWithPath: "/nonexistent/prompts.jsonl"))
            Issue.record("expected an error")
        } catch let e as PromptFileError {
            #expect(e.path == "/nonexistent/prompts.jsonl" && e.line == nil)
            #expect(e.description.hasPrefix("/nonexistent/prompts.jsonl: cannot read the file"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theFileFormatIsGenEvalsMetadata() throws {
        let p = ShapesPrompt(category: .position, caption: "a red circle left of a blue square",
                             include: [ObjectRequirement(.square, color: .blue),
                                       ObjectRequirement(.circle, color: .red, position: RelativePosition(.leftOf, of: 0))])
        #expect(try PromptFile.encode([p]) ==
            #"{"include":[{"class":"square","color":"blue","count":1},"#
                + #"{"class":"circle","color":"red","count":1,"position":["left of",0]}],"#
                + #""prompt":"a red circle left of a blue square","tag":"position"}"# + "\n")
    }
}
