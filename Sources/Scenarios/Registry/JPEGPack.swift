import Foundation
import UniRLCore
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// `jpeg-compressibility` and `jpeg-incompressibility`: the bundled tiny unified model (LM frozen;
/// connector, t2i queries and DiT trained, as ``TextToImagePack``) learns to draw ShapesWorld
/// captions with smaller (or larger) JPEG files, the paper's sanity check. The
/// held-out metric is the mean JPEG size in kB of one Euler-ODE sample per test caption (the same
/// captions and noise at the start and the end); the pack also leaves `samples_start.png` and
/// `samples_end.png` (the first 16 samples, 3× size) and reports the evaluation reward.
public struct JPEGPack: ScenarioPack {
    public enum Direction: String, Sendable {
        case compressibility, incompressibility
    }

    public let direction: Direction
    public var name: String { "jpeg-\(direction.rawValue)" }
    public var summary: String {
        "the bundled tiny unified model learns ShapesWorld captions with \(direction == .compressibility ? "smaller" : "larger") JPEG files"
    }
    public let metricName = "jpeg_kb"
    public let experts = [ExpertDeclaration("dm", kind: .sde)]
    public var defaultOverrides: [String] {
        ["run.steps=15", "run.checkpoint_every=0", "trainer.prompts_per_step=4", "trainer.group_size=8",
         "trainer.gradient_accumulation=2", "trainer.recompute_old_log_probs=false", "experts.dm.learning_rate=0.0003",
         "experts.dm.beta=0", "experts.dm.sde_window_size=3", "experts.dm.sde_window_mode=random"]
    }
    /// 16 evaluation captions, evaluated every 5 steps (`eval_curve.png`).
    public var defaultSettings: TextToImageSettings {
        var s = TextToImageSettings()
        s.testPrompts = 16
        s.evalEvery = 5
        return s
    }
    /// Seed of the evaluation noise (the same at the start and the end).
    public let evaluationSeed: UInt64 = 1234

    public init(direction: Direction) { self.direction = direction }

    /// `scenario.eval_every` (0: start and end only), for `eval_curve.png` — the size at every evaluation.
    public func evaluationInterval(settings: TextToImageSettings) -> Int { settings.evalEvery }

    public func makeScenario(settings: TextToImageSettings, configuration: GRPOConfiguration) throws -> UnifiedTextToImageScenario {
        let jpeg: any RewardFunction<RGBImage> = direction == .compressibility
            ? JPEGCompressibilityReward() : JPEGIncompressibilityReward()
        let reward = FunctionReward<PromptedImage>(name: jpeg.name) { batch in try await jpeg.scores(for: batch.map(\.image)) }
        let scenario = UnifiedTextToImageScenario(generator: try settings.loadUnifiedModel(), reward: reward, settings: settings)
        let s = scenario.settings
        print("GRPO on the tiny unified model with \(jpeg.name): \(s.samplingSteps) SDE steps, guidance \(s.guidanceScale)")
        return scenario
    }

    public func evaluate(_ scenario: UnifiedTextToImageScenario, trainer: GRPOTrainer<UnifiedTextToImageScenario>,
                         phase: EvaluationPhase, output: URL) async throws -> ScenarioEvaluation {
        let prompts = try scenario.prompts(.test)
        let captions = prompts.map(\.caption)
        let images = try scenario.generator.generate(captions: captions, settings: scenario.generationSettings(seed: evaluationSeed))
            .map { $0[0] }
        let sizes = try images.map { Double(try jpegKilobytes($0)) }
        if phase != .during {
            try ImageGrid.tile(Array(images.prefix(16)), columns: 8).upscaled(by: 3)
                .writePNG(to: output.appendingPathComponent("samples_\(phase.rawValue).png"))
        }
        let scored = zip(prompts, images).map { PromptedImage(prompt: $0, image: $1) }
        let scores = await scenario.reward.evaluate(scored).totals.compactMap(\.value)
        let reward = scores.reduce(0.0) { $0 + Double($1) } / Double(max(scores.count, 1))
        let kilobytes = sizes.reduce(0, +) / Double(max(sizes.count, 1))
        print(String(format: "evaluation (%d captions, %d Euler steps): mean JPEG %.3f kB, reward %.3f", captions.count,
                     scenario.settings.evaluationSteps, kilobytes, reward))
        return ScenarioEvaluation(metric: kilobytes, prompts: captions.count, extra: ["eval_reward": reward])
    }
}

extension RGBImage {
    /// Nearest-neighbour enlargement, so that 32-pixel samples are visible.
    public func upscaled(by k: Int) -> RGBImage {
        var out = RGBImage(width: width * k, height: height * k, fill: (0, 0, 0))
        for y in 0..<out.height { for x in 0..<out.width { out[x, y] = self[x / k, y / k] } }
        return out
    }
}
