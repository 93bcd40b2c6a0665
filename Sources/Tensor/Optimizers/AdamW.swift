import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter), numerically as PyTorch's
/// `torch.optim.AdamW` (torch/optim/adamw.py, single-tensor path):
///
///     p ← p − lr·λ·p
///     m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
///     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
public final class AdamW: Optimizer {
    public let parameters: [(name: String, parameter: Parameter)]
    public var learningRate: Float
    public var beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public private(set) var stepCount = 0
    private var firstMoment: [String: Tensor] = [:]
    private var secondMoment: [String: Tensor] = [:]

    public init(parameters: [(name: String, parameter: Parameter)], learningRate: Float = 1e-3,
                beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
    }

    public func step() {
        stepCount += 1
        let bc1 = 1 - Foundation.pow(beta1, Float(stepCount))
        let bc2 = 1 - Foundation.pow(beta2, Float(stepCount))
        let stepSize = learningRate / bc1, bc2Sqrt = bc2.squareRoot()
        let decay = 1 - learningRate * weightDecay
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for (name, p) in parameters where p.isTrainable {
            guard let g = p.grad else { continue }
            let n = g.elementCount
            let m = firstMoment[name] ?? Tensor.zeros(p.shape)
            let v = secondMoment[name] ?? Tensor.zeros(p.shape)
            let newM = TensorStorage(uninitializedCount: n), newV = TensorStorage(uninitializedCount: n)
            let newP = TensorStorage(uninitializedCount: n)
            let gp = g.storage.pointer, mp = m.storage.pointer, vp = v.storage.pointer, pp = p.value.storage.pointer
            let om = newM.pointer, ov = newV.pointer, op = newP.pointer
            Parallel.forEachRange(n, costPerItem: 8) { r in
                for i in r {
                    let gi = gp[i]
                    let mi = b1 * mp[i] + (1 - b1) * gi
                    let vi = b2 * vp[i] + (1 - b2) * gi * gi
                    om[i] = mi; ov[i] = vi
                    op[i] = pp[i] * decay - stepSize * mi / (vi.squareRoot() / bc2Sqrt + eps)
                }
            }
            firstMoment[name] = Tensor(shape: p.shape, storage: newM)
            secondMoment[name] = Tensor(shape: p.shape, storage: newV)
            p.assign(Tensor(shape: p.shape, storage: newP))
        }
    }

    public func state() -> OptimizerState {
        var buffers: [String: Tensor] = [:]
        for (name, t) in firstMoment { buffers["exp_avg.\(name)"] = t }
        for (name, t) in secondMoment { buffers["exp_avg_sq.\(name)"] = t }
        return OptimizerState(stepCount: stepCount, buffers: buffers)
    }

    public func load(_ state: OptimizerState) throws {
        var expected: [String: [Int]] = [:]
        for (name, p) in parameters
        where state.buffers["exp_avg.\(name)"] != nil || state.buffers["exp_avg_sq.\(name)"] != nil {
            expected["exp_avg.\(name)"] = p.shape
            expected["exp_avg_sq.\(name)"] = p.shape
        }
        try validate(state, expected: expected)
        firstMoment = [:]; secondMoment = [:]
        for (name, _) in parameters {
            if let m = state.buffers["exp_avg.\(name)"] { firstMoment[name] = m }
            if let v = state.buffers["exp_avg_sq.\(name)"] { secondMoment[name] = v }
        }
        stepCount = state.stepCount
    }
}
