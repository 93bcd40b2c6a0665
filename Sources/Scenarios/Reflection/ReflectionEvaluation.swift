import Foundation
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// Held-out numbers of reflective generation: strict ShapesEval of the first and the final image,
/// how often the judge agrees with ShapesEval on the first image, and how often it asked for a correction.
public struct ReflectionEvaluation: Sendable, Codable {
    public var first: ShapesEvalReport
    public var final: ShapesEvalReport
    public var judgeAccuracy: Double
    public var editRate: Double
    /// A few (caption, judgement, first correct, final correct) rows, for the eye.
    public var examples: [[String]]
    /// First and final images, in prompt order (not encoded).
    public var firstImages: [RGBImage] = []
    public var finalImages: [RGBImage] = []

    enum CodingKeys: String, CodingKey {
        case first, final, judgeAccuracy = "judge_accuracy", editRate = "edit_rate", examples
    }
}

extension ReflectionScenario {
    /// One reflective pass per prompt: Euler-ODE first image (`evaluation_steps`, noise from
    /// `seed`), greedy judgement, Euler-ODE correction through the editing path when the judge
    /// says the image is wrong.
    public func evaluate(_ prompts: [ShapesPrompt], seed: UInt64, progress: (Int) -> Void = { _ in }) throws -> ReflectionEvaluation {
        var rng = RandomState(seed: seed)
        var drawingSettings = settings.policySettings
        drawingSettings.steps = settings.evaluationSteps
        let dm = UnifiedImagePolicy(model: model, settings: drawingSettings)
        var options = GenerationOptions.greedy(maxNewTokens: settings.maxNewTokens, stopTokens: [tokenizer.imEndID, tokenizer.endOfTextID])
        options.padID = tokenizer.endOfTextID
        let lm = QwenPolicy(model: model.lm, options: options)
        var first: [RGBImage] = [], final: [RGBImage] = [], judgements: [String] = []
        for start in stride(from: 0, to: prompts.count, by: 8) {
            let chunk = Array(prompts[start..<Swift.min(start + 8, prompts.count)])
            let drawn = try model.decode(try dm.generate(chunk.map { UnifiedImageCondition(prompt: generator.prompt(caption: $0.caption)) },
                                                         steps: settings.evaluationSteps, using: &rng))
            let questions = try zip(chunk, drawn).map { try judgePrompt(caption: $0.caption, image: $1) }
            let replies = try lm.sample(questions, using: &rng)
            let texts = replies.map { (try? tokenizer.decode($0.tokens)) ?? "" }
            var corrected = drawn
            let toEdit = chunk.indices.filter { !Self.saysCorrect(texts[$0]) }
            if !toEdit.isEmpty {
                let references = try model.encode(toEdit.map { drawn[$0] })
                let conditions = toEdit.enumerated().map { k, i in
                    let ref = references.slice(axis: 0, k..<(k + 1)).squeezed(0)
                    return UnifiedImageCondition(
                        prompt: LanguagePrompt(tokens: questions[i].tokens + replies[i].tokens, images: questions[i].images),
                        querySet: .i2i, reference: ref * 0.8 + Tensor.randomNormal(ref.shape, using: &rng) * 0.2)
                }
                let edits = try model.decode(try dm.generate(conditions, steps: settings.evaluationSteps, using: &rng))
                for (k, i) in toEdit.enumerated() { corrected[i] = edits[k] }
            }
            first += drawn
            final += corrected
            judgements += texts
            progress(first.count)
        }
        let eval = ShapesEval()
        let firstReport = eval.evaluate(prompts: prompts, images: first), finalReport = eval.evaluate(prompts: prompts, images: final)
        let firstCorrect = eval.scores(prompts: prompts, images: first), finalCorrect = eval.scores(prompts: prompts, images: final)
        let agree = zip(judgements, firstCorrect).filter { Self.saysCorrect($0) == $1 }.count
        let edits = judgements.filter { !Self.saysCorrect($0) }.count
        var result = ReflectionEvaluation(
            first: firstReport, final: finalReport, judgeAccuracy: Double(agree) / Double(Swift.max(prompts.count, 1)),
            editRate: Double(edits) / Double(Swift.max(prompts.count, 1)),
            examples: prompts.indices.prefix(8).map { [prompts[$0].caption, judgements[$0], "\(firstCorrect[$0])", "\(finalCorrect[$0])"] })
        result.firstImages = first
        result.finalImages = final
        return result
    }
}
