import Foundation
import UniRLTensor

/// Training levels for flow matching drawn from a logit-normal distribution: n ~ N(m, s²),
/// t = sigmoid(n) ∈ (0, 1) — the "sigmoid-sampled" timesteps of SD3 (Esser et al. 2024,
/// `logit_normal` weighting) that SANA trains with. With m = 0, s = 1 the levels concentrate
/// around t = ½, where the velocity is hardest to predict.
///
/// ```swift
/// var rng = RandomState(seed: 0)
/// let t = LogitNormalTimesteps(mean: 0, std: 1).sample(count: 64, using: &rng)
/// ```
public struct LogitNormalTimesteps: Sendable, Equatable, Codable {
    /// m, the mean of the logit.
    public var mean: Float
    /// s, the standard deviation of the logit.
    public var std: Float

    public init(mean: Float = 0, std: Float = 1) {
        precondition(std >= 0, "the logit's standard deviation must be ≥ 0")
        self.mean = mean
        self.std = std
    }

    /// `count` levels t = sigmoid(m + s·z), z ~ N(0, 1).
    public func sample(count: Int, using rng: inout RandomState) -> [Float] {
        (0..<count).map { _ in
            let n = Double(mean + std * rng.nextNormal())
            return Float(1 / (1 + Foundation.exp(-n)))
        }
    }
}
