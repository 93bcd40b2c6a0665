import Foundation
import Testing
@testable import UniRLTensor

// Numerical checks shared by the Ops*Tests suites: forward outputs against float64 references
// (`assertClose`) and reverse-mode gradients against central finite differences (`checkGradients`).

/// The elements of `t` as `Double`.
func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

/// A deterministic tensor with elements uniform in [`low`, `high`).
func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var rng = RandomState(seed: seed)
    return Tensor.randomUniform(shape, low: low, high: high, using: &rng)
}

/// Moves every element closer than `margin` to one of `kinks` out to distance `margin`
/// (on the side it was on), so finite differences never straddle a kink.
func awayFromKinks(_ t: Tensor, kinks: [Float], margin: Float = 0.05) -> Tensor {
    Tensor(shape: t.shape, scalars: t.scalars.map { v in
        var x = v
        for k in kinks where Swift.abs(x - k) < margin { x = x >= k ? k + margin : k - margin }
        return x
    })
}

/// Passes when max|a − b| ≤ atol + rtol · max|b| (and the shapes agree).
func assertClose(_ a: Tensor, _ b: [Double], shape: [Int]? = nil, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    if let shape {
        #expect(a.shape == shape, "shape \(a.shape), expected \(shape) \(comment)", sourceLocation: sourceLocation)
    }
    guard a.elementCount == b.count else {
        Issue.record("\(a.elementCount) elements (shape \(a.shape)), expected \(b.count) \(comment)", sourceLocation: sourceLocation)
        return
    }
    let av = a.scalars
    var worst = 0.0, worstIndex = 0, scale = 0.0
    for i in 0..<b.count {
        let d = Swift.abs(Double(av[i]) - b[i])
        let dd = d.isNaN ? Double.infinity : d
        if dd > worst { worst = dd; worstIndex = i }
        scale = Swift.max(scale, Swift.abs(b[i]))
    }
    let passed = worst <= atol + rtol * scale
    #expect(passed, "max|a−b| = \(worst) at \(worstIndex) (got \(b.isEmpty ? 0 : Double(av[worstIndex])), expected \(b.isEmpty ? 0 : b[worstIndex])), bound \(atol + rtol * scale) \(comment)",
            sourceLocation: sourceLocation)
}

/// Passes when max|a − b| ≤ atol + rtol · max|b| and the shapes agree.
func assertClose(_ a: Tensor, _ b: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    assertClose(a, doubles(b), shape: b.shape, rtol: rtol, atol: atol, comment, sourceLocation: sourceLocation)
}

/// Checks the reverse-mode gradients of `f` at `inputs` against central finite differences.
///
/// The output is projected onto a fixed random tensor R (seeded), L = Σ out·R accumulated in
/// Double. Analytic gradients come from ``Autodiff/gradients(of:withRespectTo:seed:)`` with
/// seed R on `requiringGrad()` copies of the inputs; numeric ones perturb one element of a copy
/// of one input's storage by ±`epsilon`. For each input the check passes when
/// max|analytic − numeric| ≤ `tolerance` · max(max|numeric|, 1e-3).
///
/// `f` must not depend on anything but its arguments' values (it runs many times). An analytic
/// gradient of `nil` counts as zeros. Returns the worst ratio max|a − n| / max(max|n|, 1e-3) per input.
@discardableResult
func checkGradients(of f: ([Tensor]) -> Tensor, at inputs: [Tensor], epsilon: Float = 1e-3, tolerance: Float = 1e-2,
                    projectionSeed: UInt64 = 0x5EED_1234, sourceLocation: SourceLocation = #_sourceLocation) -> [Double] {
    let plain = inputs.map { $0.detached() }
    let probe = withoutGrad { f(plain) }
    var rng = RandomState(seed: projectionSeed)
    let projection = Tensor.randomUniform(probe.shape, low: -1, high: 1, using: &rng)
    let r = doubles(projection)

    func loss(_ xs: [Tensor]) -> Double {
        let out = withoutGrad { f(xs) }
        precondition(out.shape == probe.shape, "output shape changed from \(probe.shape) to \(out.shape)")
        var acc = 0.0
        out.withUnsafeBufferPointer { p in for i in 0..<p.count { acc += Double(p[i]) * r[i] } }
        return acc
    }

    let leaves = plain.map { $0.requiringGrad() }
    let out = f(leaves)
    #expect(out.shape == probe.shape, "recorded output shape \(out.shape) differs from \(probe.shape)", sourceLocation: sourceLocation)
    #expect(out.requiresGrad, "output of shape \(out.shape) is not on the tape", sourceLocation: sourceLocation)
    let analytic = out.requiresGrad ? Autodiff.gradients(of: out, withRespectTo: leaves, seed: projection)
                                    : [Tensor?](repeating: nil, count: leaves.count)

    var ratios: [Double] = []
    for (i, x) in plain.enumerated() {
        let n = x.elementCount
        var a = [Double](repeating: 0, count: n)
        if let g = analytic[i] {
            guard g.shape == x.shape else {
                Issue.record("input \(i): gradient shape \(g.shape) differs from input shape \(x.shape)", sourceLocation: sourceLocation)
                ratios.append(.infinity)
                continue
            }
            a = doubles(g)
        }
        let base = x.scalars
        var numeric = [Double](repeating: 0, count: n)
        var args = plain
        for j in 0..<n {
            var up = base, down = base
            up[j] = base[j] + epsilon
            down[j] = base[j] - epsilon
            args[i] = Tensor(shape: x.shape, scalars: up)
            let lp = loss(args)
            args[i] = Tensor(shape: x.shape, scalars: down)
            let lm = loss(args)
            numeric[j] = (lp - lm) / (Double(up[j]) - Double(down[j]))
        }
        var worst = 0.0, worstIndex = 0, scale = 1e-3
        for j in 0..<n {
            let d = Swift.abs(a[j] - numeric[j])
            let dd = d.isNaN ? Double.infinity : d
            if dd > worst { worst = dd; worstIndex = j }
            scale = Swift.max(scale, Swift.abs(numeric[j]))
        }
        let ratio = worst / scale
        ratios.append(ratio)
        #expect(worst <= Double(tolerance) * scale,
                "input \(i) \(x.shape): worst ratio \(ratio) at element \(worstIndex): analytic \(n > 0 ? a[worstIndex] : 0), numeric \(n > 0 ? numeric[worstIndex] : 0) (max|numeric| \(scale))",
                sourceLocation: sourceLocation)
    }
    return ratios
}
