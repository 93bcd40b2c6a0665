import UniRLTensor

/// One acting expert's part of a trajectory: its actions, their log-probabilities under the
/// sampling policy, and (filled in by the trainer) under the old policy and the reference.
///
/// A segment is made from an expert's rollout with ``init(expert:rollout:condition:)``; the
/// trainer never needs to know which expert produced it.
public struct TrajectorySegment {
    /// The name of the expert that acted.
    public let expert: String
    /// Tokens or SDE steps.
    public let kind: ExpertKind
    /// Number of actions (tokens, or denoising steps).
    public var actionCount: Int { samplingLogProbs.count }
    /// log π_sample(a_k) recorded while sampling.
    public let samplingLogProbs: [Float]
    /// log π_old(a_k), the denominator of the ratio ρ = exp(log π_θ − log π_old). Equal to
    /// ``samplingLogProbs`` unless the trainer recomputes it (`recompute_old_log_probs`).
    public internal(set) var oldLogProbs: [Float]
    /// log π_ref(a_k), when the expert has β > 0 or `trainer.kl_in_reward` is on (for SDE steps,
    /// the log-prob of the recorded step under the reference's transition).
    public internal(set) var referenceLogProbs: [Float]?
    /// The reference's step means μ_ref, shape `[steps, dimensions]`, for SDE steps when β > 0.
    public internal(set) var referenceMeans: Tensor?
    /// Whether sampling hit its length limit.
    public let isTruncated: Bool
    /// The expert's own record (rollout and condition), opened again by its replay.
    let payload: Any

    /// Records a discrete expert's rollout.
    public init<E: DiscretePolicyExpert>(expert: E, rollout: E.Rollout, condition: E.Condition) {
        self.init(expert: expert.name, kind: .discrete, rollout: rollout, condition: condition)
    }

    /// Records an SDE expert's rollout.
    public init<E: SDEPolicyExpert>(expert: E, rollout: E.Rollout, condition: E.Condition) {
        self.init(expert: expert.name, kind: .sde, rollout: rollout, condition: condition)
    }

    /// The rollout and condition recorded by an expert of type `E`, or nil when another type of
    /// expert recorded this segment. A scenario that overrides ``Scenario/replay(_:experts:)`` (to
    /// let gradients flow from one expert into another) opens its segments with it:
    ///
    /// ```swift
    /// guard let (rollout, condition) = segment.recorded(as: SanaPolicy.self) else { throw … }
    /// ```
    public func recorded<E: PolicyExpert>(as expert: E.Type) -> (rollout: E.Rollout, condition: E.Condition)? {
        guard let p = payload as? SegmentPayload<E.Rollout, E.Condition> else { return nil }
        return (p.rollout, p.condition)
    }

    private init<R: RecordedActions, C>(expert: String, kind: ExpertKind, rollout: R, condition: C) {
        self.expert = expert
        self.kind = kind
        self.samplingLogProbs = rollout.actionLogProbs
        self.oldLogProbs = rollout.actionLogProbs
        self.isTruncated = rollout.isTruncated
        self.payload = SegmentPayload(rollout: rollout, condition: condition)
    }
}

/// One sample of a group: the scenario's output (what the reward scores) and one segment per
/// acting expert, in acting order (e.g. LM reasoning tokens, then DM denoising steps).
public struct Trajectory<Output> {
    /// Index of the prompt, in the batch passed to ``Scenario/rollout(_:group:using:)``, that this
    /// trajectory answers. Trajectories with the same index form a group.
    public var promptIndex: Int
    /// What the reward scores.
    public var output: Output
    /// One segment per acting expert.
    public var segments: [TrajectorySegment]

    public init(promptIndex: Int, output: Output, segments: [TrajectorySegment]) {
        self.promptIndex = promptIndex
        self.output = output
        self.segments = segments
    }
}
