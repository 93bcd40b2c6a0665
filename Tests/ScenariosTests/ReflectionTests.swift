import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// `reflection` at tiny sizes on an editing model made here from the bundled tiny unified model
/// (i2i queries copied from the t2i ones, the DiT given a reference path with `ref_linear` at zero,
/// as an editing cold start starts): a run end to end, all segments replayed to their
/// sampling-time log-probs, ρ = 1 and a finite loss at the first update with metrics per expert,
/// the reward's totals equal to R3's advantages of the raw scores, and the errors for a model that cannot edit.
@Suite struct ReflectionTests {
    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("reflection-\(UUID().uuidString)")
    }

    /// An editing folder (connector/ with both query sets, dm/ with the reference path) over the bundled model.
    static func editFolder() throws -> URL {
        let base = try UnifiedModel.load(from: try #require(BundledUnifiedModel.directory))
        var rng = RandomState(seed: 5)
        let connector = try MetaQueryConnector(configuration: base.connector.configuration, querySets: [.t2i, .i2i], rng: &rng)
        let dm = try SanaTransformer(configuration: base.transformer.configuration, referencePath: true, rng: &rng)
        let sourceConnector = Dictionary(uniqueKeysWithValues: base.connector.namedParameters().map { ($0.name, $0.parameter.value) })
        for (name, p) in connector.namedParameters() {
            if let v = sourceConnector[name == "i2i_queries" ? "t2i_queries" : name] { p.assign(v) }
        }
        let sourceDiT = Dictionary(uniqueKeysWithValues: base.transformer.namedParameters().map { ($0.name, $0.parameter.value) })
        for (name, p) in dm.namedParameters() {
            if let v = sourceDiT[name] ?? sourceDiT[name.replacingOccurrences(of: "ref_patch_embed", with: "patch_embed")],
               !name.hasPrefix("ref_linear") {
                p.assign(v)
            }
        }
        let folder = temporaryDirectory()
        try UnifiedModel(lm: base.lm, connector: connector, transformer: dm, autoencoder: nil).save(to: folder)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("lm"))
        return folder
    }

    static func tinySettings(_ folder: URL) -> ReflectionSettings {
        var s = ReflectionSettings()
        s.model = folder.path
        s.samplingSteps = 2
        s.evaluationSteps = 2
        s.maxNewTokens = 5
        s.trainPrompts = 3
        s.testPrompts = 4
        return s
    }

    @Test func aTinyReflectionRunEndToEnd() async throws {
        let folder = try Self.editFolder()
        let dir = Self.temporaryDirectory().path
        var runner = ScenarioRunner(pack: ReflectionPack())
        runner.log = { _ in }
        let summary = try await runner.run(configFile: nil, overrides: [
            "run.steps=1", "run.progress_bar=never", "run.tensorboard=false", "trainer.prompts_per_step=1", "trainer.group_size=2",
            "trainer.gradient_accumulation=1", "scenario.sampling_steps=2", "scenario.evaluation_steps=2", "scenario.test_prompts=4",
            "scenario.train_prompts=3", "scenario.max_new_tokens=5", "scenario.model=\(folder.path)", "run.output_dir=\(dir)",
        ])
        #expect(summary.scenario == "reflection" && summary.metric == "shapes_eval_final" && summary.evalPrompts == 4)
        for key in ["first_image_start", "judge_accuracy_end", "edit_rate_end"] { #expect(summary.extra[key] != nil, "no \(key)") }
        for file in ["samples_start.png", "samples_end.png", "eval_start.json", "eval_end.json", "summary.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "no \(file)")
        }
        // The training reward of the summary is the final image's raw score, not the centred totals.
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let logged = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        let finalImage = try #require(logged?["rewards/final_image/mean"] as? Double)
        #expect(summary.trainRewards == [finalImage])
    }

    /// Rollouts give two trajectories per sample (round 0: [dm]; round 1: [lm] or [lm, dm]), and
    /// every segment replays to the log-probs recorded while sampling (the edit's condition with
    /// the first image through the vision tower and the reference path).
    @Test func allSegmentsReplayToTheirSamplingLogProbs() throws {
        let settings = Self.tinySettings(try Self.editFolder())
        let scenario = ReflectionScenario(generator: try settings.loadModel(), settings: settings)
        var rng = RandomState(seed: 4)
        let trajectories = try scenario.rollout(Array(try scenario.prompts(.train).prefix(2)), group: 3, using: &rng)
        #expect(trajectories.count == 12)
        #expect(trajectories.filter { $0.output.round == 0 }.allSatisfy { $0.segments.map(\.expert) == ["dm"] })
        let second = trajectories.filter { $0.output.round == 1 }
        #expect(second.allSatisfy { $0.segments.first?.expert == "lm" && $0.segments.count == ($0.output.edited ? 2 : 1) })
        let replays = try scenario.replay(trajectories, experts: ["lm", "dm"])
        for (t, r) in zip(trajectories, replays) {
            for (segment, replay) in zip(t.segments, r) {
                let replayed = try #require(replay).logProbs.scalars
                let worst = zip(segment.samplingLogProbs, replayed).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst < 1e-4, "\(segment.expert) round \(t.output.round): \(worst)")
            }
        }
        // The reward's totals are R3's advantages of the raw scores, per group.
        let reward = ReflectionReward(judgeWeight: 0.5)
        let outputs = trajectories.map(\.output)
        let (first, final, judge) = reward.raw(outputs)
        let totals = reward.totals(outputs)
        for g in 0..<2 {
            let rows = (0..<3).map { s in
                outputs.indices.first { outputs[$0].group == g && outputs[$0].sample == s && outputs[$0].round == 0 }!
            }
            let expected = RoundAdvantages.compute(rows.map { [first[$0], final[$0] + 0.5 * judge[$0]] })
            for (k, i) in rows.enumerated() {
                #expect(abs(totals[i] - expected[k][0]) < 1e-6)
                let j = outputs.indices.first { outputs[$0].group == g && outputs[$0].sample == k && outputs[$0].round == 1 }!
                #expect(abs(totals[j] - expected[k][1]) < 1e-6)
            }
        }
    }

    /// ρ = 1 for both experts at the first update, finite loss, metrics named per expert and per reward part.
    @Test func firstUpdateHasRatioOneForBothExperts() async throws {
        let settings = Self.tinySettings(try Self.editFolder())
        let scenario = ReflectionScenario(generator: try settings.loadModel(), settings: settings)
        var configuration = GRPOConfiguration().addingDefaults(for: [("lm", .discrete), ("dm", .sde)])
        configuration.trainer.promptsPerStep = 2
        configuration.trainer.groupSize = 3
        configuration.trainer.advantageScaling = .noStd
        configuration.run.progressBar = .never
        configuration.experts["lm"]?.learningRate = 1e-3
        configuration.experts["dm"]?.learningRate = 1e-3
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        let m = try await trainer.trainStep().metrics
        for e in ["lm", "dm"] {
            #expect(m["\(e)/ratio/min"] == 1 && m["\(e)/ratio/max"] == 1, "\(e): \(m["\(e)/ratio/min"] ?? .nan)")
        }
        #expect(m["loss"].map(\.isFinite) == true)
        for key in ["rewards/first_image/mean", "rewards/final_image/mean", "rewards/judge_accuracy/mean"] {
            #expect(m[key] != nil, "\(key)")
        }
    }

    /// The bundled text-to-image model cannot edit: a clear error naming the part.
    @Test func aModelThatCannotEditIsAClearError() throws {
        let bundled = try #require(BundledUnifiedModel.directory)
        #expect(throws: ReflectionError.self) { _ = try ReflectionModel.load(from: bundled) }
    }
}
