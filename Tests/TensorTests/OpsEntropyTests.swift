import Foundation
import Testing

@testable import UniRLTensor

/// `entropyOfLogProbabilities(rows:)`: values against float64, gradient against central differences.
@Suite struct OpsEntropyTests {
    @Test func entropyOfSelectedRows() {
        let x = randomTensor([2, 3, 5], seed: 90, low: -2, high: 2)
        let lp = x.logSoftmax(axis: -1)
        let rows = [4, 0, 4, 2]  // a repeated row, and rows out of order
        let ld = doubles(lp)
        let want = rows.map { r in -(0..<5).map { Foundation.exp(ld[r * 5 + $0]) * ld[r * 5 + $0] }.reduce(0, +) }
        assertClose(lp.entropyOfLogProbabilities(rows: rows), want, shape: [4], rtol: 1e-5, atol: 1e-6)
        // Through the log-softmax, as the language policy uses it, and on raw inputs.
        checkGradients(of: { $0[0].logSoftmax(axis: -1).entropyOfLogProbabilities(rows: rows) }, at: [x])
        checkGradients(of: { $0[0].entropyOfLogProbabilities(rows: rows) }, at: [x])
    }

    @Test func zeroProbabilityEntriesContributeNothing() {
        let lp = Tensor(shape: [1, 3], scalars: [-Float.infinity, Foundation.log(0.25), Foundation.log(0.75)])
        let h = lp.entropyOfLogProbabilities(rows: [0]).item
        #expect(abs(Double(h) - -(0.25 * Foundation.log(0.25) + 0.75 * Foundation.log(0.75))) < 1e-6)
        let x = lp.requiringGrad()
        let g = Autodiff.gradients(of: x.entropyOfLogProbabilities(rows: [0]).sum(), withRespectTo: [x])[0]!.scalars
        #expect(g[0] == 0 && g.allSatisfy(\.isFinite))
        // dH/dl = −p·(l + 1).
        #expect(abs(Double(g[1]) - -0.25 * (Foundation.log(0.25) + 1)) < 1e-6)
    }
}
