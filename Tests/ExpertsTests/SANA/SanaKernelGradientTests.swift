import Testing
import UniRLTensor
@testable import UniRLExperts

/// Finite-difference checks of the SANA transformer's fused kernels (the parity fixtures check them
/// only through the whole model). Channel counts 5 and 37 exercise the vector kernels' tails and
/// their 32-wide blocks.
@Suite struct SanaKernelGradientTests {
    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = RandomState(seed: seed)
        return Tensor.randomUniform(shape, low: -scale, high: scale, using: &rng)
    }

    static func expectClose(_ f: ([Tensor]) -> Tensor, _ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation) {
        let (recorded, reports) = GradientCheck.compare(f, at: inputs)
        #expect(recorded, sourceLocation: sourceLocation)
        for (i, r) in reports.enumerated() {
            #expect(r.failure == nil && r.worstRatio < 1e-2,
                    """
                    input \(i) \(r.shape): ratio \(r.worstRatio) at \(r.worstIndex) \
                    (analytic \(r.analytic), numeric \(r.numeric)) \(r.failure ?? "")
                    """,
                    sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [5, 37])
    func depthwiseConvolutionOnTokens(channels c: Int) {
        let (height, width) = (3, 4)
        let x = Self.random([2, height * width, c], seed: 1), w = Self.random([c, 1, 3, 3], seed: 2), b = Self.random([c], seed: 3)
        Self.expectClose({ SanaKernels.depthwiseConvolution(tokens: $0[0], height: height, width: width, weight: $0[1], bias: $0[2]) },
                         [x, w, b])
        Self.expectClose({ SanaKernels.depthwiseConvolution(tokens: $0[0], height: height, width: width, weight: $0[1], bias: nil) },
                         [x, w])
    }

    @Test func depthwiseConvolutionEqualsTheEngineConvolution() {
        // The same numbers as a grouped Conv2d on the [B, C, H, W] layout.
        let (height, width, c) = (5, 3, 37)
        let x = Self.random([2, height * width, c], seed: 4), w = Self.random([c, 1, 3, 3], seed: 5), b = Self.random([c], seed: 6)
        let ours = withoutGrad { SanaKernels.depthwiseConvolution(tokens: x, height: height, width: width, weight: w, bias: b) }
        let image = x.transposed(1, 2).reshaped([2, c, height, width])
        let reference = withoutGrad { image.conv2d(weight: w, bias: b, stride: 1, padding: 1, groups: c) }
            .reshaped([2, c, height * width]).transposed(1, 2)
        let worst = zip(ours.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "tokens kernel vs conv2d: \(worst)")
    }

    @Test(arguments: [10, 74])
    func fusedInferencePathEqualsTheTapedOps(channels c: Int) {
        let (height, width) = (4, 3)
        let x = Self.random([2, height * width, c], seed: 13, scale: 3)
        let w = Self.random([c, 1, 3, 3], seed: 14), b = Self.random([c], seed: 15)
        let taped = SanaKernels.gatedLinearUnit(
            SanaKernels.depthwiseConvolution(tokens: x.silu(), height: height, width: width, weight: w, bias: b))
        let fused = SanaKernels.siluDepthwiseGLU(tokens: x, height: height, width: width, weight: w, bias: b)
        #expect(fused.shape == taped.shape)
        // Equal up to rounding: where the parallel split cuts a row decides which elements take the
        // vector kernels' scalar tails.
        let worst = zip(fused.scalars, taped.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .nan
        #expect(worst < 1e-6, "fused vs taped ops: \(worst)")
    }

    @Test(arguments: [5, 37])
    func gatedLinearUnit(half h: Int) {
        Self.expectClose({ SanaKernels.gatedLinearUnit($0[0]) }, [Self.random([2, 3, 2 * h], seed: 7, scale: 3)])
    }

    @Test func modulationAndGatedResidual() {
        let x = Self.random([2, 3, 5], seed: 8), shift = Self.random([2, 1, 5], seed: 9), scale = Self.random([2, 1, 5], seed: 10)
        Self.expectClose({ SanaKernels.modulate($0[0], shift: $0[1], scale: $0[2]) }, [x, shift, scale])
        let gate = Self.random([2, 1, 5], seed: 11), update = Self.random([2, 3, 5], seed: 12)
        Self.expectClose({ SanaKernels.gatedResidual($0[0], gate: $0[1], update: $0[2]) }, [x, gate, update])
    }
}
