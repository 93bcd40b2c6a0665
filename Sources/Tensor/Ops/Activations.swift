import CUniRLKernels
import Foundation

// Activation functions, each with a fused derivative.

extension Tensor {
    public func relu() -> Tensor {
        let x = self
        return Tensor.record("relu", result: map(ReLUKernel()), inputs: [x]) { g in
            [g.zipMap(x, ReLUGradientKernel())]
        }
    }

    public func sigmoid() -> Tensor {
        let out = map(SigmoidKernel())
        return Tensor.record("sigmoid", result: out, inputs: [self]) { g in
            [g.zipMap(out) { $0 * $1 * (1 - $1) }]
        }
    }

    public func tanh() -> Tensor {
        let out = map { Foundation.tanh($0) }
        return Tensor.record("tanh", result: out, inputs: [self]) { g in
            [g.zipMap(out) { $0 * (1 - $1 * $1) }]
        }
    }

    /// x · sigmoid(x) (also called swish).
    public func silu() -> Tensor {
        let x = self
        let out = Tensor(shape: shape) { y in
            let xp = x.storage.pointer, yp = y.baseAddress!
            Parallel.forEachRange(x.elementCount, costPerItem: 8) { r in
                unirl_silu(xp + r.lowerBound, yp + r.lowerBound, r.count, UNIRL_PATH_AUTO)
            }
        }
        return Tensor.record("silu", result: out, inputs: [x]) { g in
            [Tensor(shape: x.shape) { dx in
                let xp = x.storage.pointer, gp = g.storage.pointer, dp = dx.baseAddress!
                Parallel.forEachRange(x.elementCount, costPerItem: 10) { r in
                    unirl_silu_backward(xp + r.lowerBound, gp + r.lowerBound, dp + r.lowerBound, r.count, UNIRL_PATH_AUTO)
                }
            }]
        }
    }

    /// GELU, exact (erf) by default or with PyTorch's tanh approximation
    /// (`approximate="tanh"`: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))).
    public func gelu(approximateTanh: Bool = false) -> Tensor {
        let x = self
        if approximateTanh {
            let c: Float = 0.797_884_56  // √(2/π)
            let out = map { x in 0.5 * x * (1 + Foundation.tanh(c * (x + 0.044715 * x * x * x))) }
            return Tensor.record("gelu_tanh", result: out, inputs: [x]) { g in
                [g.zipMap(x) { g, x in
                    let u = c * (x + 0.044715 * x * x * x)
                    let t = Foundation.tanh(u)
                    let du = c * (1 + 3 * 0.044715 * x * x)
                    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
                }]
            }
        }
        let out = map { x in 0.5 * x * (1 + Foundation.erf(x * 0.707_106_78)) }
        return Tensor.record("gelu", result: out, inputs: [x]) { g in
            [g.zipMap(x) { g, x in
                let cdf = 0.5 * (1 + Foundation.erf(x * 0.707_106_78))
                let pdf = Foundation.exp(-0.5 * x * x) * 0.398_942_28
                return g * (cdf + x * pdf)
            }]
        }
    }
}
