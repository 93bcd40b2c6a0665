import Foundation
import Synchronization
import Testing
import UniRLCore
import UniRLScenarios
import UniRLTensor
import UniRLToys

/// The settings each scenario of the test pack was built with.
final class BuildLog: Sendable {
    let marks = Mutex<[Int]>([])
}

/// Settings of the test pack: a number its scenario records.
struct MarkSettings: MergeableSettings, Sendable, Equatable {
    var mark = 1
}

/// A pack written outside the bundled ones: the toy token task, remembering the settings it was
/// built with.
struct MarkedTokensPack: ScenarioPack {
    let name = "marked-tokens"
    let summary = "the toy token task, for the registry tests"
    let metricName = "eval_reward"
    let experts = [ExpertDeclaration("lm", kind: .discrete)]
    var defaultOverrides: [String] { ["run.steps=3", "run.checkpoint_every=3", "run.progress_bar=never", "run.tensorboard=false",
                                      "experts.lm.learning_rate=0.05", "experts.lm.beta=0"] }
    var defaultSettings: MarkSettings { MarkSettings() }
    let built = BuildLog()

    func makeScenario(settings: MarkSettings, configuration: GRPOConfiguration) throws -> ToyTokenScenario {
        built.marks.withLock { $0.append(settings.mark) }
        var rng = RandomState(seed: 7)
        return ToyTokenScenario(policy: ToyTokenPolicy(promptCount: 4, vocabularySize: 8, length: 4, rng: &rng))
    }

    func evaluate(_ scenario: ToyTokenScenario, trainer: GRPOTrainer<ToyTokenScenario>, phase: EvaluationPhase,
                  output: URL) async throws -> ScenarioEvaluation {
        ScenarioEvaluation(metric: try await trainer.evaluate(samplesPerPrompt: 8), prompts: 4, extra: ["phase_marker": 1])
    }
}

@Suite struct ScenarioRegistryTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString)").path
    }

    @Test func bundledScenariosAreRegistered() throws {
        let names = [
            "cot-t2i", "cycle-edit", "jpeg-compressibility", "jpeg-incompressibility", "reflection", "t2i", "text", "toy-flow",
            "toy-tokens", "vqa",
        ]
        #expect(ScenarioRegistry.shared.all.map(\.name) == names)
        #expect(throws: ScenarioRegistryError.self) { try ScenarioRegistry.shared.pack(named: "nope") }
    }

    @Test func aRegisteredPackRunsAndWritesItsSummary() async throws {
        let registry = ScenarioRegistry()
        registry.register(MarkedTokensPack())
        let dir = temporaryDirectory()
        let summary = try await registry.pack(named: "marked-tokens").run(configFile: nil, overrides: ["run.output_dir=\(dir)"])
        #expect(summary.steps == 3 && summary.trainRewards.count == 3 && summary.evalPrompts == 4)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent("summary.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["scenario", "metric", "before", "after", "eval_prompts", "steps", "seconds", "phase_marker_start"] {
            #expect(object[key] != nil, "summary.json lacks \(key)")
        }
        #expect(object["scenario"] as? String == "marked-tokens")
        #expect(FileManager.default.fileExists(atPath: dir + "/reward_curve.png"))
        // A second fresh run into the same directory is refused.
        await #expect(throws: RunDirectoryError.self) {
            try await registry.pack(named: "marked-tokens").run(configFile: nil, overrides: ["run.output_dir=\(dir)"])
        }
    }

    @Test func resumeRestoresScenarioSettingsAndEvaluatesTheResumedWeights() async throws {
        let dir = temporaryDirectory()
        let pack = MarkedTokensPack()
        var runner = ScenarioRunner(pack: pack)
        runner.log = { _ in }
        let first = try await runner.run(configFile: nil, overrides: ["run.output_dir=\(dir)", "scenario.mark=5"])
        let second = try await runner.run(configFile: nil, overrides: ["run.output_dir=\(dir)", "run.resume_from=latest",
                                                                       "run.steps=5"])
        #expect(pack.built.marks.withLock { $0 } == [5, 5])     // the stored settings, not the default 1
        #expect(second.before == first.after)               // start-of-run samples from the resumed weights
        #expect(second.steps == 5 && second.trainRewards.count == 5)  // the whole run, not only the resumed part
        // The command line still wins over the stored settings.
        _ = try await runner.run(configFile: nil, overrides: ["run.output_dir=\(dir)", "run.resume_from=latest", "run.steps=6",
                                                              "scenario.mark=8"])
        #expect(pack.built.marks.withLock { $0 } == [5, 5, 8])
    }

    @Test func theJPEGPackWritesItsGridsAndSummary() async throws {
        let dir = temporaryDirectory()
        var runner = ScenarioRunner(pack: JPEGPack(direction: .compressibility))
        runner.log = { _ in }
        let summary = try await runner.run(configFile: nil, overrides: [
            "run.output_dir=\(dir)", "run.steps=1", "run.progress_bar=never", "run.tensorboard=false", "trainer.prompts_per_step=1",
            "trainer.group_size=2", "trainer.gradient_accumulation=1", "scenario.sampling_steps=2", "scenario.evaluation_steps=2",
            "scenario.test_prompts=2", "scenario.train_prompts=2",
        ])
        #expect(summary.scenario == "jpeg-compressibility" && summary.metric == "jpeg_kb" && summary.evalPrompts == 2)
        // The unified policy trains: its expert holds the connector (with the queries) and the DiT; the LM is frozen.
        let scenario = try JPEGPack(direction: .incompressibility).makeScenario(settings: TextToImageSettings(),
                                                                                configuration: GRPOConfiguration())
        #expect(!scenario.model.connector.trainableParameters().isEmpty && scenario.model.lm.trainableParameters().isEmpty)
        #expect(summary.before > 0 && summary.after > 0 && summary.extra["eval_reward_start"] != nil)
        for file in ["samples_start.png", "samples_end.png", "reward_curve.png", "summary.json", "metrics.jsonl"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "no \(file)")
        }
        await #expect(throws: ConfigurationError.self) {
            try await runner.run(configFile: nil, overrides: ["run.output_dir=\(self.temporaryDirectory())", "scenario.sampling_steps=2",
                                                              "scenario.trained_steps=3"])
        }
    }
}
