import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// One round of a reflective generation, what the reward scores: round 0 is the first image;
/// round 1 is the judgement (and, when the judge found a fault, the corrected image).
public struct ReflectionStep: Sendable {
    /// Which prompt of the rollout call and which sample of its group (the reward forms the
    /// per-round advantages within a group).
    public var group: Int
    public var sample: Int
    public var round: Int
    public var prompt: ShapesPrompt
    public var firstImage: RGBImage
    /// What the LM wrote about the first image, and whether it said the image is right.
    public var judgement: String
    public var judgedCorrect: Bool
    /// The corrected image (the first image when the judge found nothing to correct).
    public var finalImage: RGBImage
    public var edited: Bool
}

/// Reflective generation on the unified model (not in the official code; this package's design).
/// Per sample, in one chat:
///
/// 1. **draw** — the DM draws a first image from the caption (the t2i path, ``UnifiedImagePolicy``);
/// 2. **judge** — the LM sees that image through its vision tower and answers
///    `<think>what is wrong</think><answer>yes|no</answer>` to "Does the picture show CAPTION? If not,
///    say what is wrong.";
/// 3. **correct** — when the answer is not `yes`, the DM redraws through the editing path: the i2i
///    queries follow the whole conversation (the image, the question and the LM's critique) and the
///    DiT's reference path reads the first image's latent (0.8·ref + 0.2·z, as the official edit sampler).
///
/// Each sample gives two trajectories of one group: round 0 = [dm], round 1 = [lm] or [lm, dm].
/// ``ReflectionReward`` gives them R3's per-round advantages (``RoundAdvantages``): round 0 the
/// first image's ShapesEval score minus the group mean; round 1 the improvement of the final image
/// over the first plus `judge_weight` × (the judgement agrees with ShapesEval), minus the group mean.
public final class ReflectionScenario: Scenario {
    public typealias Prompt = ShapesPrompt
    public typealias Output = ReflectionStep

    public let generator: UnifiedImageGenerator
    public let drawing: UnifiedImagePolicy
    public let judge: QwenPolicy<QwenVLForConditionalGeneration>
    public let reward: any RewardFunction<ReflectionStep>
    public let experts: [AnyPolicyExpert]
    public let settings: ReflectionSettings
    let processor: QwenImageProcessor

    public var model: UnifiedModel { generator.model }
    public var tokenizer: QwenTokenizer { generator.tokenizer }

    public init(generator: UnifiedImageGenerator, settings: ReflectionSettings, reward: (any RewardFunction<ReflectionStep>)? = nil) {
        self.generator = generator
        self.settings = settings
        generator.model.autoencoder?.freeze()
        var options = GenerationOptions(maxNewTokens: settings.maxNewTokens, temperature: settings.temperature,
                                        stopTokens: [generator.tokenizer.imEndID, generator.tokenizer.endOfTextID])
        options.padID = generator.tokenizer.endOfTextID
        judge = QwenPolicy(name: "lm", model: generator.model.lm, options: options)
        drawing = UnifiedImagePolicy(model: generator.model, settings: settings.policySettings)
        experts = [AnyPolicyExpert(judge), AnyPolicyExpert(drawing)]
        processor = QwenImageProcessor(generator.model.lm.configuration.vision)
        self.reward = reward ?? ReflectionReward(judgeWeight: settings.judgeWeight)
    }

    public func prompts(_ split: DatasetSplit) throws -> [ShapesPrompt] {
        var s = TextToImageSettings()
        s.trainPrompts = settings.trainPrompts
        s.testPrompts = settings.testPrompts
        s.promptSeed = settings.promptSeed
        return try s.prompts(split)
    }

    public func promptKey(_ prompt: ShapesPrompt) -> String { prompt.caption }

    /// The judge's question about `image` (ends with `<|im_start|>assistant\n`).
    public func judgePrompt(caption: String, image: RGBImage) throws -> LanguagePrompt {
        let processed = try processor(image)
        let pads = processed.tokenCount(spatialMerge: model.lm.configuration.vision.spatialMergeSize)
        let message = ChatMessage(role: .user, parts: [.image, .text("Does the picture show \(caption)? If not, say what is wrong.")])
        return LanguagePrompt(tokens: tokenizer.encode(conversation: [message], addGenerationPrompt: true, imagePadCounts: [pads]),
                              images: [processed])
    }

    /// Whether a judgement says the image is right: its `<answer>` is `yes`.
    public static func saysCorrect(_ judgement: String) -> Bool {
        ThinkAnswerFormat().answer(in: judgement)?.trimmingCharacters(in: .whitespaces).lowercased() == "yes"
    }

    public func rollout(_ prompts: [ShapesPrompt], group: Int, using rng: inout RandomState) throws -> [Trajectory<ReflectionStep>] {
        let rows = prompts.indices.flatMap { [Int](repeating: $0, count: group) }
        return try withoutGrad {
            let t2i = rows.map { UnifiedImageCondition(prompt: generator.prompt(caption: prompts[$0].caption)) }
            let first = try drawing.sample(t2i, using: &rng)
            let firstImages = try model.decode(Tensor.stack(first.map(\.sample), axis: 0))
            let questions = try rows.indices.map { try judgePrompt(caption: prompts[rows[$0]].caption, image: firstImages[$0]) }
            let judgements = try judge.sample(questions, using: &rng)
            let texts = judgements.map { (try? tokenizer.decode($0.tokens)) ?? "" }
            let toEdit = rows.indices.filter { !Self.saysCorrect(texts[$0]) }
            var finals = firstImages, editSegments = [TrajectorySegment?](repeating: nil, count: rows.count)
            if !toEdit.isEmpty {
                let references = try model.encode(toEdit.map { firstImages[$0] })
                let conditions = toEdit.enumerated().map { k, i in
                    let ref = references.slice(axis: 0, k..<(k + 1)).squeezed(0)
                    return UnifiedImageCondition(
                        prompt: LanguagePrompt(tokens: questions[i].tokens + judgements[i].tokens, images: questions[i].images),
                        querySet: .i2i, reference: ref * 0.8 + Tensor.randomNormal(ref.shape, using: &rng) * 0.2)
                }
                let edits = try drawing.sample(conditions, using: &rng)
                let editedImages = try model.decode(Tensor.stack(edits.map(\.sample), axis: 0))
                for (k, i) in toEdit.enumerated() {
                    finals[i] = editedImages[k]
                    editSegments[i] = TrajectorySegment(expert: drawing, rollout: edits[k], condition: conditions[k])
                }
            }
            var out: [Trajectory<ReflectionStep>] = []
            for i in rows.indices {
                let step = ReflectionStep(
                    group: rows[i], sample: i % group, round: 0, prompt: prompts[rows[i]], firstImage: firstImages[i],
                    judgement: texts[i], judgedCorrect: !toEdit.contains(i), finalImage: finals[i], edited: editSegments[i] != nil)
                out.append(Trajectory(promptIndex: rows[i], output: step,
                                      segments: [TrajectorySegment(expert: drawing, rollout: first[i], condition: t2i[i])]))
                var second = step
                second.round = 1
                var segments: [TrajectorySegment] = []
                if !judgements[i].tokens.isEmpty {
                    segments.append(TrajectorySegment(expert: judge, rollout: judgements[i], condition: questions[i]))
                }
                if let edit = editSegments[i] { segments.append(edit) }
                out.append(Trajectory(promptIndex: rows[i], output: second, segments: segments))
            }
            return out
        }
    }
}
