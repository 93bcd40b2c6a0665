import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// The `t2i` scenario end to end at tiny sizes, `unirl pretrain unified`'s training step, and the
/// errors for a damaged model folder. The learning check (held-out ShapesEval rises) is
/// `UnifiedTextToImageLearningTests`, run with `UNIRL_SLOW_TESTS=1`.
/// The mean pixel value of an image, in [0, 1]: a continuous reward for tests.
struct MeanBrightnessReward: RewardFunction {
    let name = "brightness"
    func scores(for batch: [PromptedImage]) async throws -> [Float?] {
        batch.map { Float($0.image.pixels.reduce(0) { $0 + Int($1) }) / Float(255 * max($0.image.pixels.count, 1)) }
    }
}

@Suite struct UnifiedTextToImageTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("t2i-\(UUID().uuidString)").path
    }

    static let tinyRun = [
        "run.steps=1", "run.progress_bar=never", "run.tensorboard=false", "trainer.prompts_per_step=1", "trainer.group_size=2",
        "trainer.gradient_accumulation=1", "scenario.sampling_steps=2", "scenario.evaluation_steps=2", "scenario.test_prompts=6",
        "scenario.train_prompts=2",
    ]

    /// One GRPO step of the bundled model: the connector, queries and DiT move, the LM does not;
    /// summary.json holds the strict held-out score before and after with its categories.
    @Test func aTinyT2IRunEndToEnd() async throws {
        let dir = temporaryDirectory()
        var runner = ScenarioRunner(pack: TextToImagePack())
        runner.log = { _ in }
        let summary = try await runner.run(configFile: nil, overrides: Self.tinyRun + ["run.output_dir=\(dir)"])
        #expect(summary.scenario == "t2i" && summary.metric == "shapes_eval_overall" && summary.evalPrompts == 6)
        #expect((0...1).contains(summary.before) && (0...1).contains(summary.after) && summary.steps == 1)
        #expect(summary.extra["counting_start"] != nil && summary.extra["position_end"] != nil)
        for file in ["samples_start.png", "samples_end.png", "eval_start.json", "eval_end.json", "reward_curve.png", "summary.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "no \(file)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))) as? [String: Any]
        for key in ["scenario", "metric", "before", "after", "eval_prompts", "steps", "seconds"] { #expect(json?[key] != nil, "\(key)") }
    }

    /// `scenario.gradient_checkpointing=true` makes the DiT recompute its blocks in the backward
    /// (off by default); the replay's gradients do not change.
    @Test func gradientCheckpointingIsAScenarioSetting() async throws {
        let pack = TextToImagePack()
        let layers = try ScenarioRunner(pack: pack).defaults()
        #expect(!layers.scenario.gradientCheckpointing)
        var grads: [[Float]] = []
        for checkpointing in [false, true] {
            let settings = try layers.scenario.applying(overrides: ["gradient_checkpointing=\(checkpointing)", "sampling_steps=2"])
            let scenario = try pack.makeScenario(settings: settings, configuration: layers.configuration)
            #expect(scenario.model.transformer.gradientCheckpointing == checkpointing)
            var rng = RandomState(seed: 3)
            let trajectories = try scenario.rollout(Array(try scenario.prompts(.train).prefix(1)), group: 2, using: &rng)
            let replays = try scenario.replay(trajectories, experts: ["dm"]).map { $0[0]!.logProbs }
            let parameters = scenario.policy.module.namedParameters().map(\.parameter)
            for p in parameters { p.zeroGrad() }
            Tensor.concatenate(replays, axis: 0).sum().backward()
            grads.append(parameters.flatMap { $0.grad?.scalars ?? [] })
            for p in parameters { p.zeroGrad() }
        }
        #expect(grads[0].count == grads[1].count && !grads[0].isEmpty)
        #expect(zip(grads[0], grads[1]).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
    }

    /// The defaults are the measured recipe: a random 3-step SDE window among the first 6 of the 10
    /// sampler steps, 8 prompts × 8 samples, the sampler's log-probs as π_old, β 0.004; they validate,
    /// and the demo's learning rate resolves over them.
    @Test func theDefaultsAreTheWindowedRecipe() throws {
        let runner = ScenarioRunner(pack: TextToImagePack())
        let defaults = try runner.defaults()
        let c = defaults.configuration
        try c.validate()
        let dm = try #require(c.experts["dm"])
        #expect(dm.sdeWindowSize == 3 && dm.sdeWindowMode == .random && dm.sdeWindowEnd == 6 && dm.beta == 0.004)
        #expect(dm.sdeWindowEnd <= defaults.scenario.samplingSteps)
        #expect(c.trainer.promptsPerStep == 8 && c.trainer.groupSize == 8 && !c.trainer.recomputeOldLogProbs)
        let demo = try runner.resolve(configFile: nil, overrides: ["experts.dm.learning_rate=\(TextToImagePack.demoLearningRate)"])
        #expect(demo.configuration.experts["dm"]?.learningRate == TextToImagePack.demoLearningRate)
        #expect(demo.configuration.experts["dm"]?.sdeWindowSize == 3)
    }

    /// The scenario trains the connector, the queries and the DiT; the frozen LM stays bit-identical.
    @Test func aGRPOStepMovesConnectorAndDiTButNotTheLM() async throws {
        var settings = TextToImagePack().defaultSettings
        settings.samplingSteps = 2
        // A reward that differs between any two images: ShapesEval's scores are often equal within a tiny
        // group, and such a group carries no gradient, which would make this test depend on the draw.
        let scenario = UnifiedTextToImageScenario(generator: try settings.loadUnifiedModel(),
                                                  reward: MeanBrightnessReward(), settings: settings)
        func values(_ m: any Module) -> [Float] { m.namedParameters().sorted { $0.name < $1.name }.flatMap(\.parameter.value.scalars) }
        let lm = values(scenario.model.lm), connector = values(scenario.model.connector), dm = values(scenario.model.transformer)
        var configuration = GRPOConfiguration().addingDefaults(for: [("dm", .sde)])
        configuration.trainer.promptsPerStep = 2
        configuration.trainer.groupSize = 4
        configuration.experts["dm"]?.learningRate = 1e-3
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        try await trainer.trainStep()
        #expect(values(scenario.model.lm) == lm)
        #expect(values(scenario.model.connector) != connector)
        #expect(values(scenario.model.transformer) != dm)
    }

    /// With an SDE window the trainer gives the unified `dm` its plan: only the window's steps are
    /// actions, their replay through LM, connector and DiT matches sampling, and a group shares x_0.
    @Test func theSDEWindowReachesTheUnifiedPolicy() async throws {
        var settings = TextToImagePack().defaultSettings
        settings.samplingSteps = 4
        let scenario = UnifiedTextToImageScenario(generator: try settings.loadUnifiedModel(),
                                                  reward: MeanBrightnessReward(), settings: settings)
        var configuration = GRPOConfiguration().addingDefaults(for: [("dm", .sde)])
        configuration.trainer.promptsPerStep = 1
        configuration.trainer.groupSize = 2
        configuration.experts["dm"]?.sdeWindowSize = 2
        configuration.experts["dm"]?.sdeWindowStart = 1
        configuration.experts["dm"]?.sameInitialNoise = true
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        try await trainer.trainStep()
        #expect(scenario.policy.samplingPlan.window.size == 2 && scenario.policy.samplingPlan.sharedNoiseGroup == 2)
        var rng = RandomState(seed: 3)
        let prompts = Array(try scenario.prompts(.train).prefix(2))
        let conditions = prompts.flatMap { p in
            [UnifiedImageCondition](repeating: UnifiedImageCondition(prompt: scenario.chatPrompt(p.caption)), count: 2)
        }
        let rollouts = try scenario.policy.sample(conditions, using: &rng)
        let replays = try scenario.policy.replay(rollouts, given: conditions)
        for (r, replay) in zip(rollouts, replays) {
            #expect(r.steps == [1, 2])
            for (x, y) in zip(replay.logProbs.scalars, r.actionLogProbs) { #expect(abs(x - y) <= 1e-4 * max(1, abs(y)), "\(x) vs \(y)") }
        }
        let start = { (r: SanaPolicy.Rollout, k: Int) in r.latents.slice(axis: 0, k..<(k + 1)).scalars }
        #expect(start(rollouts[0], 0) == start(rollouts[1], 0) && start(rollouts[2], 0) == start(rollouts[3], 0))
        #expect(start(rollouts[0], 0) != start(rollouts[2], 0))
        // Step 0 lies before the window: the same x_0 gives the same x_1 (an Euler step), the window's noise then differs.
        #expect(zip(start(rollouts[0], 1), start(rollouts[1], 1)).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(rollouts[0].sample.scalars != rollouts[1].sample.scalars)
    }

    /// `scenario.reward=clip_score` trains on CLIPScore with the bundled ShapesCLIP: a cosine in [−1, 1] per image.
    @Test func theCLIPScoreRewardIsASetting() async throws {
        let settings = try TextToImagePack().defaultSettings.merging(json: #"{"reward": "clip_score"}"#, keyPrefix: "scenario")
        #expect(settings.reward == .clipScore)
        let scenario = try TextToImagePack().makeScenario(settings: settings, configuration: GRPOConfiguration())
        #expect(scenario.reward.name == "clip_score")
        let prompt = try scenario.prompts(.test)[0]
        let images = [RGBImage(width: 32, height: 32, fill: (255, 255, 255)), RGBImage(width: 32, height: 32, fill: (200, 30, 30))]
        let scores = try await scenario.reward.scores(for: images.map { PromptedImage(prompt: prompt, image: $0) })
        #expect(scores.count == 2 && scores.allSatisfy { $0.map { abs($0) <= 1.0001 } == true })
    }

    /// A few alignment steps at a tiny batch run and give finite losses; the saved folder loads.
    @Test func alignmentStepsRunAndTheFolderLoads() throws {
        var settings = UnifiedPretrainingSettings()
        settings.steps = 2
        settings.batchSize = 4
        let pretraining = UnifiedPretraining(settings: settings)
        let generator = try pretraining.initialModel()
        let losses = try pretraining.train(generator) { _ in }
        #expect(losses.count == 2 && losses.allSatisfy(\.isFinite))
        let dir = URL(fileURLWithPath: temporaryDirectory())
        try UnifiedPretraining.save(generator, lmFolder: try #require(TinyLM.bundledDirectory), to: dir)
        let loaded = try UnifiedImageGenerator(directory: dir)
        #expect(loaded.model.connector.configuration.numQueries == settings.numQueries)
    }

    /// `pretrain unified --from`: the alignment continues from a model folder's connector, queries and DiT.
    @Test func alignmentContinuesFromAModelFolder() throws {
        let bundled = try #require(BundledUnifiedModel.directory)
        let continued = try UnifiedPretraining(settings: UnifiedPretrainingSettings())
            .continuedModel(from: bundled, lmFolder: try #require(TinyLM.bundledDirectory))
        let shipped = try UnifiedImageGenerator(directory: bundled)
        func values(_ m: any Module) -> [Float] { m.namedParameters().sorted { $0.name < $1.name }.flatMap(\.parameter.value.scalars) }
        #expect(values(continued.model.connector) == values(shipped.model.connector))
        #expect(values(continued.model.transformer) == values(shipped.model.transformer))
    }

    /// A damaged DiT file or a missing connector in `scenario.model` is an error naming the file;
    /// nothing is written — not even the output folder.
    @Test func aDamagedModelFolderIsAClearError() async throws {
        let bundled = try #require(BundledUnifiedModel.directory)
        let model = URL(fileURLWithPath: temporaryDirectory())
        try FileManager.default.copyItem(at: bundled, to: model)
        let weights = model.appendingPathComponent("dm/diffusion_pytorch_model.safetensors")
        try Data(try Data(contentsOf: weights).prefix(200)).write(to: weights)
        let out = temporaryDirectory()
        var runner = ScenarioRunner(pack: TextToImagePack())
        runner.log = { _ in }
        do {
            _ = try await runner.run(configFile: nil, overrides: Self.tinyRun + ["run.output_dir=\(out)", "scenario.model=\(model.path)"])
            Issue.record("a truncated DiT file loaded")
        } catch {
            #expect("\(error)".contains("dm"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: out), "a failed load left \(out) behind")
        try FileManager.default.removeItem(at: model.appendingPathComponent("connector"))
        await #expect(throws: UnifiedModelError.self) {
            _ = try await runner.run(configFile: nil, overrides: Self.tinyRun + ["run.output_dir=\(out)", "run.overwrite=true",
                                                                                 "scenario.model=\(model.path)"])
        }
        #expect(!FileManager.default.fileExists(atPath: out), "a failed load left \(out) behind")
    }
}

/// The learning check behind the README's numbers, at the default settings (minutes in release):
///
///     UNIRL_SLOW_TESTS=1 swift test -c release --filter UnifiedTextToImageLearning
@Suite(.enabled(if: ProcessInfo.processInfo.environment["UNIRL_SLOW_TESTS"] == "1"))
struct UnifiedTextToImageLearningTests {
    @Test func heldOutShapesEvalRisesByTenPoints() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("t2i-slow-\(UUID().uuidString)").path
        let summary = try await ScenarioRunner(pack: TextToImagePack()).run(configFile: nil, overrides: ["run.output_dir=\(dir)"])
        print("t2i held-out overall \(summary.before) → \(summary.after) in \(summary.seconds) s")
        #expect(summary.after - summary.before >= 0.10)
    }
}
