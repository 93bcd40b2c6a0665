import Foundation
import Testing
import UniRLTensor
import UniRLToys

@testable import UniRLCore

/// What a killed run leaves behind is cleaned up, and a resume records each step exactly once.
@Suite struct CrashLeftoverTests {
    func configuration(steps: Int, output: URL, resume: String = "") -> GRPOConfiguration {
        var c = tokenConfiguration(steps: steps, learningRate: 0.02)
        c.run.outputDir = output.path
        c.run.checkpointEvery = 3
        c.run.resumeFrom = resume
        c.run.jsonl = true
        c.run.tensorboard = true
        return c
    }

    @Test func incompleteAndTemporaryCheckpointsAreIgnoredAndRemoved() async throws {
        let root = temporaryDirectory()
        try await GRPOTrainer(scenario: makeTokenScenario(seed: 5), configuration: configuration(steps: 6, output: root)).train()
        let checkpoints = root.appendingPathComponent("checkpoints")
        let fm = FileManager.default
        // A killed write (temporary folder) and an interrupted prune (step-N holding config.json only).
        try fm.createDirectory(at: checkpoints.appendingPathComponent(".step-000009.tmp-ABCD1234"), withIntermediateDirectories: true)
        let partial = checkpoints.appendingPathComponent("step-000012")
        try fm.createDirectory(at: partial, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: partial.appendingPathComponent("config.json"))
        #expect(Checkpoint.latest(in: checkpoints)?.lastPathComponent == "step-000006")

        let resumed = try GRPOTrainer(
            scenario: makeTokenScenario(seed: 7), configuration: configuration(steps: 9, output: root, resume: "latest"))
        try await resumed.train()
        #expect(resumed.step == 9)
        let entries = try fm.contentsOfDirectory(atPath: checkpoints.path).sorted()
        #expect(entries == ["step-000003", "step-000006", "step-000009"])
    }

    @Test func pruningNeverLeavesAPartialCheckpoint() async throws {
        let root = temporaryDirectory()
        var c = configuration(steps: 9, output: root)
        c.run.keepCheckpoints = 1
        try await GRPOTrainer(scenario: makeTokenScenario(seed: 5), configuration: c).train()
        let entries = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("checkpoints").path)
        #expect(entries == ["step-000009"])
    }

    /// A run killed after step 5 but with its last checkpoint at step 3: the resumed run's
    /// metrics.jsonl holds steps 1…9 once each, and the history (curves, summaries) covers all.
    @Test func resumeTruncatesMetricsToTheCheckpoint() async throws {
        let root = temporaryDirectory()
        try await GRPOTrainer(scenario: makeTokenScenario(seed: 5), configuration: configuration(steps: 9, output: root)).train(
            stopAfter: 5)
        // The crash: the checkpoint of step 5 never got written, half a line did.
        try FileManager.default.removeItem(at: root.appendingPathComponent("checkpoints/step-000005"))
        let handle = try FileHandle(forWritingTo: root.appendingPathComponent("metrics.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"step\": 6, \"rew".utf8))
        try handle.close()

        let metrics = try MetricsLogger(run: configuration(steps: 9, output: root).run, directory: root)
        let b = try GRPOTrainer(
            scenario: makeTokenScenario(seed: 7), configuration: configuration(steps: 9, output: root, resume: "latest"))
        try await b.train(metrics: metrics)
        metrics.close()
        let rows = try JSONLWriter.read(root.appendingPathComponent("metrics.jsonl"))
        #expect(rows.compactMap { $0["step"].map(Int.init) } == Array(1...9))
        #expect(metrics.history.map(\.step) == Array(1...9))

        // The straight run's numbers for every step.
        let straightDir = temporaryDirectory("straight")
        try await GRPOTrainer(scenario: makeTokenScenario(seed: 5), configuration: configuration(steps: 9, output: straightDir)).train()
        let straight = try JSONLWriter.read(straightDir.appendingPathComponent("metrics.jsonl"))
        for (x, y) in zip(straight, rows) { #expect(x["reward"] == y["reward"] && x["loss"] == y["loss"]) }

        // TensorBoard: the second event file starts with a restart marker at step 4.
        let events = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix("events.out.tfevents") }
        #expect(events.count == 2)
        let records = try events.map { try TFRecords.read(root.appendingPathComponent($0)) }
        let restart = records.first { file in file.contains { TFRecords.isSessionStart($0) } }
        let marker = try #require(restart?.first { TFRecords.isSessionStart($0) })
        #expect(TFRecords.step(marker) == 4)
    }
}

/// Reads TFRecord event files back (enough for the tests).
enum TFRecords {
    static func read(_ url: URL) throws -> [[UInt8]] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var out: [[UInt8]] = [], i = 0
        while i + 12 <= bytes.count {
            var length = 0
            for k in 0..<8 { length |= Int(bytes[i + k]) << (8 * k) }
            out.append(Array(bytes[(i + 12)..<(i + 12 + length)]))
            i += 12 + length + 4
        }
        return out
    }

    /// The fields of a protobuf message: (field, wire type, varint value or payload).
    static func fields(_ m: [UInt8]) -> [(Int, Int, UInt64, [UInt8])] {
        var out: [(Int, Int, UInt64, [UInt8])] = [], i = 0
        func varint() -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < m.count { let b = m[i]; i += 1; v |= UInt64(b & 0x7F) << shift; shift += 7; if b < 0x80 { break } }
            return v
        }
        while i < m.count {
            let key = varint(), field = Int(key >> 3), wire = Int(key & 7)
            switch wire {
            case 0: out.append((field, 0, varint(), []))
            case 1: out.append((field, 1, 0, Array(m[i..<i + 8]))); i += 8
            case 5: out.append((field, 5, 0, Array(m[i..<i + 4]))); i += 4
            default: let n = Int(varint()); out.append((field, 2, 0, Array(m[i..<i + n]))); i += n
            }
        }
        return out
    }

    static func isSessionStart(_ event: [UInt8]) -> Bool {
        fields(event).contains { f in f.0 == 6 && fields(f.3).contains { $0.0 == 1 && $0.2 == 1 } }
    }

    static func step(_ event: [UInt8]) -> Int? { fields(event).first { $0.0 == 2 }.map { Int($0.2) } }
}
