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
    #expect(passed, """
            max|a−b| = \(worst) at \(worstIndex) (got \(b.isEmpty ? 0 : Double(av[worstIndex])), \
            expected \(b.isEmpty ? 0 : b[worstIndex])), bound \(atol + rtol * scale) \(comment)
            """,
            sourceLocation: sourceLocation)
}

/// Passes when max|a − b| ≤ atol + rtol · max|b| and the shapes agree.
func assertClose(_ a: Tensor, _ b: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    assertClose(a, doubles(b), shape: b.shape, rtol: rtol, atol: atol, comment, sourceLocation: sourceLocation)
}

/// Checks the reverse-mode gradients of `f` at `inputs` against central finite differences
/// (``GradientCheck/compare(_:at:epsilon:projectionSeed:)``): for each input the check passes when
/// max|analytic − numeric| ≤ `tolerance` · max(max|numeric|, 1e-3). Returns the worst ratio per input.
@discardableResult
func checkGradients(of f: ([Tensor]) -> Tensor, at inputs: [Tensor], epsilon: Float = 1e-3, tolerance: Float = 1e-2,
                    projectionSeed: UInt64 = 0x5EED_1234, sourceLocation: SourceLocation = #_sourceLocation) -> [Double] {
    let (recorded, reports) = GradientCheck.compare(f, at: inputs, epsilon: epsilon, projectionSeed: projectionSeed)
    #expect(recorded, "the output is not on the tape (or changed shape)", sourceLocation: sourceLocation)
    for (i, r) in reports.enumerated() {
        if let failure = r.failure { Issue.record("input \(i): \(failure)", sourceLocation: sourceLocation); continue }
        #expect(r.worstRatio <= Double(tolerance),
                """
                input \(i) \(r.shape): worst ratio \(r.worstRatio) at element \(r.worstIndex): \
                analytic \(r.analytic), numeric \(r.numeric) (max|numeric| \(r.scale))
                """,
                sourceLocation: sourceLocation)
    }
    return reports.map(\.worstRatio)
}
