import Foundation
import UniRLCore
import UniRLTensor

/// Runs a ``ScenarioPack`` the same way for every scenario:
///
/// 1. layers the configuration: the pack's defaults (its experts' kind defaults, its
///    `defaultOverrides`, `output_dir = runs/<name>`) < the configuration file < the command line;
///    on resume, the scenario settings stored in the checkpoint replace the pack's defaults;
/// 2. refuses a non-empty `output_dir` without `resume_from` (unless `run.overwrite=true`);
/// 3. builds the scenario and the trainer and resumes — all before `output_dir` is created, so
///    a model or checkpoint that fails to load leaves nothing behind — then evaluates (start),
///    trains, evaluates (end);
/// 4. writes `reward_curve.png`, the pack's report and `summary.json`.
///
/// With ``dataParallel`` (`mpirun -np N unirl train …`) every rank trains; only rank 0 checks and
/// writes `output_dir`, evaluates and logs (the others return a summary with NaN metrics).
public struct ScenarioRunner<Pack: ScenarioPack> {
    public let pack: Pack
    /// Where progress lines go (standard output by default).
    public var log: @Sendable (String) -> Void = { print($0) }
    /// The ranks to train with; nil for one process.
    public var dataParallel: DataParallel?

    public init(pack: Pack) { self.pack = pack }

    /// The pack's defaults: its experts seeded with their kinds' defaults, its overrides, and
    /// `run.output_dir = runs/<name>`.
    public func defaults() throws -> LayeredConfiguration<Pack.Settings> {
        var base = GRPOConfiguration().addingDefaults(for: pack.experts.map { ($0.name, $0.kind) })
        base.run.outputDir = "runs/\(pack.name)"
        base = try base.applying(overrides: pack.defaultOverrides, closedMaps: ["experts"])
        return LayeredConfiguration(configuration: base, scenario: pack.defaultSettings)
    }

    /// The configuration of a run: defaults < file < overrides, with the scenario settings of the
    /// checkpoint being resumed (if any) in place of the pack's defaults.
    public func resolve(configFile: URL?, overrides: [String]) throws -> LayeredConfiguration<Pack.Settings> {
        var base = try defaults()
        let first = try base.layering(file: configFile, overrides: overrides)
        if let url = first.configuration.run.resumeCheckpoint(),
           FileManager.default.fileExists(atPath: url.appendingPathComponent("scenario.json").path),
           let stored = try Checkpoint.read(from: url).scenarioSettings {
            base.scenario = try base.scenario.merging(stored, keyPrefix: "scenario")
            return try base.layering(file: configFile, overrides: overrides)
        }
        return first
    }

    /// Runs the scenario and returns what `summary.json` holds.
    @discardableResult
    public func run(configFile: URL?, overrides: [String]) async throws -> ScenarioSummary {
        let start = Date()
        let resolved = try resolve(configFile: configFile, overrides: overrides)
        let configuration = resolved.configuration
        let writer = dataParallel?.collective.isWriter ?? true
        let output = URL(fileURLWithPath: configuration.run.outputDir)
        if writer { try configuration.run.checkOutputDirectory() }

        // Everything that can fail on bad input (the model, the trainer, the checkpoint) loads
        // before the output folder exists, so a failed start leaves nothing behind.
        let scenario = try pack.makeScenario(settings: resolved.scenario, configuration: configuration)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        trainer.scenarioSettings = try ConfigNode.encoding(resolved.scenario)
        trainer.dataParallel = dataParallel
        try trainer.resumeIfRequested()
        guard writer else { return try await trainWithoutWriting(trainer, steps: configuration.run.steps, start: start) }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let t = configuration.trainer
        log("\(pack.name): \(configuration.run.steps) GRPO steps of \(t.promptsPerStep) prompts × \(t.groupSize) samples"
            + (trainer.step > 0 ? ", resumed at step \(trainer.step)" : ""))

        let before = try await pack.evaluate(scenario, trainer: trainer, phase: .start, output: output)
        log(String(format: "held-out %@ at the start: %.4f (%d prompts)", pack.metricName, before.metric, before.prompts))
        let metrics = try MetricsLogger(run: configuration.run, directory: output)
        let interval = pack.evaluationInterval(settings: resolved.scenario)
        var curve: [(step: Int, metric: Double)] = [(trainer.step, before.metric)]
        while trainer.step < configuration.run.steps {
            let stop = interval > 0 ? Swift.min(configuration.run.steps, (trainer.step / interval + 1) * interval) : configuration.run.steps
            try await trainer.train(stopAfter: stop, metrics: metrics)
            if stop < configuration.run.steps {
                let during = try await pack.evaluate(scenario, trainer: trainer, phase: .during, output: output)
                log(String(format: "held-out %@ at step %d: %.4f", pack.metricName, trainer.step, during.metric))
                curve.append((trainer.step, during.metric))
            }
        }
        metrics.close()
        let after = try await pack.evaluate(scenario, trainer: trainer, phase: .end, output: output)
        log(String(format: "held-out %@ at the end: %.4f (%d prompts)", pack.metricName, after.metric, after.prompts))
        if interval > 0 {
            curve.append((trainer.step, after.metric))
            try EvaluationCurve.plot(curve, metric: pack.metricName, title: "\(pack.name): held-out \(pack.metricName)")
                .writePNG(to: output.appendingPathComponent("eval_curve.png"))
            let points = curve.map { ["step": $0.step, "value": $0.metric] as [String: Any] }
            try JSONSerialization.data(withJSONObject: points, options: [.prettyPrinted])
                .write(to: output.appendingPathComponent("eval_curve.json"))
        }

        let rewards = metrics.history.map { $0.metrics[pack.trainingRewardMetric] ?? .nan }
        if !rewards.isEmpty {
            try RewardCurve.plot(rewards, title: "\(pack.name): \(pack.trainingRewardMetric) per GRPO step")
                .writePNG(to: output.appendingPathComponent("reward_curve.png"))
        }
        var extra: [String: Double] = [:]
        for (k, v) in before.extra { extra["\(k)_start"] = v }
        for (k, v) in after.extra { extra["\(k)_end"] = v }
        let summary = ScenarioSummary(scenario: pack.name, metric: pack.metricName, before: before.metric, after: after.metric,
                                      evalPrompts: after.prompts, steps: trainer.step, seconds: Date().timeIntervalSince(start),
                                      trainRewards: rewards, extra: extra)
        try pack.report(scenario, summary: summary, output: output)
        try summary.jsonData().write(to: output.appendingPathComponent("summary.json"))
        log(String(format: "%@ %.4f → %.4f in %.0f s; reward_curve.png, summary.json, metrics.jsonl in %@",
                   pack.metricName, before.metric, after.metric, summary.seconds, output.path))
        return summary
    }
}

extension ScenarioRunner {
    /// A rank other than 0: trains in step with rank 0, writing nothing.
    private func trainWithoutWriting<S: Scenario>(_ trainer: GRPOTrainer<S>, steps: Int, start: Date) async throws
        -> ScenarioSummary
    {
        try await trainer.train(metrics: MetricsLogger(sinks: [], logEvery: 0))
        return ScenarioSummary(scenario: pack.name, metric: pack.metricName, before: .nan, after: .nan, evalPrompts: 0,
                               steps: trainer.step, seconds: Date().timeIntervalSince(start), trainRewards: [], extra: [:])
    }
}

/// The training-reward chart of a run: the batch mean per step and its moving average.
public enum RewardCurve {
    public static func plot(_ rewards: [Double], title: String) -> CurvePlot {
        var plot = CurvePlot(title: title, xLabel: "step", yLabel: "reward")
        plot.add(CurvePlot.Series(name: "batch mean", values: rewards, color: (170, 170, 170), lineWidth: 1))
        plot.add(CurvePlot.Series(name: "moving average (10)", values: CurvePlot.movingAverage(rewards, window: 10),
                                  color: (214, 39, 40), lineWidth: 2))
        return plot
    }
}

/// The held-out metric against the step, from the evaluations a run made.
public enum EvaluationCurve {
    public static func plot(_ points: [(step: Int, metric: Double)], metric: String, title: String) -> CurvePlot {
        var plot = CurvePlot(title: title, xLabel: "step", yLabel: metric)
        plot.add(CurvePlot.Series(name: "held-out \(metric)", points: points.map { (Double($0.step), $0.metric) }))
        return plot
    }
}
