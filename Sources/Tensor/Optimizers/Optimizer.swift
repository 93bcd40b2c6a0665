/// Updates parameters from their accumulated gradients.
public protocol Optimizer: AnyObject {
    /// The learning rate used by the next ``step()``.
    var learningRate: Float { get set }
    /// Number of steps taken so far.
    var stepCount: Int { get }
    /// Applies one update to every trainable parameter that has a gradient.
    func step()
    /// Everything needed to continue exactly where this optimizer stopped.
    func state() -> OptimizerState
    /// Restores a state written by ``state()``; throws when names or shapes do not match.
    func load(_ state: OptimizerState) throws
}

/// An optimizer's saved state: a step counter and named buffers (e.g. `exp_avg.<param>`).
public struct OptimizerState: Sendable {
    public var stepCount: Int
    public var buffers: [String: Tensor]
    public init(stepCount: Int, buffers: [String: Tensor]) {
        self.stepCount = stepCount
        self.buffers = buffers
    }
}

public enum OptimizerError: Error, CustomStringConvertible {
    case missingBuffer(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case unexpectedBuffer(String)

    public var description: String {
        switch self {
        case .missingBuffer(let n): "optimizer state has no buffer '\(n)'"
        case .shapeMismatch(let n, let e, let f): "optimizer buffer '\(n)' has shape \(f), expected \(e)"
        case .unexpectedBuffer(let n): "optimizer state has an unknown buffer '\(n)'"
        }
    }
}

extension Optimizer {
    /// Checks a state's buffers against the expected names and shapes.
    func validate(_ state: OptimizerState, expected: [String: [Int]]) throws {
        for (name, shape) in expected {
            guard let t = state.buffers[name] else { throw OptimizerError.missingBuffer(name) }
            guard t.shape == shape else { throw OptimizerError.shapeMismatch(name: name, expected: shape, found: t.shape) }
        }
        for name in state.buffers.keys where expected[name] == nil { throw OptimizerError.unexpectedBuffer(name) }
    }
}
