import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLTensor

/// The text-to-image scenario on the shipped tiny SANA: groups of decoded images, exact replay
/// through the GRPO trainer, settings overrides, reproducible evaluation samples.
@Suite struct TextToImageScenarioTests {
    static func scenario(steps: Int = 3) throws -> TextToImageScenario {
        var settings = TextToImageSettings(samplingSteps: steps, evaluationSteps: 4, guidanceScale: 3)
        settings.trainPrompts = 8
        settings.testPrompts = 6
        return TextToImageScenario(models: try TinySana.load(), reward: JPEGCompressibilityReward(), settings: settings)
    }

    @Test func rolloutGivesOneGroupOfImagesPerPrompt() throws {
        let scenario = try Self.scenario()
        let prompts = Array(try scenario.prompts(.train).prefix(2))
        var rng = RandomState(seed: 3)
        let trajectories = try scenario.rollout(prompts, group: 3, using: &rng)
        #expect(trajectories.map(\.promptIndex) == [0, 0, 0, 1, 1, 1])
        for t in trajectories {
            #expect(t.output.width == 32 && t.output.height == 32)
            #expect(t.segments.count == 1 && t.segments[0].expert == "dm" && t.segments[0].kind == .sde)
            #expect(t.segments[0].actionCount == 3)
        }
        #expect(trajectories[0].output != trajectories[1].output)
        #expect(try scenario.prompts(.test).count == 6)
        #expect(Set(try scenario.prompts(.test).map(\.category)).count == 6)
    }

    @Test func firstUpdateHasRatioOneAndExactReplay() async throws {
        let scenario = try Self.scenario()
        var configuration = GRPOConfiguration().addingDefaults(for: [("dm", .sde)])
        configuration.run.steps = 1
        configuration.trainer.promptsPerStep = 2
        configuration.trainer.groupSize = 2
        configuration.experts["dm"]?.learningRate = 1e-4
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        let report = try await trainer.trainStep()
        #expect(report.metrics["ratio/mean"] == 1 && report.metrics["ratio/min"] == 1 && report.metrics["ratio/max"] == 1)
        #expect((report.metrics["logprob_mismatch/max"] ?? 1) < 1e-5)
        #expect(report.metrics["kl"] == 0)
        #expect(report.metrics["updates/count"] == 1)
        #expect(report.metrics["rewards/jpeg_compressibility/mean"].map { $0 < 0 } == true)
    }

    @Test func evaluationSamplesAreReproducible() throws {
        let scenario = try Self.scenario()
        let captions = ["a red circle", "two blue squares"]
        let a = try scenario.generate(captions: captions, seed: 5), b = try scenario.generate(captions: captions, seed: 5)
        let c = try scenario.generate(captions: captions, seed: 6)
        #expect(a == b && a != c && a.count == 2)
    }

    @Test func settingsTakeOverridesAndRefuseUnknownKeys() throws {
        let s = try TextToImageSettings().applying(overrides: ["guidance_scale=4.5", "sampling_steps=6", "sde_kind=cps", "trained_steps=2"])
        #expect(s.guidanceScale == 4.5 && s.samplingSteps == 6 && s.sdeKind == .cps)
        #expect(s.policySettings.trainedSteps == .random(2) && s.policySettings.kind == .cps)
        #expect(throws: ConfigurationError.unknownKey("guidance")) { try TextToImageSettings().applying(overrides: ["guidance=2"]) }
        #expect(throws: ConfigurationError.self) { try TextToImageSettings().applying(overrides: ["sampling_steps=0"]).validate() }
        #expect(throws: ConfigurationError.self) {
            try TextToImageSettings().applying(overrides: ["sampling_steps=4", "trained_steps=5"]).validate()
        }
        #expect(throws: ConfigurationError.self) { try TextToImageSettings().applying(overrides: ["sde_kind=ode"]) }
    }
}
