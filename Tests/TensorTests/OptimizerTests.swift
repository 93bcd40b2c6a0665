import Testing
@testable import UniRLTensor

/// Optimizer numerics against values printed by PyTorch 2.x for the same parameters and gradients
/// (torch.optim.AdamW(lr=0.1, weight_decay=0.01), torch.optim.SGD(lr=0.1, momentum=0.9,
/// weight_decay=0.01), torch.nn.utils.clip_grad_norm_).
@Suite struct OptimizerTests {
    static let gradients: [[Float]] = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.0, 0.2]]

    func run(_ make: ([(name: String, parameter: Parameter)]) -> any Optimizer, steps: ArraySlice<[Float]> = gradients[...],
             start: Tensor = Tensor([0.5, -1.0, 2.0])) -> (Parameter, any Optimizer) {
        let p = Parameter(start)
        let optimizer = make([("w", p)])
        for g in steps {
            p.zeroGrad()
            p.accumulateGrad(Tensor(g))
            optimizer.step()
        }
        return (p, optimizer)
    }

    @Test func adamWMatchesPyTorch() {
        let (p, _) = run { AdamW(parameters: $0, learningRate: 0.1, weightDecay: 0.01) }
        let expected: [Float] = [0.34029901027679443, -0.9620765447616577, 1.7939153909683228]
        for (a, b) in zip(p.value.scalars, expected) { #expect(Swift.abs(a - b) < 1e-6) }
    }

    @Test func sgdWithMomentumMatchesPyTorch() {
        let (p, _) = run { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01) }
        let expected: [Float] = [0.49064040184020996, -1.0162307024002075, 1.9065935611724854]
        for (a, b) in zip(p.value.scalars, expected) { #expect(Swift.abs(a - b) < 1e-6) }
    }

    @Test func clippingMatchesPyTorch() {
        let p = Parameter(Tensor([3, 4])), q = Parameter(Tensor([12]))
        p.accumulateGrad(Tensor([3, 4])); q.accumulateGrad(Tensor([12]))
        let norm = clipGradientNorm([p, q], maxNorm: 1)
        #expect(norm == 13)
        #expect(Swift.abs(p.grad!.scalars[0] - 0.23076921701431274) < 1e-7)
        #expect(Swift.abs(q.grad!.scalars[0] - 0.923076868057251) < 1e-7)
    }

    @Test func nonFiniteGradientIsReportedAndNotScaled() {
        let p = Parameter(Tensor([1, 2]))
        p.accumulateGrad(Tensor([.nan, 1]))
        #expect(clipGradientNorm([p], maxNorm: 1).isNaN)
        #expect(p.grad!.scalars[1] == 1)
    }

    /// Saving after two steps and continuing in a fresh optimizer gives the same bits as three steps.
    @Test(arguments: ["adamw", "sgd"])
    func stateRoundTripContinuesExactly(kind: String) throws {
        func make(_ ps: [(name: String, parameter: Parameter)]) -> any Optimizer {
            kind == "adamw" ? AdamW(parameters: ps, learningRate: 0.1, weightDecay: 0.01)
                            : SGD(parameters: ps, learningRate: 0.1, momentum: 0.9)
        }
        let (full, _) = run(make)
        let (half, first) = run(make, steps: Self.gradients[0..<2])
        let resumedParameter = Parameter(half.value)
        let resumed = make([("w", resumedParameter)])
        try resumed.load(first.state())
        #expect(resumed.stepCount == 2)
        resumedParameter.accumulateGrad(Tensor(Self.gradients[2]))
        resumed.step()
        #expect(resumedParameter.value.scalars == full.value.scalars)
    }

    @Test func loadingMismatchedStateThrows() {
        let p = Parameter(Tensor([1, 2, 3]))
        let optimizer = AdamW(parameters: [("w", p)])
        let bad = OptimizerState(stepCount: 1, buffers: ["exp_avg.w": .zeros([2]), "exp_avg_sq.w": .zeros([2])])
        #expect(throws: OptimizerError.self) { try optimizer.load(bad) }
        let unknown = OptimizerState(stepCount: 1, buffers: ["exp_avg.other": .zeros([3])])
        #expect(throws: OptimizerError.self) { try optimizer.load(unknown) }
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant.rate(base: 2, step: 50) == 2)
        #expect(LearningRateSchedule.warmup(warmupSteps: 4).rate(base: 1, step: 0) == 0.25)
        #expect(LearningRateSchedule.warmup(warmupSteps: 4).rate(base: 1, step: 9) == 1)
        let cosine = LearningRateSchedule.cosine(warmupSteps: 0, totalSteps: 10, minimumRatio: 0.1)
        #expect(Swift.abs(cosine.rate(base: 1, step: 0) - 1) < 1e-6)
        #expect(Swift.abs(cosine.rate(base: 1, step: 5) - 0.55) < 1e-6)
        #expect(Swift.abs(cosine.rate(base: 1, step: 10) - 0.1) < 1e-6)
    }

    @Test func frozenParametersAreNotUpdated() {
        var rng = RandomState(seed: 1)
        let layer = Linear(inputSize: 3, outputSize: 2, rng: &rng)
        layer.bias!.isTrainable = false
        let before = layer.bias!.value.scalars
        let optimizer = AdamW(parameters: layer.namedParameters())
        layer(Tensor.ones([4, 3])).sum().backward()
        #expect(layer.bias!.grad == nil)
        optimizer.step()
        #expect(layer.bias!.value.scalars == before)
        #expect(layer.parameterCount(trainableOnly: true) == 6)
    }
}
