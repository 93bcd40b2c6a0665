import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// A tiny flow-matching model of 2-D points (pre-trained on four blobs) learns, through its SDE
/// sampler, to land in the region around the first blob; a larger β keeps it closer to the
/// reference.
@Suite struct FlowLearningTests {
    func train(beta: Float, steps: Int = 60) async throws -> (policy: ToyFlowPolicy, rewards: [Double], kl: [Double]) {
        let policy = pretrainedFlowPolicy()
        let trainer = try GRPOTrainer(scenario: ToyFlowScenario(policy: policy),
                                      configuration: flowConfiguration(steps: steps, beta: beta, learningRate: 3e-3))
        var rewards: [Double] = [], kl: [Double] = []
        for _ in 0..<steps {
            let r = try await trainer.trainStep()
            rewards.append(r.metrics["reward"] ?? .nan)
            kl.append(r.metrics["kl"] ?? 0)
        }
        return (policy, rewards, kl)
    }

    func meanDistance(_ a: [ToyPoint], _ b: [ToyPoint]) -> Float {
        zip(a, b).map { (($0.x - $1.x) * ($0.x - $1.x) + ($0.y - $1.y) * ($0.y - $1.y)).squareRoot() }.reduce(0, +) / Float(a.count)
    }

    @Test func sdePolicyMovesIntoTheRegionAndBetaKeepsItNearTheReference() async throws {
        let reference = try flowSamples(pretrainedFlowPolicy())
        let center = ToyFlowData.centers[0]
        let centerPoints = Array(repeating: center, count: reference.count)
        let free = try await train(beta: 0)
        let anchored = try await train(beta: 1)
        let freeSamples = try flowSamples(free.policy), anchoredSamples = try flowSamples(anchored.policy)

        let early = free.rewards.prefix(10).reduce(0, +) / 10, late = free.rewards.suffix(10).reduce(0, +) / 10
        print("flow: reward (batch mean) \(early) → \(late)")
        print("flow: fraction in region \(fractionInRegion(reference)) → β=0: \(fractionInRegion(freeSamples)), "
              + "β=1: \(fractionInRegion(anchoredSamples))")
        print("flow: distance to the region's centre \(meanDistance(reference, centerPoints)) → "
              + "\(meanDistance(freeSamples, centerPoints))")
        print("flow: distance to the reference's samples (same noise) β=0: \(meanDistance(freeSamples, reference)), "
              + "β=1: \(meanDistance(anchoredSamples, reference))")
        print("flow: mean KL metric β=1: \(anchored.kl.reduce(0, +) / Double(anchored.kl.count))")

        // Reward rises and samples move into the region.
        #expect(fractionInRegion(reference) < 0.35)
        #expect(late > early + 0.3)
        #expect(fractionInRegion(freeSamples) > 0.9)
        #expect(meanDistance(freeSamples, centerPoints) < 0.5 * meanDistance(reference, centerPoints))
        // A larger β keeps the samples measurably closer to the reference's.
        #expect(meanDistance(anchoredSamples, reference) < 0.8 * meanDistance(freeSamples, reference))
        #expect(fractionInRegion(anchoredSamples) > fractionInRegion(reference))
    }
}
