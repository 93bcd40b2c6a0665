import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// The `cycle-edit` scenario at tiny sizes: the split, the edit model's construction, the edit
/// cold start's steps, and one GRPO step end to end (both segments replayed with the sampling
/// log-probs, ρ = 1 at the first update, a finite loss, the metrics by name). The learning
/// measurement is a command (README, "Cycle-Edit").
@Suite struct CycleEditTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cycle-edit-\(UUID().uuidString)").path
    }

    /// The edit model the tests use: the bundled edit weights, or the t2i bundle with the editing parts added.
    func editModel() throws -> UnifiedImageGenerator {
        if UnifiedEditModel.bundledDirectory != nil { return try UnifiedEditModel.load() }
        return try UnifiedEditModel.addingEditParts(to: UnifiedImageGenerator(directory: try #require(BundledUnifiedModel.directory)))
    }

    static let tinyRun = [
        "run.steps=1", "run.progress_bar=never", "run.tensorboard=false", "trainer.prompts_per_step=1", "trainer.group_size=2",
        "trainer.gradient_accumulation=1", "scenario.sampling_steps=2", "scenario.evaluation_steps=2", "scenario.test_edits=3",
        "scenario.train_edits=2",
    ]

    /// Held-out quadruples never share their pair of scene descriptions with training ones, and
    /// the sides follow the split rule.
    @Test func trainingAndHeldOutQuadruplesAreDisjoint() {
        var settings = CycleEditSettings()
        settings.trainEdits = 300
        settings.testEdits = 200
        let train = settings.edits(.train), test = settings.edits(.test)
        func key(_ e: EditExample) -> String { [e.sourceCaption, e.targetCaption].sorted().joined(separator: "|") }
        #expect(Set(train.map(key)).isDisjoint(with: Set(test.map(key))))
        #expect(train.allSatisfy { $0.split == .train } && test.allSatisfy { $0.split == .evaluation })
        #expect(train.allSatisfy { $0.reversed.split == .train })
        #expect(Set(test.map(\.sample.kind)) == Set(EditKind.allCases))
    }

    /// The detector's scene check accepts the target's render for the target and refuses it for the source.
    @Test func exactSuccessComparesDetectedScenes() {
        let evaluation = CycleEditEvaluation()
        let examples = EditExamples.draw(count: 12, split: .evaluation, seed: 5)
        let agree = examples.filter { evaluation.matches($0.target, scene: $0.sample.target) }.count
        #expect(agree >= 11, "the detector read \(agree) of 12 clean renders")
        #expect(examples.allSatisfy { !evaluation.matches($0.target, scene: $0.sample.source) })
    }

    /// A clean render fits the palette better than the same render with noise.
    @Test func paletteFitPrefersCleanImages() {
        let example = EditExamples.draw(count: 1, split: .train, seed: 2)[0]
        var noisy = example.source
        var rng = RandomState(seed: 1)
        for i in noisy.pixels.indices { noisy.pixels[i] = UInt8(clamping: Int(noisy.pixels[i]) + Int(rng.next() % 81) - 40) }
        let reward = PaletteFitReward()
        #expect(reward.score(example.source) > 0.8)
        #expect(reward.score(example.source) > reward.score(noisy) + 0.2)
    }

    /// Adding the editing parts keeps what the t2i model computes (ref_linear starts at zero) and
    /// starts the i2i queries at the t2i queries.
    @Test func addingEditPartsKeepsTheTextToImageModel() throws {
        let t2i = try UnifiedImageGenerator(directory: try #require(BundledUnifiedModel.directory))
        let edit = try UnifiedEditModel.addingEditParts(to: t2i)
        #expect(edit.model.transformer.hasReferencePath)
        #expect(try edit.model.connector.queries(.i2i).scalars == t2i.model.connector.queries(.t2i).scalars)
        var rng = RandomState(seed: 3)
        let x = Tensor.randomNormal([2, 4, 8, 8], using: &rng), c = Tensor.randomNormal([2, 8, 64], using: &rng)
        let t = Tensor([300, 700])
        let before = t2i.model.transformer(x, encoderHiddenStates: c, timestep: t)
        let reference = Tensor.randomNormal(x.shape, using: &rng)
        let after = edit.model.transformer(x, encoderHiddenStates: c, timestep: t, referenceHiddenStates: reference)
        #expect(zip(before.scalars, after.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// Two steps of the edit cold start give finite losses; the saved folder (connector/ and dm/
    /// only) loads over the bundled LM and DC-AE; a folder without a DiT is an error naming it.
    @Test func editColdStartStepsRunAndTheFolderLoads() throws {
        var settings = UnifiedEditPretrainingSettings()
        settings.steps = 2
        settings.batchSize = 3
        let pretraining = UnifiedEditPretraining(settings: settings)
        let generator = try pretraining.initialModel()
        let lm = generator.model.lm.namedParameters().flatMap(\.parameter.value.scalars)
        let refLinear = try #require(generator.model.transformer.namedParameters().first { $0.name == "ref_linear.weight" })
        let losses = try pretraining.train(generator) { _ in }
        #expect(losses.count == 2 && losses.allSatisfy(\.isFinite))
        #expect(generator.model.lm.namedParameters().flatMap(\.parameter.value.scalars) == lm)
        #expect(refLinear.parameter.value.scalars.contains { $0 != 0 }, "the reference path did not train")
        let dir = URL(fileURLWithPath: temporaryDirectory())
        try UnifiedEditModel.save(generator, to: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["connector", "dm"])
        let loaded = try UnifiedEditModel.load(from: dir)
        #expect(loaded.model.transformer.hasReferencePath && loaded.model.connector.queryParameter(.i2i) != nil)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("dm"))
        #expect { try UnifiedEditModel.load(from: dir) } throws: { "\($0)".contains("dm") }
    }

    /// One GRPO step: every trajectory holds an edit and a reconstruction segment of `dm`; both
    /// replay to their sampling log-probs; the first update has ρ = 1; the loss is finite; the
    /// metrics name the expert's terms and the reward's parts; the LM does not move, the DiT does.
    @Test func aCycleEditGRPOStep() async throws {
        var settings = CycleEditSettings()
        settings.samplingSteps = 2
        settings.trainEdits = 2
        settings.testEdits = 1
        let scenario = try CycleEditScenario(generator: editModel(), settings: settings)
        var rng = RandomState(seed: 9)
        let prompts = try scenario.prompts(.train)
        let trajectories = try withoutGrad { try scenario.rollout(prompts, group: 2, using: &rng) }
        #expect(trajectories.count == 4)
        for t in trajectories {
            #expect(t.segments.map(\.expert) == ["dm", "dm"] && t.segments.allSatisfy { $0.actionCount == 2 })
            #expect(t.output.edited.width == 32 && t.output.reconstruction.width == 32)
        }
        let replays = try withoutGrad { try scenario.replay(trajectories, experts: ["dm"]) }
        for (t, r) in zip(trajectories, replays) {
            for (segment, replay) in zip(t.segments, r) {
                let replayed = try #require(replay).logProbs.scalars
                #expect(zip(replayed, segment.samplingLogProbs).allSatisfy { abs($0 - $1) < 1e-3 },
                        "\(replayed) vs \(segment.samplingLogProbs)")
            }
        }
        let evaluation = await scenario.reward.evaluate(trajectories.map(\.output))
        #expect(Set(evaluation.components.map(\.name))
                == ["edit_direction", "cycle_clip_i", "edit_palette_fit", "edit_exact", "reward_when_exact", "reward_when_not_exact"])
        // The diagnostics split the totals by the detector's verdict on the edit: each sample is in exactly one.
        let parts = evaluation.components.filter { $0.name.hasPrefix("reward_when") }.map(\.scores)
        #expect(parts.count == 2 && zip(parts[0], parts[1]).allSatisfy { ($0 == nil) != ($1 == nil) })
        #expect(evaluation.totals.allSatisfy { $0.value?.isFinite == true })

        func values(_ m: any Module) -> [Float] { m.namedParameters().sorted { $0.name < $1.name }.flatMap(\.parameter.value.scalars) }
        let lm = values(scenario.model.lm), dm = values(scenario.model.transformer)
        var configuration = GRPOConfiguration().addingDefaults(for: [("dm", .sde)])
        configuration.trainer.promptsPerStep = 2
        configuration.trainer.groupSize = 3
        configuration.experts["dm"]?.learningRate = 1e-3
        configuration.experts["dm"]?.beta = 0.01
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        let report = try await trainer.trainStep()
        let m = report.metrics
        for key in ["ratio/mean", "ratio/min", "ratio/max"] {
            let ratio = try #require(m[key], "no \(key)")
            #expect(abs(ratio - 1) < 1e-5, "\(key) = \(ratio)")
        }
        let loss = try #require(m["loss"])
        #expect(loss.isFinite && m["kl"] != nil)
        let mismatch = try #require(m["logprob_mismatch/max"])
        #expect(mismatch < 1e-3)
        for key in ["rewards/edit_direction/mean", "rewards/cycle_clip_i/mean", "rewards/edit_palette_fit/mean", "rewards/edit_exact/mean",
                    "approx_kl"] {
            #expect(m[key] != nil, "no \(key)")
        }
        #expect(values(scenario.model.lm) == lm)
        #expect(values(scenario.model.transformer) != dm)
    }

    /// `unirl train --scenario cycle-edit` at tiny sizes: summary.json with the held-out numbers
    /// before and after, the grids and the λ of the run.
    @Test func aTinyCycleEditRunEndToEnd() async throws {
        let dir = temporaryDirectory()
        var runner = ScenarioRunner(pack: CycleEditPack())
        runner.log = { _ in }
        let overrides = Self.tinyRun + ["run.output_dir=\(dir)", "scenario.lambda_quality=0.5", "scenario.lambda_exact=0.25"]
        let summary = try await runner.run(configFile: nil, overrides: overrides)
        #expect(summary.scenario == "cycle-edit" && summary.metric == "edit_success" && summary.evalPrompts == 3)
        #expect((0...1).contains(summary.before) && (0...1).contains(summary.after) && summary.steps == 1)
        for key in ["clip_direction_start", "clip_i_edit_source_end", "cycle_success_end", "lambda_quality_end"] {
            #expect(summary.extra[key] != nil, "\(key)")
        }
        #expect(summary.extra["lambda_quality_end"] == 0.5 && summary.extra["lambda_exact_end"] == 0.25)
        for file in ["edits_start.png", "edits_end.png", "eval_start.json", "eval_end.json", "reward_curve.png", "summary.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "no \(file)")
        }
        await #expect(throws: ConfigurationError.self) {
            _ = try await runner.run(configFile: nil, overrides: Self.tinyRun + ["run.output_dir=\(dir)-bad", "scenario.lambda_edit=-1"])
        }
        await #expect(throws: ConfigurationError.self) {
            _ = try await runner.run(configFile: nil, overrides: Self.tinyRun + ["run.output_dir=\(dir)-bad", "scenario.eval_every=-1"])
        }
    }
}
