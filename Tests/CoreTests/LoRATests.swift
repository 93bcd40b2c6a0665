import Foundation
import Testing
import UniRLTensor
import UniRLToys

@testable import UniRLCore

/// LoRA on the engine's Linear: the forward pass and gradients against float64 formulas, names,
/// freezing, merging for export, the adapter-free reference, and GRPO training through adapters.
@Suite struct LoRATests {
    @Test func forwardAndGradientsMatchFloat64() throws {
        var rng = RandomState(seed: 11)
        let layer = Linear(inputSize: 3, outputSize: 2, rng: &rng)
        let adapter = LoRAAdapter(inputSize: 3, outputSize: 2, rank: 2, alpha: 3, rng: &rng)
        adapter.up.weight.assign(.randomNormal([2, 2], using: &rng))
        layer.adapter = adapter
        let x = Tensor(shape: [2, 3], scalars: [0.5, -1, 2, 1.5, 0.25, -0.75])
        let y = layer(x)
        let (w, b) = (layer.weight.value.scalars.map(Double.init), layer.bias!.value.scalars.map(Double.init))
        let (a, bUp) = (adapter.down.weight.value.scalars.map(Double.init), adapter.up.weight.value.scalars.map(Double.init))
        let xs = x.scalars.map(Double.init), scale = 1.5
        var expected: [Double] = []
        var gradA = [Double](repeating: 0, count: 6), gradB = [Double](repeating: 0, count: 4)
        for n in 0..<2 {
            let ax = (0..<2).map { k in (0..<3).reduce(0.0) { $0 + a[k * 3 + $1] * xs[n * 3 + $1] } }
            for o in 0..<2 {
                let base = (0..<3).reduce(b[o]) { $0 + w[o * 3 + $1] * xs[n * 3 + $1] }
                expected.append(base + scale * (0..<2).reduce(0.0) { $0 + bUp[o * 2 + $1] * ax[$1] })
                // L = Σ y: ∂L/∂B[o,k] = s·(A x)_k, ∂L/∂A[k,i] = s·B[o,k]·x_i.
                for k in 0..<2 {
                    gradB[o * 2 + k] += scale * ax[k]
                    for i in 0..<3 { gradA[k * 3 + i] += scale * bUp[o * 2 + k] * xs[n * 3 + i] }
                }
            }
        }
        assertClose(y.scalars, expected)
        let g = Autodiff.gradients(of: y.sum(), withRespectTo: [adapter.down.weight.value, adapter.up.weight.value])
        assertClose(g[0]!.scalars, gradA)
        assertClose(g[1]!.scalars, gradB)
    }

    @Test func attachNamesFreezesMergesAndDisables() throws {
        var rng = RandomState(seed: 5)
        let mlp = ToyMLP(sizes: [4, 6, 3], rng: &rng)
        let x = Tensor.randomNormal([5, 4], using: &rng)
        let before = mlp(x).scalars
        #expect(throws: LoRA.AttachError.noMatch(targets: ["q_proj"])) {
            try LoRA.attach(to: mlp, targets: ["q_proj"], rank: 2, alpha: 4, rng: &rng)
        }
        let adapted = try LoRA.attach(to: mlp, targets: ["layers.1"], rank: 2, alpha: 4, rng: &rng)
        #expect(adapted == ["layers.1"])
        #expect(mlp.trainableParameters().map(\.name) == ["layers.1.lora_A.weight", "layers.1.lora_B.weight"])
        #expect(mlp(x).scalars == before)  // B = 0: the adapted model is the base model
        let adapter = mlp.layers[1].adapter!
        adapter.up.weight.assign(.randomNormal([3, 2], using: &rng))
        let trained = mlp(x).scalars
        #expect(trained != before)
        #expect(LoRA.withAdaptersDisabled(mlp) { mlp(x).scalars } == before)
        #expect(mlp(x).scalars == trained)
        #expect(LoRA.merge(mlp) == ["layers.1"])
        #expect(mlp.namedParameters().map(\.name) == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"])
        assertClose(mlp(x).scalars, trained.map(Double.init), tolerance: 1e-5)
        #expect(LoRA.matches("model.layers.0.self_attn.q_proj", target: "q_proj"))
        #expect(LoRA.matches("model.layers.0.self_attn.q_proj", target: "model.*.q_proj"))
        #expect(!LoRA.matches("model.layers.0.self_attn.q_proj", target: "proj"))
    }

    /// GRPO through adapters only: the base weights stay, the adapters move, and the toy learns.
    @Test func tokenToyLearnsThroughAdapters() async throws {
        let scenario = makeTokenScenario()
        let base = weights(scenario.policy)
        var config = try tokenConfiguration(steps: 40, learningRate: 0.03).applying(overrides: [
            "experts.lm.lora_rank=4", "experts.lm.lora_alpha=8", "experts.lm.beta=0.01",
        ])
        config.experts["lm"]!.loraTargetModules = []
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        #expect(trainer.trainable[0].parameters.allSatisfy { $0.name.contains("lora_") })
        let before = try await trainer.evaluate(samplesPerPrompt: 32)
        for _ in 0..<40 { try await trainer.trainStep() }
        let after = try await trainer.evaluate(samplesPerPrompt: 32)
        print("token toy with LoRA r=4: reward \(before) → \(after)")
        #expect(after > before + 0.25)
        let now = weights(scenario.policy)
        for (name, value) in base { #expect(now[name] == value, "\(name) moved") }
        #expect(now.keys.contains { $0.hasSuffix("lora_B.weight") && now[$0]!.contains { $0 != 0 } })
    }
}
