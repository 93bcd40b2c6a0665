import UniRLTensor

/// How an expert acts: by emitting tokens, or by taking the steps of a stochastic sampler.
public enum ExpertKind: String, Codable, Sendable {
    /// Actions are tokens; log π(token | prefix).
    case discrete
    /// Actions are denoising transitions x_t → x_{t'}; log N(x_{t'}; μ_θ(x_t, t, c), σ_t²·(−dt)).
    case sde
}

/// What sampling recorded about the actions of one rollout: one log-probability per action under
/// the sampling policy.
public protocol RecordedActions {
    /// log π_old(a_k) for every action k, in the order the actions were taken.
    var actionLogProbs: [Float] { get }
    /// Whether sampling stopped at a length limit instead of finishing (counted in
    /// `completions/clipped_ratio`). `false` by default.
    var isTruncated: Bool { get }
}

extension RecordedActions {
    public var isTruncated: Bool { false }
}

/// An expert that samples actions and can replay their log-probabilities with gradients.
///
/// Sampling runs without a tape and records, per action, the action and its log-probability.
/// Replay (``DiscretePolicyExpert/replay(_:given:)`` or ``SDEPolicyExpert/replay(_:given:)``)
/// recomputes the same log-probabilities from the recorded actions with gradients, which is what
/// the GRPO surrogate differentiates.
///
/// ```swift
/// let rollouts = try expert.sample(conditions, using: &rng)
/// let replays = try expert.replay(rollouts, given: conditions)   // taped
/// ```
public protocol PolicyExpert: AnyObject {
    /// What one sample is conditioned on (a prompt, LM hidden states, nothing).
    associatedtype Condition
    /// What sampling recorded: actions, their log-probs, and whatever replay needs.
    associatedtype Rollout: RecordedActions

    /// The expert's name in configuration keys, metrics and checkpoints, chosen by the scenario
    /// (for example `lm` for a language model, `dm` for a diffusion model).
    var name: String { get }
    /// The module whose parameters this expert trains.
    var module: any Module { get }
    /// Draws one rollout per condition. Runs without recording a tape.
    func sample(_ conditions: [Condition], using rng: inout RandomState) throws -> [Rollout]
}

/// The replay of one discrete rollout.
public struct TokenReplay {
    /// log π_θ(token_k | prefix_k), shape `[tokens]`, on the tape.
    public var logProbs: Tensor
    /// The entropy of π_θ(· | prefix_k) per token, shape `[tokens]`: a metric, the input of
    /// `top_entropy_quantile`, and — when on the tape — of the entropy bonus `entropy_coeff`.
    public var entropy: Tensor?

    public init(logProbs: Tensor, entropy: Tensor? = nil) {
        self.logProbs = logProbs
        self.entropy = entropy
    }
}

/// The discrete flavour: actions are tokens.
public protocol DiscretePolicyExpert: PolicyExpert {
    /// Recomputes, with gradients, log π_θ of every recorded token (teacher forcing).
    func replay(_ rollouts: [Rollout], given conditions: [Condition]) throws -> [TokenReplay]
}

/// The replay of one SDE rollout: per denoising step k from t_k to t_{k+1} (dt_k = t_{k+1} − t_k < 0),
///
///     μ_k = x_k + [v_θ + σ_k²/(2t_k)·(x_k + (1 − t_k)·v_θ)]·dt_k
///     log p_k = mean over dimensions of log N(x_{k+1}; μ_k, σ_k²·(−dt_k))
///
/// as flow_grpo's `sde_step_with_logprob` (flow_grpo/diffusers_patch/sd3_sde_with_logprob.py).
public struct SDEReplay {
    /// log p_k per step, averaged over the sample's dimensions, shape `[steps]`, on the tape.
    public var logProbs: Tensor
    /// The step means μ_k flattened per step, shape `[steps, dimensions]`, on the tape (the
    /// closed-form KL to the reference compares them).
    public var means: Tensor
    /// σ_k per step (the noise level of the step, before the √(−dt) factor).
    public var noiseScales: [Float]
    /// −dt_k per step (positive).
    public var stepSizes: [Float]

    public init(logProbs: Tensor, means: Tensor, noiseScales: [Float], stepSizes: [Float]) {
        precondition(logProbs.rank == 1 && means.rank == 2 && means.shape[0] == logProbs.shape[0]
                     && noiseScales.count == logProbs.shape[0] && stepSizes.count == logProbs.shape[0],
                     "SDEReplay: logProbs [steps], means [steps, dims], one σ and one −dt per step")
        self.logProbs = logProbs
        self.means = means
        self.noiseScales = noiseScales
        self.stepSizes = stepSizes
    }
}

/// The continuous flavour: actions are the transitions of a stochastic sampler.
public protocol SDEPolicyExpert: PolicyExpert {
    /// Recomputes, with gradients, every recorded step's log-probability and mean.
    func replay(_ rollouts: [Rollout], given conditions: [Condition]) throws -> [SDEReplay]
}

/// The replay of one trajectory segment, whatever its expert's flavour.
public enum ExpertReplay {
    case tokens(TokenReplay)
    case sde(SDEReplay)

    /// Per-action log-probabilities, shape `[actions]`.
    public var logProbs: Tensor {
        switch self {
        case .tokens(let r): r.logProbs
        case .sde(let r): r.logProbs
        }
    }
}

/// Errors raised while replaying recorded segments.
public enum ReplayError: Error, CustomStringConvertible {
    case foreignSegment(expert: String)
    case wrongCount(expert: String, expected: Int, got: Int)
    case wrongLength(expert: String, expected: Int, got: Int)
    case unknownExpert(String)

    public var description: String {
        switch self {
        case .foreignSegment(let e): "a segment tagged '\(e)' was not recorded by that expert"
        case .wrongCount(let e, let x, let g): "expert '\(e)' replayed \(g) rollouts for \(x) segments"
        case .wrongLength(let e, let x, let g): "expert '\(e)' replayed \(g) actions for a segment of \(x)"
        case .unknownExpert(let e): "no expert named '\(e)' in the scenario"
        }
    }
}

/// A type-erased expert: its name, flavour, module and a replay that works on recorded segments.
///
/// Scenarios list their acting experts as `AnyPolicyExpert` so that the trainer, which never
/// knows the experts' concrete types, can replay and optimize them.
public final class AnyPolicyExpert {
    public let name: String
    public let kind: ExpertKind
    public let module: any Module
    private let replayPayloads: ([Any]) throws -> [ExpertReplay]
    /// Sets the sampling plan of an SDE expert that follows one (``SDESamplingConfigurable``); nil otherwise.
    public let configureSampling: ((SDESamplingPlan) -> Void)?

    /// Wraps a token-emitting expert.
    public convenience init<E: DiscretePolicyExpert>(_ expert: E) {
        self.init(expert, kind: .discrete) { try expert.replay($0, given: $1).map { .tokens($0) } }
    }

    /// Wraps an expert that acts through an SDE sampler.
    public convenience init<E: SDEPolicyExpert>(_ expert: E) {
        self.init(expert, kind: .sde) { try expert.replay($0, given: $1).map { .sde($0) } }
    }

    /// The one initialiser behind both flavours: `replay` gets the recorded rollouts and conditions.
    private init<E: PolicyExpert>(_ expert: E, kind: ExpertKind,
                                  replay: @escaping ([E.Rollout], [E.Condition]) throws -> [ExpertReplay]) {
        name = expert.name
        self.kind = kind
        module = expert.module
        if let configurable = expert as? any SDESamplingConfigurable {
            configureSampling = { (plan: SDESamplingPlan) in configurable.samplingPlan = plan }
        } else {
            configureSampling = nil
        }
        let name = expert.name
        replayPayloads = { payloads in
            var rollouts: [E.Rollout] = [], conditions: [E.Condition] = []
            for p in payloads {
                guard let p = p as? SegmentPayload<E.Rollout, E.Condition> else { throw ReplayError.foreignSegment(expert: name) }
                rollouts.append(p.rollout)
                conditions.append(p.condition)
            }
            return try replay(rollouts, conditions)
        }
    }

    /// Replays segments recorded by this expert, in one batch.
    public func replay(_ segments: [TrajectorySegment]) throws -> [ExpertReplay] {
        for s in segments where s.expert != name { throw ReplayError.foreignSegment(expert: s.expert) }
        let out = try replayPayloads(segments.map(\.payload))
        guard out.count == segments.count else {
            throw ReplayError.wrongCount(expert: name, expected: segments.count, got: out.count)
        }
        for (s, r) in zip(segments, out) where r.logProbs.elementCount != s.actionCount {
            throw ReplayError.wrongLength(expert: name, expected: s.actionCount, got: r.logProbs.elementCount)
        }
        return out
    }
}

/// What a segment keeps for its expert's replay: the rollout and its condition.
struct SegmentPayload<Rollout, Condition> {
    let rollout: Rollout
    let condition: Condition
}
