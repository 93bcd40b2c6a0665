import UniRLCore
import UniRLTensor

/// What the SANA policy is conditioned on: one caption's features for the cross-attention.
public struct SanaCondition: @unchecked Sendable {
    /// [L, D] (D = the transformer's `caption_channels`).
    public var embedding: Tensor
    /// [L], 1 for tokens to attend to and 0 for padding; `nil` attends to all.
    public var mask: Tensor?
    /// The reference latent [C, H, W] of the DiT's reference path (editing), or nil.
    public var reference: Tensor?

    public init(embedding: Tensor, mask: Tensor? = nil, reference: Tensor? = nil) {
        precondition(embedding.rank == 2, "a condition is [L, D], got \(embedding.shape)")
        precondition(mask == nil || mask?.shape == [embedding.shape[0]], "a condition mask is [L]")
        precondition(reference == nil || reference!.rank == 3, "a reference latent is [C, H, W]")
        self.embedding = embedding
        self.mask = mask
        self.reference = reference
    }
}

/// Which denoising steps of a rollout are trained on ("denoising reduction", docs/ARCHITECTURE.md).
public enum SDEStepSelection: Sendable, Equatable {
    /// Every stochastic step.
    case all
    /// A random subset of this many stochastic steps per rollout, drawn at sampling time
    /// (flow_grpo's `timestep_fraction`).
    case random(Int)
    /// These steps (the deterministic ones among them are left out).
    case fixed([Int])
}

/// How the SANA policy samples.
public struct SanaPolicySettings: Sendable, Equatable {
    /// N, sampler steps of a training rollout (usually fewer than at evaluation).
    public var steps: Int = 10
    /// SANA's flow shift of the schedule.
    public var shift: Float = 1
    /// The SDE's noise level a (flow_grpo: 0.7).
    public var noiseLevel: Float = 0.7
    public var kind: SDEStepKind = .sde
    /// w of classifier-free guidance during rollouts (1: none).
    public var guidanceScale: Float = 1
    /// w_ref of triple guidance, for conditions with a reference latent (UniRL-Zero: 1).
    public var referenceGuidanceScale: Float = 1
    /// The steps replay trains on.
    public var trainedSteps: SDEStepSelection = .all

    public init(steps: Int = 10, shift: Float = 1, noiseLevel: Float = 0.7, kind: SDEStepKind = .sde,
                guidanceScale: Float = 1, referenceGuidanceScale: Float = 1, trainedSteps: SDEStepSelection = .all) {
        self.steps = steps; self.shift = shift; self.noiseLevel = noiseLevel; self.kind = kind
        self.guidanceScale = guidanceScale; self.referenceGuidanceScale = referenceGuidanceScale; self.trainedSteps = trainedSteps
    }
}

public enum SanaPolicyError: Error, CustomStringConvertible {
    case conditions(String)
    case diverged(step: Int)
    case noStochasticStep

    public var description: String {
        switch self {
        case .conditions(let reason): "SANA policy conditions: \(reason)"
        case .diverged(let k): "the SANA sampler produced a non-finite latent at step \(k)"
        case .noStochasticStep: "the SANA policy's rollout has no stochastic step to train on"
        }
    }
}

/// SANA as a continuous-SDE policy (``SDEPolicyExpert``): a rollout is one run of the
/// ``SDEStep`` sampler from noise to a latent, each stochastic step an action with its Gaussian
/// log-probability; replay recomputes μ_θ and the log-probs with the tape for the steps chosen
/// by ``SanaPolicySettings/trainedSteps`` (flow_grpo's training loop over
/// `sde_step_with_logprob`, yifan123/flow_grpo scripts/train_sd3.py). Rollouts and replay use
/// classifier-free guidance when w ≠ 1 (``GuidedVelocity``), so the ratio compares guided steps.
///
/// ```swift
/// let policy = SanaPolicy(transformer: model, settings: .init(steps: 10, guidanceScale: 4.5), unconditional: empty)
/// let rollouts = try policy.sample(conditions, using: &rng)     // latents x_0 … x_N, log-probs
/// let replays = try policy.replay(rollouts, given: conditions)  // taped
/// ```
public final class SanaPolicy: SDEPolicyExpert, SDESamplingConfigurable {
    /// One sampler run: the visited latents and the log-probs of the trained steps.
    public struct Rollout: RecordedActions, @unchecked Sendable {
        /// x_0 (the initial noise) … x_N, [N + 1, C, H, W].
        public let latents: Tensor
        /// The trained steps, increasing; x_k → x_{k+1} for each.
        public let steps: [Int]
        /// log p of each trained step at sampling time.
        public let actionLogProbs: [Float]

        /// The final latent x_N, [C, H, W].
        public var sample: Tensor {
            let n = latents.shape[0]
            return latents.slice(axis: 0, (n - 1)..<n).squeezed(0)
        }
    }

    public let name: String
    public let transformer: SanaTransformer
    public var settings: SanaPolicySettings
    /// The unconditional ("empty caption") features used by guidance.
    public var unconditional: SanaCondition?
    /// [C, H, W] of a latent.
    public let latentShape: [Int]
    public var module: any Module { transformer }
    /// The window of stochastic steps and the initial-noise sharing of the next ``sample(_:using:)``
    /// (set by the trainer each step; standalone: every step stochastic, independent noise).
    public var samplingPlan = SDESamplingPlan.standard

    public init(transformer: SanaTransformer, settings: SanaPolicySettings = SanaPolicySettings(),
                unconditional: SanaCondition? = nil, latentSize: Int? = nil, name: String = "dm") {
        let c = transformer.configuration
        let side = latentSize ?? c.sampleSize
        self.name = name
        self.transformer = transformer
        self.settings = settings
        self.unconditional = unconditional
        self.latentShape = [c.inChannels, side, side]
    }

    /// The step rule the current settings describe.
    public var sdeStep: SDEStep {
        SDEStep(schedule: FlowMatchingSchedule(steps: settings.steps, shift: settings.shift), kind: settings.kind,
                noiseLevel: settings.noiseLevel)
    }

    /// The guided velocity for one batch row per condition.
    public func velocityField(_ conditions: [SanaCondition]) throws -> GuidedVelocity {
        guard let first = conditions.first else { throw SanaPolicyError.conditions("no conditions") }
        let shape = first.embedding.shape
        guard shape[1] == transformer.configuration.captionChannels else {
            throw SanaPolicyError.conditions(
                "features are \(shape[1]) wide, the transformer reads \(transformer.configuration.captionChannels)")
        }
        guard conditions.allSatisfy({ $0.embedding.shape == shape }) else {
            throw SanaPolicyError.conditions("conditions of different shapes in one batch (pad them to one length)")
        }
        // Rows without a reference read zeros, which is what the reference path does without one;
        // under triple guidance such a row gets exactly double guidance (its v_ref equals v_u).
        var reference: Tensor?
        if conditions.contains(where: { $0.reference != nil }) {
            guard transformer.hasReferencePath else {
                throw SanaPolicyError.conditions(
                    "reference latents need a transformer with the reference path (ref_patch_embed, ref_linear)")
            }
            guard conditions.allSatisfy({ $0.reference == nil || $0.reference!.shape == latentShape }) else {
                throw SanaPolicyError.conditions("reference latents must be shaped \(latentShape)")
            }
            reference = Tensor.stack(conditions.map { $0.reference ?? .zeros(latentShape) }, axis: 0)
        }
        let guided = settings.guidanceScale != 1 || (reference != nil && settings.referenceGuidanceScale != 1)
        let masked = conditions.contains { $0.mask != nil } || (guided && unconditional?.mask != nil)
        let n = conditions.count, length = shape[0]
        let embeddings = Tensor.stack(conditions.map(\.embedding), axis: 0)
        let masks = masked ? Tensor.stack(conditions.map { $0.mask ?? .ones([length]) }, axis: 0) : nil
        guard guided else { return GuidedVelocity(transformer: transformer, conditions: embeddings, mask: masks, reference: reference) }
        guard let empty = unconditional, empty.embedding.shape == shape else {
            throw SanaPolicyError.conditions("guidance scale \(settings.guidanceScale) needs unconditional features shaped \(shape)")
        }
        let emptyEmbeddings = empty.embedding.unsqueezed(0).broadcast(to: [n] + shape)
        let emptyMasks = masked ? (empty.mask ?? .ones([length])).unsqueezed(0).broadcast(to: [n, length]) : nil
        return GuidedVelocity(transformer: transformer, conditions: embeddings, mask: masks, unconditional: emptyEmbeddings,
                              unconditionalMask: emptyMasks, guidanceScale: settings.guidanceScale, reference: reference,
                              referenceGuidanceScale: settings.referenceGuidanceScale)
    }

    /// The steps of an N-step rollout that are actions under the current settings — the
    /// stochastic steps inside `window` — drawing a random subset from `rng` when asked to.
    func trainedSteps(window: Range<Int>, using rng: inout RandomState) -> [Int] {
        let step = sdeStep
        let stochastic = window.clamped(to: 0..<settings.steps).filter(step.isStochastic)
        switch settings.trainedSteps {
        case .all: return stochastic
        case .fixed(let ks): return stochastic.filter(ks.contains)
        case .random(let count):
            var pool = stochastic
            let keep = Swift.min(Swift.max(count, 0), pool.count)
            for i in 0..<keep { pool.swapAt(i, i + Int(rng.next() % UInt64(pool.count - i))) }
            return pool.prefix(keep).sorted()
        }
    }

    /// Runs the sampler from fresh noise for every condition (no tape): SDE steps inside the
    /// ``samplingPlan``'s window, deterministic Euler steps (flow_grpo's noise level 0) outside
    /// it. The generator draws x_0 (one per row, or per group when the plan shares it), the
    /// window's start (`random` windows only), each stochastic step's noise, then the
    /// trained-step subsets.
    public func sample(_ conditions: [SanaCondition], using rng: inout RandomState) throws -> [Rollout] {
        let n = conditions.count
        guard n > 0 else { return [] }
        let field = try velocityField(conditions)
        let step = sdeStep
        let ode = SDEStep(schedule: step.schedule, kind: step.kind, noiseLevel: 0)
        var x = samplingPlan.initialNoise(rows: n, shape: latentShape, using: &rng)
        let window = samplingPlan.window.steps(samplerSteps: settings.steps, trainingStep: samplingPlan.trainingStep, using: &rng)
        var visited = [x], logProbs: [[Float]] = []
        try withoutGrad {
            for k in 0..<settings.steps {
                let ks = [Int](repeating: k, count: n)
                let stochastic = window.contains(k) && step.isStochastic(k)
                let v = field(x, levels: [Float](repeating: step.schedule.timesteps[k], count: n))
                let mean = (stochastic ? step : ode).mean(x, velocity: v, steps: ks)
                let next = stochastic ? step.sample(mean: mean, steps: ks, using: &rng) : mean
                logProbs.append(stochastic ? step.logProbability(of: next, mean: mean, steps: ks).scalars : [])
                guard next.withUnsafeBufferPointer({ $0.allSatisfy(\.isFinite) }) else { throw SanaPolicyError.diverged(step: k) }
                visited.append(next)
                x = next
            }
        }
        let path = Tensor.stack(visited, axis: 1)   // [n, N+1, C, H, W]
        return try (0..<n).map { i in
            let ks = trainedSteps(window: window, using: &rng)
            guard !ks.isEmpty else { throw SanaPolicyError.noStochasticStep }
            return Rollout(latents: path.slice(axis: 0, i..<(i + 1)).squeezed(0), steps: ks,
                           actionLogProbs: ks.map { logProbs[$0][i] })
        }
    }

    /// Recomputes μ_θ and log p of every trained step of every rollout in one batch, on the tape.
    public func replay(_ rollouts: [Rollout], given conditions: [SanaCondition]) throws -> [SDEReplay] {
        guard rollouts.count == conditions.count else {
            throw SanaPolicyError.conditions("\(rollouts.count) rollouts for \(conditions.count) conditions")
        }
        guard !rollouts.isEmpty else { return [] }
        let step = sdeStep
        var rows: [SanaCondition] = [], ks: [Int] = [], current: [Tensor] = [], next: [Tensor] = []
        for (r, c) in zip(rollouts, conditions) {
            guard r.latents.shape[0] == settings.steps + 1 else {
                throw SanaPolicyError.conditions(
                    "a rollout of \(r.latents.shape[0] - 1) steps replayed with \(settings.steps)-step settings")
            }
            rows += [SanaCondition](repeating: c, count: r.steps.count)
            ks += r.steps
            current.append(r.latents.indexSelect(axis: 0, r.steps))
            next.append(r.latents.indexSelect(axis: 0, r.steps.map { $0 + 1 }))
        }
        let x = Tensor.concatenate(current, axis: 0), target = Tensor.concatenate(next, axis: 0)
        let field = try velocityField(rows)
        let mean = step.mean(x, velocity: field(x, levels: ks.map { step.schedule.timesteps[$0] }), steps: ks)
        let logProbs = step.logProbability(of: target, mean: mean, steps: ks)
        let flat = mean.reshaped([ks.count, mean.elementCount / ks.count])
        var start = 0
        return rollouts.map { r in
            let range = start..<(start + r.steps.count)
            start += r.steps.count
            let factors = r.steps.map(step.varianceFactors)
            return SDEReplay(logProbs: logProbs.slice(axis: 0, range), means: flat.slice(axis: 0, range),
                             noiseScales: factors.map(\.noiseScale), stepSizes: factors.map(\.stepSize))
        }
    }

    /// Deterministic samples for evaluation: the Euler ODE with `steps` steps (usually more than
    /// a rollout's, "denoising reduction") and the same shift and guidance. Returns x_N [n, C, H, W].
    public func generate(_ conditions: [SanaCondition], steps: Int, using rng: inout RandomState) throws -> Tensor {
        let field = try velocityField(conditions)
        let noise = Tensor.randomNormal([conditions.count] + latentShape, using: &rng)
        let sampler = EulerSampler(schedule: FlowMatchingSchedule(steps: steps, shift: settings.shift))
        return sampler.sample(from: noise) { x, t in field(x, levels: t) }
    }
}
