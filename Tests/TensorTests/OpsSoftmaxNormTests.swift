import Foundation
import Testing
@testable import UniRLTensor

/// softmax, log-softmax, RMSNorm, LayerNorm and GroupNorm.
@Suite struct OpsSoftmaxNormTests {
    /// Applies `f` to every line of `values` (shape `shape`) along `axis`.
    static func alongAxis(_ values: [Double], shape: [Int], axis: Int, _ f: ([Double]) -> [Double]) -> [Double] {
        let ax = axis < 0 ? axis + shape.count : axis
        var out = [Double](repeating: .nan, count: values.count)
        var lineShape = shape; lineShape[ax] = 1
        for l in 0..<Ref.count(lineShape) {
            let base = Ref.index(l, lineShape)
            let positions = (0..<shape[ax]).map { k -> Int in var i = base; i[ax] = k; return Ref.flat(i, shape) }
            for (p, v) in zip(positions, f(positions.map { values[$0] })) { out[p] = v }
        }
        return out
    }

    static func softmax(_ v: [Double]) -> [Double] {
        let m = v.max()!
        let e = v.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func logSoftmax(_ v: [Double]) -> [Double] {
        let m = v.max()!
        let lse = m + Foundation.log(v.map { Foundation.exp($0 - m) }.reduce(0, +))
        return v.map { $0 - lse }
    }

    @Test(arguments: [-1, 2, 1, 0])
    func softmax(axis: Int) {
        let x = randomTensor([2, 3, 4], seed: 1, low: -2, high: 2)
        assertClose(x.softmax(axis: axis), Self.alongAxis(doubles(x), shape: [2, 3, 4], axis: axis, Self.softmax), shape: [2, 3, 4])
        checkGradients(of: { $0[0].softmax(axis: axis) }, at: [x])
    }

    @Test(arguments: [-1, 2, 1, 0])
    func logSoftmax(axis: Int) {
        let x = randomTensor([2, 3, 4], seed: 2, low: -2, high: 2)
        assertClose(x.logSoftmax(axis: axis), Self.alongAxis(doubles(x), shape: [2, 3, 4], axis: axis, Self.logSoftmax), shape: [2, 3, 4])
        checkGradients(of: { $0[0].logSoftmax(axis: axis) }, at: [x])
    }

    @Test func softmaxStabilityAndMaskedRows() {
        let x = Tensor(shape: [2, 3], scalars: [1000, 1001, 1002, -.infinity, 0, -.infinity])
        let e = [Foundation.exp(-2.0), Foundation.exp(-1.0), 1]
        let s = e.reduce(0, +)
        assertClose(x.softmax(), e.map { $0 / s } + [0, 1, 0], shape: [2, 3])
        assertClose(x.logSoftmax().slice(axis: 0, 0..<1), e.map { Foundation.log($0 / s) }, shape: [1, 3])
        // A row that is entirely −∞ becomes all zeros.
        let masked = Tensor(shape: [1, 3], scalars: [-.infinity, -.infinity, -.infinity])
        #expect(masked.softmax().scalars == [0, 0, 0])
    }

    static func normalizeLine(_ v: [Double], centered: Bool, eps: Double) -> [Double] {
        let mu = centered ? v.reduce(0, +) / Double(v.count) : 0
        let varr = v.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(v.count)
        return v.map { ($0 - mu) / (varr + eps).squareRoot() }
    }

    @Test(arguments: [true, false])
    func rmsNorm(withWeight: Bool) {
        let x = randomTensor([2, 3, 6], seed: 3)
        let w = randomTensor([6], seed: 4, low: 0.5, high: 1.5)
        let eps: Float = 1e-5
        let xhat = Self.alongAxis(doubles(x), shape: [2, 3, 6], axis: -1) { Self.normalizeLine($0, centered: false, eps: Double(eps)) }
        let wd = doubles(w)
        let expected = xhat.enumerated().map { withWeight ? $0.element * wd[$0.offset % 6] : $0.element }
        assertClose(x.rmsNorm(weight: withWeight ? w : nil, eps: eps), expected, shape: [2, 3, 6])
        if withWeight {
            checkGradients(of: { $0[0].rmsNorm(weight: $0[1], eps: eps) }, at: [x, w])
        } else {
            checkGradients(of: { $0[0].rmsNorm(weight: nil, eps: eps) }, at: [x])
        }
    }

    enum Affine: String, CaseIterable, Sendable { case both, weightOnly, biasOnly, none }

    @Test(arguments: Affine.allCases)
    func layerNorm(affine: Affine) {
        let x = randomTensor([3, 2, 5], seed: 5, low: -2, high: 2)
        let w = randomTensor([5], seed: 6, low: 0.5, high: 1.5), b = randomTensor([5], seed: 7)
        let useW = affine == .both || affine == .weightOnly, useB = affine == .both || affine == .biasOnly
        let eps: Float = 1e-5
        let xhat = Self.alongAxis(doubles(x), shape: [3, 2, 5], axis: -1) { Self.normalizeLine($0, centered: true, eps: Double(eps)) }
        let wd = doubles(w), bd = doubles(b)
        let expected = xhat.enumerated().map { ($0.element * (useW ? wd[$0.offset % 5] : 1)) + (useB ? bd[$0.offset % 5] : 0) }
        assertClose(x.layerNorm(weight: useW ? w : nil, bias: useB ? b : nil, eps: eps), expected, shape: [3, 2, 5])
        var inputs = [x]
        if useW { inputs.append(w) }
        if useB { inputs.append(b) }
        checkGradients(of: { xs in
            xs[0].layerNorm(weight: useW ? xs[1] : nil, bias: useB ? xs[useW ? 2 : 1] : nil, eps: eps)
        }, at: inputs)
    }

    struct GroupCase: Sendable, CustomTestStringConvertible {
        let shape: [Int], groups: Int, affine: Bool
        var testDescription: String { "\(shape) groups \(groups) affine \(affine)" }
    }

    @Test(arguments: [
        GroupCase(shape: [2, 4, 2, 3], groups: 2, affine: true),
        GroupCase(shape: [2, 4, 2, 3], groups: 1, affine: false),
        GroupCase(shape: [1, 4, 3, 2], groups: 4, affine: true),
        GroupCase(shape: [2, 6, 5], groups: 3, affine: true),
        // Spatial size 1 (one element per channel); ≥ 3 elements per group so dx is not ≈ 0.
        GroupCase(shape: [3, 6], groups: 2, affine: true),
        GroupCase(shape: [2, 6, 1, 1], groups: 2, affine: true),
        GroupCase(shape: [2, 6, 1, 1], groups: 2, affine: false),
    ])
    func groupNorm(c: GroupCase) {
        let x = randomTensor(c.shape, seed: 8, low: -2, high: 2)
        let channels = c.shape[1], spatial = c.shape[2...].reduce(1, *)
        let w = randomTensor([channels], seed: 9, low: 0.5, high: 1.5), b = randomTensor([channels], seed: 10)
        let eps: Float = 1e-5
        // Reference: view as [N, groups, C/groups·spatial] and normalize the last axis.
        let n = c.shape[0], per = channels / c.groups * spatial
        let xhat = Self.alongAxis(doubles(x), shape: [n, c.groups, per], axis: -1) {
            Self.normalizeLine($0, centered: true, eps: Double(eps))
        }
        let wd = doubles(w), bd = doubles(b)
        let expected = xhat.enumerated().map { i, v -> Double in
            let ch = (i / spatial) % channels
            return c.affine ? v * wd[ch] + bd[ch] : v
        }
        assertClose(x.groupNorm(groups: c.groups, weight: c.affine ? w : nil, bias: c.affine ? b : nil, eps: eps), expected, shape: c.shape)
        if c.affine {
            checkGradients(of: { $0[0].groupNorm(groups: c.groups, weight: $0[1], bias: $0[2], eps: eps) }, at: [x, w, b])
        } else {
            checkGradients(of: { $0[0].groupNorm(groups: c.groups, weight: nil, bias: nil, eps: eps) }, at: [x])
        }
    }

    @Test func normalizationOfManyRowsTakesParallelPath() {
        // Enough rows for Parallel.forEachRange to split the forward across threads.
        let x = randomTensor([128, 128], seed: 11, low: -2, high: 2)
        let w = randomTensor([128], seed: 12, low: 0.5, high: 1.5), b = randomTensor([128], seed: 13)
        let xhat = Self.alongAxis(doubles(x), shape: [128, 128], axis: -1) { Self.normalizeLine($0, centered: true, eps: 1e-5) }
        let wd = doubles(w), bd = doubles(b)
        assertClose(x.layerNorm(weight: w, bias: b, eps: 1e-5),
                    xhat.enumerated().map { $0.element * wd[$0.offset % 128] + bd[$0.offset % 128] },
                    shape: [128, 128], rtol: 1e-5)
        // Backward against the same op built from differentiable primitives.
        let lx = x.requiringGrad(), lw = w.requiringGrad(), lb = b.requiringGrad()
        let g = randomTensor([128, 128], seed: 14)
        let fused = Autodiff.gradients(of: lx.layerNorm(weight: lw, bias: lb, eps: 1e-5), withRespectTo: [lx, lw, lb], seed: g)
        let centered = lx - lx.mean(axis: -1, keepDims: true)
        let composite = centered * (centered.square().mean(axis: -1, keepDims: true) + 1e-5).rsqrt() * lw + lb
        let reference = Autodiff.gradients(of: composite, withRespectTo: [lx, lw, lb], seed: g)
        for i in 0..<3 { assertClose(fused[i]!, reference[i]!, rtol: 1e-4, "input \(i)") }
    }
}
