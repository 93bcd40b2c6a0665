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

    public init(
        step: Int, samplingRNG: RandomState, trainingRNG: RandomState,
        tracker: PerPromptStatTracker, optimizerSteps: [String: Int]
    ) {
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
    /// A file of a checkpoint being read holds a value no run can have written.
    case invalid(file: String, field: String, reason: String)
    /// The checkpoint was written by a run whose configuration differs from this one's.
    case configurationMismatch(checkpoint: String, differences: [String])

    public var description: String {
        switch self {
        case .nonFinite(let t): "refusing to write a checkpoint: '\(t)' holds NaN or infinity"
        case .missing(let f, let d): "checkpoint \(d) has no \(f)"
        case .missingTensor(let n): "checkpoint has no tensor '\(n)'"
        case .shapeMismatch(let n, let e, let f): "checkpoint tensor '\(n)' has shape \(f), expected \(e)"
        case .renameFailed(let a, let b, let e): "cannot rename \(a) to \(b): \(FileSystemError.reason(errno: e))"
        case .invalid(let file, let field, let reason): "refusing to resume: \(file): '\(field)' \(reason)"
        case .configurationMismatch(let c, let d):
            "refusing to resume from \(c): it was written by a different configuration (\(d.joined(separator: "; ")))"
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

    public init(
        weights: [String: Tensor], reference: [String: Tensor], optimizer: [String: Tensor],
        state: TrainerState, configuration: GRPOConfiguration, scenarioSettings: ConfigNode? = nil
    ) {
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

    /// The files a complete checkpoint directory holds (`reference.safetensors` and
    /// `scenario.json` only when the run has them).
    public static let requiredFiles = ["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"]

    /// Reads a checkpoint directory, refusing values no run can have written: non-finite weights
    /// or optimizer state, an unknown `format_version`, a negative step or an impossible generator
    /// state (each error names the file and the field).
    public static func read(from directory: URL) throws -> Checkpoint {
        func file(_ name: String) throws -> URL {
            let u = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: u.path) else { throw CheckpointError.missing(file: name, in: directory.path) }
            return u
        }
        func tensors(_ url: URL) throws -> [String: Tensor] {
            let f = try SafeTensorsFile(contentsOf: url)
            var out: [String: Tensor] = [:]
            for n in f.names {
                let t = try f.tensor(named: n)
                if !t.withUnsafeBufferPointer({ $0.allSatisfy(\.isFinite) }) {
                    throw CheckpointError.invalid(file: url.path, field: n, reason: "holds NaN or infinity")
                }
                out[n] = t
            }
            return out
        }
        let weights = try tensors(try file("model.safetensors"))
        let refURL = directory.appendingPathComponent("reference.safetensors")
        let reference = FileManager.default.fileExists(atPath: refURL.path) ? try tensors(refURL) : [:]
        let optimizer = try tensors(try file("optimizer.safetensors"))
        let state = try TrainerState.read(from: try file("trainer_state.json"))
        let config = try GRPOConfiguration(json: String(contentsOf: try file("config.json"), encoding: .utf8))
        let scenarioURL = directory.appendingPathComponent("scenario.json")
        let scenario =
            FileManager.default.fileExists(atPath: scenarioURL.path)
            ? try ConfigNode.parse(json: String(contentsOf: scenarioURL, encoding: .utf8), path: scenarioURL.path) : nil
        return Checkpoint(
            weights: weights, reference: reference, optimizer: optimizer, state: state, configuration: config,
            scenarioSettings: scenario)
    }

    /// What differs between the configuration that wrote this checkpoint and `configuration`
    /// (with the scenario settings `scenarioSettings`): the experts (names, frozen or not), which a
    /// resumed run cannot change, and the scenario's settings (`scenario.…` entries), which a
    /// command line may change on purpose. Empty when they match.
    public func differences(from configuration: GRPOConfiguration, scenarioSettings: ConfigNode?) -> [String] {
        var out: [String] = []
        let mine = Set(self.configuration.experts.keys), theirs = Set(configuration.experts.keys)
        if mine != theirs {
            out.append("experts: checkpoint \(mine.sorted()), this run \(theirs.sorted())")
        }
        for name in mine.intersection(theirs).sorted()
        where self.configuration.experts[name]?.frozen != configuration.experts[name]?.frozen {
            out.append(
                "experts.\(name).frozen: checkpoint \(self.configuration.experts[name]!.frozen), "
                    + "this run \(configuration.experts[name]!.frozen)")
        }
        if let stored = self.scenarioSettings, let current = scenarioSettings {
            out += Self.differingKeys(stored, current, path: "scenario")
        }
        return out
    }

    private static func differingKeys(_ a: ConfigNode, _ b: ConfigNode, path: String) -> [String] {
        guard case .object(let x) = a, case .object(let y) = b else {
            return a == b ? [] : ["\(path): checkpoint \(compact(a)), this run \(compact(b))"]
        }
        return Set(x.keys).union(y.keys).sorted().flatMap { k in
            differingKeys(x[k] ?? .null, y[k] ?? .null, path: path + "." + k)
        }
    }

    private static func compact(_ node: ConfigNode) -> String {
        String(decoding: (try? JSONEncoder().encode(node)) ?? Data(), as: UTF8.self)
    }

    /// The complete checkpoint directories (`step-NNNNNN` holding every one of
    /// ``requiredFiles``) in `directory`, oldest first.
    public static func list(in directory: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard let s = step(ofDirectoryNamed: name) else { return nil }
            let url = directory.appendingPathComponent(name)
            return isComplete(url) ? (s, url) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// The step of a directory named `step-N` (N ≥ 0), else nil.
    static func step(ofDirectoryNamed name: String) -> Int? {
        guard name.hasPrefix("step-"), let s = Int(name.dropFirst(5)), s >= 0 else { return nil }
        return s
    }

    /// Whether `url` holds every file of ``requiredFiles``.
    public static func isComplete(_ url: URL) -> Bool {
        requiredFiles.allSatisfy { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }
    }

    /// The newest complete checkpoint in `directory`, if any.
    public static func latest(in directory: URL) -> URL? { list(in: directory).last?.url }

    /// Removes what interrupted writes and prunes leave behind in `directory`: temporary
    /// `.step-N.tmp-*`, `.step-N.old-*` and `.step-N.del-*` directories and `step-N` directories
    /// missing one of ``requiredFiles``. Returns the names removed.
    @discardableResult
    public static func removeLeftovers(in directory: URL) -> [String] {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed: [String] = []
        for name in names.sorted() {
            let url = directory.appendingPathComponent(name)
            let temporary = name.hasPrefix(".step-") && [".tmp-", ".old-", ".del-"].contains { name.contains($0) }
            let incomplete = step(ofDirectoryNamed: name) != nil && !isComplete(url)
            if (temporary || incomplete) && (try? fm.removeItem(at: url)) != nil { removed.append(name) }
        }
        return removed
    }

    /// Deletes all but the newest `keep` checkpoints in `directory`. Each is first renamed to a
    /// hidden `.step-N.del-*` name, so that an interrupted delete never leaves a partial `step-N`.
    public static func prune(in directory: URL, keep: Int) {
        guard keep > 0 else { return }
        for (_, url) in list(in: directory).dropLast(keep) {
            let doomed = directory.appendingPathComponent(".\(url.lastPathComponent).del-\(UUID().uuidString.prefix(8))")
            if (try? rename(url, doomed)) != nil { try? FileManager.default.removeItem(at: doomed) }
        }
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
