/// Stochastic gradient descent with optional momentum and weight decay, as PyTorch's
/// `torch.optim.SGD` (dampening 0): b ← μb + g (b ← g at the first step), p ← p − lr·b.
public final class SGD: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float
    public var momentum: Float, weightDecay: Float
    public private(set) var stepCount = 0
    private var velocity: [String: Tensor] = [:]

    public init(parameters: [(name: String, parameter: Parameter)], learningRate: Float,
                momentum: Float = 0, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public func step() {
        stepCount += 1
        withoutGrad {
            for (name, p) in parameters where p.isTrainable {
                guard var g = p.grad else { continue }
                if weightDecay != 0 { g = g + p.value * weightDecay }
                if momentum != 0 {
                    let b = velocity[name].map { $0 * momentum + g } ?? g
                    velocity[name] = b
                    g = b
                }
                p.assign(p.value - g * learningRate)
            }
        }
    }

    public func state() -> OptimizerState {
        OptimizerState(stepCount: stepCount,
                       buffers: Dictionary(uniqueKeysWithValues: velocity.map { ("momentum_buffer.\($0.key)", $0.value) }))
    }

    public func load(_ state: OptimizerState) throws {
        var expected: [String: [Int]] = [:]
        for (name, p) in parameters where state.buffers["momentum_buffer.\(name)"] != nil {
            expected["momentum_buffer.\(name)"] = p.shape
        }
        try validate(state, expected: expected)
        velocity = [:]
        for (name, _) in parameters { if let b = state.buffers["momentum_buffer.\(name)"] { velocity[name] = b } }
        stepCount = state.stepCount
    }
}
