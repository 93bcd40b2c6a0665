import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// A scenario's own settings for the layering tests.
struct LevelSettings: MergeableSettings, Equatable {
    var level = 1
    var label = "a"

    func validate() throws {
        if level < 0 { throw ConfigurationError.invalidValue(key: "scenario.level", reason: "must be ≥ 0") }
    }
}

/// The one override mechanism: defaults < configuration file < command line, for `run.*`,
/// `trainer.*`, `experts.*` and `scenario.*` alike.
@Suite struct LayeredConfigurationTests {
    func defaults() throws -> LayeredConfiguration<LevelSettings> {
        let base = try GRPOConfiguration().addingDefaults(for: [("lm", .discrete)])
            .applying(overrides: ["run.steps=80", "experts.lm.learning_rate=0.02", "trainer.group_size=12"])
        return LayeredConfiguration(configuration: base, scenario: LevelSettings())
    }

    func file(_ text: String, _ ext: String = "yaml") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("layers-\(UUID().uuidString).\(ext)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func configFileBeatsDefaultsAndCommandLineBeatsBoth() throws {
        let url = try file("run:\n  steps: 30\ntrainer:\n  group_size: 4\nscenario:\n  level: 5\n  label: b\n")
        let r = try defaults().layering(file: url, overrides: ["trainer.group_size=6", "scenario.label=c"])
        #expect(r.configuration.run.steps == 30)                    // file over defaults
        #expect(r.configuration.trainer.groupSize == 6)             // command line over file
        #expect(r.configuration.experts["lm"]?.learningRate == 0.02) // defaults the file does not touch stay
        #expect(r.scenario == LevelSettings(level: 5, label: "c"))
        let json = try file(#"{"run": {"seed": 3}, "scenario": {"level": 2}}"#, "json")
        let j = try defaults().layering(file: json, overrides: [])
        #expect(j.configuration.run.seed == 3 && j.configuration.run.steps == 80 && j.scenario.level == 2)
    }

    @Test func expertsTheScenarioLacksAreNamed() throws {
        #expect(throws: ConfigurationError.unknownExpert("dm", known: ["lm"])) {
            try defaults().layering(file: nil, overrides: ["experts.dm.beta=0"])
        }
        let url = try file("experts:\n  critic:\n    beta: 0\n")
        #expect(throws: ConfigurationError.unknownExpert("critic", known: ["lm"])) { try defaults().layering(file: url, overrides: []) }
        #expect("\(ConfigurationError.unknownExpert("dm", known: ["lm"]))".contains("'dm'"))
    }

    @Test func scenarioKeysAreCheckedLikeTheOthers() throws {
        #expect(throws: ConfigurationError.unknownKey("scenario.levle")) {
            try defaults().layering(file: nil, overrides: ["scenario.levle=2"])
        }
        #expect(throws: ConfigurationError.invalidValue(key: "scenario.level", reason: "must be ≥ 0")) {
            try defaults().layering(file: nil, overrides: ["scenario.level=-1"])
        }
        #expect(throws: ConfigurationError.self) { try defaults().layering(file: nil, overrides: ["scenario.level=many"]) }
        let none = LayeredConfiguration(configuration: GRPOConfiguration(), scenario: NoScenarioSettings())
        #expect(throws: ConfigurationError.unknownKey("scenario.x")) { try none.layering(file: nil, overrides: ["scenario.x=1"]) }
    }

    @Test func aNonEmptyOutputDirectoryNeedsResumeOrOverwrite() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outdir-\(UUID().uuidString)")
        var run = RunSettings()
        run.outputDir = dir.path
        try run.checkOutputDirectory()                                   // missing: fine
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try run.checkOutputDirectory()                                   // empty: fine
        try Data("{}\n".utf8).write(to: dir.appendingPathComponent("metrics.jsonl"))
        #expect(throws: RunDirectoryError.notEmpty(dir.path)) { try run.checkOutputDirectory() }
        var overwrite = run
        overwrite.overwrite = true
        try overwrite.checkOutputDirectory()
        var resume = run
        resume.resumeFrom = "latest"
        try resume.checkOutputDirectory()
    }

    @Test func scenarioSettingsTravelInTheCheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        let stored = try ConfigNode.encoding(LevelSettings(level: 9, label: "z"))
        try Checkpoint(weights: ["lm.w": Tensor([1, 2])], reference: [:], optimizer: [:],
                       state: TrainerState(step: 1, samplingRNG: RandomState(seed: 1), trainingRNG: RandomState(seed: 2),
                                           tracker: PerPromptStatTracker(), optimizerSteps: [:]),
                       configuration: GRPOConfiguration(), scenarioSettings: stored).write(to: dir)
        let read = try Checkpoint.read(from: dir)
        #expect(try read.scenarioSettings?.decode(LevelSettings.self) == LevelSettings(level: 9, label: "z"))
    }

    @Test func theTrainerRefusesSettingsForAnExpertItDoesNotHave() throws {
        var rng = RandomState(seed: 0)
        let scenario = ToyTokenScenario(policy: ToyTokenPolicy(promptCount: 2, vocabularySize: 4, length: 3, rng: &rng))
        let config = GRPOConfiguration().addingDefaults(for: [("lm", .discrete), ("dm", .sde)])
        #expect(throws: TrainerError.self) { try GRPOTrainer(scenario: scenario, configuration: config) }
    }

    @Test func segmentsOpenWithTheirExpertsType() throws {
        var rng = RandomState(seed: 0)
        let policy = ToyTokenPolicy(promptCount: 2, vocabularySize: 4, length: 3, rng: &rng)
        let rollout = try policy.sample([1], using: &rng)[0]
        let segment = TrajectorySegment(expert: policy, rollout: rollout, condition: 1)
        let opened = try #require(segment.recorded(as: ToyTokenPolicy.self))
        #expect(opened.rollout.tokens == rollout.tokens && opened.condition == 1)
        #expect(segment.recorded(as: ToyFlowPolicy.self) == nil)
    }
}
