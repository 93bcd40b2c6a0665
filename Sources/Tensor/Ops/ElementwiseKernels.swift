import Foundation

// The elementwise functions on hot paths, as kernel types (see `zipMap` and `map`).

struct AddKernel: ElementwiseKernel2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct SubtractKernel: ElementwiseKernel2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct MultiplyKernel: ElementwiseKernel2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct DivideKernel: ElementwiseKernel2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }

struct AffineKernel: ElementwiseKernel1 {
    let scale: Float, shift: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * scale + shift }
}

struct ExpKernel: ElementwiseKernel1 { @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.exp(x) } }
struct SquareKernel: ElementwiseKernel1 { @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x } }
struct ReLUKernel: ElementwiseKernel1 { @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.max(x, 0) } }
struct SigmoidKernel: ElementwiseKernel1 { @inline(__always) func callAsFunction(_ x: Float) -> Float { FastMath.sigmoid(x) } }

/// g where x > 0, else 0.
struct ReLUGradientKernel: ElementwiseKernel2 {
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
}
