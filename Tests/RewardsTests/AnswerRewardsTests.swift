import Testing
import UniRLCore
import UniRLRewards

@Suite struct AnswerRewardsTests {
    func sample(_ completion: String, _ truth: String, _ matching: AnswerMatching = .exact) -> AnswerSample {
        AnswerSample(completion: completion, groundTruth: truth, matching: matching)
    }

    @Test func accuracyReadsTheAnswerBlockAfterNormalisation() async throws {
        let batch = [
            sample("<think>3+4=7</think><answer>7</answer><|im_end|>", "7", .integer),
            sample("<think>3+4=7</think><answer> 007 </answer>", "7", .integer),
            sample("<think>3+4=8</think><answer>8</answer>", "7", .integer),
            sample("The answer is 7.", "7", .integer),  // no answer block
            sample("<think>red circle</think><answer>There are Two.</answer>", "2", .vqa),
            sample("<answer>blue</answer> trailing words", "blue", .vqa),  // not the format, still right
            sample("<think>x</think><answer>top left</answer>", "top  left", .exact),
            sample("<think>x</think><answer>7", "7", .integer),  // truncated before </answer>
        ]
        let scores = try await AnswerAccuracyReward().scores(for: batch)
        #expect(scores == [1, 1, 0, 0, 1, 1, 0, 0])
        let strict = try await AnswerAccuracyReward(requireFormat: true).scores(for: batch)
        #expect(strict == [1, 1, 0, 0, 1, 0, 0, 0])
    }

    @Test func formatRewardNeedsThinkThenAnswer() async throws {
        let completions = [
            "<think>a</think><answer>b</answer>",
            "  <think>a</think>\n<answer>b</answer><|im_end|>  ",
            "<answer>b</answer>",
            "<think>a</think><answer>b</answer> and more",
            "<think>a<think></think><answer>b</answer>",
            "<think>a</think><answer>b",
            "",
        ]
        let scores = try await AnswerFormatReward().scores(for: completions.map { sample($0, "b") })
        #expect(scores == [1, 1, 0, 0, 0, 0, 0])
    }

    /// Text decoded from invalid UTF-8 (replacement characters) and very long completions are
    /// scored like any other, and the weighted sum logs each term.
    @Test func garbledAndLongCompletionsAreScoredAndCombined() async throws {
        let garbled = String(decoding: [0x3C, 0xFF, 0xFE, 0x61] as [UInt8], as: UTF8.self)
        let long = "<think>" + String(repeating: "1+", count: 5000) + "</think><answer>12</answer>"
        let batch = [
            sample(garbled, "1"), sample(long, "12", .integer),
            AnswerSample(completion: "<think>", groundTruth: "3", matching: .integer, isTruncated: true),
        ]
        let reward = WeightedRewards<AnswerSample>(name: "answer", [(AnswerAccuracyReward(), 1), (AnswerFormatReward(), 0.2)])
        let evaluation = await reward.evaluate(batch)
        #expect(evaluation.totals == [.score(0), .score(1.2), .score(0)])
        #expect(evaluation.components.map(\.name) == ["accuracy", "format"])
        #expect(evaluation.warnings.isEmpty)
    }

    @Test func matchingRules() {
        #expect(AnswerMatching.integer.matches("+12", "12") && !AnswerMatching.integer.matches("12.0", "12"))
        #expect(AnswerMatching.vqa.matches("It is Red!", "red") && !AnswerMatching.vqa.matches("red", "blue"))
        #expect(AnswerMatching.exact.matches(" yes\n", "yes") && !AnswerMatching.exact.matches("Yes", "yes"))
        let format = ThinkAnswerFormat()
        #expect(format.answer(in: "x <answer>a</answer> <answer>b</answer>") == "a")
        #expect(format.parse("<think>r</think><answer>a</answer>")?.answer == "a")
    }
}
