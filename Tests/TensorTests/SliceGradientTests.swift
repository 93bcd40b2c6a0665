import Testing
@testable import UniRLTensor

/// Slices add their gradient into the input's gradient buffer in place (GradNode.sliceRegion);
/// these check that the in-place path gives the padded rule's numbers and never writes into a
/// gradient that something else still holds.
@Suite struct SliceGradientTests {
    /// The gradient of Σ_k w_k · sum(x[slice_k]²) written out by hand.
    @Test func manyOverlappingSlicesAccumulate() {
        let x = randomTensor([5, 7, 3], seed: 3).requiringGrad()
        let ranges: [(Int, Range<Int>)] = [(1, 0..<2), (1, 1..<6), (0, 2..<5), (2, 1..<3), (1, 0..<7), (1, 4..<5)]
        var loss = Tensor(0)
        for (k, (axis, range)) in ranges.enumerated() {
            loss = loss + x.slice(axis: axis, range).square().sum() * Tensor(Float(k + 1))
        }
        loss.backward()
        let xs = x.scalars
        var expected = [Double](repeating: 0, count: xs.count)
        for (k, (axis, range)) in ranges.enumerated() {
            for i in 0..<xs.count {
                let index = [i / 21, (i / 3) % 7, i % 3]
                if range.contains(index[axis]) { expected[i] += 2 * Double(xs[i]) * Double(k + 1) }
            }
        }
        assertClose(x.grad!, expected, shape: [5, 7, 3], rtol: 1e-6, atol: 1e-6)
    }

    /// A tensor used whole and through slices, where the whole use's gradient is the seed-like
    /// tensor the pullback of `+` hands to both inputs: the slice must copy it before adding.
    @Test func sharedGradientIsNotWrittenInPlace() {
        let x = randomTensor([4, 6], seed: 5).requiringGrad()
        let y = x * Tensor(2)           // y's gradient reaches x scaled (a fresh tensor)
        let z = y + y                   // `+` hands the same gradient tensor to both uses of y
        let parts = (0..<3).map { y.slice(axis: 1, (2 * $0)..<(2 * $0 + 2)).sum() }
        let loss = z.sum() + parts.reduce(Tensor(0), +)
        let seed = Tensor.ones(like: loss)
        let grads = Autodiff.gradients(of: loss, withRespectTo: [x], seed: seed)
        // dL/dy = 2 (from z) + 1 (from the slices, which cover every column); dL/dx = 2·dL/dy.
        assertClose(grads[0]!, [Double](repeating: 6, count: 24), shape: [4, 6], rtol: 0, atol: 1e-6)
        #expect(seed.scalars == [1])
    }

    /// Finite differences through slices of a slice, on an inner axis.
    @Test func nestedSlicesMatchFiniteDifferences() {
        let x = randomTensor([3, 8, 2], seed: 9)
        checkGradients(of: { t in
            let a = t[0].slice(axis: 1, 1..<7)
            return Tensor.concatenate([a.slice(axis: 1, 0..<2) * a.slice(axis: 1, 4..<6), a.slice(axis: 1, 2..<4)], axis: 1)
        }, at: [x])
    }
}
