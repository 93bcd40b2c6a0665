import Foundation
import Testing
import UniRLExperts
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// The tiny LM's vision stage: only the vision tower learns, the text path stays bit-identical,
/// and its processor gives one image token per grid cell.
@Suite struct TinyLMVisionStageTests {
    @Test func aFewStepsChangeOnlyTheVisionTower() throws {
        let base = try TinyLM.load(), working = try TinyLM.load()
        let hidden = try TinyLMVisionStage.textHiddenStates(base, prompt: "What is 7 + 5?")
        var settings = TinyLMVisionStageSettings()
        settings.steps = 3
        settings.batchSize = 4
        let (trained, losses) = try TinyLMVisionStage(settings: settings).train(working)
        #expect(losses.count == 3 && losses.allSatisfy(\.isFinite), "\(losses)")
        let visualBefore = base.model.visual.stateDict(), visualAfter = trained.model.visual.stateDict()
        #expect(visualBefore.contains { name, value in visualAfter[name]?.scalars != value.scalars })
        // Training leaves every parameter trainable again.
        #expect(trained.model.parameterCount(trainableOnly: true) == trained.model.parameterCount())
        // Saved (F16) and reloaded: the text path is bit-identical, the processor gives one
        // image token per grid cell of a 32 × 32 render.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tinylm-vision-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try trained.save(to: folder, tokenizerFrom: try #require(TinyLM.bundledDirectory))
        let saved = try TinyLM.load(from: folder)
        #expect(TinyLMVisionStage.changedTextParameters(base, saved).isEmpty)
        #expect(try TinyLMVisionStage.textHiddenStates(saved, prompt: "What is 7 + 5?") == hidden)
        #expect(saved.imageProcessor.minPixels == settings.minPixels)
        let image = TinyLMTaskGenerator().renderer.render(Scene(objects: []))
        let processed = try saved.imageProcessor(image)
        #expect(processed.tokenCount(spatialMerge: saved.model.configuration.vision.spatialMergeSize) == 9)
    }

    /// The VQA loss reaches every vision parameter through the frozen decoder, and no decoder
    /// parameter gets a gradient.
    @Test func theLossReachesTheVisionTowerOnly() throws {
        let lm = TinyLMVisionStage(settings: TinyLMVisionStageSettings()).prepared(try TinyLM.load())
        var rng = RandomState(seed: 1)
        let tasks = (0..<4).map { _ in TinyLMTaskGenerator().task(.vqa, split: .train, using: &rng) }
        let examples = try tasks.map { try TinyLMPretraining.example($0, lm: lm) }
        lm.model.freeze()
        lm.model.visual.freeze(false)
        defer { lm.model.freeze(false) }
        let loss = try #require(try SupervisedFineTuning(model: lm.model, padID: lm.tokenizer.endOfTextID).loss(examples))
        loss.backward()
        for (name, p) in lm.model.visual.namedParameters() {
            let norm = p.grad.map { $0.scalars.reduce(0) { $0 + $1 * $1 } } ?? 0
            #expect(norm > 0, "\(name) has no gradient")
        }
        #expect(lm.model.model.namedParameters().allSatisfy { $0.parameter.grad == nil })
        lm.model.zeroGrad()
    }

    @Test func aBrokenPreprocessorConfigIsNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tinylm-pre-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundled = try #require(TinyLM.bundledDirectory)
        for f in TinyLM.requiredFiles {
            try FileManager.default.copyItem(at: bundled.appendingPathComponent(f), to: folder.appendingPathComponent(f))
        }
        // Without the file: the default processor (min_pixels 56²).
        #expect(try TinyLM.load(from: folder).imageProcessor.minPixels == 56 * 56)
        let config = folder.appendingPathComponent("preprocessor_config.json")
        try "[1]".write(to: config, atomically: true, encoding: .utf8)
        #expect(throws: TinyLMError.damaged(path: config.path, reason: "not a JSON object")) { try TinyLM.load(from: folder) }
    }
}
