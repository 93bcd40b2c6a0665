// Broadcasting arithmetic with its derivative rules.

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = a.zipMap(b, AddKernel())
        return record("add", result: out, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? g.sumToShape(b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = a.zipMap(b, SubtractKernel())
        return record("sub", result: out, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? (-g).sumToShape(b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = a.zipMap(b, MultiplyKernel())
        return record("mul", result: out, inputs: [a, b]) { g in
            [a.requiresGrad ? (g * b).sumToShape(a.shape) : nil, b.requiresGrad ? (g * a).sumToShape(b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = a.zipMap(b, DivideKernel())
        return record("div", result: out, inputs: [a, b]) { g in
            [a.requiresGrad ? (g / b).sumToShape(a.shape) : nil,
             b.requiresGrad ? (-(g * a) / (b * b)).sumToShape(b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        record("neg", result: a.map(AffineKernel(scale: -1, shift: 0)), inputs: [a]) { g in [-g] }
    }

    public static func + (a: Tensor, s: Float) -> Tensor {
        record("add_scalar", result: a.map(AffineKernel(scale: 1, shift: s)), inputs: [a]) { g in [g] }
    }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func - (s: Float, a: Tensor) -> Tensor {
        record("rsub_scalar", result: a.map(AffineKernel(scale: -1, shift: s)), inputs: [a]) { g in [-g] }
    }
    public static func * (a: Tensor, s: Float) -> Tensor {
        record("mul_scalar", result: a.map(AffineKernel(scale: s, shift: 0)), inputs: [a]) { g in [g * s] }
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }

    /// Elementwise maximum; the gradient goes to `self` where it is at least `other`.
    public func maximum(_ other: Tensor) -> Tensor {
        let out = zipMap(other) { Swift.max($0, $1) }
        let a = self
        return Tensor.record("maximum", result: out, inputs: [a, other]) { g in
            let maskA = a.zipMap(other) { $0 >= $1 ? 1 : 0 }
            return [a.requiresGrad ? (g * maskA).sumToShape(a.shape) : nil,
                    other.requiresGrad ? (g * (1 - maskA)).sumToShape(other.shape) : nil]
        }
    }

    /// Elementwise minimum; the gradient goes to `self` where it is at most `other`.
    public func minimum(_ other: Tensor) -> Tensor {
        let out = zipMap(other) { Swift.min($0, $1) }
        let a = self
        return Tensor.record("minimum", result: out, inputs: [a, other]) { g in
            let maskA = a.zipMap(other) { $0 <= $1 ? 1 : 0 }
            return [a.requiresGrad ? (g * maskA).sumToShape(a.shape) : nil,
                    other.requiresGrad ? (g * (1 - maskA)).sumToShape(other.shape) : nil]
        }
    }

    /// Selects `self` where `condition` is non-zero and `other` elsewhere (broadcasting).
    public func selecting(where condition: Tensor, else other: Tensor) -> Tensor {
        let shape3 = broadcastShape(broadcastShape(shape, other.shape) ?? shape, condition.shape) ?? shape
        let mask = condition.zipMap(Tensor.zeros(shape3)) { c, _ in c != 0 ? 1 : 0 }
        return self * mask + other * (1 - mask)
    }
}
