import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The settings of `unirl pretrain lm`.
public struct TinyLMPretrainingSettings: Sendable, Equatable {
    /// Regular tokens of the trained tokenizer at most (bytes + merges; the added tokens come on top).
    public var tokenizerVocabularySize = 1024
    /// Samples per kind of ShapesWorld text the tokenizer is trained on.
    public var tokenizerSamples = 3000
    /// Optimizer steps, batch size and peak learning rate of the supervised phase (cosine decay).
    public var steps = 700
    public var batchSize = 32
    public var learningRate: Float = 3e-3
    /// The share of each task kind in a batch (caption, indirect, vqa, text).
    public var mix: [TinyLMTask.Kind: Double] = [.caption: 0.2, .indirect: 0.1, .vqa: 0.4, .text: 0.3]
    /// Held-out prompts per evaluated kind (VQA, text, indirect), drawn with ``evaluationSeed``.
    public var evaluationCount = 200
    public var evaluationSeed: UInt64 = 2025
    public var seed: UInt64 = 0
    /// How text tasks' replies reason. Default `.short` (stage 1 of the bundled LM).
    public var textReasoning = TextReasoningStyle.short
    /// The share of training text tasks with operands up to 99 (``TinyLMTaskGenerator/extendedTextShare``). Default 0.
    public var extendedTextShare = 0.0

    public init() {}

    /// The text stage (`unirl pretrain lm --stage text`): supervised fine-tuning of an already
    /// trained LM on text tasks worked step by step (``WorkedArithmetic``), with replay of the
    /// other kinds so that VQA and captions are kept: 1,000 steps of 32 at a peak learning rate of
    /// 1e-3, mixed 60% text, 20% VQA, 15% captions, 5% indirect prompts; three quarters of the
    /// text tasks have operands up to 99 (training side of the split), so that the questions are
    /// too many to memorise and the model learns to copy the operands and work the columns.
    public static var textStage: TinyLMPretrainingSettings {
        var s = TinyLMPretrainingSettings()
        s.steps = 1000
        s.extendedTextShare = 0.75
        s.learningRate = 1e-3
        s.mix = [.caption: 0.15, .indirect: 0.05, .vqa: 0.2, .text: 0.6]
        s.textReasoning = .worked
        return s
    }
}

/// Held-out greedy accuracy per task kind and sub-kind.
public struct TinyLMEvaluation: Sendable, Codable, Equatable {
    /// Accuracy in [0, 1] and prompt count per kind (`vqa`, `text`, `indirect`).
    public var accuracy: [String: Double]
    public var count: [String: Int]
    /// Accuracy per sub-kind (`vqa/count`, `text/addition`, …).
    public var bySubkind: [String: Double]
    /// The share of completions in ``TinyLMFormat`` per kind.
    public var formatRate: [String: Double]
    /// A few (prompt, completion, answer) triples per kind, for the eye.
    public var examples: [String: [[String]]]
}

/// Pretraining of the tiny LM (``TinyLM``) on ShapesWorld text — the language half of the
/// paper's cold start, by our own command:
///
/// 1. a byte-level BPE tokenizer is trained on ShapesWorld text (``BPETrainer``,
///    ``TinyLMTaskGenerator/tokenizerCorpus(samplesPerKind:seed:)``) with Qwen2.5's added tokens
///    and the four tags of ``TinyLMFormat``;
/// 2. the Qwen2.5-VL-architecture model (vision tower included) learns by supervised fine-tuning
///    (``SupervisedFineTuning``'s masked next-token loss) on training-split tasks: captions as
///    the user's message (loss on the caption), indirect prompts, VQA on 32 × 32 renders and text
///    tasks, replies in the `<think>…</think><answer>…</answer>` format;
/// 3. greedy accuracy on held-out prompts (``TinyLMTaskGenerator``'s split) is measured.
///
/// The defaults stop well short of perfect accuracy on purpose: the text and VQA scenarios
/// start from this model and must have room to learn.
public struct TinyLMPretraining {
    public var settings: TinyLMPretrainingSettings

    public init(settings: TinyLMPretrainingSettings) { self.settings = settings }

    /// The trained tokenizer of the settings.
    public func trainTokenizer() -> TrainedBPE {
        let corpus = TinyLMTaskGenerator.tokenizerCorpus(samplesPerKind: settings.tokenizerSamples, seed: settings.seed &+ 1)
        var trained = BPETrainer(vocabularySize: settings.tokenizerVocabularySize).train(corpus, addedTokens: TinyLM.addedTokens)
        trained.plainAddedTokens = Set(TinyLMFormat.tags)
        return trained
    }

    /// A freshly initialised model for `tokenizer`.
    public static func initialModel(tokenizer: QwenTokenizer, vocabularySize: Int, using rng: inout RandomState) -> TinyLM {
        let model = QwenVLForConditionalGeneration(TinyLM.configuration(vocabularySize: vocabularySize, tokenizer: tokenizer), rng: &rng)
        // transformers' initializer_range (0.02) for the tied embedding: at N(0, 1) the first logits
        // would have a spread of √hidden and the first loss would be ~26 instead of ln V.
        let embedding = model.model.embedTokens.weight
        embedding.assign(Tensor.randomNormal(embedding.shape, using: &rng) * 0.02)
        return TinyLM(model: model, tokenizer: tokenizer)
    }

    /// The supervised example of a task: the ChatML conversation's ids (image pads repeated per
    /// merged patch) and the loss mask — the reply and its `<|im_end|>`, or for captions the
    /// user's message and its `<|im_end|>`.
    public static func example(_ task: TinyLMTask, lm: TinyLM) throws -> SupervisedExample {
        let images = try task.image.map { [try lm.imageProcessor($0)] } ?? []
        let pads = images.map { $0.tokenCount(spatialMerge: lm.model.configuration.vision.spatialMergeSize) }
        if let completion = task.completion {
            let (ids, mask) = lm.tokenizer.encodeForTraining(
                task.messages + [ChatMessage(role: .assistant, completion)],
                imagePadCounts: pads)
            return SupervisedExample(tokens: ids, lossMask: mask, images: images)
        }
        // The user's text and its <|im_end|>: the bytes from the message's start to the final "\n".
        let text = lm.tokenizer.render(task.messages, addGenerationPrompt: false, imagePadCounts: pads)
        let messageBytes = lm.tokenizer.bpe.normalized(task.prompt).utf8.count + "<|im_end|>".utf8.count
        let end = text.utf8.count - 1, start = end - messageBytes
        let (ids, offsets) = lm.tokenizer.bpe.encodeWithOffsets(text)
        return SupervisedExample(tokens: ids, lossMask: offsets.map { $0.overlaps(start..<end) ? 1 : 0 }, images: images)
    }

    /// The prompt of a task for generation: ids ending with `<|im_start|>assistant\n`.
    public static func prompt(_ task: TinyLMTask, lm: TinyLM) throws -> LanguagePrompt {
        let images = try task.image.map { [try lm.imageProcessor($0)] } ?? []
        let pads = images.map { $0.tokenCount(spatialMerge: lm.model.configuration.vision.spatialMergeSize) }
        return LanguagePrompt(
            tokens: lm.tokenizer.encode(conversation: task.messages, addGenerationPrompt: true, imagePadCounts: pads),
            images: images)
    }

    /// A kind drawn by the mix's weights.
    func drawKind(using rng: inout RandomState) -> TinyLMTask.Kind {
        let kinds = TinyLMTask.Kind.allCases, total = kinds.reduce(0) { $0 + (settings.mix[$1] ?? 0) }
        var u = Double(rng.nextUniform()) * total
        for k in kinds {
            u -= settings.mix[k] ?? 0
            if u < 0 { return k }
        }
        return kinds.last(where: { (settings.mix[$0] ?? 0) > 0 }) ?? .text
    }

    /// Supervised training of `lm` for `settings.steps` steps on training-split tasks; `progress`
    /// gets (step, total, loss) after every step. Returns the losses.
    @discardableResult
    public func train(_ lm: TinyLM, using rng: inout RandomState, progress: (Int, Int, Float) -> Void = { _, _, _ in }) throws -> [Float] {
        let generator = TinyLMTaskGenerator(textReasoning: settings.textReasoning, extendedTextShare: settings.extendedTextShare)
        let sft = SupervisedFineTuning(model: lm.model, padID: lm.tokenizer.endOfTextID)
        let parameters = lm.model.trainableParameters()
        let optimizer = AdamW(parameters: parameters, learningRate: settings.learningRate, weightDecay: 0.01)
        let total = settings.steps
        let schedule = LearningRateSchedule.cosine(warmupSteps: Swift.min(100, total / 10), totalSteps: total, minimumRatio: 0.05)
        var losses: [Float] = []
        for step in 0..<total {
            let examples = try (0..<settings.batchSize).map { _ in
                try Self.example(generator.task(drawKind(using: &rng), split: .train, using: &rng), lm: lm)
            }
            lm.model.zeroGrad()
            guard let loss = try sft.loss(examples) else { continue }
            loss.backward()
            clipGradientNorm(parameters.map(\.parameter), maxNorm: 1)
            optimizer.learningRate = schedule.rate(base: settings.learningRate, step: step)
            optimizer.step()
            losses.append(loss.item)
            progress(step + 1, total, loss.item)
        }
        lm.model.zeroGrad()
        return losses
    }

    /// The fixed held-out tasks of the settings: ``TinyLMTaskGenerator`` on the evaluation side,
    /// `evaluationCount` per kind of VQA and text, half that of indirect prompts.
    public func heldOutTasks() -> [TinyLMTask] {
        var rng = RandomState(seed: settings.evaluationSeed)
        let generator = TinyLMTaskGenerator()
        let n = settings.evaluationCount
        return [(TinyLMTask.Kind.vqa, n), (.text, n), (.indirect, n / 2)]
            .flatMap { kind, n in (0..<n).map { _ in generator.task(kind, split: .evaluation, using: &rng) } }
    }

    /// Greedy completions of `tasks` (batches of 50, at most 48 new tokens each).
    public static func complete(_ tasks: [TinyLMTask], lm: TinyLM, maxNewTokens: Int = 48) throws -> [String] {
        var out: [String] = []
        var rng = RandomState(seed: 0)
        var options = GenerationOptions.greedy(maxNewTokens: maxNewTokens, stopTokens: lm.stopTokens)
        options.padID = lm.tokenizer.endOfTextID
        let policy = QwenPolicy(model: lm.model, options: options)
        for start in stride(from: 0, to: tasks.count, by: 50) {
            let chunk = Array(tasks[start..<Swift.min(start + 50, tasks.count)])
            let rollouts = try policy.sample(try chunk.map { try prompt($0, lm: lm) }, using: &rng)
            for r in rollouts {
                let tokens = r.tokens.filter { !lm.stopTokens.contains($0) }
                out.append((try? lm.tokenizer.decode(tokens)) ?? "")
            }
        }
        return out
    }

    /// Greedy held-out accuracy of `lm` on `tasks` (at most `maxNewTokens` new tokens a completion).
    public static func evaluate(_ lm: TinyLM, tasks: [TinyLMTask], maxNewTokens: Int = 48) throws -> TinyLMEvaluation {
        let completions = try complete(tasks, lm: lm, maxNewTokens: maxNewTokens)
        var right: [String: Int] = [:], count: [String: Int] = [:], formatted: [String: Int] = [:]
        var examples: [String: [[String]]] = [:]
        for (task, completion) in zip(tasks, completions) {
            let kind = task.kind.rawValue, sub = kind + "/" + task.subkind
            let ok = task.isCorrect(completion) ? 1 : 0
            right[kind, default: 0] += ok; count[kind, default: 0] += 1
            right[sub, default: 0] += ok; count[sub, default: 0] += 1
            formatted[kind, default: 0] += TinyLMFormat.parse(completion) == nil ? 0 : 1
            if examples[kind, default: []].count < 4 { examples[kind, default: []].append([task.prompt, completion, task.answer]) }
        }
        func rate(_ k: String, _ m: [String: Int]) -> Double { Double(m[k] ?? 0) / Double(Swift.max(count[k] ?? 0, 1)) }
        let kinds = Set(tasks.map(\.kind.rawValue))
        return TinyLMEvaluation(
            accuracy: Dictionary(uniqueKeysWithValues: kinds.map { ($0, rate($0, right)) }),
            count: Dictionary(uniqueKeysWithValues: kinds.map { ($0, count[$0] ?? 0) }),
            bySubkind: Dictionary(uniqueKeysWithValues: count.keys.filter { $0.contains("/") }.map { ($0, rate($0, right)) }),
            formatRate: Dictionary(uniqueKeysWithValues: kinds.map { ($0, rate($0, formatted)) }),
            examples: examples)
    }

    /// What we compute on `tasks`, for `scripts/check_bundled_lm.py` to compare with transformers:
    /// per task the chat text (one pad per image), the 32 × 32 render (RGB bytes), the prompt ids
    /// (pads repeated), the logits [T, V] over the prompt and the greedy completion ids.
    public static func probe(_ lm: TinyLM, tasks: [TinyLMTask], maxNewTokens: Int = 48) throws -> [[String: Any]] {
        var rng = RandomState(seed: 0)
        var options = GenerationOptions.greedy(maxNewTokens: maxNewTokens, stopTokens: lm.stopTokens)
        options.padID = lm.tokenizer.endOfTextID
        return try tasks.map { task in
            let prompt = try Self.prompt(task, lm: lm)
            let batch = TokenBatch(leftPadding: [prompt.tokens], padID: options.padID, images: prompt.images)
            let logits = try withoutGrad { try lm.model(batch) }
            let greedy = try TokenGenerator(lm.model).generate(batch, options: options, using: &rng)[0].tokens
            var row: [String: Any] = [
                "kind": task.kind.rawValue, "prompt": task.prompt, "answer": task.answer,
                "chat_text": lm.tokenizer.render(task.messages, addGenerationPrompt: true),
                "input_ids": prompt.tokens, "logits": logits.scalars.map(Double.init), "vocab_size": lm.model.vocabularySize,
                "greedy_ids": greedy, "completion": (try? lm.tokenizer.decode(greedy)) ?? "",
            ]
            if let image = task.image { row["image"] = image.pixels.map(Int.init); row["image_size"] = [image.height, image.width] }
            return row
        }
    }

    /// Tokenizer, model, supervised training; `progress` as in ``train(_:using:progress:)``.
    public func run(progress: (Int, Int, Float) -> Void = { _, _, _ in }) throws -> (lm: TinyLM, tokenizer: TrainedBPE, losses: [Float]) {
        let trained = trainTokenizer()
        let tokenizer = try QwenTokenizer(trained.tokenizer())
        var rng = RandomState(seed: settings.seed)
        let lm = Self.initialModel(tokenizer: tokenizer, vocabularySize: trained.vocabularySize, using: &rng)
        let losses = try train(lm, using: &rng, progress: progress)
        return (lm, trained, losses)
    }
}
