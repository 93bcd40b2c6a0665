/// Reverse-mode gradients against central finite differences, for anyone writing an op with a
/// hand-written derivative (in the spirit of PyTorch's `torch.autograd.gradcheck`).
///
/// The output is projected onto a fixed random tensor R (seeded), L = Σ out·R accumulated in
/// float64; the analytic gradients are backpropagated from R, the numeric ones perturb one element
/// of one input by ±`epsilon` at a time. `f` must depend on nothing but its arguments (it runs
/// 2·(elements) + 2 times).
///
/// ```swift
/// let report = GradientCheck.compare({ $0[0].silu() }, at: [x])
/// assert(report.inputs.allSatisfy { $0.worstRatio < 1e-2 })
/// ```
public enum GradientCheck {
    /// How one input's gradient compared.
    public struct InputReport: Sendable {
        /// The input's shape.
        public var shape: [Int]
        /// max|analytic − numeric| / max(max|numeric|, 1e-3); ∞ on a NaN or a gradient of the wrong shape.
        public var worstRatio: Double
        /// Where the largest difference is, and the two values there.
        public var worstIndex: Int, analytic: Double, numeric: Double
        /// max(max|numeric|, 1e-3).
        public var scale: Double
        /// Why the comparison could not be made (a gradient of the wrong shape), if it could not.
        public var failure: String?
    }

    /// The comparison for every input; `outputIsRecorded` is false when the output of `f` on
    /// inputs that require gradients is not on the tape (every analytic gradient then counts as 0).
    public static func compare(_ f: ([Tensor]) -> Tensor, at inputs: [Tensor], epsilon: Float = 1e-3,
                               projectionSeed: UInt64 = 0x5EED_1234) -> (outputIsRecorded: Bool, inputs: [InputReport]) {
        let plain = inputs.map { $0.detached() }
        let probe = withoutGrad { f(plain) }
        var rng = RandomState(seed: projectionSeed)
        let projection = Tensor.randomUniform(probe.shape, low: -1, high: 1, using: &rng)
        let r = projection.scalars.map(Double.init)

        func loss(_ xs: [Tensor]) -> Double {
            let out = withoutGrad { f(xs) }
            precondition(out.shape == probe.shape, "output shape changed from \(probe.shape) to \(out.shape)")
            return zip(out.scalars, r).reduce(0.0) { $0 + Double($1.0) * $1.1 }
        }

        let leaves = plain.map { $0.requiringGrad() }
        let out = f(leaves)
        let recorded = out.requiresGrad && out.shape == probe.shape
        let analytic = recorded ? Autodiff.gradients(of: out, withRespectTo: leaves, seed: projection)
                                : [Tensor?](repeating: nil, count: leaves.count)
        var reports: [InputReport] = []
        for (i, x) in plain.enumerated() {
            let n = x.elementCount
            var a = [Double](repeating: 0, count: n)
            if let g = analytic[i] {
                guard g.shape == x.shape else {
                    reports.append(InputReport(shape: x.shape, worstRatio: .infinity, worstIndex: 0, analytic: 0, numeric: 0, scale: 0,
                                               failure: "gradient shape \(g.shape) differs from input shape \(x.shape)"))
                    continue
                }
                a = g.scalars.map(Double.init)
            }
            let base = x.scalars
            var numeric = [Double](repeating: 0, count: n), args = plain
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
            reports.append(InputReport(shape: x.shape, worstRatio: worst / scale, worstIndex: worstIndex,
                                       analytic: n > 0 ? a[worstIndex] : 0, numeric: n > 0 ? numeric[worstIndex] : 0,
                                       scale: scale, failure: nil))
        }
        return (recorded, reports)
    }
}
