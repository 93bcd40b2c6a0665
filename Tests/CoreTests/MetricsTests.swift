import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

@Suite struct MetricsTests {
    @Test func crc32c() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func tensorBoardFilesReadBack() throws {
        let dir = temporaryDirectory()
        let writer = try TensorBoardWriter(directory: dir, host: "testhost", now: Date(timeIntervalSince1970: 1_700_000_000))
        try writer.write(step: 1, metrics: ["reward": 0.25, "kl": 0.001], wallTime: 1_700_000_001)
        try writer.write(step: 2, metrics: ["reward": 0.5], wallTime: 1_700_000_002)
        writer.close()
        #expect(writer.url.lastPathComponent == "events.out.tfevents.1700000000.testhost")
        let (version, scalars) = try TensorBoardEventReader.read(writer.url)
        #expect(version == "brain.Event:2")
        #expect(scalars == [
            .init(step: 1, wallTime: 1_700_000_001, tag: "kl", value: 0.001),
            .init(step: 1, wallTime: 1_700_000_001, tag: "reward", value: 0.25),
            .init(step: 2, wallTime: 1_700_000_002, tag: "reward", value: 0.5),
        ])
        // A corrupted byte is caught by the checksums.
        var bytes = try Data(contentsOf: writer.url)
        bytes[bytes.count - 6] ^= 0xFF
        let broken = dir.appendingPathComponent("events.out.tfevents.broken")
        try bytes.write(to: broken)
        #expect(throws: TensorBoardEventReader.ReadError.self) { try TensorBoardEventReader.read(broken) }
    }

    /// A training run writes the curves TensorBoard and JSONL readers see.
    @Test func trainingWritesCurves() async throws {
        let dir = temporaryDirectory()
        var config = tokenConfiguration(steps: 4, beta: 0.04)
        config.run.outputDir = dir.path
        config.run.jsonl = true
        config.run.tensorboard = true
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
        try await trainer.train()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let event = try #require(files.first { $0.hasPrefix("events.out.tfevents.") })
        let (_, scalars) = try TensorBoardEventReader.read(dir.appendingPathComponent(event))
        let reward = scalars.filter { $0.tag == "reward" }
        #expect(reward.map(\.step) == [1, 2, 3, 4])
        let tags = Set(scalars.map(\.tag))
        for tag in ["reward", "reward_std", "rewards/match/mean", "rewards/match/std", "frac_reward_zero_std", "kl",
                    "entropy", "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean",
                    "completions/mean_length", "completions/clipped_ratio", "approx_kl", "grad_norm", "learning_rate",
                    "advantages/mean", "advantages/std", "time/rollout", "time/update", "loss", "time/advantages",
                    "time/old_and_reference", "time/replay", "time/loss", "time/backward", "time/optimizer"] {
            #expect(tags.contains(tag), "\(tag)")
        }
        // The phases of the update lie inside it (`unirl bench grpo` reads them).
        for s in scalars where s.tag == "time/update" {
            let parts = ["time/old_and_reference", "time/replay", "time/loss", "time/backward", "time/optimizer"]
                .compactMap { tag in scalars.first { $0.tag == tag && $0.step == s.step }?.value }
            #expect(parts.count == 5 && parts.allSatisfy { $0 >= 0 } && parts.reduce(0, +) <= s.value * 1.01 + 1e-4)
        }
        let lines = try JSONLWriter.read(dir.appendingPathComponent("metrics.jsonl"))
        #expect(lines.map { $0["step"] } == [1, 2, 3, 4])
        #expect(lines.map { Float($0["reward"]!) } == reward.map(\.value))
    }

    @Test func progressBarLine() {
        var out = ""
        let bar = ProgressBar(total: 10, enabled: true, width: 10) { out += $0 }
        bar.update(step: 3, metrics: ["reward": 0.5])
        #expect(out.hasPrefix("\rstep  3/10 [###-------]  30% reward 0.5"))
        #expect(!ProgressBar(total: 10, enabled: false).isEnabled)
    }

    @Test func twoExpertMetricsArePrefixed() async throws {
        // A scenario where an LM and a DM both act: names carry the expert.
        let scenario = PlanAndDrawScenario()
        var config = quietConfiguration()
        config.trainer.promptsPerStep = 2
        config.trainer.groupSize = 4
        config.experts["lm"]?.learningRate = 0.01
        config.experts["dm"]?.learningRate = 1e-3
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let m = try await trainer.trainStep().metrics
        for key in ["lm/kl", "dm/kl", "lm/clip_ratio/region_mean", "dm/clip_ratio/region_mean", "lm/entropy",
                    "lm/completions/mean_length", "lm/learning_rate", "dm/learning_rate"] {
            #expect(m[key] != nil, "\(key)")
        }
        #expect(m["dm/entropy"] == nil && m["kl"] == nil)
        #expect(m["lm/ratio/max"] == 1 && m["dm/ratio/max"] == 1)
    }
}

/// "The LM writes a plan, the DM draws it": the LM picks a quadrant (one token), the DM samples a
/// point; the reward is 1 when the point lands in the chosen quadrant's blob. One trajectory holds
/// both an LM and a DM segment.
final class PlanAndDrawScenario: Scenario {
    let lm: ToyTokenPolicy
    let dm: ToyFlowPolicy
    let experts: [AnyPolicyExpert]
    struct Drawing: Sendable { var quadrant: Int; var point: ToyPoint }
    let reward: any RewardFunction<Drawing> = FunctionReward<Drawing>(name: "drawn") { batch in
        batch.map { d in
            let c = ToyFlowData.centers[d.quadrant % 4]
            return (d.point.x - c.x) * (d.point.x - c.x) + (d.point.y - c.y) * (d.point.y - c.y) < 1 ? 1 : 0
        }
    }

    init() {
        var rng = RandomState(seed: 11)
        lm = ToyTokenPolicy(promptCount: 1, vocabularySize: 4, length: 1, hidden: 8, rng: &rng)
        dm = pretrainedFlowPolicy()
        experts = [AnyPolicyExpert(lm), AnyPolicyExpert(dm)]
    }

    func prompts(_ split: DatasetSplit) throws -> [Int] { [0, 0] }

    func rollout(_ prompts: [Int], group: Int, using rng: inout RandomState) throws -> [Trajectory<Drawing>] {
        let conditions = prompts.flatMap { Array(repeating: $0, count: group) }
        let plans = try lm.sample(conditions, using: &rng)
        let points = try dm.sample([Void](repeating: (), count: conditions.count), using: &rng)
        return conditions.indices.map { i in
            let p = points[i].point
            return Trajectory(promptIndex: i / group,
                              output: Drawing(quadrant: plans[i].tokens[0], point: ToyPoint(x: p.x, y: p.y)),
                              segments: [TrajectorySegment(expert: lm, rollout: plans[i], condition: conditions[i]),
                                         TrajectorySegment(expert: dm, rollout: points[i], condition: ())])
        }
    }
}
