import Foundation
import Testing
@testable import UniRLTensor

/// The tape itself: accumulation of gradients, gradient modes, detaching, repeated backward
/// passes and deep tapes.
@Suite struct OpsAutodiffTests {
    @Test func tensorUsedTwiceAccumulates() {
        let x = Tensor([0.5, -1.5, 2]).requiringGrad()
        let gSquare = Autodiff.gradients(of: (x * x).sum(), withRespectTo: [x])[0]!
        assertClose(gSquare, [1, -3, 4], shape: [3], rtol: 0, atol: 0)
        let gDouble = Autodiff.gradients(of: (x + x).sum(), withRespectTo: [x])[0]!
        assertClose(gDouble, [2, 2, 2], shape: [3], rtol: 0, atol: 0)
        let gMinus = Autodiff.gradients(of: (x - x).sum(), withRespectTo: [x])[0]!
        assertClose(gMinus, [0, 0, 0], shape: [3], rtol: 0, atol: 0)
        // A diamond: y feeds two branches that meet again.
        let y = x.exp()
        let z = (y * y + y.sin()).sum()
        let xd = doubles(x.detached())
        let expected = xd.map { v in let e = Foundation.exp(v); return 2 * e * e + Foundation.cos(e) * e }
        assertClose(Autodiff.gradients(of: z, withRespectTo: [x])[0]!, expected, shape: [3], rtol: 1e-6)
        checkGradients(of: { xs in let y = xs[0].exp(); return y * y + y.sin() + xs[0] * xs[0] * xs[0] }, at: [x.detached()])
    }

    @Test func withoutGradRecordsNothing() {
        let x = randomTensor([2, 3], seed: 1).requiringGrad()
        let y = withoutGrad { (x * 2 + 1).exp().sum(axis: 0).softmax() }
        #expect(!y.requiresGrad)
        #expect(y.gradNode == nil)
        #expect(GradMode.isEnabled)
        withoutGrad {
            #expect(!GradMode.isEnabled)
            #expect(!x.matmul(x, transposeOther: true).requiresGrad)
            #expect(!Tensor.concatenate([x, x], axis: 0).requiresGrad)
        }
        // Recording resumes afterwards.
        #expect((x * 2).requiresGrad)
        // Values are unaffected by the mode.
        assertClose(y, withoutGrad { y }, rtol: 0, atol: 0)
        let recorded = (x * 2 + 1).exp().sum(axis: 0).softmax()
        assertClose(recorded, y, rtol: 0, atol: 0)
    }

    @Test func detachedStopsGradients() {
        let x = Tensor([1, -2, 3]).requiringGrad()
        let d = x.detached()
        #expect(!d.requiresGrad)
        #expect(d.storage === x.storage)
        // d(sum(stop(x)·x))/dx = x, not 2x.
        let g = Autodiff.gradients(of: (d * x).sum(), withRespectTo: [x])[0]!
        assertClose(g, [1, -2, 3], shape: [3], rtol: 0, atol: 0)
        // An output built from detached values only is off the tape.
        #expect(!(d * d).requiresGrad)
    }

    @Test func gradientsOfUnrelatedInputsAreNil() {
        let x = Tensor([1, 2]).requiringGrad(), y = Tensor([3, 4]).requiringGrad()
        let g = Autodiff.gradients(of: (x * 3).sum(), withRespectTo: [x, y, x.detached()])
        #expect(g[0]!.scalars == [3, 3])
        #expect(g[1] == nil)
        #expect(g[2] == nil)
    }

    @Test func gradientsWithASeed() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        let g = Autodiff.gradients(of: x * x, withRespectTo: [x], seed: Tensor([1, 0, -1]))[0]!
        assertClose(g, [2, 0, -6], shape: [3], rtol: 0, atol: 0)
    }

    @Test func backwardAccumulatesAcrossCalls() {
        let w = Tensor([0.5, -1]).requiringGrad()
        let x1 = Tensor([2, 3]), x2 = Tensor([-1, 4])
        #expect(w.grad == nil)
        (w * x1).sum().backward()
        assertClose(w.grad!, [2, 3], shape: [2], rtol: 0, atol: 0)
        (w * x2).sum().backward()
        assertClose(w.grad!, [1, 7], shape: [2], rtol: 0, atol: 0)
        // The same loss twice doubles the gradient.
        let v = Tensor([1, 2]).requiringGrad()
        let loss = v.square().sum()
        loss.backward()
        loss.backward()
        assertClose(v.grad!, [4, 8], shape: [2], rtol: 0, atol: 0)
        v.gradNode!.zeroGrad()
        #expect(v.grad == nil)
        // A leaf reached along two paths in one pass gets the sum.
        let u = Tensor([1, 2]).requiringGrad()
        (u * 2 + u.square()).sum().backward()
        assertClose(u.grad!, [4, 6], shape: [2], rtol: 0, atol: 0)
        // A non-scalar output with an explicit seed.
        let s = Tensor([1, 2]).requiringGrad()
        (s * 3).backward(Tensor([1, -1]))
        assertClose(s.grad!, [3, -3], shape: [2], rtol: 0, atol: 0)
        // Intermediate (non-leaf) tensors accumulate nothing.
        let t = Tensor([1, 2]).requiringGrad()
        let mid = t * 2
        (mid * mid).sum().backward()
        #expect(mid.grad == nil)
        assertClose(t.grad!, [8, 16], shape: [2], rtol: 0, atol: 0)
    }

    @Test func deepChainDoesNotOverflowTheStack() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        do {
            var y = x
            for _ in 0..<10_000 { y = y + x }
            let g = Autodiff.gradients(of: y.sum(), withRespectTo: [x])[0]!
            assertClose(g, [10_001, 10_001, 10_001], shape: [3], rtol: 0, atol: 0)
            y.sum().backward()
            assertClose(x.grad!, [10_001, 10_001, 10_001], shape: [3], rtol: 0, atol: 0)
        }
        do {
            // A long unary chain: every node has exactly one input.
            var z = x
            for _ in 0..<10_000 { z = z + 1 }
            let g = Autodiff.gradients(of: z.sum(), withRespectTo: [x])[0]!
            assertClose(g, [1, 1, 1], shape: [3], rtol: 0, atol: 0)
            assertClose(z.detached(), [10_001, 10_002, 10_003], shape: [3], rtol: 0, atol: 0)
        }
        // Both tapes have been released here (deinitialising a 10,000-node chain).
        #expect(x.requiresGrad)
    }

    /// The checkers themselves must fail on a wrong derivative or a wrong value.
    @Test func checkersRejectWrongResults() {
        let x = randomTensor([2, 3], seed: 9)
        func square(_ t: Tensor, factor: Float) -> Tensor {
            Tensor.record("custom_square", result: withoutGrad { t * t }, inputs: [t]) { g in [g * t * factor] }
        }
        // The right derivative passes.
        checkGradients(of: { square($0[0], factor: 2) }, at: [x])
        // A wrong one (3x instead of 2x), or a missing one, is caught.
        withKnownIssue { checkGradients(of: { square($0[0], factor: 3) }, at: [x]) }
        withKnownIssue { checkGradients(of: { $0[0] * $0[0].detached() }, at: [x]) }
        // A wrong value is caught, and so is a wrong shape.
        withKnownIssue { assertClose(x, doubles(x).map { $0 + 1e-3 }) }
        withKnownIssue { assertClose(x, doubles(x), shape: [3, 2]) }
        assertClose(x, doubles(x), shape: [2, 3], rtol: 0, atol: 0)
    }
}
