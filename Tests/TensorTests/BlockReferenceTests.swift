import Foundation
import Testing
import UniRLTestSupport

@testable import UniRLTensor

/// Forward output and every gradient of the conv block (every image op of the engine) against
/// PyTorch, from the fixture written by scripts/make_tensor_fixtures.py. The transformer block and
/// SANA's linear attention live with their experts (ExpertsTests, `QwenBlockReferenceTests`,
/// `SanaBlockReferenceTests`).
@Suite struct BlockReferenceTests {
    @Test func convBlockMatchesPyTorch() throws {
        let base = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let f = try BlockFixture(base.appendingPathComponent("conv_block"))
        var rng = RandomState(seed: 0)
        let block = ConvBlock(try f.config(ConvBlockConfiguration.self), rng: &rng)
        try block.load(from: f.weights)
        let r = try f.check(block, mask: nil) { block($0) }
        print(r.summary)
        #expect(r.outputPassed, "output differs by \(r.outputRelative) of max|ref|")
        #expect(r.gradientFailures.isEmpty, "gradients differ: \(r.gradientFailures)")
        #expect(r.referenceGradients == r.expectedGradients, "fixture should hold a gradient for every parameter and the input")
    }
}
