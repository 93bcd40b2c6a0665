import UniRLTensor

/// Where the window of stochastic steps sits from one training step to the next
/// (``SDEWindow/mode``).
public enum SDEWindowMode: String, Codable, Sendable, CaseIterable {
    /// Always at `sde_window_start`.
    case fixed
    /// A start drawn uniformly from [`sde_window_start`, `sde_window_end` − size] once per
    /// rollout batch, from the sampling generator (Flow-GRPO-Fast's `sde_window_range`).
    case random
    /// At `sde_window_start` + ⌊step / `sde_window_slide_every`⌋, wrapping around to the start
    /// after the last position (MixGRPO's sliding window, moving from high noise to low noise).
    case sliding
}

/// The window of a sampler's denoising steps that draw SDE noise; the steps outside it are
/// deterministic Euler (ODE) steps, are not actions of the policy, and are neither recorded nor
/// replayed — Flow-GRPO-Fast (yifan123/flow_grpo, flow_grpo/diffusers_patch/
/// sd3_pipeline_with_logprob_fast.py: `noise_level` 0 before and after `sde_window`, log-probs and
/// latents kept only inside it) and MixGRPO's sliding window. `size` 0 is the whole trajectory
/// (Flow-GRPO).
///
/// ```swift
/// let window = SDEWindow(size: 2, start: 0, end: 6, mode: .random)
/// let ks = window.steps(samplerSteps: 10, trainingStep: 7, using: &rng)   // e.g. 3..<5
/// ```
public struct SDEWindow: Sendable, Equatable {
    /// Stochastic steps per rollout; 0: every step.
    public var size: Int
    /// The first step of the window (`fixed`), or the lowest start (`random`, `sliding`).
    public var start: Int
    /// One past the last step a window may cover; 0: the sampler's last step.
    public var end: Int
    public var mode: SDEWindowMode
    /// Training steps between moves of one step (`sliding`).
    public var slideEvery: Int

    public init(size: Int = 0, start: Int = 0, end: Int = 0, mode: SDEWindowMode = .fixed, slideEvery: Int = 1) {
        self.size = size
        self.start = start
        self.end = end
        self.mode = mode
        self.slideEvery = slideEvery
    }

    /// Every step stochastic (the Flow-GRPO default).
    public static let whole = SDEWindow()

    /// Whether this window leaves some steps deterministic (it needs an expert that supports it).
    public var isPartial: Bool { size > 0 }

    /// The stochastic steps of an `n`-step sampler at training step `trainingStep`, clamped to
    /// [0, n). `random` draws one number from `rng`; the other modes draw nothing.
    public func steps(samplerSteps n: Int, trainingStep: Int, using rng: inout RandomState) -> Range<Int> {
        guard size > 0, n > 0 else { return 0..<Swift.max(n, 0) }
        let width = Swift.min(size, n)
        let upper = Swift.min(end > 0 ? end : n, n)
        let lowest = Swift.min(Swift.max(start, 0), n - width)
        let highest = Swift.max(lowest, upper - width)
        let first: Int
        switch mode {
        case .fixed: first = lowest
        case .random: first = lowest + Int(rng.next() % UInt64(highest - lowest + 1))
        case .sliding: first = lowest + (Swift.max(trainingStep, 0) / Swift.max(slideEvery, 1)) % (highest - lowest + 1)
        }
        return first..<(first + width)
    }
}

/// What the trainer tells an SDE expert before each step's rollouts: the step, its window, and
/// whether the samples of a group start from the same noise.
public struct SDESamplingPlan: Sendable, Equatable {
    public var window: SDEWindow
    /// The GRPO step the rollouts belong to (it positions a sliding window).
    public var trainingStep: Int
    /// g > 1: rows r and r′ of one `sample` call share x_0 when r / g == r′ / g — the samples of a
    /// prompt, which every scenario lays out contiguously (flow_grpo's `same_latent`); ≤ 1: every
    /// row draws its own.
    public var sharedNoiseGroup: Int

    public init(window: SDEWindow = .whole, trainingStep: Int = 0, sharedNoiseGroup: Int = 1) {
        self.window = window
        self.trainingStep = trainingStep
        self.sharedNoiseGroup = sharedNoiseGroup
    }

    /// The plan of a standalone sampler: the whole trajectory stochastic, independent noise.
    public static let standard = SDESamplingPlan()

    /// Initial noise [n] + shape: independent rows, or one draw per group of `sharedNoiseGroup`
    /// rows repeated across the group.
    public func initialNoise(rows n: Int, shape: [Int], using rng: inout RandomState) -> Tensor {
        let g = Swift.max(sharedNoiseGroup, 1)
        guard g > 1, n > 0 else { return Tensor.randomNormal([n] + shape, using: &rng) }
        let groups = (n + g - 1) / g
        let draws = Tensor.randomNormal([groups] + shape, using: &rng)
        return draws.indexSelect(axis: 0, (0..<n).map { $0 / g })
    }
}

/// An SDE expert whose sampling follows an ``SDESamplingPlan`` (windowed SDE, shared initial
/// noise). The trainer sets ``samplingPlan`` before each step's rollouts; an expert without this
/// conformance cannot run with `sde_window_size` > 0 or `same_initial_noise`.
public protocol SDESamplingConfigurable: AnyObject {
    var samplingPlan: SDESamplingPlan { get set }
}
