import Foundation
import Logging
import UniRLTensor

/// What one GRPO step did: its metrics (the names are listed on ``GRPOTrainer``) and the
/// warnings it logged.
public struct StepReport: Sendable {
    /// The number of completed steps after this one (1 for the first).
    public var step: Int
    public var metrics: [String: Double]
    public var warnings: [String]
}

public enum TrainerError: Error, CustomStringConvertible {
    case noPrompts
    case duplicateExpert(String)
    case badRollout(String)
    case badReplay(String)
    /// The configuration has settings for an expert the scenario does not have.
    case unknownExpert(String, known: [String])
    /// An expert setting the expert cannot honour (an SDE window on an expert that does not follow sampling plans).
    case unsupportedSetting(expert: String, key: String)
    /// A trained expert (not frozen, no LoRA) holds frozen bfloat16 weights, which have no `Float`
    /// master copy to train.
    case bfloat16WeightsTrained(expert: String, parameters: [String])

    public var description: String {
        switch self {
        case .noPrompts: "the scenario has no training prompts"
        case .duplicateExpert(let n): "two experts are named '\(n)'"
        case .badRollout(let s): "invalid rollout: \(s)"
        case .badReplay(let s): "invalid replay: \(s)"
        case .unknownExpert(let n, let known):
            "the configuration has settings for expert '\(n)', which the scenario does not have "
                + "(its experts: \(known.joined(separator: ", ")))"
        case .unsupportedSetting(let e, let key):
            "experts.\(e).\(key) needs an SDE expert that follows sampling plans (SDESamplingConfigurable); '\(e)' does not"
        case .bfloat16WeightsTrained(let n, let names):
            "expert '\(n)' is trained but holds \(names.count) frozen bfloat16 weights (\(names.prefix(3).joined(separator: ", ")), …); "
                + "load it with float32 weights, set experts.\(n).frozen=true, or train LoRA adapters (experts.\(n).lora_rank)"
        }
    }
}

/// Group Relative Policy Optimization over any ``Scenario`` and its experts.
///
/// One step draws `prompts_per_step` prompts, rolls out `group_size` trajectories per prompt,
/// scores them, turns rewards into group-relative advantages (``GroupAdvantage``) and then, for
/// `inner_epochs` passes over the batch split into `minibatches` optimizer steps of
/// `gradient_accumulation` micro-batches each, minimises the joint surrogate
///
///     L = Σ_e [ λ_e · Agg_e(−min(ρA, clip(ρ, 1−ε_low,e, 1+ε_high,e)·A)) + β_e · Agg_e(KL_e) ]
///
/// over the trainable experts e (``ClippedSurrogate``, ``KLPenalty``, ``LossAggregation``). With
/// `grpo` aggregation this is the paper's −(1/G) Σ_i [λ_LM·mean_tokens(…) + λ_DM·mean_steps(…)]
/// + β_LM·KL_LM + β_DM·KL_DM. Frozen experts act but contribute no term.
///
/// Robustness: a sample whose reward throws or is NaN/±∞ is dropped from its group with a
/// warning; a group with fewer than two scored samples contributes nothing; an update whose loss
/// or gradient is not finite is skipped with a warning, and an optimizer step that would put a
/// non-finite value into a weight is undone; checkpoints refuse non-finite tensors.
///
/// Metrics per step: `reward`, `reward_std`, `rewards/<name>/mean|std`, `frac_reward_zero_std`,
/// `advantages/mean|std|min|max|clipped_frac`, `samples/failed|unscored`, `groups/dropped`;
/// per expert (prefixed `<expert>/` when the scenario has several experts): `kl` (β > 0),
/// `approx_kl` (½·mean (log π_θ − log π_old)²), `ratio/mean|min|max`,
/// `clip_ratio/low_mean|high_mean|region_mean`, `clip_ratio/dual_mean` (with `clip_ratio_c`), `entropy`,
/// `entropy_mask/masked_frac` (with `top_entropy_quantile` < 1), `completions/mean_length|min_length|max_length`,
/// `completions/clipped_ratio`, `completions/mean|min|max_terminated_length`, `learning_rate`,
/// `logprob_mismatch/max`, `reward_kl_penalty` (with `kl_in_reward`; the `advantages/*` metrics are then
/// those before the KL enters); and `reward_kl_penalty_coeff`, `loss`, `grad_norm`
/// (before clipping), `updates/count|skipped`, `time/rollout|reward|advantages|update|step` and, inside
/// `time/update`, `time/old_and_reference|replay|loss|backward|optimizer` (seconds); with data parallelism
/// `time/allreduce` (seconds summing gradients over the ranks, inside `time/update`).
///
/// ```swift
/// let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
/// try await trainer.train()            // metrics, progress bar, checkpoints, resume
/// ```
public final class GRPOTrainer<S: Scenario> {
    public let scenario: S
    public let configuration: GRPOConfiguration
    public var logger: Logger
    /// GRPO steps completed.
    public internal(set) var step = 0
    /// N_global of `dapo` aggregation: given an expert's name and the number of its actions in this
    /// process's optimizer step, the number over every data-parallel rank. A data-parallel layer
    /// sets it to an all-reduce sum; `nil` (the default, one process) uses the local count.
    public var globalActionCount: ((_ expert: String, _ localCount: Int) -> Int)?
    /// Data-parallel training over the ranks of a ``Collective`` (see ``DataParallel``); nil for
    /// one process. Set before the first step.
    public var dataParallel: DataParallel?
    /// The generator of prompt draws and rollouts.
    public internal(set) var samplingRNG: RandomState
    /// The generator of minibatch shuffles.
    public internal(set) var trainingRNG: RandomState
    /// The scenario's own settings, kept in checkpoints (`scenario.json`) so that a resumed run
    /// can restore them. Set by whoever made the scenario; nil writes none.
    public var scenarioSettings: ConfigNode?
    /// Whether `run.resume_from` has been acted on.
    var resumeResolved = false
    /// Running per-prompt reward statistics (used by `per_prompt_tracker` scaling).
    public internal(set) var tracker: PerPromptStatTracker

    let trainPrompts: [S.Prompt]
    var trainable: [TrainableExpert] = []
    /// The frozen reference's value of every trainable parameter (when some β > 0 or with
    /// `trainer.kl_in_reward`).
    var referenceValues: [ObjectIdentifier: Tensor] = [:]
    /// The moving average of every trainable parameter (when `trainer.ema_decay` > 0).
    var emaValues: [ObjectIdentifier: Tensor] = [:]

    final class TrainableExpert {
        let expert: AnyPolicyExpert
        let settings: ExpertSettings
        let parameters: [(name: String, parameter: Parameter)]
        let optimizer: any Optimizer
        let schedule: LearningRateSchedule
        var name: String { expert.name }

        init(
            expert: AnyPolicyExpert, settings: ExpertSettings, parameters: [(name: String, parameter: Parameter)],
            optimizer: any Optimizer, schedule: LearningRateSchedule
        ) {
            self.expert = expert
            self.settings = settings
            self.parameters = parameters
            self.optimizer = optimizer
            self.schedule = schedule
        }
    }

    /// Sets up optimizers (one per trainable expert), freezes experts marked `frozen`, and
    /// snapshots the reference weights when some expert has β > 0.
    public init(scenario: S, configuration: GRPOConfiguration, logger: Logger = Logger(label: "unirl.grpo")) throws {
        try configuration.validate()
        self.scenario = scenario
        self.configuration = configuration
        self.logger = logger
        var root = RandomState(seed: UInt64(configuration.run.seed))
        samplingRNG = root.fork()
        trainingRNG = root.fork()
        var adapterRNG = root.fork()
        tracker = PerPromptStatTracker(
            bufferSize: configuration.trainer.trackerBufferSize,
            minimumCount: configuration.trainer.trackerMinCount)
        trainPrompts = try scenario.prompts(.train)
        guard !trainPrompts.isEmpty else { throw TrainerError.noPrompts }

        var names = Set<String>()
        for e in scenario.experts where !names.insert(e.name).inserted { throw TrainerError.duplicateExpert(e.name) }
        for name in configuration.experts.keys.sorted() where !names.contains(name) {
            throw TrainerError.unknownExpert(name, known: scenario.experts.map(\.name))
        }
        let t = configuration.trainer
        var claimed = Set<ObjectIdentifier>()
        for e in scenario.experts {
            let s = configuration.settings(for: e.name, kind: e.kind)
            if (s.sdeWindow.isPartial || s.sameInitialNoise) && (e.kind != .sde || e.configureSampling == nil) {
                throw TrainerError.unsupportedSetting(expert: e.name, key: s.sdeWindow.isPartial ? "sde_window_size" : "same_initial_noise")
            }
            if s.frozen { e.module.freeze(); continue }
            if s.loraRank > 0 {
                let targets = s.loraTargetModules.isEmpty ? ["*"] : s.loraTargetModules
                try LoRA.attach(to: e.module, targets: targets, rank: s.loraRank, alpha: s.loraAlpha, rng: &adapterRNG)
            }
            let bfloat16 = e.module.namedParameters().filter { $0.parameter.bfloat16 != nil }.map(\.name)
            if s.loraRank == 0, !bfloat16.isEmpty { throw TrainerError.bfloat16WeightsTrained(expert: e.name, parameters: bfloat16) }
            let params = e.module.trainableParameters().filter { claimed.insert(ObjectIdentifier($0.parameter)).inserted }
            guard !params.isEmpty else { continue }
            let optimizer: any Optimizer =
                switch t.optimizer {
                case .adamw:
                    AdamW(
                        parameters: params, learningRate: s.learningRate, beta1: t.adamBeta1, beta2: t.adamBeta2,
                        epsilon: t.adamEpsilon, weightDecay: t.weightDecay)
                case .sgd: SGD(parameters: params, learningRate: s.learningRate, momentum: t.momentum, weightDecay: t.weightDecay)
                }
            trainable.append(
                TrainableExpert(
                    expert: e, settings: s, parameters: params, optimizer: optimizer,
                    schedule: s.schedule(totalSteps: configuration.run.steps)))
        }
        if configuration.trainer.emaDecay > 0 {
            for e in trainable { for (_, p) in e.parameters { emaValues[ObjectIdentifier(p)] = p.value.detached() } }
        }
        if trainable.contains(where: { $0.settings.beta > 0 }) || configuration.trainer.klInReward {
            for e in trainable { for (_, p) in e.parameters { referenceValues[ObjectIdentifier(p)] = p.value.detached() } }
        }
    }

    /// The names of the experts whose weights this trainer updates.
    public var trainableExperts: [String] { trainable.map(\.name) }
}
