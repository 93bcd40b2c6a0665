import Testing
import UniRLTensor

/// The optimizers refuse the hyperparameters PyTorch refuses.
@Suite struct OptimizerHyperparameterTests {
    @Test func adamWRanges() throws {
        func refused(_ b1: Float = 0.9, _ b2: Float = 0.999, eps: Float = 1e-8, wd: Float = 0, lr: Float = 1e-3) -> String? {
            do {
                try AdamW.checkHyperparameters(learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd)
                return nil
            } catch { return "\(error)" }
        }
        #expect(refused() == nil)
        #expect(refused(0, 0) == nil)
        #expect(refused(1) == "invalid beta1 1.0: must be in [0, 1)")
        #expect(refused(-0.1) == "invalid beta1 -0.1: must be in [0, 1)")
        #expect(refused(0.9, 1) == "invalid beta2 1.0: must be in [0, 1)")
        #expect(refused(eps: 0) == "invalid epsilon 0.0: must be > 0 and finite")
        #expect(refused(wd: -0.01) == "invalid weight decay -0.01: must be ≥ 0 and finite")
        #expect(refused(lr: .nan) != nil)
        let p = Parameter(Tensor.zeros([2]))
        #expect(throws: InvalidHyperparameter.self) { try AdamW.checked(parameters: [("p", p)], beta2: 1.5) }
        #expect(try AdamW.checked(parameters: [("p", p)]).beta1 == 0.9)
    }

    @Test func sgdRanges() {
        #expect(throws: InvalidHyperparameter.self) { try SGD.checkHyperparameters(learningRate: 0.1, momentum: -1, weightDecay: 0) }
        #expect(throws: Never.self) { try SGD.checkHyperparameters(learningRate: 0.1, momentum: 0.9, weightDecay: 0) }
    }
}
