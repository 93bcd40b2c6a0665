import Foundation
import UniRLCore
import UniRLTensor

/// An expert a scenario pack's scenario has: its name (the key under `experts.`) and how it acts.
public struct ExpertDeclaration: Sendable, Equatable {
    public var name: String
    public var kind: ExpertKind

    public init(_ name: String, kind: ExpertKind) {
        self.name = name
        self.kind = kind
    }
}

/// When a held-out evaluation runs: before the first step (after a resume: from the resumed
/// weights) or after the last.
public enum EvaluationPhase: String, Sendable {
    case start, end
    /// Between steps, every ``ScenarioPack/evaluationInterval(settings:)`` steps (for `eval_curve.png`).
    case during
}

/// The held-out metric of one evaluation, the number of prompts it used, and any further numbers
/// the pack wants in `summary.json` (written as `<key>_start` / `<key>_end`).
public struct ScenarioEvaluation: Sendable {
    public var metric: Double
    public var prompts: Int
    public var extra: [String: Double]

    public init(metric: Double, prompts: Int, extra: [String: Double] = [:]) {
        self.metric = metric
        self.prompts = prompts
        self.extra = extra
    }
}

/// A scenario as `unirl train --scenario NAME` runs it: a name, default settings, how its
/// scenario is built, its held-out evaluation (the same metric before and after training) and
/// its report. Register a pack with ``ScenarioRegistry/register(_:)``; ``ScenarioRunner`` does the
/// rest (configuration layers, resume, metrics, checkpoints, `reward_curve.png`, `summary.json`).
///
/// ```swift
/// struct MyPack: ScenarioPack {
///     let name = "my-task"
///     let summary = "what it learns"
///     let metricName = "eval_reward"
///     let experts = [ExpertDeclaration("lm", kind: .discrete)]
///     var defaultOverrides: [String] { ["run.steps=50", "experts.lm.learning_rate=0.01"] }
///     var defaultSettings: NoScenarioSettings { .init() }
///     func makeScenario(settings: NoScenarioSettings, configuration: GRPOConfiguration) throws -> MyScenario { … }
///     func evaluate(_ s: MyScenario, trainer: GRPOTrainer<MyScenario>, phase: EvaluationPhase, output: URL) async throws
///         -> ScenarioEvaluation { … }
/// }
/// ScenarioRegistry.shared.register(MyPack())
/// ```
public protocol ScenarioPack: Sendable {
    /// The scenario's own settings (`scenario.*` keys); ``NoScenarioSettings`` when it has none.
    associatedtype Settings: MergeableSettings & Sendable
    associatedtype Built: Scenario

    /// The name `--scenario` takes.
    var name: String { get }
    /// One line on what the scenario trains.
    var summary: String { get }
    /// The name of the held-out metric in `summary.json`'s `metric`.
    var metricName: String { get }
    /// The experts of the scenario: their kinds' defaults seed `experts.*`, and no other name is accepted.
    var experts: [ExpertDeclaration] { get }
    /// GRPO settings that make this scenario learn visibly in a short run (`key=value`, the
    /// lowest layer: a configuration file and the command line override them).
    var defaultOverrides: [String] { get }
    /// The scenario's settings before any file or override.
    var defaultSettings: Settings { get }

    /// Builds the scenario (loads or pre-trains its models).
    func makeScenario(settings: Settings, configuration: GRPOConfiguration) throws -> Built
    /// The held-out evaluation; it may leave files (sample grids) in `output`.
    func evaluate(_ scenario: Built, trainer: GRPOTrainer<Built>, phase: EvaluationPhase, output: URL) async throws
        -> ScenarioEvaluation
    /// Files of the report beyond `reward_curve.png` and `summary.json`. Default none.
    func report(_ scenario: Built, summary: ScenarioSummary, output: URL) throws
    /// Steps between held-out evaluations during training (phase `during`); the runner then
    /// writes `eval_curve.png` and `eval_curve.json`. Default 0: at the start and the end only.
    func evaluationInterval(settings: Settings) -> Int
    /// The logged metric that is the training reward of `reward_curve.png` and `summary.json`'s
    /// `train_rewards`. Default `reward`, the mean of the reward's totals; a pack whose totals are
    /// centred by construction (`reflection`) names a raw score instead.
    var trainingRewardMetric: String { get }
}

extension ScenarioPack {
    public func report(_ scenario: Built, summary: ScenarioSummary, output: URL) throws {}
    public func evaluationInterval(settings: Settings) -> Int { 0 }
    public var trainingRewardMetric: String { "reward" }
}

/// What every run writes to `<output_dir>/summary.json`: the scenario, its held-out metric before
/// and after training, the number of evaluation prompts, the steps, the seconds the run took,
/// the training reward per step, and the pack's further numbers.
public struct ScenarioSummary: Sendable {
    public var scenario: String
    public var metric: String
    public var before: Double
    public var after: Double
    public var evalPrompts: Int
    public var steps: Int
    public var seconds: Double
    public var trainRewards: [Double]
    public var extra: [String: Double]

    /// The JSON object of `summary.json` (sorted keys; NaN written as null).
    public func jsonData() throws -> Data {
        func number(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
        var object: [String: Any] = ["scenario": scenario, "metric": metric, "before": number(before), "after": number(after),
                                     "eval_prompts": evalPrompts, "steps": steps, "seconds": seconds,
                                     "train_rewards": trainRewards.map(number)]
        for (k, v) in extra where object[k] == nil { object[k] = number(v) }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    }
}
