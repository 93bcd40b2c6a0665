import Foundation
import Testing
@testable import UniRLTensor

@Suite struct FastMathTests {
    /// Within 2 ulp (relative 2.4e-7) of the double-precision result over the whole range.
    @Test func expMatchesLibmToTwoULP() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let exact = Foundation.exp(Double(x))
            worst = Swift.max(worst, Swift.abs(Double(FastMath.exp(x)) - exact) / exact)
            x += 0.0137
        }
        #expect(worst < 2.4e-7, "worst relative error \(worst)")
    }

    @Test func expSaturatesAndUnderflows() {
        #expect(FastMath.exp(-.infinity) == 0)
        #expect(FastMath.exp(-100) == 0)
        #expect(FastMath.exp(0) == 1)
        #expect(FastMath.exp(1000).isFinite)
        #expect(FastMath.sigmoid(-1000) == 0 || FastMath.sigmoid(-1000) < 1e-37)
        #expect(FastMath.sigmoid(1000) == 1)
    }
}
