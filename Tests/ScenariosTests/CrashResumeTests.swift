import Foundation
import Testing
import UniRLCore
import UniRLTensor

/// `unirl train` killed (SIGKILL) at random moments, many times, each time resumed with
/// `run.resume_from=latest`, ends with the weights of a run that was never killed, each step's
/// metrics exactly once, and only complete checkpoints in the folder.
///
/// The normal suite kills 12 times (a few seconds); `UNIRL_CRASH_SOAK=N` kills N times.
@Suite struct CrashResumeTests {
    static var binary: URL? {
        if let path = ProcessInfo.processInfo.environment["UNIRL_BINARY"] { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return ["debug", "release"].map { root.appendingPathComponent(".build/\($0)/unirl") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static let steps = 20

    func arguments(_ output: URL) -> [String] {
        [
            "train", "--scenario", "toy-tokens", "run.output_dir=\(output.path)", "run.steps=\(Self.steps)",
            "run.checkpoint_every=1", "run.keep_checkpoints=2", "run.progress_bar=never", "run.resume_from=latest",
        ]
    }

    func launch(_ binary: URL, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func tensors(_ url: URL) throws -> [String: [Float]] {
        let f = try SafeTensorsFile(contentsOf: url)
        var out: [String: [Float]] = [:]
        for n in f.names { out[n] = try f.tensor(named: n).scalars }
        return out
    }

    @Test func killedRunsResumeToTheSameWeights() throws {
        let binary = try #require(Self.binary, "build the unirl binary first (swift build --build-tests)")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-crash-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let straight = root.appendingPathComponent("straight"), crashed = root.appendingPathComponent("crashed")

        let reference = try launch(binary, arguments(straight))
        let start = Date()
        reference.waitUntilExit()
        #expect(reference.terminationStatus == 0)
        let runSeconds = Date().timeIntervalSince(start)

        let kills = Int(ProcessInfo.processInfo.environment["UNIRL_CRASH_SOAK"] ?? "") ?? 12
        var rng = RandomState(seed: 2026)
        var killed = 0
        let checkpoints = crashed.appendingPathComponent("checkpoints")
        for attempt in 0..<kills {
            let done = Checkpoint.list(in: checkpoints).last?.step ?? 0
            if done == Self.steps { break }
            let p = try launch(binary, arguments(crashed))
            // Blocking waits (usleep), not Task.sleep: under a loaded test run the cooperative pool may not
            // resume this task until the child has finished, and then no kill would land.
            if attempt.isMultiple(of: 2) {
                // Right after the next checkpoint lands: a kill that lands whatever the machine's speed.
                while p.isRunning && (Checkpoint.list(in: checkpoints).last?.step ?? 0) <= done { usleep(500) }
            } else {
                // A random moment within the first half of what is left of the run (inside checkpoint writes too).
                let delay = Double(rng.nextUniform()) * 0.5 * runSeconds * Double(Self.steps - done) / Double(Self.steps)
                usleep(UInt32(delay * 1e6))
            }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                killed += 1
            }
            p.waitUntilExit()
        }
        let last = try launch(binary, arguments(crashed))
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)
        #expect(killed > 0)

        let name = Checkpoint.directoryName(step: Self.steps)
        let a = try tensors(straight.appendingPathComponent("checkpoints/\(name)/model.safetensors"))
        let b = try tensors(crashed.appendingPathComponent("checkpoints/\(name)/model.safetensors"))
        #expect(a == b, "the killed-and-resumed run ends with other weights than the straight one")

        let rows = try JSONLWriter.read(crashed.appendingPathComponent("metrics.jsonl"))
        #expect(rows.compactMap { $0["step"].map(Int.init) } == Array(1...Self.steps))
        let straightRows = try JSONLWriter.read(straight.appendingPathComponent("metrics.jsonl"))
        #expect(rows.map { $0["reward"] } == straightRows.map { $0["reward"] })

        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: crashed.appendingPathComponent("summary.json")))
        let rewards = (summary as? [String: Any])?["train_rewards"] as? [Any]
        #expect(rewards?.count == Self.steps, "summary.json covers the whole run")

        let entries = try FileManager.default.contentsOfDirectory(atPath: crashed.appendingPathComponent("checkpoints").path).sorted()
        #expect(entries == [Checkpoint.directoryName(step: Self.steps - 1), name])
    }
}
