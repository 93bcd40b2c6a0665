import Foundation
import Testing
import UniRLTensor

@testable import UniRLExperts

/// SANA's ReLU linear self-attention (``SanaAttention`` with the `reluLinear` processor, as `attn1`
/// without q/k norm) against PyTorch, forward and every gradient. The fixture names the output
/// projection `to_out` (a bare Linear); SANA's is diffusers' `to_out.0`.
@Suite struct SanaBlockReferenceTests {
    @Test func linearAttentionMatchesPyTorch() throws {
        struct Config: Decodable { var hidden_size: Int; var num_heads: Int; var eps: Float? }
        let f = try ExpertBlockFixtures.fixture("linear_attention")
        let c = try f.config(Config.self)
        #expect(c.eps ?? 1e-15 == 1e-15, "SANA's linear attention uses ε = 1e-15")
        let vb = ParameterBuilder.loading(f.weights) { $0.replacingOccurrences(of: "to_out.", with: "to_out.0.") }
        let block = try vb.build {
            SanaAttention(processor: .reluLinear, width: c.hidden_size, heads: c.num_heads, headDim: c.hidden_size / c.num_heads,
                          bias: false, qkNorm: false, $0)
        }
        let fixtureName = { (name: String) in name.replacingOccurrences(of: "to_out.0.", with: "to_out.") }
        let r = try f.check(block, mask: nil, gradientName: fixtureName, { block($0) })
        ExpertBlockFixtures.expectPassed(r)
    }
}
