import ArgumentParser
import Foundation
import UniRLCore
import UniRLRewards
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// `unirl train`: GRPO on a bundled scenario, configured by a JSON/YAML file and `key=value`
/// overrides (e.g. `trainer.group_size=16 experts.lm.learning_rate=0.01`).
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a bundled scenario with GRPO.",
        discussion: """
        Scenarios: \(BundledScenario.allCases.map(\.rawValue).joined(separator: ", ")).
        Metrics go to <run.output_dir>/metrics.jsonl and TensorBoard event files; checkpoints every
        run.checkpoint_every steps; run.resume_from=<checkpoint dir> continues exactly.
        The text-to-image scenarios take their own settings as scenario.<key>=<value> (sampling_steps,
        evaluation_steps, guidance_scale, noise_level, sde_kind, trained_steps, shift, train_prompts,
        test_prompts, prompt_seed) and write samples_start.png, samples_end.png and reward_curve.png.
        """)

    @Option(help: "The scenario to train.") var scenario: BundledScenario
    @Option(help: "A GRPO configuration file (.json or .yaml).") var config: String?
    @Argument(help: "Configuration overrides, key=value.") var overrides: [String] = []

    func run() async throws {
        let scenarioOverrides = overrides.filter { $0.hasPrefix("scenario.") }.map { String($0.dropFirst("scenario.".count)) }
        var configuration = try GRPOConfiguration.load(from: config.map { URL(fileURLWithPath: $0) },
                                                       overrides: scenario.defaultOverrides + overrides.filter { !$0.hasPrefix("scenario.") })
        if configuration.run.outputDir == GRPOConfiguration().run.outputDir {
            configuration.run.outputDir = "runs/\(scenario.rawValue)"
        }
        try await scenario.train(configuration, scenarioOverrides: scenarioOverrides)
    }
}

/// The scenarios `unirl train` knows. Later scenario packs add their cases here.
enum BundledScenario: String, CaseIterable, ExpressibleByArgument {
    /// A softmax token policy learns prompt-dependent target sequences (reward: fraction matched).
    case toyTokens = "toy-tokens"
    /// A 2-D flow-matching model, pre-trained on four blobs, learns to land in one region.
    case toyFlow = "toy-flow"
    /// The bundled tiny SANA learns to draw ShapesWorld captions with smaller JPEG files.
    case jpegCompressibility = "jpeg-compressibility"
    /// The bundled tiny SANA learns to draw ShapesWorld captions with larger JPEG files.
    case jpegIncompressibility = "jpeg-incompressibility"

    /// Settings that make each scenario learn visibly in a short run (the user's overrides win).
    var defaultOverrides: [String] {
        switch self {
        case .toyTokens: ["run.steps=80", "experts.lm.learning_rate=0.02", "experts.lm.beta=0"]
        case .toyFlow: ["run.steps=60", "experts.dm.learning_rate=0.003", "experts.dm.beta=0", "trainer.prompts_per_step=1",
                        "trainer.group_size=64"]
        case .jpegCompressibility, .jpegIncompressibility:
            ["run.steps=100", "run.checkpoint_every=0", "trainer.prompts_per_step=4", "trainer.group_size=8",
             "trainer.gradient_accumulation=4", "experts.dm.learning_rate=0.0003", "experts.dm.beta=0"]
        }
    }

    func train(_ configuration: GRPOConfiguration, scenarioOverrides: [String] = []) async throws {
        var rng = RandomState(seed: UInt64(configuration.run.seed))
        if let item = scenarioOverrides.first, !isTextToImage {
            throw ScenarioSettingsError.unknownKey(String(item.prefix { $0 != "=" }) + " (\(rawValue) has no scenario settings)")
        }
        switch self {
        case .toyTokens:
            let policy = ToyTokenPolicy(promptCount: 8, vocabularySize: 16, length: 6, rng: &rng)
            try await run(ToyTokenScenario(policy: policy), configuration)
        case .toyFlow:
            let policy = ToyFlowPolicy(rng: &rng)
            print("Pre-training the flow model on four blobs (cold start)…")
            let losses = policy.pretrain(steps: 400, data: ToyFlowData.fourBlobs, rng: &rng)
            print(String(format: "flow-matching loss %.3f → %.3f", losses.first ?? 0, losses.last ?? 0))
            try await run(ToyFlowScenario(policy: policy), configuration)
        case .jpegCompressibility, .jpegIncompressibility:
            let settings = try TextToImageSettings().applying(overrides: scenarioOverrides)
            let reward: any RewardFunction<RGBImage> = self == .jpegCompressibility
                ? JPEGCompressibilityReward() : JPEGIncompressibilityReward()
            let scenario = TextToImageScenario(models: try TinySana.load(), reward: reward, settings: settings)
            try await TextToImageRun(scenario: scenario, configuration: configuration).run()
        }
    }

    /// Whether the scenario is one of the text-to-image ones (with `scenario.*` settings).
    var isTextToImage: Bool { self == .jpegCompressibility || self == .jpegIncompressibility }

    private func run<S: Scenario>(_ scenario: S, _ configuration: GRPOConfiguration) async throws {
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        let before = try await trainer.evaluate(samplesPerPrompt: 16)
        try await trainer.train()
        let after = try await trainer.evaluate(samplesPerPrompt: 16)
        print(String(format: "mean evaluation reward %.3f → %.3f; metrics and TensorBoard curves in %@",
                     before, after, configuration.run.outputDir))
    }
}

/// A GRPO run of a text-to-image scenario that also leaves pictures: a sample grid before and
/// after training (the same captions and seeds, the Euler ODE with `evaluation_steps`), the mean
/// JPEG size of the evaluation images, and the reward curve.
struct TextToImageRun {
    let scenario: TextToImageScenario
    let configuration: GRPOConfiguration
    /// Seed of the evaluation noise (the same at the start and the end).
    let evaluationSeed: UInt64 = 1234

    func run() async throws {
        let output = URL(fileURLWithPath: configuration.run.outputDir)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let captions = try scenario.prompts(.test).map(\.caption)
        print("GRPO on the tiny SANA with \(scenario.reward.name): \(configuration.run.steps) steps of \(configuration.trainer.promptsPerStep) prompts × \(configuration.trainer.groupSize) samples, \(scenario.settings.samplingSteps) SDE steps, guidance \(scenario.settings.guidanceScale)")
        let before = try await evaluate(captions, grid: output.appendingPathComponent("samples_start.png"))
        print(String(format: "evaluation (%d captions, %d Euler steps): mean JPEG %.3f kB, reward %.3f", captions.count,
                     scenario.settings.evaluationSteps, before.kilobytes, before.reward))

        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        let metrics = try MetricsLogger(run: configuration.run, directory: output)
        try await trainer.train(metrics: metrics)
        metrics.close()

        let after = try await evaluate(captions, grid: output.appendingPathComponent("samples_end.png"))
        print(String(format: "evaluation (%d captions, %d Euler steps): mean JPEG %.3f kB, reward %.3f", captions.count,
                     scenario.settings.evaluationSteps, after.kilobytes, after.reward))
        let rewards = metrics.history.map { $0.metrics["reward"] ?? .nan }
        try rewardCurve(rewards).writePNG(to: output.appendingPathComponent("reward_curve.png"))
        let tenth = max(1, rewards.count / 10)
        print(String(format: "JPEG size %.3f kB → %.3f kB (%+.1f%%); training reward (mean of first/last %d steps) %.3f → %.3f",
                     before.kilobytes, after.kilobytes, 100 * (after.kilobytes / before.kilobytes - 1), tenth,
                     rewards.prefix(tenth).reduce(0, +) / Double(tenth), rewards.suffix(tenth).reduce(0, +) / Double(tenth)))
        let summary: [String: Any] = ["reward": scenario.reward.name, "steps": configuration.run.steps,
                                      "jpeg_kb_start": before.kilobytes, "jpeg_kb_end": after.kilobytes,
                                      "eval_reward_start": before.reward, "eval_reward_end": after.reward, "train_rewards": rewards]
        try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted])
            .write(to: output.appendingPathComponent("summary.json"))
        print("samples_start.png, samples_end.png, reward_curve.png, summary.json, metrics.jsonl in \(output.path)")
    }

    /// Mean JPEG kB and mean reward of one ODE sample per caption; the first 16 go into a grid (3× size).
    func evaluate(_ captions: [String], grid: URL) async throws -> (kilobytes: Double, reward: Double) {
        let images = try scenario.generate(captions: captions, seed: evaluationSeed)
        let sizes = try images.map { Double(try jpegKilobytes($0)) }
        try ImageGrid.tile(Array(images.prefix(16)), columns: 8).upscaled(by: 3).writePNG(to: grid)
        let scores = await scenario.reward.evaluate(images).totals.compactMap(\.value)
        return (sizes.reduce(0, +) / Double(sizes.count), scores.reduce(0.0) { $0 + Double($1) } / Double(max(scores.count, 1)))
    }

    func rewardCurve(_ rewards: [Double]) -> CurvePlot {
        var plot = CurvePlot(title: "\(scenario.reward.name): reward per GRPO step", xLabel: "step", yLabel: "reward")
        plot.add(CurvePlot.Series(name: "batch mean", values: rewards, color: (170, 170, 170), lineWidth: 1))
        plot.add(CurvePlot.Series(name: "moving average (10)", values: CurvePlot.movingAverage(rewards, window: 10),
                                  color: (214, 39, 40), lineWidth: 2))
        return plot
    }
}

extension RGBImage {
    /// Nearest-neighbour enlargement, so that 32-pixel samples are visible.
    func upscaled(by k: Int) -> RGBImage {
        var out = RGBImage(width: width * k, height: height * k, fill: (0, 0, 0))
        for y in 0..<out.height { for x in 0..<out.width { out[x, y] = self[x / k, y / k] } }
        return out
    }
}
