import ArgumentParser
import Foundation
import UniRLCore
import UniRLScenarios
import UniRLTensor

/// `unirl bench grpo`: one whole GRPO step of the `text` and `t2i` scenarios at their default
/// settings (the bundled tiny models), split into phases from the trainer's `time/*` metrics, with
/// the process's peak resident memory; and the same step in PyTorch (scripts/bench_grpo_step.py,
/// transformers / diffusers) in the same run when the reference environment exists.
struct GRPOStepBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo",
        abstract: "One whole GRPO step of the text and t2i scenarios, per phase, with peak memory, vs PyTorch.",
        discussion: """
            Each scenario runs at its pack's defaults (text: 4 prompts × 8 samples, up to 48 new tokens, β 0.04; t2i: \
            4 prompts × 8 samples, the pack's SDE steps and guidance, 4 micro-batches, β 0.004). --warmup steps are \
            untimed; each phase is the median over --repeats steps. Peak RSS is VmHWM of the process after the \
            scenario (one scenario per process: run `--scenarios text` and `--scenarios t2i` apart for separate peaks).
            """)

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Threads for our kernels and PyTorch (set UNIRL_NUM_THREADS to the same).") var threads = 2
    @Option(help: "Timed GRPO steps per scenario.") var repeats = 3
    @Option(help: "Untimed steps before them.") var warmup = 1
    @Flag(help: "Skip the PyTorch comparison even if .venv-reference exists.") var noTorch = false
    @Option(help: "Package root holding .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath
    @Option(help: "Comma-separated scenarios: text, t2i.") var scenarios = "text,t2i"
    @Option(
        name: .customLong("t2i-setting"),
        help: "A t2i scenario setting KEY=VALUE over the pack's defaults, e.g. gradient_checkpointing=true (repeatable; ours only).")
    var textToImageSettings: [String] = []

    static let known = ["text", "t2i"]
    /// The phases of a step, in order, and the trainer metric each is read from.
    static let phases: [(name: String, metric: String)] = [
        ("rollout", "time/rollout"), ("reward", "time/reward"), ("advantages", "time/advantages"),
        ("old+reference", "time/old_and_reference"), ("replay", "time/replay"), ("loss", "time/loss"),
        ("backward", "time/backward"), ("optimizer", "time/optimizer"), ("step", "time/step"),
    ]

    var selected: [String] { scenarios.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        if let bad = selected.first(where: { !Self.known.contains($0) }) {
            throw ValidationError("unknown scenario '\(bad)'; choose from \(Self.known.joined(separator: ", "))")
        }
        if repeats < 1 { throw ValidationError("--repeats must be ≥ 1") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0") }
        if Parallel.threadCount != threads { throw ValidationError(threadCountMismatch(threads)) }
    }

    struct ScenarioTiming: Codable {
        var scenario: String
        var setting: String
        /// Median seconds per phase.
        var seconds: [String: Double]
        var peakRSSMiB: Double?
        var meanCompletionTokens: Double?
        var reference: [String: Double]?
        var referencePeakRSSMiB: Double?
        var referenceMeanCompletionTokens: Double?
    }

    /// The questions the PyTorch side asks (the text scenario's first training questions, as many as its steps use).
    struct Question: Codable {
        var question: String
        var answer: String
    }

    /// The captions the PyTorch side draws (the t2i scenario's first training prompts, as many as its steps use).
    struct Caption: Codable {
        var caption: String
    }

    func run() async throws {
        var timings: [ScenarioTiming] = []
        var prompts: [String: Data] = [:]
        for name in selected {
            if name == "text" {
                let (seconds, setting, lengths, asked) = try await timeText()
                prompts[name] = try JSONEncoder().encode(asked)
                timings.append(
                    ScenarioTiming(
                        scenario: name, setting: setting, seconds: seconds, peakRSSMiB: peakResidentMiB(),
                        meanCompletionTokens: lengths))
            } else {
                let (seconds, setting, captions) = try await timeTextToImage()
                prompts[name] = try JSONEncoder().encode(captions)
                timings.append(ScenarioTiming(scenario: name, setting: setting, seconds: seconds, peakRSSMiB: peakResidentMiB()))
            }
        }
        var versions: String?
        if !noTorch, let reference = ReferenceGRPOStep(root: URL(fileURLWithPath: root)) {
            // The PyTorch t2i step follows the pack's defaults; settings changed with --t2i-setting are ours alone.
            for i in timings.indices where !(timings[i].scenario == "t2i" && !textToImageSettings.isEmpty) {
                let name = timings[i].scenario
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-bench-grpo-\(UUID().uuidString).json")
                try prompts[name]?.write(to: file)
                defer { try? FileManager.default.removeItem(at: file) }
                guard
                    let out = reference.run(
                        scenario: name, prompts: file, threads: threads, warmup: warmup, repeats: repeats)
                else { continue }
                timings[i].reference = out.seconds
                timings[i].referencePeakRSSMiB = out.peakRSSMiB
                timings[i].referenceMeanCompletionTokens = out.meanCompletionTokens
                versions = out.versions
            }
        }
        if json {
            print(try prettyJSON(timings))
            return
        }
        print("unirl bench grpo — \(machineDescription()), \(threads) threads, median seconds over \(repeats) steps\n")
        for t in timings {
            print("### \(t.scenario): \(t.setting)\n")
            print("| phase | UniRL s | PyTorch s | speed vs PyTorch |")
            print("|---|---:|---:|---:|")
            for (phase, _) in Self.phases {
                let ours = t.seconds[phase]
                let theirs = t.reference?[phase]
                // The t2i reward is ShapesEval on our side and a stand-in statistic on PyTorch's: not compared.
                let comparable = !(t.scenario == "t2i" && phase == "reward")
                let speed = zip2(ours, theirs).map { $0 > 0 && comparable ? String(format: "%.2f×", $1 / $0) : "—" } ?? "—"
                print("| \(phase) | \(format(ours)) | \(format(theirs)) | \(speed) |")
            }
            let rss = { (v: Double?) in v.map { String(format: "%.0f MiB", $0) } ?? "—" }
            print("| peak RSS (VmHWM) | \(rss(t.peakRSSMiB)) | \(rss(t.referencePeakRSSMiB)) | |")
            let tokens = { (v: Double?) in v.map { String(format: "%.1f", $0) } ?? "—" }
            if t.scenario == "text" {
                print("| mean completion tokens | \(tokens(t.meanCompletionTokens)) | \(tokens(t.referenceMeanCompletionTokens)) | |")
            }
            print("")
        }
        if let versions { print("PyTorch side: \(versions)") }
        if !noTorch && timings.contains(where: { $0.scenario == "t2i" && $0.reference != nil }) {
            print("(t2i reward: ShapesEval on our side, a stand-in image statistic on PyTorch's, so not compared)")
        }
        if !noTorch && versions == nil && ReferenceGRPOStep(root: URL(fileURLWithPath: root)) == nil {
            print("(PyTorch columns empty: run scripts/setup-reference-env.sh to create .venv-reference)")
        }
    }

    func format(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "—" }
    func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? { a.flatMap { x in b.map { (x, $0) } } }

    /// Steps `trainer` warmup + repeats times; the median of each phase over the timed steps, and
    /// the mean of `completions/mean_length` (token scenarios).
    func timeSteps<S: Scenario>(_ trainer: GRPOTrainer<S>) async throws -> (seconds: [String: Double], completion: Double?) {
        for _ in 0..<warmup { try await trainer.trainStep() }
        var samples: [String: [Double]] = [:]
        var lengths: [Double] = []
        for _ in 0..<repeats {
            let m = try await trainer.trainStep().metrics
            for (phase, metric) in Self.phases { samples[phase, default: []].append(m[metric] ?? 0) }
            if let l = m["completions/mean_length"] { lengths.append(l) }
        }
        let medians = samples.mapValues { v in
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        return (medians, lengths.isEmpty ? nil : lengths.reduce(0, +) / Double(lengths.count))
    }

    /// A pack's default configuration, quiet and without files.
    static func quiet(_ c: GRPOConfiguration, steps: Int) -> GRPOConfiguration {
        var c = c
        c.run.steps = steps
        c.run.progressBar = .never
        c.run.jsonl = false
        c.run.tensorboard = false
        c.run.checkpointEvery = 0
        c.run.logEvery = 0
        return c
    }

    func timeText() async throws -> ([String: Double], String, Double?, [Question]) {
        let pack = AnswerPack(task: .text)
        var layers = try ScenarioRunner(pack: pack).defaults()
        layers.scenario.forgetting = false
        let config = Self.quiet(layers.configuration, steps: warmup + repeats)
        let scenario = try pack.makeScenario(settings: layers.scenario, configuration: config)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let t = config.trainer, s = layers.scenario
        let setting =
            "bundled tiny LM, \(t.promptsPerStep) prompts × \(t.groupSize), ≤ \(s.maxNewTokens) new tokens, T \(s.temperature), "
            + "β \(config.experts["lm"]?.beta ?? 0), AdamW"
        let asked = try scenario.prompts(.train).prefix(t.promptsPerStep * (warmup + repeats))
            .map { Question(question: $0.question, answer: $0.answer) }
        let (seconds, lengths) = try await timeSteps(trainer)
        return (seconds, setting, lengths, asked)
    }

    func timeTextToImage() async throws -> ([String: Double], String, [Caption]) {
        let pack = TextToImagePack()
        let layers = try ScenarioRunner(pack: pack).defaults()
        let config = Self.quiet(layers.configuration, steps: warmup + repeats)
        let settings = try layers.scenario.applying(overrides: textToImageSettings)
        try settings.validate()
        let scenario = try pack.makeScenario(settings: settings, configuration: config)
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        let t = config.trainer, s = scenario.settings
        let setting =
            "bundled tiny unified model, \(t.promptsPerStep) prompts × \(t.groupSize), \(s.samplingSteps) SDE steps, "
            + "guidance \(s.guidanceScale), \(t.gradientAccumulation) micro-batches, β \(config.experts["dm"]?.beta ?? 0), AdamW"
            + (textToImageSettings.isEmpty ? "" : ", " + textToImageSettings.joined(separator: ", "))
        let captions = try scenario.prompts(.train).prefix(t.promptsPerStep * (warmup + repeats)).map { Caption(caption: $0.caption) }
        return (try await timeSteps(trainer).seconds, setting, captions)
    }
}

/// The peak resident memory of this process (VmHWM of /proc/self/status) in MiB; nil off Linux.
/// Resets the process's VmHWM to its current resident size (Linux: "5" into /proc/self/clear_refs),
/// so that ``peakResidentMiB()`` reads the peak from here on.
func resetPeakResident() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

func peakResidentMiB() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first
        return kb.map { $0 / 1024 }
    }
    return nil
}

/// scripts/bench_grpo_step.py, the PyTorch half of `unirl bench grpo`: one process per scenario so
/// that its VmHWM is that scenario's. It prints `{"versions", "seconds": {phase: s}, "peak_rss_mib"}`.
struct ReferenceGRPOStep {
    struct Output: Decodable {
        var versions: String
        var seconds: [String: Double]
        var peakRSSMiB: Double?
        var meanCompletionTokens: Double?
        enum CodingKeys: String, CodingKey {
            case versions, seconds
            case peakRSSMiB = "peak_rss_mib"
            case meanCompletionTokens = "mean_completion_tokens"
        }
    }

    let python: URL
    let script: URL
    let root: URL

    init?(root: URL) {
        self.root = root
        python = referencePython(root: root)
        script = root.appendingPathComponent("scripts/bench_grpo_step.py")
        guard FileManager.default.isExecutableFile(atPath: python.path), FileManager.default.fileExists(atPath: script.path)
        else { return nil }
    }

    func run(scenario: String, prompts: URL, threads: Int, warmup: Int, repeats: Int) -> Output? {
        let process = Process()
        process.executableURL = python
        process.arguments = [
            script.path, "--scenario", scenario, "--prompts", prompts.path, "--threads", String(threads), "--warmup", String(warmup),
            "--repeats", String(repeats), "--root", root.path,
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        do { try process.run() } catch {
            FileHandle.standardError.write(Data("bench_grpo_step.py could not start: \(error)\n".utf8))
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            FileHandle.standardError.write(Data("bench_grpo_step.py exited with status \(process.terminationStatus)\n".utf8))
            return nil
        }
        return try? JSONDecoder().decode(Output.self, from: data)
    }
}
