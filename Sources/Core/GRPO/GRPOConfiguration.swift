import UniRLTensor

/// Everything a GRPO run needs, with documented defaults; snake_case keys in JSON and YAML.
///
/// ```yaml
/// run:     { seed: 0, steps: 200, output_dir: runs/t2i, checkpoint_every: 50 }
/// trainer: { prompts_per_step: 4, group_size: 8, loss_aggregation: grpo }
/// experts:
///   lm: { beta: 0.04, clip_low: 0.2, clip_high: 0.28, learning_rate: 1.0e-6 }
///   dm: { beta: 0.04, kl_variant: exact, learning_rate: 1.0e-5 }
/// ```
///
/// Load with ``load(from:onto:overrides:)`` or ``init(yaml:)`` / ``init(json:)``; override single
/// keys with `section.key=value` strings (``MergeableSettings/applying(overrides:keyPrefix:closedMaps:)``):
/// `trainer.group_size=16`, `experts.lm.beta=0.04`, or the shorthand `trainer.beta_lm=0.04` for an
/// expert's field. Unknown keys are an error that names the key.
///
/// An expert without an entry in `experts` uses the defaults of its kind
/// (``ExpertSettings/defaults(for:)``); an entry added by a file or an override starts from
/// ``ExpertSettings/init()``, so seed the entries first with ``addingDefaults(for:)``.
public struct GRPOConfiguration: Codable, Sendable, Equatable {
    /// Seeds, length, output, checkpoints and logging.
    public var run = RunSettings()
    /// The GRPO algorithm.
    public var trainer = TrainerSettings()
    /// Per-expert settings by expert name. Experts not listed use their kind's defaults.
    public var experts: [String: ExpertSettings] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey { case run, trainer, experts }

    /// The settings of expert `name`, which acts as `kind`.
    public func settings(for name: String, kind: ExpertKind) -> ExpertSettings { experts[name] ?? .defaults(for: kind) }
}

/// When the progress bar is drawn.
public enum ProgressBarMode: String, Codable, Sendable {
    /// Only when standard error is a terminal.
    case auto
    case always, never
}

public struct RunSettings: Codable, Sendable, Equatable {
    /// Seed of every generator (prompt draws, rollouts, shuffles). Default 0.
    public var seed: Int = 0
    /// Number of GRPO steps (each: sample, score, update). Default 100.
    public var steps: Int = 100
    /// Where metrics (`metrics.jsonl`, TensorBoard `events.out.tfevents.*`) and checkpoints go.
    /// Default `runs/unirl`.
    public var outputDir: String = "runs/unirl"
    /// Write a checkpoint every N steps (and after the last step); 0 never. Default 50.
    public var checkpointEvery: Int = 50
    /// Keep only the newest N checkpoints; 0 keeps all. Default 0.
    public var keepCheckpoints: Int = 0
    /// `""` (start fresh, the default), `"latest"` (the newest checkpoint in `output_dir`, if any)
    /// or the path of a checkpoint directory.
    public var resumeFrom: String = ""
    /// Write `metrics.jsonl`. Default true.
    public var jsonl: Bool = true
    /// Write TensorBoard event files. Default true.
    public var tensorboard: Bool = true
    /// Let a run start in an `output_dir` that already holds files without `resume_from`
    /// (the old files stay; `metrics.jsonl` gets a second run appended). Default false.
    public var overwrite: Bool = false
    /// Progress bar on standard error. Default `auto`.
    public var progressBar: ProgressBarMode = .auto
    /// Log a metrics line every N steps through swift-log; 0 never. Default 10.
    public var logEvery: Int = 10
    /// What a metrics write that fails (a full disk) does: `fail` stops the run with an error
    /// (the checkpoints written so far stay), `warn` goes on and says at the end, loudly, which
    /// steps were lost. Default `fail`.
    public var onMetricsError: MetricsErrorPolicy = .fail

    public init() {}

    enum CodingKeys: String, CodingKey {
        case seed, steps
        case outputDir = "output_dir"
        case checkpointEvery = "checkpoint_every"
        case keepCheckpoints = "keep_checkpoints"
        case resumeFrom = "resume_from"
        case jsonl, tensorboard, overwrite
        case progressBar = "progress_bar"
        case logEvery = "log_every"
        case onMetricsError = "on_metrics_error"
    }
}

/// What a run does when it cannot record a step's metrics.
public enum MetricsErrorPolicy: String, Codable, Sendable {
    case fail, warn
}

/// Which optimizer updates the experts.
public enum OptimizerKind: String, Codable, Sendable {
    case adamw, sgd
}

public struct TrainerSettings: Codable, Sendable, Equatable {
    /// Prompts drawn per step (without replacement when the split has enough). Default 4.
    public var promptsPerStep: Int = 4
    /// G, trajectories per prompt. Default 8.
    public var groupSize: Int = 8
    /// μ, passes over one batch of rollouts (reusing its old log-probs). Default 1.
    public var innerEpochs: Int = 1
    /// Optimizer steps per inner epoch; the batch is shuffled and split into this many parts.
    /// Default 1 (then ρ = 1 exactly at every update with μ = 1).
    public var minibatches: Int = 1
    /// Micro-batches per optimizer step, their gradients summed (the loss is normalised over the
    /// whole minibatch, so the gradient does not depend on this). Default 1.
    public var gradientAccumulation: Int = 1
    /// Advantage normalisation. Default `group_std`.
    public var advantageScaling: AdvantageScaling = .groupStd
    /// Bound on |A|; 0 disables. Default 5 (flow_grpo's `adv_clip_max`).
    public var advantageClip: Float = 5
    /// Leave groups whose rewards are all equal out of the loss (flow_grpo). Default false.
    public var dropZeroStdGroups: Bool = false
    /// Per-prompt tracker: rewards kept per prompt, and how many before its own statistics are
    /// used (DDPO's `buffer_size`, `min_count`). Defaults 32 and 16.
    public var trackerBufferSize: Int = 32
    public var trackerMinCount: Int = 16
    /// Seconds a reward may take to score one step's batch before the batch is marked failed
    /// (nil scores, logged, no update from it) instead of hanging the run; 0 waits forever.
    /// Default 0.
    public var rewardTimeout: Double = 0
    /// How per-action losses are averaged. Default `grpo` (per-trajectory mean, the paper's
    /// surrogate). With `grpo`, μ = 1, β = 0 and no advantage clipping the loss *reads 0* at
    /// every update (ρ = 1 and the centred advantages average to 0); its gradient does not.
    public var lossAggregation: LossAggregation = .grpo
    /// Global L2 gradient-norm clip over all experts; 0 disables. Default 1.
    public var maxGradNorm: Float = 1
    /// Recompute log π_old with the training forward pass (same batching, no tape) instead of
    /// using the sampler's numbers, so that ρ = 1 exactly at the first update. Default true.
    public var recomputeOldLogProbs: Bool = true
    /// Optimizer and its constants. Defaults: AdamW, β₁ 0.9, β₂ 0.999, ε 1e-8, weight decay 0;
    /// SGD momentum 0.
    public var optimizer: OptimizerKind = .adamw
    public var adamBeta1: Float = 0.9
    public var adamBeta2: Float = 0.999
    public var adamEpsilon: Float = 1e-8
    public var weightDecay: Float = 0
    public var momentum: Float = 0
    /// How rewards become advantages. Default `grpo` (group-relative, scaled by
    /// `advantage_scaling`); see ``AdvantageEstimator``.
    public var advantageEstimator: AdvantageEstimator = .grpo
    /// With several rewards: normalise their weighted sum (the default, `sum_then_normalize`) or
    /// turn each reward into advantages on its own and sum those (`normalize_then_sum`).
    public var rewardAggregation: RewardAggregationOrder = .sumThenNormalize
    /// Weights of the rewards by their logged names (`rewards/<name>/*`); when non-empty the total
    /// is recomputed from each reward's own scores as Σ w·r, names not listed weighing 1 (TRL's
    /// `reward_weights`, here by name). Default empty (the scenario's own combination).
    public var rewardWeights: [String: Float] = [:]
    /// Leave completions that hit the length limit out of the loss (and of its normaliser), TRL's
    /// `mask_truncated_completions`. Token segments only: SDE segments are never truncated. Default false.
    public var maskTruncatedCompletions: Bool = false
    /// Decay d of an exponential moving average of the trained weights, updated after every step
    /// (θ_ema ← d·θ_ema + (1 − d)·θ); ``GRPOTrainer/evaluate(split:samplesPerPrompt:seed:)`` uses it
    /// and checkpoints keep it (flow_grpo's `train.ema`). 0 (the default) keeps none.
    public var emaDecay: Float = 0
    /// REINFORCE++ with the KL to the reference inside the reward (verl's `algorithm.use_kl_in_reward`):
    /// every action earns −β·KL_k, KL_k = log π_old − log π_ref, and its advantage is the whitened
    /// return to go (see ``KLRewardAdvantage``). Only with `advantage_estimator` `reinforce_pp` or
    /// `reinforce_pp_baseline`; for SDE steps KL_k is the per-denoising-step log-ratio. Independent of
    /// the loss's KL term `experts.*.beta` (verl's `use_kl_loss`), which stays as set. Default false.
    public var klInReward: Bool = false
    /// β of the in-reward KL, fixed over the run (verl's `algorithm.kl_ctrl.kl_coef` with
    /// `kl_ctrl.type=fixed`; the adaptive controller is not offered). Default 0.001, verl's default.
    public var klInRewardCoef: Float = 0.001

    public init() {}

    enum CodingKeys: String, CodingKey {
        case promptsPerStep = "prompts_per_step"
        case groupSize = "group_size"
        case innerEpochs = "inner_epochs"
        case minibatches
        case gradientAccumulation = "gradient_accumulation"
        case advantageScaling = "advantage_scaling"
        case advantageClip = "advantage_clip"
        case dropZeroStdGroups = "drop_zero_std_groups"
        case trackerBufferSize = "tracker_buffer_size"
        case trackerMinCount = "tracker_min_count"
        case rewardTimeout = "reward_timeout"
        case lossAggregation = "loss_aggregation"
        case maxGradNorm = "max_grad_norm"
        case recomputeOldLogProbs = "recompute_old_log_probs"
        case optimizer
        case adamBeta1 = "adam_beta1"
        case adamBeta2 = "adam_beta2"
        case adamEpsilon = "adam_epsilon"
        case weightDecay = "weight_decay"
        case momentum
        case advantageEstimator = "advantage_estimator"
        case rewardAggregation = "reward_aggregation"
        case rewardWeights = "reward_weights"
        case maskTruncatedCompletions = "mask_truncated_completions"
        case emaDecay = "ema_decay"
        case klInReward = "kl_in_reward"
        case klInRewardCoef = "kl_in_reward_coef"
    }
}

/// The shape of an expert's learning-rate schedule over GRPO steps.
public enum ScheduleKind: String, Codable, Sendable {
    case constant, warmup, cosine
}

/// The settings of one expert: its term in the joint surrogate, its KL weight and its optimizer.
public struct ExpertSettings: Codable, Sendable, Equatable {
    /// λ, the weight of this expert's surrogate term. Default 1.
    public var lossWeight: Float = 1
    /// ε_low and ε_high of the ratio clip [1 − ε_low, 1 + ε_high]. Default 0.2 and 0.2 (TRL).
    public var clipLow: Float = 0.2
    public var clipHigh: Float = 0.2
    /// β, the weight of the KL to the frozen reference; 0 skips the reference pass. Default 0.04.
    /// The reference is the whole model as it was when the trainer was created (its values are
    /// kept in checkpoints), so an expert's KL is taken with every expert at its reference.
    public var beta: Float = 0.04
    /// SDE experts: which closed-form Gaussian KL. Default `exact`.
    public var klVariant: SDEKLVariant = .exact
    /// Base learning rate. Default 1e-6 (TRL).
    public var learningRate: Float = 1e-6
    /// Schedule over steps: constant, linear warm-up, or warm-up then cosine decay to
    /// `min_lr_ratio`·lr at the last step. Default constant, 0 warm-up steps, ratio 0.
    public var lrSchedule: ScheduleKind = .constant
    public var warmupSteps: Int = 0
    public var minLrRatio: Float = 0
    /// Keep this expert's weights fixed (it still acts; it contributes no loss term). Default false.
    public var frozen: Bool = false
    /// L of `dr_grpo` aggregation (the maximum number of actions); 0 uses the longest segment of
    /// the step. Default 0.
    public var maxLength: Int = 0
    /// The per-action policy loss: `ppo_clip` (the default), `cispo` or `sapo` (``PolicyLossKind``).
    public var policyLoss: PolicyLossKind = .ppoClip
    /// `token` (the default) or `sequence` (GSPO: one geometric-mean ratio per segment; for SDE
    /// segments one per trajectory), TRL's `importance_sampling_level`.
    public var importanceSamplingLevel: ImportanceSamplingLevel = .token
    /// Dual clip c (> 1) bounding the loss of negative-advantage actions by −c·A (verl's
    /// `clip_ratio_c`); 0 disables. Default 0.
    public var clipRatioC: Float = 0
    /// Two-sided GRPO's δ (> 1), an upper bound on ρ in the unclipped term (TRL's `delta`); 0 disables. Default 0.
    public var delta: Float = 0
    /// SAPO's gate temperatures τ_pos and τ_neg. Defaults 1 and 1.05 (TRL).
    public var sapoTemperaturePositive: Float = 1
    public var sapoTemperatureNegative: Float = 1.05
    /// Entropy bonus: −coeff·(weighted mean entropy) added to the loss (verl's `entropy_coeff`).
    /// Token segments whose replay gives entropy on the tape; SDE steps have a fixed entropy
    /// (σ_t is not learned), so it has no meaning there. Default 0.
    public var entropyCoeff: Float = 0
    /// Keep only the actions whose entropy is at or above this quantile's complement: 1 keeps all,
    /// 0.2 the top 20% per micro-batch ("80/20", TRL's `top_entropy_quantile`). Token segments only;
    /// SDE segments are kept whole. Default 1.
    public var topEntropyQuantile: Float = 1
    /// LoRA rank r; 0 (the default) trains the full weights. With r > 0 the trainer attaches
    /// adapters (``LoRA``) to this expert's Linear layers named by `lora_target_modules` and trains
    /// only them; the reference (β > 0) is then the adapter-free base model, as in flow_grpo.
    public var loraRank: Int = 0
    /// LoRA α (scale α/r). Default 16.
    public var loraAlpha: Float = 16
    /// Layer names or `*` patterns (PEFT's `target_modules`); empty (the default) adapts every Linear.
    public var loraTargetModules: [String] = []
    /// SDE experts: stochastic steps per rollout (Flow-GRPO-Fast / MixGRPO, ``SDEWindow``); the
    /// other steps are deterministic Euler steps that are neither recorded nor replayed, so the
    /// update costs `size`/N of a full one. 0 (the default): every step is stochastic (Flow-GRPO).
    public var sdeWindowSize: Int = 0
    /// SDE experts: the window's first step (`fixed`) or its lowest start. Default 0.
    public var sdeWindowStart: Int = 0
    /// SDE experts: one past the last step a window may cover; 0 (the default): the last step.
    public var sdeWindowEnd: Int = 0
    /// SDE experts: `fixed` (the default), `random` (a start per step drawn from
    /// [start, end − size], flow_grpo's `sde_window_range`) or `sliding` (MixGRPO).
    public var sdeWindowMode: SDEWindowMode = .fixed
    /// SDE experts: training steps between moves of a `sliding` window by one step. Default 1.
    public var sdeWindowSlideEvery: Int = 1
    /// SDE experts: the samples of a group start from the same x_0 (flow_grpo's `same_latent`), so
    /// that their rewards differ only by the SDE noise. Default false.
    public var sameInitialNoise: Bool = false

    public init() {}

    /// The window these settings describe.
    public var sdeWindow: SDEWindow {
        SDEWindow(size: sdeWindowSize, start: sdeWindowStart, end: sdeWindowEnd, mode: sdeWindowMode, slideEvery: sdeWindowSlideEvery)
    }

    /// Defaults for a language-model expert (the generic defaults).
    public static let languageModel = ExpertSettings()

    /// Defaults for a diffusion expert: flow_grpo's clip range 1e-4 and β 0.04, learning rate 1e-5.
    public static let diffusionModel: ExpertSettings = {
        var s = ExpertSettings()
        s.clipLow = 1e-4
        s.clipHigh = 1e-4
        s.learningRate = 1e-5
        return s
    }()

    /// The defaults of an expert that acts as `kind`.
    public static func defaults(for kind: ExpertKind) -> ExpertSettings {
        kind == .sde ? .diffusionModel : .languageModel
    }

    /// The learning-rate schedule these settings describe for a run of `totalSteps`.
    public func schedule(totalSteps: Int) -> LearningRateSchedule {
        switch lrSchedule {
        case .constant: .constant
        case .warmup: .warmup(warmupSteps: warmupSteps)
        case .cosine: .cosine(warmupSteps: warmupSteps, totalSteps: totalSteps, minimumRatio: minLrRatio)
        }
    }

    enum CodingKeys: String, CodingKey {
        case lossWeight = "loss_weight"
        case clipLow = "clip_low"
        case clipHigh = "clip_high"
        case beta
        case klVariant = "kl_variant"
        case learningRate = "learning_rate"
        case lrSchedule = "lr_schedule"
        case warmupSteps = "warmup_steps"
        case minLrRatio = "min_lr_ratio"
        case frozen
        case maxLength = "max_length"
        case policyLoss = "policy_loss"
        case importanceSamplingLevel = "importance_sampling_level"
        case clipRatioC = "clip_ratio_c"
        case delta
        case sapoTemperaturePositive = "sapo_temperature_pos"
        case sapoTemperatureNegative = "sapo_temperature_neg"
        case entropyCoeff = "entropy_coeff"
        case topEntropyQuantile = "top_entropy_quantile"
        case loraRank = "lora_rank"
        case loraAlpha = "lora_alpha"
        case loraTargetModules = "lora_target_modules"
        case sdeWindowSize = "sde_window_size"
        case sdeWindowStart = "sde_window_start"
        case sdeWindowEnd = "sde_window_end"
        case sdeWindowMode = "sde_window_mode"
        case sdeWindowSlideEvery = "sde_window_slide_every"
        case sameInitialNoise = "same_initial_noise"
    }
}

extension GRPOConfiguration {
    /// Checks ranges; throws ``ConfigurationError/invalidValue(key:reason:)`` naming the key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigurationError.invalidValue(key: key, reason: reason) }
        }
        try check(run.steps >= 0, "run.steps", "must be ≥ 0")
        try check(run.seed >= 0, "run.seed", "must be ≥ 0")
        try check(run.checkpointEvery >= 0, "run.checkpoint_every", "must be ≥ 0")
        try check(run.keepCheckpoints >= 0, "run.keep_checkpoints", "must be ≥ 0")
        try check(trainer.promptsPerStep >= 1, "trainer.prompts_per_step", "must be ≥ 1")
        try check(trainer.groupSize >= 2, "trainer.group_size", "must be ≥ 2 (a group needs two samples)")
        try check(trainer.innerEpochs >= 1, "trainer.inner_epochs", "must be ≥ 1")
        try check(trainer.minibatches >= 1, "trainer.minibatches", "must be ≥ 1")
        try check(trainer.gradientAccumulation >= 1, "trainer.gradient_accumulation", "must be ≥ 1")
        try check(trainer.advantageClip >= 0, "trainer.advantage_clip", "must be ≥ 0")
        try check(trainer.maxGradNorm >= 0, "trainer.max_grad_norm", "must be ≥ 0")
        try check(trainer.emaDecay >= 0 && trainer.emaDecay < 1, "trainer.ema_decay", "must be in [0, 1)")
        try check(trainer.trackerBufferSize >= 1, "trainer.tracker_buffer_size", "must be ≥ 1")
        try validateRanges()
        for (name, e) in experts {
            try check(e.clipLow >= 0 && e.clipLow < 1, "experts.\(name).clip_low", "must be in [0, 1)")
            try check(e.clipHigh >= 0, "experts.\(name).clip_high", "must be ≥ 0")
            try check(e.beta >= 0, "experts.\(name).beta", "must be ≥ 0")
            try check(e.learningRate >= 0, "experts.\(name).learning_rate", "must be ≥ 0")
            try check(e.warmupSteps >= 0, "experts.\(name).warmup_steps", "must be ≥ 0")
            try check(e.maxLength >= 0, "experts.\(name).max_length", "must be ≥ 0")
            try check(e.clipRatioC == 0 || e.clipRatioC > 1, "experts.\(name).clip_ratio_c", "must be 0 (off) or > 1")
            try check(e.delta == 0 || e.delta > 1, "experts.\(name).delta", "must be 0 (off) or > 1")
            try check(e.sapoTemperaturePositive > 0, "experts.\(name).sapo_temperature_pos", "must be > 0")
            try check(e.sapoTemperatureNegative > 0, "experts.\(name).sapo_temperature_neg", "must be > 0")
            try check(e.loraRank >= 0, "experts.\(name).lora_rank", "must be ≥ 0")
            try check(e.entropyCoeff >= 0, "experts.\(name).entropy_coeff", "must be ≥ 0")
            try check(e.sdeWindowSize >= 0, "experts.\(name).sde_window_size", "must be ≥ 0 (0: every step)")
            try check(e.sdeWindowStart >= 0, "experts.\(name).sde_window_start", "must be ≥ 0")
            try check(e.sdeWindowEnd == 0 || e.sdeWindowEnd >= e.sdeWindowStart + e.sdeWindowSize, "experts.\(name).sde_window_end",
                      "must be 0 (the last step) or ≥ sde_window_start + sde_window_size")
            try check(e.sdeWindowSlideEvery >= 1, "experts.\(name).sde_window_slide_every", "must be ≥ 1")
            try check(
                e.topEntropyQuantile > 0 && e.topEntropyQuantile <= 1, "experts.\(name).top_entropy_quantile",
                "must be in (0, 1]")
        }
        try check(
            !(trainer.rewardAggregation == .normalizeThenSum && trainer.advantageScaling == .perPromptTracker
                && trainer.advantageEstimator == .grpo),
            "trainer.reward_aggregation", "normalize_then_sum cannot be combined with the per-prompt tracker")
        try check(
            trainer.klInRewardCoef >= 0 && trainer.klInRewardCoef.isFinite, "trainer.kl_in_reward_coef", "must be finite and ≥ 0")
        if trainer.klInReward {
            try check(
                [.reinforcePlusPlus, .reinforcePlusPlusBaseline].contains(trainer.advantageEstimator), "trainer.kl_in_reward",
                "applies only to advantage_estimator reinforce_pp or reinforce_pp_baseline, not \(trainer.advantageEstimator.rawValue)")
            try check(
                trainer.rewardAggregation == .sumThenNormalize, "trainer.kl_in_reward",
                "needs reward_aggregation sum_then_normalize (the KL is added to the summed reward)")
        }
        for (name, w) in trainer.rewardWeights {
            try check(w.isFinite, "trainer.reward_weights.\(name)", "must be finite")
        }
    }
}
