import Foundation
import Testing
import UniRLCore
import UniRLRewards
import UniRLScenarios
import UniRLTensor

/// The slow learning check of the paper's sanity experiment: a short GRPO run on the shipped tiny
/// SANA moves the JPEG size the way each reward asks. Off by default; run it with
///
///     UNIRL_SLOW_TESTS=1 swift test -c release --filter JPEGLearning
///
/// (the two runs take about 1.5 minutes together on two cores, after the release build). The full
/// runs are `unirl train --scenario jpeg-compressibility` and `--scenario jpeg-incompressibility`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["UNIRL_SLOW_TESTS"] == "1"))
struct JPEGLearningTests {
    func train(_ reward: any RewardFunction<RGBImage>, steps: Int) async throws -> [Double] {
        let scenario = TextToImageScenario(models: try TinySana.load(), reward: reward)
        var configuration = GRPOConfiguration().addingDefaults(for: [("dm", .sde)])
        configuration.run.steps = steps
        configuration.trainer.promptsPerStep = 4
        configuration.trainer.groupSize = 8
        configuration.trainer.gradientAccumulation = 4
        configuration.experts["dm"]?.learningRate = 3e-4
        configuration.experts["dm"]?.beta = 0
        let trainer = try GRPOTrainer(scenario: scenario, configuration: configuration)
        var rewards: [Double] = []
        for _ in 0..<steps { rewards.append(try await trainer.trainStep().metrics["reward"] ?? .nan) }
        return rewards
    }

    @Test(arguments: [true, false])
    func jpegRewardRisesOverAShortRun(compress: Bool) async throws {
        let reward: any RewardFunction<RGBImage> = compress ? JPEGCompressibilityReward() : JPEGIncompressibilityReward()
        let rewards = try await train(reward, steps: 24)
        let early = rewards.prefix(6).reduce(0, +) / 6, late = rewards.suffix(6).reduce(0, +) / 6
        print("\(reward.name): reward \(early) → \(late)")
        #expect(late > early)
    }
}
