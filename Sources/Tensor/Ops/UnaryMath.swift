import Foundation

// Elementwise functions and their derivatives.

extension Tensor {
    public func exp() -> Tensor {
        let out = map(ExpKernel())
        return Tensor.record("exp", result: out, inputs: [self]) { g in [g * out] }
    }

    public func log() -> Tensor {
        let x = self
        return Tensor.record("log", result: map { Foundation.log($0) }, inputs: [x]) { g in [g / x] }
    }

    public func sqrt() -> Tensor {
        let out = map { $0.squareRoot() }
        return Tensor.record("sqrt", result: out, inputs: [self]) { g in [g / (out * 2)] }
    }

    /// 1 / √x.
    public func rsqrt() -> Tensor {
        let out = map { 1 / $0.squareRoot() }
        return Tensor.record("rsqrt", result: out, inputs: [self]) { g in [g * out * out * out * -0.5] }
    }

    public func square() -> Tensor {
        let x = self
        return Tensor.record("square", result: map(SquareKernel()), inputs: [x]) { g in [g * x * 2] }
    }

    /// xᵖ for a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        let x = self
        return Tensor.record("pow", result: map { Foundation.pow($0, p) }, inputs: [x]) { g in
            [g * x.map { p * Foundation.pow($0, p - 1) }]
        }
    }

    public func abs() -> Tensor {
        let x = self
        return Tensor.record("abs", result: map { Swift.abs($0) }, inputs: [x]) { g in
            [g * x.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }]
        }
    }

    public func sin() -> Tensor {
        let x = self
        return Tensor.record("sin", result: map { Foundation.sin($0) }, inputs: [x]) { g in [g * x.cos()] }
    }

    public func cos() -> Tensor {
        let x = self
        return Tensor.record("cos", result: map { Foundation.cos($0) }, inputs: [x]) { g in [g * -x.sin()] }
    }

    /// Limits every element to [`low`, `high`]; the gradient is zero outside.
    public func clamped(min low: Float = -.infinity, max high: Float = .infinity) -> Tensor {
        let x = self
        return Tensor.record("clamp", result: map { Swift.min(Swift.max($0, low), high) }, inputs: [x]) { g in
            [g * x.map { $0 >= low && $0 <= high ? 1 : 0 }]
        }
    }
}
