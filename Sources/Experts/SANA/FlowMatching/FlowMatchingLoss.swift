import UniRLTensor

/// The rectified-flow training objective SANA is trained with (docs/ARCHITECTURE.md, "Flow matching"):
///
///     x_t = (1 − t)·x_0 + t·ε,   ε ~ N(0, I),   t = sigmoid(n), n ~ N(m, s²)
///     L = mean ‖v_θ(x_t, t, c) − (ε − x_0)‖²
///
/// The network predicts the velocity v = ε − x_0 that carries a clean sample to noise (the paper's
/// "v-prediction"); the mean runs over the batch and every dimension, as diffusers' SANA training
/// script (`examples/dreambooth/train_dreambooth_lora_sana.py`: `target = noise - model_input`,
/// `weighting_scheme="logit_normal"`, uniform weights) computes it.
///
/// ```swift
/// let loss = FlowMatchingLoss()
/// let value = loss(clean: latents, using: &rng) { xt, t in model(xt, encoderHiddenStates: c, timestep: Tensor(t.map { $0 * 1000 })) }
/// ```
public struct FlowMatchingLoss: Sendable {
    /// Where the training levels t come from.
    public var timesteps: LogitNormalTimesteps

    public init(timesteps: LogitNormalTimesteps = LogitNormalTimesteps()) {
        self.timesteps = timesteps
    }

    /// Draws ε and t, noises `clean` [B, …], and returns the loss of `velocity(x_t, t)` (t per
    /// sample, on the 0…1 scale).
    public func callAsFunction(clean: Tensor, using rng: inout RandomState,
                               velocity: (_ noised: Tensor, _ levels: [Float]) throws -> Tensor) rethrows -> Tensor {
        let levels = timesteps.sample(count: clean.shape[0], using: &rng)
        let noise = Tensor.randomNormal(clean.shape, using: &rng)
        let noised = Self.interpolate(clean: clean, noise: noise, levels: levels)
        return Self.loss(prediction: try velocity(noised, levels), clean: clean, noise: noise)
    }

    /// x_t = (1 − t)·x_0 + t·ε with one level per sample of the batch `clean` [B, …].
    public static func interpolate(clean: Tensor, noise: Tensor, levels: [Float]) -> Tensor {
        precondition(clean.shape == noise.shape && levels.count == clean.shape[0],
                     "interpolate: clean \(clean.shape), noise \(noise.shape), \(levels.count) levels")
        let t = perSample(levels, rank: clean.rank)
        return clean * (1 - t) + noise * t
    }

    /// mean (v − (ε − x_0))² over every element.
    public static func loss(prediction: Tensor, clean: Tensor, noise: Tensor) -> Tensor {
        precondition(prediction.shape == clean.shape, "prediction \(prediction.shape) vs sample \(clean.shape)")
        return (prediction - (noise - clean)).square().mean()
    }

    /// Values [B] laid out as [B, 1, …, 1] to broadcast over a rank-`rank` batch.
    static func perSample(_ values: [Float], rank: Int) -> Tensor {
        Tensor(shape: [values.count] + [Int](repeating: 1, count: Swift.max(rank - 1, 0)), scalars: values)
    }
}
