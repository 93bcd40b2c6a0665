import Foundation
import Testing
@testable import UniRLTensor

/// Broadcasting arithmetic, tensor-scalar arithmetic, unary math and activations.
@Suite struct OpsElementwiseTests {
    enum BinaryOp: String, CaseIterable, Sendable {
        case add, sub, mul, div
        func apply(_ a: Tensor, _ b: Tensor) -> Tensor {
            switch self { case .add: a + b; case .sub: a - b; case .mul: a * b; case .div: a / b }
        }
        func reference(_ a: Double, _ b: Double) -> Double {
            switch self { case .add: a + b; case .sub: a - b; case .mul: a * b; case .div: a / b }
        }
    }

    struct Pattern: Sendable, CustomTestStringConvertible {
        let a: [Int], b: [Int], name: String
        var testDescription: String { "\(name) \(a)∘\(b)" }
    }

    static let patterns: [Pattern] = [
        Pattern(a: [2, 3], b: [2, 3], name: "same shape"),
        Pattern(a: [2, 3], b: [], name: "scalar rhs"),
        Pattern(a: [], b: [2, 3], name: "scalar lhs"),
        Pattern(a: [2, 3], b: [1], name: "size-1 vector rhs"),
        Pattern(a: [2, 3, 4], b: [4], name: "trailing [C]"),
        Pattern(a: [4], b: [2, 3, 4], name: "trailing [C] lhs"),
        Pattern(a: [2, 3, 4], b: [2, 1, 4], name: "middle [B,1,C]"),
        Pattern(a: [2, 1, 4], b: [2, 3, 4], name: "middle [B,1,C] lhs"),
        Pattern(a: [2, 3, 4], b: [3, 4], name: "leading rank difference"),
        Pattern(a: [3, 4], b: [2, 3, 4], name: "leading rank difference lhs"),
        Pattern(a: [3, 1], b: [2, 1, 4], name: "both broadcast"),
        Pattern(a: [2, 3, 1], b: [2, 3, 4], name: "last axis broadcast lhs"),
        Pattern(a: [2, 3, 4], b: [2, 3, 1], name: "last axis broadcast rhs"),
        Pattern(a: [1, 3, 1], b: [2, 1, 1], name: "inner size 1"),
    ]

    @Test(arguments: BinaryOp.allCases, patterns)
    func binaryBroadcasting(op: BinaryOp, pattern: Pattern) {
        let a = randomTensor(pattern.a, seed: 11)
        let b = op == .div ? randomTensor(pattern.b, seed: 12, low: 0.5, high: 1.5) : randomTensor(pattern.b, seed: 12)
        let outShape = Ref.broadcastShape(pattern.a, pattern.b)
        let ad = doubles(a), bd = doubles(b)
        let expected = (0..<Ref.count(outShape)).map { i -> Double in
            let idx = Ref.index(i, outShape)
            return op.reference(Ref.broadcastValue(ad, pattern.a, at: idx), Ref.broadcastValue(bd, pattern.b, at: idx))
        }
        assertClose(op.apply(a, b), expected, shape: outShape)
        checkGradients(of: { op.apply($0[0], $0[1]) }, at: [a, b])
    }

    @Test func gradientOnlyForInputsThatRequireIt() {
        let a = randomTensor([2, 3], seed: 1).requiringGrad(), b = randomTensor([3], seed: 2, low: 0.5, high: 1.5)
        let out = (a / b) * b - b
        let g = Autodiff.gradients(of: out.sum(), withRespectTo: [a, b])
        #expect(g[1] == nil)
        assertClose(g[0]!, [Double](repeating: 1, count: 6), shape: [2, 3], rtol: 1e-6)
    }

    enum ScalarOp: String, CaseIterable, Sendable {
        case addRight, addLeft, subRight, subLeft, mulRight, mulLeft, divRight
        static let s: Float = -1.75
        func apply(_ a: Tensor) -> Tensor {
            let s = ScalarOp.s
            switch self {
            case .addRight: return a + s
            case .addLeft: return s + a
            case .subRight: return a - s
            case .subLeft: return s - a
            case .mulRight: return a * s
            case .mulLeft: return s * a
            case .divRight: return a / s
            }
        }
        func reference(_ a: Double) -> Double {
            let s = Double(ScalarOp.s)
            switch self {
            case .addRight, .addLeft: return a + s
            case .subRight: return a - s
            case .subLeft: return s - a
            case .mulRight, .mulLeft: return a * s
            case .divRight: return a / s
            }
        }
    }

    @Test(arguments: ScalarOp.allCases)
    func tensorScalar(op: ScalarOp) {
        let a = randomTensor([2, 3, 2], seed: 3)
        assertClose(op.apply(a), doubles(a).map(op.reference), shape: [2, 3, 2])
        checkGradients(of: { op.apply($0[0]) }, at: [a])
    }

    enum UnaryOp: String, CaseIterable, Sendable {
        case neg, exp, log, sqrt, rsqrt, square, powCube, powHalf, powNegative, powFractional, abs, sin, cos
        case clamped, clampedMinOnly, clampedMaxOnly, relu, sigmoid, tanh, silu, gelu, geluTanh

        var domain: (low: Float, high: Float) {
            switch self {
            case .log, .sqrt, .rsqrt, .powHalf, .powNegative, .powFractional: return (0.3, 3)
            case .exp, .sin, .cos, .sigmoid, .tanh, .silu, .gelu, .geluTanh: return (-3, 3)
            default: return (-2, 2)
            }
        }
        var kinks: [Float] {
            switch self {
            case .abs, .relu: return [0]
            case .clamped: return [-0.5, 0.75]
            case .clampedMinOnly: return [-0.5]
            case .clampedMaxOnly: return [0.75]
            default: return []
            }
        }
        func apply(_ x: Tensor) -> Tensor {
            switch self {
            case .neg: return -x
            case .exp: return x.exp()
            case .log: return x.log()
            case .sqrt: return x.sqrt()
            case .rsqrt: return x.rsqrt()
            case .square: return x.square()
            case .powCube: return x.pow(3)
            case .powHalf: return x.pow(0.5)
            case .powNegative: return x.pow(-1.5)
            case .powFractional: return x.pow(2.5)
            case .abs: return x.abs()
            case .sin: return x.sin()
            case .cos: return x.cos()
            case .clamped: return x.clamped(min: -0.5, max: 0.75)
            case .clampedMinOnly: return x.clamped(min: -0.5)
            case .clampedMaxOnly: return x.clamped(max: 0.75)
            case .relu: return x.relu()
            case .sigmoid: return x.sigmoid()
            case .tanh: return x.tanh()
            case .silu: return x.silu()
            case .gelu: return x.gelu()
            case .geluTanh: return x.gelu(approximateTanh: true)
            }
        }
        func reference(_ x: Double) -> Double {
            switch self {
            case .neg: return -x
            case .exp: return Foundation.exp(x)
            case .log: return Foundation.log(x)
            case .sqrt: return x.squareRoot()
            case .rsqrt: return 1 / x.squareRoot()
            case .square: return x * x
            case .powCube: return x * x * x
            case .powHalf: return Foundation.pow(x, 0.5)
            case .powNegative: return Foundation.pow(x, -1.5)
            case .powFractional: return Foundation.pow(x, 2.5)
            case .abs: return Swift.abs(x)
            case .sin: return Foundation.sin(x)
            case .cos: return Foundation.cos(x)
            case .clamped: return Swift.min(Swift.max(x, -0.5), 0.75)
            case .clampedMinOnly: return Swift.max(x, -0.5)
            case .clampedMaxOnly: return Swift.min(x, 0.75)
            case .relu: return Swift.max(x, 0)
            case .sigmoid: return 1 / (1 + Foundation.exp(-x))
            case .tanh: return Foundation.tanh(x)
            case .silu: return x / (1 + Foundation.exp(-x))
            case .gelu: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
            case .geluTanh:
                return 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            }
        }
    }

    @Test(arguments: UnaryOp.allCases)
    func unary(op: UnaryOp) {
        let raw = randomTensor([3, 5], seed: 21, low: op.domain.low, high: op.domain.high)
        let x = awayFromKinks(raw, kinks: op.kinks)
        assertClose(op.apply(x), doubles(x).map(op.reference), shape: [3, 5], rtol: 2e-6, atol: 1e-6)
        checkGradients(of: { op.apply($0[0]) }, at: [x])
    }

    @Test func kinkedOpsAreExercisedOnBothSides() {
        // The unary inputs must actually cover both sides of each kink, or the check is vacuous.
        for op in [UnaryOp.abs, .relu, .clamped] {
            let x = awayFromKinks(randomTensor([3, 5], seed: 21, low: op.domain.low, high: op.domain.high), kinks: op.kinks)
            for k in op.kinks {
                #expect(x.scalars.contains { $0 < k } && x.scalars.contains { $0 > k }, "\(op) around \(k)")
            }
        }
    }

    @Test func maximumAndMinimumWithBroadcasting() {
        let b = Tensor([-0.55, 0.05, 0.6])
        let a = awayFromKinks(randomTensor([2, 3], seed: 31), kinks: b.scalars, margin: 0.05)
        let ad = doubles(a), bd = doubles(b)
        assertClose(a.maximum(b), (0..<6).map { Swift.max(ad[$0], bd[$0 % 3]) }, shape: [2, 3])
        assertClose(a.minimum(b), (0..<6).map { Swift.min(ad[$0], bd[$0 % 3]) }, shape: [2, 3])
        assertClose(b.maximum(a), (0..<6).map { Swift.max(ad[$0], bd[$0 % 3]) }, shape: [2, 3])
        checkGradients(of: { $0[0].maximum($0[1]) }, at: [a, b])
        checkGradients(of: { $0[0].minimum($0[1]) }, at: [a, b])
        checkGradients(of: { $0[1].maximum($0[0]) }, at: [a, b])
        checkGradients(of: { $0[1].minimum($0[0]) }, at: [a, b])
    }

    @Test func maximumAndMinimumTiesGoToSelf() {
        let x = Tensor([1, 2]).requiringGrad(), y = Tensor([1, 3]).requiringGrad()
        let gMax = Autodiff.gradients(of: x.maximum(y).sum(), withRespectTo: [x, y])
        #expect(gMax[0]!.scalars == [1, 0])
        #expect(gMax[1]!.scalars == [0, 1])
        let gMin = Autodiff.gradients(of: x.minimum(y).sum(), withRespectTo: [x, y])
        #expect(gMin[0]!.scalars == [1, 1])
        #expect(gMin[1]!.scalars == [0, 0])
    }

    @Test func selectingWhereElse() {
        let cond = Tensor(shape: [2, 3], scalars: [1, 0, 1, 0, 0, 1])
        let a = randomTensor([2, 3], seed: 41), b = randomTensor([3], seed: 42)
        let ad = doubles(a), bd = doubles(b), cd = doubles(cond)
        assertClose(a.selecting(where: cond, else: b), (0..<6).map { cd[$0] != 0 ? ad[$0] : bd[$0 % 3] }, shape: [2, 3])
        checkGradients(of: { $0[0].selecting(where: cond, else: $0[1]) }, at: [a, b])
    }

    @Test func composedExpressionGradient() {
        let x = randomTensor([2, 4], seed: 51), w = randomTensor([4], seed: 52)
        checkGradients(of: { ($0[0] * $0[1]).tanh().exp() / (($0[0] - $0[1]).square() + 1) }, at: [x, w])
    }

    /// Far outside the ranges above, where fast exp approximations saturate: values and
    /// derivatives stay finite and match float64.
    @Test func activationsAtExtremeInputs() {
        let values: [Float] = [-1000, -100, -88.5, -87, -30, -10, 0.5, 10, 30, 87, 88.5, 100, 1000]
        let x = Tensor(values)
        let c = (2 / Double.pi).squareRoot()
        func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        func phi(_ v: Double) -> Double { Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot() }
        func cdf(_ v: Double) -> Double { 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot())) }
        let cases: [(String, (Tensor) -> Tensor, (Double) -> Double, (Double) -> Double)] = [
            ("sigmoid", { $0.sigmoid() }, sigmoid, { sigmoid($0) * (1 - sigmoid($0)) }),
            ("tanh", { $0.tanh() }, Foundation.tanh, { 1 - Foundation.tanh($0) * Foundation.tanh($0) }),
            ("silu", { $0.silu() }, { $0 * sigmoid($0) }, { sigmoid($0) * (1 + $0 * (1 - sigmoid($0))) }),
            ("relu", { $0.relu() }, { Swift.max($0, 0) }, { $0 > 0 ? 1 : 0 }),
            ("gelu", { $0.gelu() }, { $0 * cdf($0) }, { cdf($0) + $0 * phi($0) }),
            ("gelu tanh", { $0.gelu(approximateTanh: true) },
             { v in 0.5 * v * (1 + Foundation.tanh(c * (v + 0.044715 * v * v * v))) },
             { v in
                 let t = Foundation.tanh(c * (v + 0.044715 * v * v * v))
                 return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v)
             }),
        ]
        for (name, f, value, derivative) in cases {
            let leaf = x.requiringGrad()
            let y = f(leaf)
            assertClose(y, values.map { value(Double($0)) }, shape: [values.count], rtol: 1e-6, atol: 1e-6, name)
            let g = Autodiff.gradients(of: y, withRespectTo: [leaf], seed: Tensor.ones([values.count]))[0]!
            assertClose(g, values.map { derivative(Double($0)) }, shape: [values.count], rtol: 1e-5, atol: 1e-6, "\(name)′")
        }
    }
}
