import Foundation

/// The learning rate as a function of the step, for a base rate `base`.
public enum LearningRateSchedule: Codable, Sendable, Equatable {
    /// The base rate at every step.
    case constant
    /// Linear warm-up from 0 over `warmupSteps`, then constant.
    case warmup(warmupSteps: Int)
    /// Linear warm-up, then half-cosine decay to `minimumRatio · base` at `totalSteps`.
    case cosine(warmupSteps: Int, totalSteps: Int, minimumRatio: Float)

    /// The rate for 0-based `step`.
    public func rate(base: Float, step: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .warmup(let w):
            return w > 0 && step < w ? base * Float(step + 1) / Float(w) : base
        case .cosine(let w, let total, let minRatio):
            if w > 0 && step < w { return base * Float(step + 1) / Float(w) }
            let span = Swift.max(total - w, 1)
            let progress = Swift.min(Float(step - w) / Float(span), 1)
            let cosine = 0.5 * (1 + Foundation.cos(Float.pi * progress))
            return base * (minRatio + (1 - minRatio) * cosine)
        }
    }
}
