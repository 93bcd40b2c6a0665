import Foundation
import UniRLTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything besides tensors that a resumed run needs to continue bit for bit.
public struct TrainerState: Codable, Sendable, Equatable {
    public var formatVersion: Int = 1
    /// GRPO steps completed.
    public var step: Int
    /// The generator of prompt draws and rollouts, and the one of shuffles.
    public var samplingRNG: RandomState
    public var trainingRNG: RandomState
    /// The per-prompt reward statistics.
    public var tracker: PerPromptStatTracker
    /// Each trainable expert's optimizer step counter.
    public var optimizerSteps: [String: Int]

    public init(step: Int, samplingRNG: RandomState, trainingRNG: RandomState,
                tracker: PerPromptStatTracker, optimizerSteps: [String: Int]) {
        self.step = step
        self.samplingRNG = samplingRNG
        self.trainingRNG = trainingRNG
        self.tracker = tracker
        self.optimizerSteps = optimizerSteps
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case step
        case samplingRNG = "sampling_rng"
        case trainingRNG = "training_rng"
        case tracker
        case optimizerSteps = "optimizer_steps"
    }
}

public enum CheckpointError: Error, CustomStringConvertible {
    case nonFinite(tensor: String)
    case missing(file: String, in: String)
    case missingTensor(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case renameFailed(from: String, to: String, errno: Int32)

    public var description: String {
        switch self {
        case .nonFinite(let t): "refusing to write a checkpoint: '\(t)' holds NaN or infinity"
        case .missing(let f, let d): "checkpoint \(d) has no \(f)"
        case .missingTensor(let n): "checkpoint has no tensor '\(n)'"
        case .shapeMismatch(let n, let e, let f): "checkpoint tensor '\(n)' has shape \(f), expected \(e)"
        case .renameFailed(let a, let b, let e): "cannot rename \(a) to \(b) (errno \(e))"
        }
    }
}

/// A checkpoint directory, written atomically:
///
///     step-000050/
///       model.safetensors       trainable weights, `<expert>.<parameter>`
///       reference.safetensors   the frozen reference's values of those weights (when some β > 0)
///       optimizer.safetensors   optimizer buffers, `<expert>.exp_avg.<parameter>`, …
///       trainer_state.json      step, generator states, per-prompt statistics, optimizer steps
///       config.json             the run's configuration
///       scenario.json           the scenario's own settings (when it has any)
///
/// The files are written into a temporary sibling directory which is then renamed, so a
/// checkpoint directory either exists complete or not at all.
public struct Checkpoint {
    public var weights: [String: Tensor]
    public var reference: [String: Tensor]
    public var optimizer: [String: Tensor]
    public var state: TrainerState
    public var configuration: GRPOConfiguration
    /// The scenario's own settings (``GRPOTrainer/scenarioSettings``), restored on resume.
    public var scenarioSettings: ConfigNode?

    public init(weights: [String: Tensor], reference: [String: Tensor], optimizer: [String: Tensor],
                state: TrainerState, configuration: GRPOConfiguration, scenarioSettings: ConfigNode? = nil) {
        self.scenarioSettings = scenarioSettings
        self.weights = weights
        self.reference = reference
        self.optimizer = optimizer
        self.state = state
        self.configuration = configuration
    }

    /// The conventional directory name of the checkpoint after `step` steps.
    public static func directoryName(step: Int) -> String { String(format: "step-%06d", step) }

    /// Writes the checkpoint as `directory` (replacing an existing one) atomically.
    /// Refuses (throws) when any tensor holds NaN or infinity.
    public func write(to directory: URL) throws {
        for (group, tensors) in [("model", weights), ("reference", reference), ("optimizer", optimizer)] {
            for (name, t) in tensors.sorted(by: { $0.key < $1.key }) {
                let finite = t.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) }
                if !finite { throw CheckpointError.nonFinite(tensor: "\(group):\(name)") }
            }
        }
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let token = UUID().uuidString.prefix(8)
        let temp = parent.appendingPathComponent(".\(directory.lastPathComponent).tmp-\(token)")
        try fm.createDirectory(at: temp, withIntermediateDirectories: false)
        do {
            try SafeTensors.write(weights, metadata: ["format": "pt"], to: temp.appendingPathComponent("model.safetensors"))
            if !reference.isEmpty {
                try SafeTensors.write(reference, metadata: ["format": "pt"], to: temp.appendingPathComponent("reference.safetensors"))
            }
            try SafeTensors.write(optimizer, to: temp.appendingPathComponent("optimizer.safetensors"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(state).write(to: temp.appendingPathComponent("trainer_state.json"))
            try Data(configuration.jsonString().utf8).write(to: temp.appendingPathComponent("config.json"))
            if let scenarioSettings {
                try encoder.encode(scenarioSettings).write(to: temp.appendingPathComponent("scenario.json"))
            }
            var old: URL?
            if fm.fileExists(atPath: directory.path) {
                let o = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(token)")
                try Self.rename(directory, o)
                old = o
            }
            try Self.rename(temp, directory)
            if let old { try? fm.removeItem(at: old) }
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
    }

    /// Reads a checkpoint directory.
    public static func read(from directory: URL) throws -> Checkpoint {
        func file(_ name: String) throws -> URL {
            let u = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: u.path) else { throw CheckpointError.missing(file: name, in: directory.path) }
            return u
        }
        func tensors(_ url: URL) throws -> [String: Tensor] {
            let f = try SafeTensorsFile(contentsOf: url)
            var out: [String: Tensor] = [:]
            for n in f.names { out[n] = try f.tensor(named: n) }
            return out
        }
        let weights = try tensors(try file("model.safetensors"))
        let refURL = directory.appendingPathComponent("reference.safetensors")
        let reference = FileManager.default.fileExists(atPath: refURL.path) ? try tensors(refURL) : [:]
        let optimizer = try tensors(try file("optimizer.safetensors"))
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: try file("trainer_state.json")))
        let config = try GRPOConfiguration(json: String(contentsOf: try file("config.json"), encoding: .utf8))
        let scenarioURL = directory.appendingPathComponent("scenario.json")
        let scenario = FileManager.default.fileExists(atPath: scenarioURL.path)
            ? try ConfigNode.parse(json: String(contentsOf: scenarioURL, encoding: .utf8), path: scenarioURL.path) : nil
        return Checkpoint(weights: weights, reference: reference, optimizer: optimizer, state: state, configuration: config,
                          scenarioSettings: scenario)
    }

    /// The checkpoint directories (`step-NNNNNN`) in `directory`, oldest first.
    public static func list(in directory: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let s = Int(name.dropFirst(5)) else { return nil }
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("trainer_state.json").path) else { return nil }
            return (s, url)
        }.sorted { $0.0 < $1.0 }
    }

    /// The newest checkpoint in `directory`, if any.
    public static func latest(in directory: URL) -> URL? { list(in: directory).last?.url }

    /// Deletes all but the newest `keep` checkpoints in `directory`.
    public static func prune(in directory: URL, keep: Int) {
        guard keep > 0 else { return }
        for (_, url) in list(in: directory).dropLast(keep) { try? FileManager.default.removeItem(at: url) }
    }

    private static func rename(_ from: URL, _ to: URL) throws {
        #if canImport(Glibc)
        let result = Glibc.rename(from.path, to.path)
        #else
        let result = Darwin.rename(from.path, to.path)
        #endif
        if result != 0 {
            throw CheckpointError.renameFailed(from: from.path, to: to.path, errno: errno)
        }
    }
}

/// Why a run may not start.
public enum RunDirectoryError: Error, CustomStringConvertible, Equatable {
    /// `output_dir` holds files, and neither `resume_from` nor `overwrite` is set.
    case notEmpty(String)

    public var description: String {
        switch self {
        case .notEmpty(let d):
            "\(d) already holds a run; set run.resume_from=latest to continue it, run.overwrite=true to write into it anyway, "
                + "or choose another run.output_dir"
        }
    }
}

extension RunSettings {
    /// `<output_dir>/checkpoints`.
    public var checkpointsDirectory: URL { URL(fileURLWithPath: outputDir).appendingPathComponent("checkpoints") }

    /// The checkpoint `resume_from` names: nil when it is empty, or `latest` and none exists.
    public func resumeCheckpoint() -> URL? {
        switch resumeFrom {
        case "": nil
        case "latest": Checkpoint.latest(in: checkpointsDirectory)
        default: URL(fileURLWithPath: resumeFrom)
        }
    }

    /// Refuses to start a fresh run in an `output_dir` that already holds files (so that two runs do
    /// not end up in one `metrics.jsonl`), unless `resume_from` or `overwrite` is set.
    public func checkOutputDirectory() throws {
        guard resumeFrom.isEmpty, !overwrite else { return }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: outputDir)) ?? []
        if !entries.isEmpty { throw RunDirectoryError.notEmpty(outputDir) }
    }
}
