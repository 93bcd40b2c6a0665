import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// One chain-of-thought sample: the indirect prompt, what the LM wrote (decoded, `<|im_end|>`
/// included when it stopped) and the image drawn from prompt + reply.
public struct ChainOfThoughtSample: Sendable {
    public var prompt: IndirectPrompt
    public var completion: String
    public var isTruncated: Bool
    public var image: RGBImage

    public init(prompt: IndirectPrompt, completion: String, isTruncated: Bool, image: RGBImage) {
        self.prompt = prompt; self.completion = completion; self.isTruncated = isTruncated; self.image = image
    }
}

/// ShapesEval of the image against the *resolved* prompt (partial credit for training, strict otherwise).
public struct ChainOfThoughtImageReward: RewardFunction {
    public var inner: ShapesEvalReward
    public var name: String { inner.name }

    public init(partialCredit: Bool = true) { inner = ShapesEvalReward(partialCredit: partialCredit) }

    public func scores(for batch: [ChainOfThoughtSample]) async throws -> [Float?] {
        try await inner.scores(for: batch.map { PromptedImage(prompt: $0.prompt.resolved, image: $0.image) })
    }
}

/// 1 when the LM's reply is `<think>…</think><answer>…</answer>` (``AnswerFormatReward``), else 0.
public struct ChainOfThoughtFormatReward: RewardFunction {
    public let name = "format"
    public init() {}

    public func scores(for batch: [ChainOfThoughtSample]) async throws -> [Float?] {
        try await AnswerFormatReward().scores(for: batch.map {
            AnswerSample(completion: $0.completion, groundTruth: $0.prompt.resolved.caption, isTruncated: $0.isTruncated)
        })
    }
}

/// Held-out numbers of one chain-of-thought evaluation.
public struct ChainOfThoughtEvaluation: Sendable, Codable {
    /// Strict ShapesEval of the images against the resolved prompts.
    public var report: ShapesEvalReport
    /// Shares of replies in the format, whose answer is the resolved caption, and (counting
    /// prompts) whose first reasoning step is the right arithmetic ("1+2 = 3"); NaN without reasoning.
    public var formatRate: Double
    public var answerAccuracy: Double
    public var arithmeticAccuracy: Double
    /// A few (prompt, reply, resolved caption) triples, for the eye.
    public var examples: [[String]]
    /// The replies, in prompt order (empty without reasoning).
    public var completions: [String]
    /// The images, in prompt order (not encoded).
    public var images: [RGBImage] = []

    enum CodingKeys: String, CodingKey {
        case report, formatRate = "format_rate", answerAccuracy = "answer_accuracy", arithmeticAccuracy = "arithmetic_accuracy"
        case examples, completions
    }
}

/// Chain-of-thought-enhanced text-to-image GRPO on the tiny unified model (UniRL-Zero's CoT
/// scenario): for an indirect prompt ("as many circles as 1+2, coloured like grass") the LM writes
/// its reasoning and the resolved caption, and the DM draws from the connector over the whole
/// decoded prompt + reply (``ChainOfThoughtPrompts``). Both act in one trajectory
/// (``UnifiedPolicy``: the LM's token segment, then the DM's SDE segment) and share its one
/// advantage; the LM trains too (its own learning rate and k3 KL under `experts.lm`), through its
/// own surrogate and through the DM's, whose replay recomputes the condition on the tape.
/// Reward: ShapesEval (partial) of the image against the resolved prompt + `format_weight` × format.
public final class ChainOfThoughtScenario: Scenario {
    public typealias Prompt = IndirectPrompt
    public typealias Output = ChainOfThoughtSample

    public let generator: UnifiedImageGenerator
    public let policy: UnifiedPolicy
    public let reward: any RewardFunction<ChainOfThoughtSample>
    public let experts: [AnyPolicyExpert]
    public let settings: ChainOfThoughtSettings
    private var cachedPrompts: [DatasetSplit: [IndirectPrompt]] = [:]

    public var model: UnifiedModel { generator.model }
    public var tokenizer: QwenTokenizer { generator.tokenizer }
    public var stopTokens: Set<Int> { [tokenizer.imEndID, tokenizer.endOfTextID] }

    public init(generator: UnifiedImageGenerator, settings: ChainOfThoughtSettings,
                reward: (any RewardFunction<ChainOfThoughtSample>)? = nil) {
        self.generator = generator
        self.settings = settings
        generator.model.autoencoder?.freeze()
        var writes = GenerationOptions(maxNewTokens: settings.maxNewTokens, temperature: settings.temperature,
                                       stopTokens: [generator.tokenizer.imEndID, generator.tokenizer.endOfTextID])
        writes.padID = generator.tokenizer.endOfTextID
        policy = UnifiedPolicy(model: generator.model, writes: writes, drawing: settings.policySettings)
        experts = policy.experts
        self.reward = reward ?? WeightedRewards(name: "cot", [(ChainOfThoughtImageReward(), 1),
                                                               (ChainOfThoughtFormatReward(), settings.formatWeight)])
    }

    /// Training: `train_prompts` distinct training-side indirect prompts; test: `test_prompts`
    /// distinct held-out ones (ShapesWorld's caption hash on the indirect text), never trained on.
    public func prompts(_ split: DatasetSplit) throws -> [IndirectPrompt] {
        if let cached = cachedPrompts[split] { return cached }
        let (count, side, seed) = split == .train
            ? (settings.trainPrompts, PromptSplit.train, UInt64(settings.promptSeed))
            : (settings.testPrompts, PromptSplit.evaluation, UInt64(settings.testPromptSeed))
        let prompts = ChainOfThoughtPrompts.prompts(count: count, split: side, seed: seed)
        guard prompts.count == count else {
            throw ChainOfThoughtError.tooFewPrompts(split: side.rawValue, wanted: count, found: prompts.count)
        }
        cachedPrompts[split] = prompts
        return prompts
    }

    public func promptKey(_ prompt: IndirectPrompt) -> String { prompt.text }

    public func rollout(_ prompts: [IndirectPrompt], group: Int,
                        using rng: inout RandomState) throws -> [Trajectory<ChainOfThoughtSample>] {
        let requests = prompts.map { UnifiedRequest(prompt: ChainOfThoughtPrompts.chatPrompt($0, tokenizer: tokenizer)) }
        return try policy.rollout(requests, group: group, using: &rng).map { s in
            let truncated = s.segments.count > 1 && s.segments[0].isTruncated
            let sample = ChainOfThoughtSample(
                prompt: prompts[s.requestIndex], completion: (try? tokenizer.decode(s.writtenTokens)) ?? "",
                isTruncated: truncated, image: try s.image.unwrap())
            return Trajectory(promptIndex: s.requestIndex, output: sample, segments: s.segments)
        }
    }

    /// Greedy replies (at most `max_new_tokens`, batches of 50), `<|im_end|>` included when written.
    public func replies(_ prompts: [IndirectPrompt]) throws -> [[Int]] {
        var options = GenerationOptions.greedy(maxNewTokens: settings.maxNewTokens, stopTokens: stopTokens)
        options.padID = tokenizer.endOfTextID
        let lm = QwenPolicy(model: model.lm, options: options)
        var rng = RandomState(seed: 0), out: [[Int]] = []
        for start in stride(from: 0, to: prompts.count, by: 50) {
            let chunk = prompts[start..<Swift.min(start + 50, prompts.count)]
            out += try lm.sample(chunk.map { ChainOfThoughtPrompts.chatPrompt($0, tokenizer: tokenizer) }, using: &rng).map(\.tokens)
        }
        return out
    }

    /// Held-out evaluation: with `reasoning` the LM replies greedily and the image is drawn from
    /// prompt + reply; without, the queries follow the prompt directly. Images: Euler ODE,
    /// `evaluation_steps` steps, the rollouts' guidance and shift, noise from `seed` (the same at
    /// every evaluation); scored by ShapesEval's strict rules against the resolved prompts.
    public func evaluate(_ prompts: [IndirectPrompt], reasoning: Bool, seed: UInt64,
                         progress: (Int) -> Void = { _ in }) throws -> ChainOfThoughtEvaluation {
        let replies = reasoning ? try replies(prompts) : prompts.map { _ in [Int]() }
        let conditions = zip(prompts, replies).map { p, r in
            UnifiedImageCondition(prompt: ChainOfThoughtPrompts.conditionPrompt(p, reply: r, tokenizer: tokenizer))
        }
        var drawing = settings.policySettings
        drawing.steps = settings.evaluationSteps
        let dm = UnifiedImagePolicy(model: model, settings: drawing)
        var rng = RandomState(seed: seed), images: [RGBImage] = []
        for start in stride(from: 0, to: conditions.count, by: 8) {
            let chunk = Array(conditions[start..<Swift.min(start + 8, conditions.count)])
            images += try model.decode(try dm.generate(chunk, steps: settings.evaluationSteps, using: &rng))
            progress(images.count)
        }
        let report = ShapesEval().evaluate(prompts: prompts.map(\.resolved), images: images)
        let completions = reasoning ? replies.map { (try? tokenizer.decode($0)) ?? "" } : []
        var formatted = 0, right = 0, arithmetic = 0, counting = 0, examples: [[String]] = []
        for (p, c) in zip(prompts, completions) {
            let parsed = TinyLMFormat.parse(c)
            if parsed != nil { formatted += 1 }
            if parsed?.answer.trimmingCharacters(in: .whitespaces) == p.resolved.caption { right += 1 }
            if let step = ChainOfThoughtPrompts.arithmeticStep(p) {
                counting += 1
                if parsed?.reasoning.trimmingCharacters(in: .whitespaces).hasPrefix(step + ";") == true { arithmetic += 1 }
            }
            if examples.count < 6 { examples.append([p.text, c, p.resolved.caption]) }
        }
        func share(_ k: Int, _ n: Int) -> Double { reasoning && n > 0 ? Double(k) / Double(n) : .nan }
        var evaluation = ChainOfThoughtEvaluation(
            report: report, formatRate: share(formatted, prompts.count), answerAccuracy: share(right, prompts.count),
            arithmeticAccuracy: share(arithmetic, counting), examples: examples, completions: completions)
        evaluation.images = images
        return evaluation
    }

    /// Greedy held-out accuracy of the LM on the tiny LM's text tasks (arithmetic alone, no image):
    /// the first `count` text tasks of ``TinyLMPretraining/heldOutTasks()``.
    public func textAccuracy(count: Int) throws -> TinyLMEvaluation {
        let tasks = Array(TinyLMPretraining(settings: TinyLMPretrainingSettings()).heldOutTasks().filter { $0.kind == .text }.prefix(count))
        return try TinyLMPretraining.evaluate(TinyLM(model: model.lm, tokenizer: tokenizer), tasks: tasks)
    }
}

extension Optional {
    /// The value, or a typed error (a rollout without a decoded image).
    fileprivate func unwrap() throws -> Wrapped {
        guard let self else { throw UnifiedModelError.invalidRequest("a rollout has no decoded image (the model has no DC-AE)") }
        return self
    }
}
