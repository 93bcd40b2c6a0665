import Foundation
import Testing
@testable import UniRLTensor

/// pixelShuffle, pixelUnshuffle and nearest-neighbour upsampling.
@Suite struct OpsResamplingTests {
    @Test(arguments: [2, 3])
    func pixelShuffleIndexFormula(r: Int) {
        let (n, c, h, w) = (2, 2, 2, 3)
        let x = randomTensor([n, c * r * r, h, w], seed: 1)
        let xd = doubles(x)
        // out[n, c, h·r+i, w·r+j] = x[n, c·r²+i·r+j, h, w]
        let outShape = [n, c, h * r, w * r]
        let expected = (0..<Ref.count(outShape)).map { f -> Double in
            let o = Ref.index(f, outShape)
            let (i, j) = (o[2] % r, o[3] % r)
            return xd[Ref.flat([o[0], o[1] * r * r + i * r + j, o[2] / r, o[3] / r], x.shape)]
        }
        let y = x.pixelShuffle(r)
        assertClose(y, expected, shape: outShape, rtol: 0, atol: 0)
        assertClose(y.pixelUnshuffle(r), x, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].pixelShuffle(r) }, at: [x])
    }

    @Test(arguments: [2, 3])
    func pixelUnshuffleIndexFormula(r: Int) {
        let (n, c, h, w) = (1, 2, 2, 2)
        let x = randomTensor([n, c, h * r, w * r], seed: 2)
        let xd = doubles(x)
        let outShape = [n, c * r * r, h, w]
        // out[n, c·r²+i·r+j, h, w] = x[n, c, h·r+i, w·r+j]
        let expected = (0..<Ref.count(outShape)).map { f -> Double in
            let o = Ref.index(f, outShape)
            let (ch, i, j) = (o[1] / (r * r), (o[1] % (r * r)) / r, o[1] % r)
            return xd[Ref.flat([o[0], ch, o[2] * r + i, o[3] * r + j], x.shape)]
        }
        let y = x.pixelUnshuffle(r)
        assertClose(y, expected, shape: outShape, rtol: 0, atol: 0)
        assertClose(y.pixelShuffle(r), x, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].pixelUnshuffle(r) }, at: [x])
    }

    @Test(arguments: [1, 2, 3])
    func upsampledNearest(factor: Int) {
        let x = randomTensor([2, 2, 2, 3], seed: 3)
        let xd = doubles(x)
        let outShape = [2, 2, 2 * factor, 3 * factor]
        let expected = (0..<Ref.count(outShape)).map { f -> Double in
            let o = Ref.index(f, outShape)
            return xd[Ref.flat([o[0], o[1], o[2] / factor, o[3] / factor], x.shape)]
        }
        assertClose(x.upsampledNearest(factor), expected, shape: outShape, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].upsampledNearest(factor) * $0[0].upsampledNearest(factor) }, at: [x])
    }

    /// Enough planes for the direct kernels to split across threads; the backward of each is the
    /// other's forward (a permutation), and upsampling's backward sums each block.
    @Test func largeResamplingMatchesIndexFormulas() {
        let r = 2
        let x = randomTensor([2, 64, 32, 32], seed: 4)
        let xd = doubles(x)
        let lx = x.requiringGrad()
        let y = lx.pixelShuffle(r)
        let outShape = [2, 16, 64, 64]
        #expect(y.shape == outShape)
        let yv = y.scalars
        var mismatches = 0
        for f in 0..<Ref.count(outShape) {
            let o = Ref.index(f, outShape)
            let src = Ref.flat([o[0], o[1] * r * r + (o[2] % r) * r + o[3] % r, o[2] / r, o[3] / r], x.shape)
            if Double(yv[f]) != xd[src] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        let g = randomTensor(outShape, seed: 5)
        let dx = Autodiff.gradients(of: y, withRespectTo: [lx], seed: g)[0]!
        assertClose(dx, g.pixelUnshuffle(r), rtol: 0, atol: 0)
        assertClose(y.pixelUnshuffle(r), x, rtol: 0, atol: 0)

        let u = randomTensor([4, 32, 32, 32], seed: 6)
        let lu = u.requiringGrad()
        let up = lu.upsampledNearest(2)
        let gu = randomTensor(up.shape, seed: 7)
        let du = Autodiff.gradients(of: up, withRespectTo: [lu], seed: gu)[0]!
        let gd = doubles(gu), ud = doubles(u), upv = up.scalars
        var expected = [Double](repeating: 0, count: u.elementCount)
        mismatches = 0
        for f in 0..<gd.count {
            let o = Ref.index(f, up.shape)
            let src = Ref.flat([o[0], o[1], o[2] / 2, o[3] / 2], u.shape)
            expected[src] += gd[f]
            if Double(upv[f]) != ud[src] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        assertClose(du, expected, shape: u.shape, rtol: 1e-6)
    }
}
