import UniRLTensor

/// The deterministic flow-matching sampler: Euler steps of the probability-flow ODE dx/dt = v
/// from pure noise at t_0 = 1 to the sample at t_N = 0,
///
///     x_{k+1} = x_k + v(x_k, t_k)·(t_{k+1} − t_k)
///
/// as diffusers' `FlowMatchEulerDiscreteScheduler.step` (`prev_sample = sample + dt * model_output`).
/// The velocity is any field, typically a ``GuidedVelocity`` (classifier-free guidance). Runs
/// without a tape.
///
/// ```swift
/// let sampler = EulerSampler(schedule: FlowMatchingSchedule(steps: 20, shift: 1))
/// let latents = sampler.sample(from: .randomNormal([4, 4, 8, 8], using: &rng)) { x, t in field(x, levels: t) }
/// ```
public struct EulerSampler: Sendable {
    public var schedule: FlowMatchingSchedule

    public init(schedule: FlowMatchingSchedule) {
        self.schedule = schedule
    }

    /// x_N from x_0 = `noise` [B, …].
    public func sample(from noise: Tensor, velocity: (_ x: Tensor, _ levels: [Float]) throws -> Tensor) rethrows -> Tensor {
        try path(from: noise, velocity: velocity).last ?? noise
    }

    /// Every visited point x_0 … x_N.
    public func path(from noise: Tensor, velocity: (_ x: Tensor, _ levels: [Float]) throws -> Tensor) rethrows -> [Tensor] {
        let b = noise.shape[0]
        return try withoutGrad {
            var x = noise, visited = [noise]
            for k in 0..<schedule.steps {
                let v = try velocity(x, [Float](repeating: schedule.timesteps[k], count: b))
                x = x + v * schedule.stepSize(k)
                visited.append(x)
            }
            return visited
        }
    }
}
