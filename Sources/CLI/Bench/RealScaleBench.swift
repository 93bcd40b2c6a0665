import ArgumentParser
import Foundation
import UniRLExperts
import UniRLTensor

/// `unirl bench realscale`: the real-scale unified model (random weights in the real layouts,
/// BF16 on disk) written once, then loaded with bfloat16 weight matrices and run for one
/// text-to-image rollout step, with the time and resident memory of each phase.
struct RealScaleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realscale",
        abstract: "Write a random real-scale unified model to disk, or load it (BF16 weights) and run one t2i step.",
        discussion: """
            --write DIR: the preset's parameters drawn from their initialisers (seeded), written as BF16 in the official \
            single-checkpoint layout (~2 bytes per parameter). --run DIR: load with weight matrices kept in bfloat16 \
            (memory-mapped), then LM over a prompt + the t2i queries, connector, one DiT step on the latent, DC-AE decode. \
            Prints each phase's time, the resident set after it (VmRSS) and the peak (VmHWM). Run the two in separate \
            processes so the peak is the run's.
            """)

    @Option(help: "Write the preset's random checkpoint into this folder.") var write: String?
    @Option(name: .customLong("run"), help: "Load the checkpoint in this folder and run one text-to-image step.") var runFolder: String?
    @Option(help: "Preset to write: unirl-zero, or tiny (the bundled tiny-unified configurations, for checking the command).")
    var preset = "unirl-zero"
    @Option(help: "Seed of the random weights and the run's inputs.") var seed: UInt64 = 0
    @Option(help: "Prompt length in tokens (the t2i queries follow it).") var promptTokens = 32
    @Option(help: "Latent side (32 for 1024 px with DC-AE f32c32).") var latentSize = 32
    @Flag(help: "Skip the DC-AE decode.") var noDecode = false
    @Option(help: "Package root (for --preset tiny).") var root = FileManager.default.currentDirectoryPath

    func validate() throws {
        if (write == nil) == (runFolder == nil) { throw ValidationError("give exactly one of --write DIR and --run DIR") }
        if promptTokens < 1 || latentSize < 1 { throw ValidationError("--prompt-tokens and --latent-size must be positive") }
    }

    func resolvedPreset() throws -> UnifiedPreset {
        if let named = UnifiedPreset.named[preset] { return named }
        guard preset == "tiny" else {
            throw ValidationError(
                "unknown preset '\(preset)'; choose from \((UnifiedPreset.named.keys.sorted() + ["tiny"]).joined(separator: ", "))")
        }
        let base = URL(fileURLWithPath: root).appendingPathComponent("Sources/Scenarios/Resources/tiny-unified")
        return UnifiedPreset(
            lm: try QwenVLConfiguration.load(from: base.appendingPathComponent("lm/config.json")),
            connector: try MetaQueryConnectorConfiguration.load(from: base.appendingPathComponent("connector/config.json")),
            transformer: try SanaTransformerConfiguration.load(from: base.appendingPathComponent("dm/config.json")),
            referencePath: true,
            autoencoder: try AutoencoderDCConfiguration.load(from: base.appendingPathComponent("vae/config.json")))
    }

    func run() throws {
        if let write {
            let p = try resolvedPreset()
            let start = Date()
            let count = try p.writeRandomCheckpoint(to: URL(fileURLWithPath: write), seed: seed)
            let seconds = Date().timeIntervalSince(start)
            print(
                "wrote \(count) parameters (BF16) of preset \(preset) to \(write) in \(String(format: "%.1f", seconds)) s; "
                    + "peak RSS \(Self.memory("VmHWM")) MiB")
            return
        }
        try runStep(URL(fileURLWithPath: runFolder!))
    }

    func runStep(_ folder: URL) throws {
        var phases: [(name: String, seconds: Double, rss: Int)] = []
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let start = Date()
            let result = try body()
            phases.append((name, Date().timeIntervalSince(start), Self.memory("VmRSS")))
            return result
        }
        let model = try timed("load (bfloat16 matrices, mapped)") { try UnifiedModel.load(from: folder, matrices: .bfloat16) }
        var rng = RandomState(seed: seed)
        let vocabulary = model.lm.configuration.text.vocabSize
        let prompt = LanguagePrompt(tokens: (0..<promptTokens).map { _ in Int(rng.next() % UInt64(min(vocabulary, 150_000))) })
        let condition = try timed("LM + connector (prompt + t2i queries)") {
            try withoutGrad { try model.condition(for: [prompt], querySet: .t2i) }
        }
        let channels = model.transformer.configuration.inChannels
        let x = Tensor.randomNormal([1, channels, latentSize, latentSize], using: &rng)
        let velocity = timed("DiT step") {
            withoutGrad { model.transformer(x, encoderHiddenStates: condition, timestep: Tensor([500])) }
        }
        let latent = withoutGrad { x - velocity * 0.1 }
        var side = 0
        if !noDecode {
            let images = try timed("DC-AE decode") { try model.decode(latent) }
            side = images.first?.width ?? 0
        }
        let peak = Self.memory("VmHWM")
        print("unirl bench realscale — \(machineDescription()), \(Parallel.threadCount) threads")
        print(
            "model \(folder.path): \(model.parameterCount()) parameters; condition \(condition.shape), latent \(latent.shape)"
                + (side > 0 ? ", image \(side)×\(side)" : ""))
        print("\n| phase | s | VmRSS after (MiB) |\n|---|---:|---:|")
        for p in phases { print("| \(p.name) | \(String(format: "%.2f", p.seconds)) | \(p.rss) |") }
        let total = phases.reduce(0) { $0 + $1.seconds }
        print("| total | \(String(format: "%.2f", total)) | peak VmHWM \(peak) |")
    }

    /// A `/proc/self/status` field in MiB (0 where there is none).
    static func memory(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let kib = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
        else { return 0 }
        return kib / 1024
    }
}
