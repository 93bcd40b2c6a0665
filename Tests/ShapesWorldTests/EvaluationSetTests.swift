import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

/// The bundled file as the sources hold it.
private let sourceEvaluationFile = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Sources/ShapesWorld/Resources/eval_prompts.jsonl")

@Suite struct EvaluationSetTests {
    /// Run with `UNIRL_REGENERATE_EVAL_PROMPTS=1` to rewrite the file in the sources from
    /// `PromptGenerator.evaluationSet()` (then rebuild so that the bundle picks it up).
    @Test func regeneratingGivesTheBundledFile() throws {
        let regenerated = try PromptFile.encode(PromptGenerator.evaluationSet())
        if ProcessInfo.processInfo.environment["UNIRL_REGENERATE_EVAL_PROMPTS"] == "1" {
            try Data(regenerated.utf8).write(to: sourceEvaluationFile, options: .atomic)
        }
        let url = try #require(PromptGenerator.bundledEvaluationFileURL)
        #expect(try String(contentsOf: url, encoding: .utf8) == regenerated)
        #expect(try String(contentsOf: sourceEvaluationFile, encoding: .utf8) == regenerated)
    }
}
