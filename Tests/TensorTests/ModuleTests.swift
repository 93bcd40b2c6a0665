import Foundation
import Testing
import UniRLTestSupport
@testable import UniRLTensor

@Suite struct ModuleTests {
    @Test func loadingRoundTripsThroughSafetensors() throws {
        var rng = RandomState(seed: 0)
        let a = ConvBlock(.init(inChannels: 4, midChannels: 8, groups: 2), rng: &rng)
        let b = ConvBlock(.init(inChannels: 4, midChannels: 8, groups: 2), rng: &rng)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(a.stateDict(), to: url)
        let report = try b.load(from: SafeTensorsFile(contentsOf: url))
        #expect(report.isClean)
        for ((n1, p1), (n2, p2)) in zip(a.namedParameters(), b.namedParameters()) {
            #expect(n1 == n2)
            #expect(p1.value.scalars == p2.value.scalars)
        }
    }

    @Test func strictLoadingNamesMissingAndUnexpectedTensors() throws {
        var rng = RandomState(seed: 0)
        let layer = Linear(inputSize: 2, outputSize: 3, rng: &rng)
        let before = layer.weight.value.scalars
        let source: [String: Tensor] = ["weight": .ones([3, 2]), "extra.weight": .ones([1])]
        do {
            try layer.load(from: source)
            Issue.record("strict loading should fail")
        } catch let ModuleLoadError.incompatible(report) {
            #expect(report.missing == ["bias"])
            #expect(report.unexpected == ["extra.weight"])
            #expect("\(ModuleLoadError.incompatible(report))".contains("bias"))
        }
        // Nothing was written by the failed load.
        #expect(layer.weight.value.scalars == before)
        let report = try layer.load(from: source, strict: false)
        #expect(report.loaded == ["weight"])
        #expect(layer.weight.value.scalars == [Float](repeating: 1, count: 6))
    }

    @Test func misShapedTensorsAreRefusedInEveryMode() {
        var rng = RandomState(seed: 0)
        let layer = Linear(inputSize: 2, outputSize: 3, rng: &rng)
        let source: [String: Tensor] = ["weight": .ones([2, 3]), "bias": .ones([3])]
        for strict in [true, false] {
            do {
                try layer.load(from: source, strict: strict)
                Issue.record("mis-shaped tensors must be refused")
            } catch let ModuleLoadError.shapeMismatch(report) {
                #expect(report.mismatched.first?.name == "weight")
                #expect(report.mismatched.first?.found == [2, 3])
            } catch { Issue.record("unexpected error \(error)") }
        }
    }

    @Test func renamingMapsCheckpointLayouts() throws {
        var rng = RandomState(seed: 0)
        let layer = Linear(inputSize: 2, outputSize: 1, rng: &rng)
        let source: [String: Tensor] = ["model.proj.weight": .ones([1, 2]), "model.proj.bias": .zeros([1]), "lm_head.weight": .ones([1])]
        try layer.load(from: source) { $0.hasPrefix("model.proj.") ? String($0.dropFirst("model.proj.".count)) : nil }
        #expect(layer.bias!.value.scalars == [0])
    }
}

@Suite struct RandomStateTests {
    @Test func sameSeedSameNumbersAndStateRoundTrips() throws {
        var a = RandomState(seed: 42), b = RandomState(seed: 42)
        _ = a.nextNormal()  // leaves a spare normal in the state
        _ = b.nextNormal()
        let saved = try JSONEncoder().encode(a)
        let x = Tensor.randomNormal([100], using: &a).scalars
        var restored = try JSONDecoder().decode(RandomState.self, from: saved)
        #expect(Tensor.randomNormal([100], using: &restored).scalars == x)
        #expect(Tensor.randomNormal([100], using: &b).scalars == x)
        var c = RandomState(seed: 43)
        #expect(Tensor.randomNormal([100], using: &c).scalars != x)
    }

    @Test func normalAndUniformMoments() {
        var rng = RandomState(seed: 7)
        let n = Tensor.randomNormal([20_000], mean: 1, std: 2, using: &rng)
        #expect(Swift.abs(n.mean().item - 1) < 0.05)
        #expect(Swift.abs(n.variance().item.squareRoot() - 2) < 0.05)
        let u = Tensor.randomUniform([20_000], low: -1, high: 3, using: &rng)
        #expect(Swift.abs(u.mean().item - 1) < 0.05)
        #expect(u.scalars.allSatisfy { $0 >= -1 && $0 < 3 })
    }

    /// Kernels split work by size only, so a training step is bit-identical across runs.
    @Test func trainingStepsAreReproducible() {
        func train() -> [Float] {
            var rng = RandomState(seed: 3)
            let block = ConvBlock(.init(inChannels: 4, midChannels: 8, groups: 2), rng: &rng)
            let optimizer = AdamW(parameters: block.trainableParameters(), learningRate: 1e-2)
            let x = Tensor.randomNormal([2, 4, 8, 8], using: &rng)
            for _ in 0..<3 {
                block.zeroGrad()
                block(x).square().mean().backward()
                optimizer.step()
            }
            return block.namedParameters().flatMap { $0.parameter.value.scalars }
        }
        #expect(train() == train())
    }
}
