import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// `cot-t2i` at tiny sizes (the bundled tiny unified model stands in for the cold start, so the
/// tests do not depend on the shipped bundle): a run end to end, both segments of a joint
/// trajectory replayed to their sampling-time log-probs, ρ = 1 and a finite loss at the first
/// update with metrics per expert, the cold start's steps and its bundle folder, the prompt split.
/// The learning check is a command (README, "Chain-of-thought generation").
@Suite struct ChainOfThoughtTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cot-\(UUID().uuidString)").path
    }

    static var modelOverride: String { "scenario.model=\(BundledUnifiedModel.directory?.path ?? "")" }

    static let tinyRun = [
        "run.steps=1", "run.progress_bar=never", "run.tensorboard=false", "trainer.prompts_per_step=1", "trainer.group_size=2",
        "trainer.gradient_accumulation=1", "scenario.sampling_steps=2", "scenario.evaluation_steps=2", "scenario.test_prompts=4",
        "scenario.train_prompts=3", "scenario.max_new_tokens=6", "scenario.text_eval_prompts=2",
    ]

    static func tinySettings() -> ChainOfThoughtSettings {
        var s = ChainOfThoughtSettings()
        s.model = BundledUnifiedModel.directory?.path ?? ""
        s.samplingSteps = 2
        s.maxNewTokens = 6
        s.trainPrompts = 3
        return s
    }

    /// A reward that differs between any two images (ShapesEval often ties within a tiny group).
    static let brightness = FunctionReward<ChainOfThoughtSample>(name: "brightness") { batch in
        batch.map { Float($0.image.pixels.reduce(0) { $0 + Int($1) }) / Float(255 * max($0.image.pixels.count, 1)) }
    }

    @Test func aTinyCoTRunEndToEnd() async throws {
        let dir = Self.temporaryDirectory()
        var runner = ScenarioRunner(pack: ChainOfThoughtPack())
        runner.log = { _ in }
        let summary = try await runner.run(configFile: nil, overrides: Self.tinyRun + [Self.modelOverride, "run.output_dir=\(dir)"])
        #expect(summary.scenario == "cot-t2i" && summary.metric == "shapes_eval_overall" && summary.evalPrompts == 4)
        #expect((0...1).contains(summary.before) && (0...1).contains(summary.after) && summary.steps == 1)
        for key in ["no_reasoning_start", "no_reasoning_end", "answer_accuracy_end", "format_rate_end", "text_accuracy_end"] {
            #expect(summary.extra[key] != nil, "no \(key)")
        }
        for file in ["samples_start.png", "samples_end.png", "eval_start.json", "eval_end.json", "reward_curve.png", "summary.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "no \(file)")
        }
        #expect(ScenarioRegistry.shared.all.contains { $0.name == "cot-t2i" })
    }

    /// The LM's tokens and the DM's steps (condition recomputed from prompt + written tokens) replay
    /// through the scenario to the log-probs recorded while sampling.
    @Test func bothSegmentsReplayToTheirSamplingLogProbs() throws {
        let settings = Self.tinySettings()
        let scenario = ChainOfThoughtScenario(generator: try settings.loadModel(), settings: settings)
        var rng = RandomState(seed: 3)
        let trajectories = try scenario.rollout(Array(try scenario.prompts(.train).prefix(2)), group: 2, using: &rng)
        #expect(trajectories.count == 4)
        #expect(trajectories.allSatisfy { $0.segments.map(\.expert) == ["lm", "dm"] })
        let replays = try scenario.replay(trajectories, experts: ["lm", "dm"])
        for (t, r) in zip(trajectories, replays) {
            for (segment, replay) in zip(t.segments, r) {
                let replayed = try #require(replay).logProbs.scalars
                #expect(replayed.count == segment.samplingLogProbs.count)
                let worst = zip(segment.samplingLogProbs, replayed).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst < 1e-4, "\(segment.expert): \(worst)")
            }
        }
    }

    /// One GRPO step with both experts trainable and β > 0: ρ = 1 exactly for both at the first
    /// update, the loss is finite, the metrics are named per expert, and the LM, the connector and
    /// the DiT all move.
    @Test func firstUpdateHasRatioOneForBothExperts() async throws {
        let settings = Self.tinySettings()
        let scenario = ChainOfThoughtScenario(generator: try settings.loadModel(), settings: settings, reward: Self.brightness)
        func values(_ m: any Module) -> [Float] { m.namedParameters().sorted { $0.name < $1.name }.flatMap(\.parameter.value.scalars) }
        let lm = values(scenario.model.lm), connector = values(scenario.model.connector), dm = values(scenario.model.transformer)
        var configuration = GRPOConfiguration().addingDefaults(for: [("lm", .discrete), ("dm", .sde)])
        configuration.trainer.promptsPerStep = 2
        configuration.trainer.groupSize = 3
        configuration.run.progressBar = .never
        configuration.experts["lm"]?.learningRate = 1e-3
        configuration.experts["lm"]?.beta = 0.01
        configuration.experts["dm"]?.learningRate = 1e-3
        configuration.experts["dm"]?.beta = 0.004
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        let m = try await trainer.trainStep().metrics
        for e in ["lm", "dm"] {
            #expect(m["\(e)/ratio/min"] == 1 && m["\(e)/ratio/max"] == 1, "\(e): \(m["\(e)/ratio/min"] ?? .nan)")
            #expect(m["\(e)/kl"].map { abs($0) < 1e-6 } == true, "\(e)/kl \(m["\(e)/kl"] ?? .nan)")
            #expect(m["\(e)/learning_rate"] != nil)
        }
        #expect(m["loss"].map(\.isFinite) == true)
        #expect(m["rewards/brightness/mean"] != nil)
        #expect(values(scenario.model.lm) != lm)
        #expect(values(scenario.model.connector) != connector)
        #expect(values(scenario.model.transformer) != dm)
    }

    /// Two steps of each cold-start phase give finite losses; the saved bundle has lm/, connector/,
    /// dm/ and no vae/, and loads (with the tiny unified model's DC-AE) into the scenario.
    @Test func coldStartStepsRunAndTheBundleLoads() throws {
        var settings = ChainOfThoughtPretrainingSettings()
        settings.lmSteps = 2
        settings.lmBatchSize = 4
        settings.alignmentSteps = 2
        settings.alignmentBatchSize = 4
        let pretraining = ChainOfThoughtPretraining(settings: settings)
        let (generator, lm) = try pretraining.initialModel()
        let lmLosses = try pretraining.trainLanguage(lm) { _ in }
        let alignment = try pretraining.trainAlignment(generator) { _ in }
        #expect(lmLosses.count == 2 && lmLosses.allSatisfy(\.isFinite))
        #expect(alignment.count == 2 && alignment.allSatisfy(\.isFinite))
        let dir = URL(fileURLWithPath: Self.temporaryDirectory())
        try ChainOfThoughtModel.save(generator, lm: lm, lmFolder: try #require(TinyLM.bundledDirectory), to: dir)
        let fm = FileManager.default
        for part in ["lm/tokenizer.json", "lm/model.safetensors", "connector/model.safetensors", "dm/diffusion_pytorch_model.safetensors"] {
            #expect(fm.fileExists(atPath: dir.appendingPathComponent(part).path), "no \(part)")
        }
        #expect(!fm.fileExists(atPath: dir.appendingPathComponent("vae").path))
        let loaded = try ChainOfThoughtModel.load(from: dir)
        #expect(loaded.model.autoencoder != nil)
        let a = generator.model.lm.namedParameters().first { $0.name == "model.layers.0.mlp.up_proj.weight" }!.parameter.value.scalars
        let b = loaded.model.lm.namedParameters().first { $0.name == "model.layers.0.mlp.up_proj.weight" }!.parameter.value.scalars
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, abs($0)) })
    }

    /// The shipped cold start (Resources/tiny-unified-cot: lm/, connector/, dm/, no vae/) loads with
    /// the tiny unified model's DC-AE and is the scenario's default model.
    @Test func theBundledColdStartLoads() throws {
        let folder = try #require(ChainOfThoughtModel.bundledDirectory)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("vae").path))
        let generator = try ChainOfThoughtSettings().loadModel()
        #expect(generator.model.autoencoder != nil && generator.model.padID == generator.tokenizer.endOfTextID)
        #expect(generator.model.connector.configuration.numQueries == 8)
    }

    /// Training and held-out prompts fall on their sides of the split and never overlap; the
    /// reference reply is in the format and its answer is the resolved caption.
    @Test func promptsAreSplitAndTheReferenceReplyIsFormatted() throws {
        let train = ChainOfThoughtPrompts.prompts(count: 50, split: .train, seed: 1)
        let test = ChainOfThoughtPrompts.prompts(count: 50, split: .evaluation, seed: 7)
        #expect(train.count == 50 && test.count == 50)
        #expect(Set(train.map(\.text)).isDisjoint(with: test.map(\.text)))
        #expect(test.allSatisfy { PromptSplit.of(caption: $0.text) == .evaluation })
        for p in train.prefix(10) {
            #expect(TinyLMFormat.parse(ChainOfThoughtPrompts.completion(p))?.answer == p.resolved.caption)
            if p.resolved.category == .counting {
                #expect(ChainOfThoughtPrompts.arithmeticStep(p)?.contains("=") == true)
            }
        }
        var s = ChainOfThoughtSettings()
        s.testPrompts = 100_000
        s.model = BundledUnifiedModel.directory?.path ?? ""
        let scenario = ChainOfThoughtScenario(generator: try s.loadModel(), settings: s)
        #expect(throws: ChainOfThoughtError.self) { _ = try scenario.prompts(.test) }
    }
}
