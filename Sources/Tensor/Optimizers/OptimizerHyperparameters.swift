import Foundation

/// A hyperparameter outside the range where the optimizer's update is defined.
public struct InvalidHyperparameter: Error, CustomStringConvertible, Equatable {
    public var name: String
    public var value: Float
    public var range: String

    public var description: String { "invalid \(name) \(value): must be \(range)" }
}

extension AdamW {
    /// The checks PyTorch makes when an AdamW is built (torch/optim/adamw.py: `0.0 <= lr`,
    /// `0.0 <= eps`, `0.0 <= betas[0] < 1.0`, `0.0 <= betas[1] < 1.0`, `0.0 <= weight_decay`),
    /// except that ε must be > 0 here: with ε = 0 a parameter whose gradients were all zero
    /// divides 0 by 0.
    public static func checkHyperparameters(
        learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
        weightDecay: Float
    ) throws {
        func check(_ ok: Bool, _ name: String, _ value: Float, _ range: String) throws {
            if !ok { throw InvalidHyperparameter(name: name, value: value, range: range) }
        }
        try check(learningRate >= 0 && learningRate.isFinite, "learning rate", learningRate, "≥ 0 and finite")
        try check(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)")
        try check(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)")
        try check(epsilon > 0 && epsilon.isFinite, "epsilon", epsilon, "> 0 and finite")
        try check(weightDecay >= 0 && weightDecay.isFinite, "weight decay", weightDecay, "≥ 0 and finite")
    }

    /// An AdamW whose hyperparameters passed ``checkHyperparameters(learningRate:beta1:beta2:epsilon:weightDecay:)``.
    public static func checked(
        parameters: [(name: String, parameter: Parameter)], learningRate: Float = 1e-3,
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0.01
    ) throws -> AdamW {
        try checkHyperparameters(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
        return AdamW(
            parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay)
    }
}

extension SGD {
    /// PyTorch's checks for SGD (torch/optim/sgd.py: `0.0 <= lr`, `0.0 <= momentum`, `0.0 <= weight_decay`).
    public static func checkHyperparameters(learningRate: Float, momentum: Float, weightDecay: Float) throws {
        func check(_ ok: Bool, _ name: String, _ value: Float, _ range: String) throws {
            if !ok { throw InvalidHyperparameter(name: name, value: value, range: range) }
        }
        try check(learningRate >= 0 && learningRate.isFinite, "learning rate", learningRate, "≥ 0 and finite")
        try check(momentum >= 0 && momentum.isFinite, "momentum", momentum, "≥ 0 and finite")
        try check(weightDecay >= 0 && weightDecay.isFinite, "weight decay", weightDecay, "≥ 0 and finite")
    }
}
