import Foundation

/// The noise levels a flow-matching sampler visits, 1 = t_0 > t_1 > … > t_N = 0, with SANA's
/// flow shift.
///
/// Under x_t = (1 − t)·x_0 + t·ε the level t is also the sigma of diffusers' flow schedulers. The
/// unshifted levels are evenly spaced, s_k = 1 − k/N, and the shift moves them toward the noisy
/// end, where a high-resolution image keeps more of its structure:
///
///     t_k = shift·s_k / (1 + (shift − 1)·s_k)
///
/// as diffusers' `FlowMatchEulerDiscreteScheduler` (`shift`,
/// schedulers/scheduling_flow_match_euler_discrete.py) and `DPMSolverMultistepScheduler` with
/// `use_flow_sigmas=True, flow_shift=…` (schedulers/scheduling_dpmsolver_multistep.py, SANA's
/// pipeline configuration) compute them. Unlike those two, the schedule runs exactly from 1 to 0
/// (diffusers stops the base levels at 1/1000 before shifting), so an N-step sampler ends on the
/// clean sample. The transformer reads t·1000 (``modelTimestep(_:)``).
///
/// ```swift
/// let schedule = FlowMatchingSchedule(steps: 10, shift: 3)
/// schedule.timesteps      // [1.0, 0.964, 0.923, …, 0.0], 11 values
/// schedule.stepSize(3)    // t_4 − t_3 < 0
/// ```
public struct FlowMatchingSchedule: Sendable, Equatable, Codable {
    /// N, the number of sampler steps.
    public let steps: Int
    /// SANA's `flow_shift` (1 keeps the levels evenly spaced).
    public let shift: Float
    /// t_0 … t_N, decreasing from 1 to 0.
    public let timesteps: [Float]

    /// N evenly spaced levels from 1 to 0, shifted.
    public init(steps: Int, shift: Float = 1) {
        precondition(steps >= 1, "a schedule needs at least one step")
        precondition(shift > 0 && shift.isFinite, "the flow shift must be positive, is \(shift)")
        self.steps = steps
        self.shift = shift
        timesteps = (0...steps).map { k in Self.shifted(1 - Float(k) / Float(steps), shift: shift) }
    }

    /// σ' = shift·σ / (1 + (shift − 1)·σ), computed in double precision and rounded once.
    public static func shifted(_ sigma: Float, shift: Float) -> Float {
        let s = Double(sigma), a = Double(shift)
        return Float(a * s / (1 + (a - 1) * s))
    }

    /// dt_k = t_{k+1} − t_k (negative), for step k in 0..<N.
    public func stepSize(_ k: Int) -> Float { timesteps[k + 1] - timesteps[k] }

    /// The level the transformer is called with at step k: t_k·1000 (diffusers' timestep scale).
    public func modelTimestep(_ k: Int) -> Float { timesteps[k] * 1000 }

    /// The first level below 1 (t_1): flow_grpo's `sigma_max`, used in place of t = 1 in the
    /// denominator of the SDE's noise scale.
    public var firstLevelBelowOne: Float { timesteps.first { $0 < 1 } ?? 0 }
}
