import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// A configuration for the toy scenarios: no files, no progress bar.
func quietConfiguration(steps: Int = 10) -> GRPOConfiguration {
    var c = GRPOConfiguration()
    c.run.steps = steps
    c.run.progressBar = .never
    c.run.jsonl = false
    c.run.tensorboard = false
    c.run.checkpointEvery = 0
    c.run.logEvery = 0
    return c
}

func tokenConfiguration(steps: Int = 10, learningRate: Float = 0.03, beta: Float = 0) -> GRPOConfiguration {
    var c = quietConfiguration(steps: steps)
    c.trainer.promptsPerStep = 4
    c.trainer.groupSize = 8
    var lm = ExpertSettings()
    lm.learningRate = learningRate
    lm.beta = beta
    c.experts = ["lm": lm]
    return c
}

func makeTokenScenario(seed: UInt64 = 1, prompts: Int = 4, vocabulary: Int = 5, length: Int = 3,
                       reward: (any RewardFunction<ToyTokenSample>)? = nil) -> ToyTokenScenario {
    var rng = RandomState(seed: seed)
    let policy = ToyTokenPolicy(promptCount: prompts, vocabularySize: vocabulary, length: length, hidden: 32, rng: &rng)
    return ToyTokenScenario(policy: policy, reward: reward)
}

func temporaryDirectory(_ name: String = #function) -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-core-\(safe)-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func assertClose(_ a: Float, _ b: Double, tolerance: Double = 1e-5, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(abs(Double(a) - b) <= tolerance, "\(a) vs \(b)", sourceLocation: sourceLocation)
}

func assertClose(_ a: [Float], _ b: [Double], tolerance: Double = 1e-5, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    for (x, y) in zip(a, b) { assertClose(x, y, tolerance: tolerance, sourceLocation: sourceLocation) }
}

/// A toy flow policy pre-trained on the four blobs (cached per process: pre-training is the slow part).
func pretrainedFlowPolicy() -> ToyFlowPolicy {
    FlowFixture.shared.policy.copy()
}

final class FlowFixture: @unchecked Sendable {
    static let shared = FlowFixture()
    let policy: ToyFlowPolicy
    let losses: [Float]
    private init() {
        var rng = RandomState(seed: 7)
        policy = ToyFlowPolicy(hidden: 32, steps: 8, rng: &rng)
        losses = policy.pretrain(steps: 400, batchSize: 256, learningRate: 1e-2, data: ToyFlowData.fourBlobs, rng: &rng)
    }
}

/// Final points of `count` SDE samples drawn with `seed` (shared noise across policies).
func flowSamples(_ policy: ToyFlowPolicy, count: Int = 512, seed: UInt64 = 99) throws -> [ToyPoint] {
    var rng = RandomState(seed: seed)
    return try policy.sample([Void](repeating: (), count: count), using: &rng).map { ToyPoint(x: $0.point.x, y: $0.point.y) }
}

func fractionInRegion(_ points: [ToyPoint], center: ToyPoint = ToyFlowData.centers[0], radius: Float = 1) -> Double {
    let inside = points.filter { ($0.x - center.x) * ($0.x - center.x) + ($0.y - center.y) * ($0.y - center.y) <= radius * radius }
    return Double(inside.count) / Double(points.count)
}

func flowConfiguration(steps: Int, beta: Float, learningRate: Float = 1e-3) -> GRPOConfiguration {
    var c = quietConfiguration(steps: steps)
    c.trainer.promptsPerStep = 4
    c.trainer.groupSize = 16
    var dm = ExpertSettings.diffusionModel
    dm.learningRate = learningRate
    dm.beta = beta
    dm.clipLow = 0.2
    dm.clipHigh = 0.2
    c.experts = ["dm": dm]
    return c
}
