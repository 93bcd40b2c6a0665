import Foundation
import Testing
import UniRLTensor
import UniRLToys

@testable import UniRLCore

/// The moving average of the trained weights against a float64 recurrence, its use in evaluation
/// and its round trip through a checkpoint.
@Suite struct EMATests {
    @Test func movingAverageFollowsTheRecurrenceAndSurvivesACheckpoint() async throws {
        let scenario = makeTokenScenario()
        var config = tokenConfiguration(learningRate: 0.05)
        config.trainer.emaDecay = 0.75
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        var expected = weights(scenario.policy).mapValues { $0.map(Double.init) }
        for _ in 0..<3 {
            try await trainer.trainStep()
            for (name, now) in weights(scenario.policy) {
                expected[name] = zip(expected[name]!, now).map { 0.75 * $0 + 0.25 * Double($1) }
            }
        }
        let live = weights(scenario.policy)
        let averaged = trainer.withEMAWeights { weights(scenario.policy) }
        for (name, value) in averaged { assertClose(value, expected[name]!, tolerance: 1e-6) }
        #expect(weights(scenario.policy) == live)  // swapped back
        #expect(averaged != live)

        // A checkpoint keeps the average; a restored trainer evaluates with it.
        let checkpoint = trainer.checkpoint()
        #expect(checkpoint.weights.keys.contains { $0.hasPrefix("ema.lm.") })
        let other = makeTokenScenario()
        let restored = try GRPOTrainer(scenario: other, configuration: config)
        try restored.restore(checkpoint)
        #expect(restored.withEMAWeights { weights(other.policy) } == averaged)
        let a = try await trainer.evaluate(samplesPerPrompt: 16), b = try await restored.evaluate(samplesPerPrompt: 16)
        #expect(a == b)
    }
}
