import Foundation
import Testing
import UniRLExperts
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// The tiny LM: its tasks and format, the split, a few training steps, and the shipped model.
@Suite struct TinyLMTests {
    @Test func formatParsesOnlyExactCompletions() {
        let c = TinyLMFormat.completion(reasoning: "3+4=7", answer: "7")
        #expect(c == "<think>3+4=7</think><answer>7</answer>")
        #expect(TinyLMFormat.parse(c)?.answer == "7")
        #expect(TinyLMFormat.parse(c + "<|im_end|>")?.reasoning == "3+4=7")
        #expect(TinyLMFormat.parse("<answer>7</answer>") == nil)
        #expect(TinyLMFormat.parse("<think>a</think><answer>7</answer>x") == nil)
        #expect(TinyLMFormat.parse("<think><think></think><answer>7</answer>") == nil)
    }

    @Test func tasksFallOnTheRequestedSideOfTheSplit() {
        var rng = RandomState(seed: 3)
        let g = TinyLMTaskGenerator()
        for split in PromptSplit.allCases {
            for _ in 0..<20 {
                let t = g.task(.text, split: split, using: &rng)
                #expect(PromptSplit.of(caption: t.prompt) == split)
                #expect(t.isCorrect(t.completion ?? ""))
                let q = g.task(.vqa, split: split, using: &rng)
                let right = q.isCorrect(q.completion ?? ""), wrong = q.isCorrect("<think></think><answer>xyz</answer>")
                let hasImage = q.image != nil
                #expect(hasImage && right && !wrong, "\(q.prompt) \(q.completion ?? "")")
            }
        }
        var a = RandomState(seed: 9), b = RandomState(seed: 9)
        #expect(g.task(.indirect, split: .train, using: &a).prompt == g.task(.indirect, split: .train, using: &b).prompt)
    }

    @Test func reasoningStepsAreTheArithmetic() {
        #expect(TinyLMTaskGenerator.reasoning(for: TextTask(question: "What is 7 + 5?", answer: 12, kind: .addition)) == "7+5=12")
        let erase = TextTask(
            question: "There are 9 red circles on a page. Ada erases 4 of them. How many are left?",
            answer: 5, kind: .wordProblem)
        #expect(TinyLMTaskGenerator.reasoning(for: erase) == "9-4=5")
    }

    /// A tiny corpus and a few steps: the loss falls.
    @Test func pretrainingAFewStepsLowersTheLoss() throws {
        var settings = TinyLMPretrainingSettings()
        settings.tokenizerSamples = 200
        settings.tokenizerVocabularySize = 400
        settings.steps = 12
        settings.batchSize = 8
        settings.learningRate = 3e-3
        let pretraining = TinyLMPretraining(settings: settings)
        let trained = pretraining.trainTokenizer()
        let tokenizer = try QwenTokenizer(trained.tokenizer())
        var rng = RandomState(seed: 0)
        let lm = TinyLMPretraining.initialModel(tokenizer: tokenizer, vocabularySize: trained.vocabularySize, using: &rng)
        let losses = try pretraining.train(lm, using: &rng)
        #expect(losses.count == 12)
        let first = losses.prefix(3).reduce(0, +) / 3, last = losses.suffix(3).reduce(0, +) / 3
        #expect(last < first * 0.8, "\(losses)")
        // Saved and reloaded (F16), the model and tokenizer come back.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tinylm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try lm.save(to: folder, trained: trained)
        let back = try TinyLM.load(from: folder)
        #expect(back.tokenizer.bpe.vocabularySize == trained.vocabularySize)
        #expect(back.model.configuration == lm.model.configuration)
    }

    @Test func missingOrDamagedFilesAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tinylm-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: TinyLMError.missingFile(path: folder.appendingPathComponent("config.json").path)) { try TinyLM.load(from: folder) }
        let bundled = try #require(TinyLM.bundledDirectory)
        for f in TinyLM.requiredFiles {
            try FileManager.default.copyItem(at: bundled.appendingPathComponent(f), to: folder.appendingPathComponent(f))
        }
        _ = try TinyLM.load(from: folder)
        // A truncated weight file.
        let weights = folder.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        do { _ = try TinyLM.load(from: folder); Issue.record("a truncated model.safetensors loaded") } catch let e as TinyLMError {
            guard case .damaged(let path, _) = e else { Issue.record("\(e)"); return }
            #expect(path.contains("model.safetensors"))
        }
        try "{".write(to: folder.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        do { _ = try TinyLM.load(from: folder); Issue.record("a broken tokenizer.json loaded") } catch let e as TinyLMError {
            guard case .damaged(let path, _) = e else { Issue.record("\(e)"); return }
            #expect(path.hasSuffix("tokenizer.json"))
        }
    }

    /// Greedy token ids of the shipped model on the first two held-out prompts of each kind
    /// (evaluation seed 2025), as `unirl pretrain lm --probe` recorded them and
    /// `scripts/check_bundled_lm.py` found transformers to generate too.
    static let recordedGreedy: [[Int]] = [
        [731, 49, 43, 51, 385, 32, 52, 59, 263, 573, 575, 283, 309, 59, 320, 58, 449, 309, 354, 732, 733, 488, 309, 354, 734, 711],
        [731, 54, 45, 50, 385, 32, 52, 59, 263, 625, 283, 310, 59, 320, 58, 449, 310, 354, 732, 733, 488, 310, 354, 734, 711],
        [731, 442, 732, 733, 475, 734, 711],
        [731, 442, 732, 733, 48, 734, 711],
        [731, 50, 48, 45, 49, 49, 61, 49, 732, 733, 49, 734, 711],
        [731, 55, 43, 49, 52, 61, 50, 52, 732, 733, 50, 52, 734, 711],
    ]

    @Test func bundledModelLoadsAndGivesTheRecordedGreedyCompletions() throws {
        let lm = try TinyLM.load()
        #expect(lm.tokenizer.bpe.vocabularySize == lm.model.vocabularySize)
        for tag in TinyLMFormat.tags { #expect(lm.tokenizer.encode(tag).count == 1) }
        let heldOut = TinyLMPretraining(settings: TinyLMPretrainingSettings()).heldOutTasks()
        let tasks = [TinyLMTask.Kind.indirect, .vqa, .text].flatMap { k in heldOut.filter { $0.kind == k }.prefix(2) }
        var options = GenerationOptions.greedy(maxNewTokens: 48, stopTokens: lm.stopTokens)
        options.padID = lm.tokenizer.endOfTextID
        var rng = RandomState(seed: 0)
        let rollouts = try QwenPolicy(model: lm.model, options: options)
            .sample(try tasks.map { try TinyLMPretraining.prompt($0, lm: lm) }, using: &rng)
        #expect(rollouts.map(\.tokens) == Self.recordedGreedy)
    }

    @Test func bundledModelStaysUnderFiveMegabytes() throws {
        let root = try #require(TinyLM.bundledDirectory)
        var total = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: root.path) {
            total += (try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(name).path)[.size] as? Int) ?? 0
        }
        #expect(total > 500_000 && total < 5_000_000, "\(total) bytes")
    }
}
