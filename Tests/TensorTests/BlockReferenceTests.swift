import Foundation
import Testing
@testable import UniRLTensor

/// Forward outputs and every gradient of three blocks against PyTorch, from fixtures written by
/// scripts/make_tensor_fixtures.py (loss L = Σ(out·m)²/numel(out), m = attention mask).
@Suite struct BlockReferenceTests {
    struct Tolerances: Decodable { var rtol: Float; var atol: Float; var grad_rtol: Float? }

    struct Fixture {
        let directory: URL
        let tolerances: Tolerances
        let weights: SafeTensorsFile
        let inputs: SafeTensorsFile
        let outputs: SafeTensorsFile

        init(_ name: String) throws {
            let base = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            directory = base.appendingPathComponent(name)
            tolerances = try JSONDecoder().decode(Tolerances.self, from: Data(contentsOf: directory.appendingPathComponent("case.json")))
            weights = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
            inputs = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("inputs.safetensors"))
            outputs = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("outputs.safetensors"))
        }

        func config<C: Decodable>(_ type: C.Type) throws -> C {
            try JSONDecoder().decode(type, from: Data(contentsOf: directory.appendingPathComponent("config.json")))
        }

        /// Runs the block, compares output and gradients, and prints one line like the parity runner.
        func check(_ module: some Module, mask: Tensor?, _ forward: (Tensor) -> Tensor) throws {
            try module.load(from: weights)
            let x = try inputs.tensor(named: "hidden_states").requiringGrad()
            let out = forward(x)
            let m = mask.map { $0.reshaped($0.shape + [1]) }
            let masked = m.map { out * $0 } ?? out
            let loss = masked.square().sum() * (1 / Float(out.elementCount))
            loss.backward()
            let reference = try outputs.tensor(named: "output")
            let outputCheck = ReferenceComparison.checkOutput(out, reference, rtol: tolerances.rtol, atol: tolerances.atol, mask: m)
            var ours: [String: Tensor] = ["grad.hidden_states": x.grad ?? .zeros(x.shape)]
            for (name, p) in module.namedParameters() { ours["grad." + name] = p.grad }
            var refs: [String: Tensor] = [:]
            for name in outputs.names where name.hasPrefix("grad.") { refs[name] = try outputs.tensor(named: name) }
            let gradCheck = ReferenceComparison.checkGradients(ours, refs, gradRtol: tolerances.grad_rtol ?? 1e-3)
            print("\(directory.lastPathComponent): \(outputCheck.passed && gradCheck.failures.isEmpty ? "ok" : "FAIL") output \(outputCheck.relative) gradients \(gradCheck.worst) (\(gradCheck.worstName ?? "-"))")
            #expect(outputCheck.passed, "output differs by \(outputCheck.relative) of max|ref|")
            #expect(gradCheck.failures.isEmpty, "gradients differ: \(gradCheck.failures)")
            #expect(refs.count == module.namedParameters().count + 1, "fixture should hold a gradient for every parameter and the input")
        }
    }

    @Test func transformerBlockMatchesPyTorch() throws {
        let f = try Fixture("transformer_block")
        var rng = RandomState(seed: 0)
        let block = TransformerBlock(try f.config(TransformerBlockConfiguration.self), rng: &rng)
        let mask = try Tensor(shape: [2, 7], scalars: f.inputs.integers(named: "attention_mask").map(Float.init))
        try f.check(block, mask: mask) { block($0, attentionMask: mask) }
    }

    @Test func convBlockMatchesPyTorch() throws {
        let f = try Fixture("conv_block")
        var rng = RandomState(seed: 0)
        let block = ConvBlock(try f.config(ConvBlockConfiguration.self), rng: &rng)
        try f.check(block, mask: nil) { block($0) }
    }

    @Test func linearAttentionMatchesPyTorch() throws {
        struct Config: Decodable { var hidden_size: Int; var num_heads: Int; var eps: Float? }
        let f = try Fixture("linear_attention")
        let c = try f.config(Config.self)
        var rng = RandomState(seed: 0)
        let block = LinearAttentionBlock(hidden: c.hidden_size, heads: c.num_heads, eps: c.eps ?? 1e-15, rng: &rng)
        try f.check(block, mask: nil) { block($0) }
    }

    @Test func afewAdamWStepsLowerTheLoss() throws {
        let f = try Fixture("transformer_block")
        var rng = RandomState(seed: 0)
        let block = TransformerBlock(try f.config(TransformerBlockConfiguration.self), rng: &rng)
        try block.load(from: f.weights)
        let x = try f.inputs.tensor(named: "hidden_states")
        let target = Tensor.randomNormal(x.shape, using: &rng)
        let optimizer = AdamW(parameters: block.trainableParameters(), learningRate: 1e-2, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<5 {
            block.zeroGrad()
            let loss = (block(x) - target).square().mean()
            losses.append(loss.item)
            loss.backward()
            optimizer.step()
        }
        #expect(losses.last! < losses.first! * 0.9, "losses \(losses)")
    }
}
