import Foundation
import Testing
import UniRLTensor
@testable import UniRLCore

@Suite struct LearningTests {
    /// The toy token task's optimum is 1 (emit the target exactly); GRPO must reach ≥ 95% of it.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func discretePolicyReachesTheOptimum(seed: UInt64) async throws {
        let scenario = makeTokenScenario(seed: seed, prompts: 6, vocabulary: 6, length: 4)
        var config = tokenConfiguration(steps: 400, learningRate: 0.01)
        config.run.seed = Int(seed)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let before = try await trainer.evaluate(samplesPerPrompt: 64)
        var after = before
        while trainer.step < 400 {
            try await trainer.trainStep()
            if trainer.step % 10 == 0 {
                after = try await trainer.evaluate(samplesPerPrompt: 64)
                if after >= 0.97 { break }
            }
        }
        print("token task (seed \(seed)): mean reward \(before) → \(after) in \(trainer.step) steps (optimum 1)")
        #expect(before < 0.4)
        #expect(after >= 0.95)
    }
}
