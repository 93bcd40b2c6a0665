import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// 2N steps in one run equal N steps, a stop, a resume and N more steps, to the bit.
@Suite struct ResumeTests {
    /// A configuration that exercises every piece of state: β > 0 (reference), the per-prompt
    /// tracker, shuffled minibatches over two inner epochs (training generator), AdamW moments
    /// and a cosine schedule.
    func configuration(steps: Int, output: URL, resume: String = "") -> GRPOConfiguration {
        var c = tokenConfiguration(steps: steps, learningRate: 0.02, beta: 0.05)
        c.trainer.advantageScaling = .perPromptTracker
        c.trainer.trackerMinCount = 12
        c.trainer.innerEpochs = 2
        c.trainer.minibatches = 2
        c.trainer.gradientAccumulation = 2
        c.experts["lm"]?.lrSchedule = .cosine
        c.experts["lm"]?.warmupSteps = 2
        c.run.steps = steps
        c.run.outputDir = output.path
        c.run.checkpointEvery = 3
        c.run.resumeFrom = resume
        c.run.jsonl = true
        return c
    }

    @Test func resumingIsBitExact() async throws {
        let n = 6
        let root = temporaryDirectory()
        // One run of 2N steps.
        let straight = makeTokenScenario(seed: 5)
        var config = configuration(steps: 2 * n, output: root.appendingPathComponent("straight"))
        config.run.steps = 2 * n
        let a = try GRPOTrainer(scenario: straight, configuration: config)
        try await a.train()

        // N steps, stop.
        let resumedDir = root.appendingPathComponent("resumed")
        let first = makeTokenScenario(seed: 5)
        try await GRPOTrainer(scenario: first, configuration: configuration(steps: 2 * n, output: resumedDir)).train(stopAfter: n)
        #expect(Checkpoint.latest(in: resumedDir.appendingPathComponent("checkpoints"))?.lastPathComponent == "step-000006")

        // A new process: a differently initialised model, resumed from the latest checkpoint.
        let second = makeTokenScenario(seed: 999)
        let b = try GRPOTrainer(scenario: second, configuration: configuration(steps: 2 * n, output: resumedDir, resume: "latest"))
        try await b.train()

        #expect(b.step == 2 * n)
        let sameWeights = weights(second.policy) == weights(straight.policy)
        #expect(sameWeights)
        #expect(b.samplingRNG == a.samplingRNG && b.trainingRNG == a.trainingRNG && b.tracker == a.tracker)
        let ca = a.checkpoint(), cb = b.checkpoint()
        #expect(ca.optimizer.keys.sorted() == cb.optimizer.keys.sorted())
        for (k, v) in ca.optimizer { let same = v.scalars == cb.optimizer[k]!.scalars; #expect(same, "\(k)") }
        for (k, v) in ca.reference { let same = v.scalars == cb.reference[k]!.scalars; #expect(same, "\(k)") }

        // The metrics of the steps after the resume are those of the straight run too.
        let straightMetrics = try JSONLWriter.read(root.appendingPathComponent("straight/metrics.jsonl"))
        let resumedMetrics = try JSONLWriter.read(resumedDir.appendingPathComponent("metrics.jsonl"))
        #expect(resumedMetrics.count == 2 * n)
        for (x, y) in zip(straightMetrics, resumedMetrics) {
            for key in ["step", "reward", "loss", "kl", "grad_norm", "learning_rate", "ratio/max"] { #expect(x[key] == y[key], "\(key)") }
        }
        // Checkpoints are complete directories; no temporary directory is left behind.
        let entries = try FileManager.default.contentsOfDirectory(atPath: resumedDir.appendingPathComponent("checkpoints").path).sorted()
        #expect(entries == ["step-000003", "step-000006", "step-000009", "step-000012"])
        let last = resumedDir.appendingPathComponent("checkpoints/step-000012").path
        let files = try FileManager.default.contentsOfDirectory(atPath: last).sorted()
        #expect(files == ["config.json", "model.safetensors", "optimizer.safetensors", "reference.safetensors", "trainer_state.json"])
    }

    /// The SDE path (reference means, Gaussian KL) resumes exactly too.
    @Test func resumingAnSDEPolicyIsBitExact() async throws {
        let root = temporaryDirectory()
        func run(_ steps: Int, _ policy: ToyFlowPolicy, from: URL?) async throws -> GRPOTrainer<ToyFlowScenario> {
            var c = flowConfiguration(steps: steps, beta: 0.5)
            c.trainer.groupSize = 4
            c.trainer.innerEpochs = 2
            c.trainer.minibatches = 2
            let t = try GRPOTrainer(scenario: ToyFlowScenario(policy: policy), configuration: c)
            if let from { try t.resume(from: from) }
            while t.step < steps { try await t.trainStep() }
            return t
        }
        let straight = pretrainedFlowPolicy()
        _ = try await run(6, straight, from: nil)
        let first = pretrainedFlowPolicy()
        let t = try await run(3, first, from: nil)
        try t.saveCheckpoint(to: root.appendingPathComponent("step-000003"))
        var rng = RandomState(seed: 1234)
        let fresh = ToyFlowPolicy(hidden: 32, steps: 8, rng: &rng)
        _ = try await run(6, fresh, from: root.appendingPathComponent("step-000003"))
        let a = straight.network.namedParameters().map(\.parameter.value.scalars)
        let b = fresh.network.namedParameters().map(\.parameter.value.scalars)
        let same = a == b
        #expect(same)
    }

    @Test func checkpointsOverwriteAtomicallyAndPrune() throws {
        let dir = temporaryDirectory()
        let state = TrainerState(step: 1, samplingRNG: RandomState(seed: 1), trainingRNG: RandomState(seed: 2),
                                 tracker: PerPromptStatTracker(), optimizerSteps: ["lm": 3])
        for step in 1...4 {
            var s = state
            s.step = step
            try Checkpoint(weights: ["lm.w": Tensor([Float(step)])], reference: [:], optimizer: [:], state: s,
                           configuration: GRPOConfiguration()).write(to: dir.appendingPathComponent(Checkpoint.directoryName(step: step)))
        }
        // Rewriting an existing checkpoint replaces it.
        try Checkpoint(weights: ["lm.w": Tensor([42])], reference: [:], optimizer: [:], state: state,
                       configuration: GRPOConfiguration()).write(to: dir.appendingPathComponent("step-000004"))
        let read = try Checkpoint.read(from: dir.appendingPathComponent("step-000004"))
        #expect(read.weights["lm.w"]?.scalars == [42])
        #expect(read.state.optimizerSteps == ["lm": 3])
        Checkpoint.prune(in: dir, keep: 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["step-000003", "step-000004"])
    }
}
