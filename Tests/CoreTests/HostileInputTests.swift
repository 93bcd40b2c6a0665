import Foundation
import Testing
import UniRLTensor
import UniRLToys

@testable import UniRLCore

/// Values no run should accept: out-of-range settings, broken checkpoints, failing disks.
@Suite struct HostileInputTests {
    func refusal(_ overrides: [String]) -> String? {
        do {
            _ = try GRPOConfiguration.load(
                from: nil, onto: GRPOConfiguration().addingDefaults(for: [("lm", .discrete)]),
                overrides: overrides)
            return nil
        } catch { return "\(error)" }
    }

    @Test func optimizerAndScheduleRangesAreChecked() {
        let cases: [(String, String)] = [
            ("trainer.adam_beta1=1", "trainer.adam_beta1"), ("trainer.adam_beta1=-0.1", "trainer.adam_beta1"),
            ("trainer.adam_beta2=1.5", "trainer.adam_beta2"), ("trainer.adam_epsilon=0", "trainer.adam_epsilon"),
            ("trainer.weight_decay=-1", "trainer.weight_decay"), ("experts.lm.min_lr_ratio=2", "experts.lm.min_lr_ratio"),
            ("experts.lm.min_lr_ratio=-0.5", "experts.lm.min_lr_ratio"), ("trainer.tracker_min_count=0", "trainer.tracker_min_count"),
            ("trainer.adam_epsilon=.nan", "trainer.adam_epsilon"), ("experts.lm.learning_rate=.inf", "experts.lm.learning_rate"),
        ]
        for (override, key) in cases {
            let message = refusal([override])
            #expect(message?.contains("'\(key)'") == true, "\(override): \(message ?? "accepted")")
        }
        #expect(refusal(["trainer.adam_beta1=0", "trainer.adam_beta2=0.5", "experts.lm.min_lr_ratio=1"]) == nil)
    }

    @Test func hugeSizesAreRefusedBeforeAllocating() {
        for override in ["trainer.group_size=1000000000000", "trainer.group_size=\(Int.max)", "trainer.prompts_per_step=\(Int.max)"] {
            let message = refusal([override]) ?? "accepted"
            #expect(message.contains("trajectories per step") && message.contains("would need"), "\(override): \(message)")
        }
        let both = refusal(["trainer.group_size=100000", "trainer.prompts_per_step=100000"]) ?? "accepted"
        #expect(both.contains("'trainer.") && both.contains("10.0 GB") == false && both.contains("GB"), "\(both)")
    }

    @Test func aNumberThatDoesNotFitNamesItsKey() {
        let message = refusal(["trainer.group_size=1e30"]) ?? "accepted"
        #expect(message.contains("'trainer.group_size'"), "\(message)")
        let fraction = refusal(["run.steps=2.5"]) ?? "accepted"
        #expect(fraction.contains("'run.steps'"), "\(fraction)")
    }

    /// YAML 1.1 reads `20…0:3` as a base-60 integer, which Yams computes with trapping arithmetic
    /// (found by the run-config fuzz target): refused in a file, kept as text in an override.
    @Test func aHugeBase60NumberIsAnErrorNotATrap() throws {
        #expect(throws: ConfigurationError.self) { try ConfigNode.parse(yaml: "run:\n  200000000000000000000:3: 1\n") }
        #expect(throws: ConfigurationError.self) { try ConfigNode.parse(yaml: "a: -9223372036854775807:59\n") }
        let fine = try ConfigNode.parse(yaml: "a: 1:30\n")
        #expect(fine == .object(["a": .int(90)]))
        let override = try ConfigNode.parseOverride("trainer.group_size=200000000000000000000:3")
        #expect(override.value == .string("200000000000000000000:3"))
    }

    @Test func duplicateJSONKeysAreAnError() throws {
        #expect(throws: ConfigurationError.self) { try GRPOConfiguration(json: #"{"run": {"steps": 3, "steps": 4}}"#) }
        do {
            _ = try GRPOConfiguration(json: #"{"run": {"steps": 3}, "run": {"seed": 1}}"#)
            Issue.record("accepted")
        } catch { #expect("\(error)".contains("'run' appears twice")) }
        // The same name in two different objects, or inside strings, is fine.
        let ok = try GRPOConfiguration(json: #"{"run": {"steps": 3, "output_dir": "a\"steps\": b"}, "trainer": {"minibatches": 1}}"#)
        #expect(ok.run.steps == 3)
        #expect(JSONDuplicateKeys.first(in: Array(#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#.utf8)) == nil)
        #expect(JSONDuplicateKeys.first(in: Array(#"{"\u0061": 1, "a": 2}"#.utf8)) == "a")
    }

    @Test func fileSystemErrorsAreSaidInWords() throws {
        let root = temporaryDirectory()
        let file = root.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        #expect(throws: FileSystemError(action: "create", path: file.path, reason: "it exists and is a file")) {
            try FileSystemError.createDirectory(file)
        }
        do {
            try FileSystemError.createDirectory(file.appendingPathComponent("below"))
            Issue.record("created a folder below a file")
        } catch { #expect("\(error)".hasPrefix("cannot create \(file.path)/below: "), "\(error)") }
        #expect(FileSystemError.reason(errno: EACCES) == "permission denied")
        #expect(FileSystemError.reason(errno: EROFS) == "read-only file system")
    }

    // MARK: - Full disk

    @Test func aFailedMetricsWriteLeavesNoHalfLine() throws {
        let url = temporaryDirectory().appendingPathComponent("metrics.jsonl")
        let writer = try JSONLWriter(url: url)
        try writer.write(step: 1, metrics: ["reward": 0.5])
        writer.simulatedSpaceLeft = 20
        #expect(throws: FileSystemError.self) { try writer.write(step: 2, metrics: ["reward": 0.25, "loss": 1]) }
        writer.simulatedSpaceLeft = nil
        try writer.write(step: 3, metrics: ["reward": 0.75])
        writer.close()
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.hasSuffix("}\n") && text.split(separator: "\n").count == 2)
        #expect(try JSONLWriter.read(url).map { $0["step"] } == [1, 3])
    }

    @Test func devFullFailsWithWords() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let writer = try JSONLWriter(url: URL(fileURLWithPath: "/dev/full"))
        do {
            try writer.write(step: 1, metrics: ["reward": 1])
            Issue.record("a write to /dev/full succeeded")
        } catch { #expect("\(error)" == "cannot write /dev/full: no space left on device") }
        writer.close()
    }

    final class FullDisk: MetricsSink {
        func write(step: Int, metrics: [String: Double]) throws {
            throw FileSystemError(action: "write", path: "metrics.jsonl", reason: "no space left on device")
        }
        func close() {}
    }

    @Test func aRunThatCannotRecordMetricsDoesNotEndQuietly() async throws {
        var c = tokenConfiguration(steps: 3)
        c.run.outputDir = temporaryDirectory().path
        let failing = try GRPOTrainer(scenario: makeTokenScenario(), configuration: c)
        await #expect(throws: MetricsError.lost(step: 1, reason: "cannot write metrics.jsonl: no space left on device")) {
            try await failing.train(metrics: MetricsLogger(sinks: [FullDisk()]))
        }
        c.run.onMetricsError = .warn
        let warned = try GRPOTrainer(scenario: makeTokenScenario(), configuration: c)
        let logger = MetricsLogger(sinks: [FullDisk()])
        try await warned.train(metrics: logger)
        #expect(warned.step == 3 && logger.lostWrites.map(\.step) == [1, 2, 3])
        #expect(logger.lostWritesReport?.hasPrefix("METRICS LOST: 3 write(s) failed, for 3 step(s) between 1 and 3") == true)
    }

    // MARK: - Checked checkpoints

    func savedCheckpoint() async throws -> (URL, GRPOConfiguration) {
        let root = temporaryDirectory()
        var c = tokenConfiguration(steps: 2)
        c.run.outputDir = root.path
        c.run.checkpointEvery = 2
        try await GRPOTrainer(scenario: makeTokenScenario(), configuration: c).train()
        return (root.appendingPathComponent("checkpoints/step-000002"), c)
    }

    func editState(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("trainer_state.json")
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&obj)
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
    }

    func readError(_ dir: URL) -> String {
        do { _ = try Checkpoint.read(from: dir); return "accepted" } catch { return "\(error)" }
    }

    @Test func resumeRefusesImpossibleTrainerStates() async throws {
        let (dir, _) = try await savedCheckpoint()
        let file = dir.appendingPathComponent("trainer_state.json").path
        try editState(dir) { $0["format_version"] = 7 }
        #expect(readError(dir) == "refusing to resume: \(file): 'format_version' is 7; this build reads version 1")
        try editState(dir) {
            $0["format_version"] = 1; $0["step"] = -4
        }
        #expect(readError(dir) == "refusing to resume: \(file): 'step' is -4, must be ≥ 0")
        try editState(dir) {
            $0["step"] = 2; $0["sampling_rng"] = ["s0": 0, "s1": 0, "s2": 0, "s3": 0]
        }
        #expect(readError(dir).contains("'sampling_rng' is the all-zero state"))
        try editState(dir) { $0["sampling_rng"] = "nonsense" }
        #expect(readError(dir).contains("\(file): 'sampling_rng'"))
    }

    @Test func resumeRefusesNonFiniteTensors() async throws {
        let (dir, _) = try await savedCheckpoint()
        for name in ["model.safetensors", "optimizer.safetensors"] {
            let url = dir.appendingPathComponent(name)
            let original = try Data(contentsOf: url)
            let file = try SafeTensorsFile(contentsOf: url)
            var tensors: [String: Tensor] = [:]
            for n in file.names { tensors[n] = try file.tensor(named: n) }
            let victim = file.names.sorted()[0]
            var values = tensors[victim]!.scalars
            values[0] = .nan
            tensors[victim] = Tensor(shape: tensors[victim]!.shape, scalars: values)
            try SafeTensors.write(tensors, to: url)
            #expect(readError(dir) == "refusing to resume: \(url.path): '\(victim)' holds NaN or infinity")
            try original.write(to: url)
        }
        #expect(readError(dir) == "accepted")
    }

    @Test func resumeFromAnotherConfigurationSaysWhatDiffers() async throws {
        let (dir, c) = try await savedCheckpoint()
        var stored = try Checkpoint.read(from: dir)
        stored.configuration.experts["dm"] = ExpertSettings()
        try stored.write(to: dir)
        var again = c
        again.run.resumeFrom = dir.path
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: again)
        do {
            try trainer.resumeIfRequested()
            Issue.record("resumed")
        } catch { #expect("\(error)".contains("experts: checkpoint [\"dm\", \"lm\"], this run [\"lm\"]"), "\(error)") }

        var frozen = c
        frozen.run.resumeFrom = dir.path
        let scenarioTrainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: frozen)
        scenarioTrainer.scenarioSettings = .object(["size": .int(64)])
        stored.configuration = c
        stored.scenarioSettings = .object(["size": .int(32)])
        #expect(
            stored.differences(from: frozen, scenarioSettings: scenarioTrainer.scenarioSettings)
                == ["scenario.size: checkpoint 32, this run 64"])
    }
}

/// A reward that never answers marks its batch failed after `trainer.reward_timeout`.
@Suite struct RewardTimeoutTests {
    @Test func aHangingRewardFailsTheBatchInsteadOfHangingTheRun() async throws {
        let hanging = FunctionReward<ToyTokenSample>(name: "hangs") { batch in
            try await Task.sleep(nanoseconds: 3_600_000_000_000)
            return batch.map { _ in 1 }
        }
        var c = tokenConfiguration(steps: 2)
        c.trainer.rewardTimeout = 0.2
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(reward: hanging), configuration: c)
        let start = Date()
        let report = try await trainer.trainStep()
        #expect(Date().timeIntervalSince(start) < 600)  // the reward sleeps an hour; the bound leaves room for a loaded machine
        #expect(report.metrics["reward/timeouts"] == 1)
        #expect(report.warnings.contains { $0.contains("gave no answer within trainer.reward_timeout = 0.2 s") })
        #expect(trainer.step == 1)
    }

    @Test func aRewardInTimeIsUntouched() async {
        let quick = FunctionReward<Int>(name: "quick") { batch in batch.map { Float($0) } }
        let evaluation = await quick.evaluate([1, 2, 3], timeout: 600)
        #expect(evaluation?.totals == [.score(1), .score(2), .score(3)])
    }
}
