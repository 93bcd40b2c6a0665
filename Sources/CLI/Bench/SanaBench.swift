import ArgumentParser
import Foundation
import UniRLExperts
import UniRLTensor

/// `unirl bench sana`: the SANA transformer's forward and forward+backward, and a 10-step SDE
/// rollout with log-probs, against diffusers on the same configuration (scripts/bench_diffusers_sana.py).
struct SanaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sana",
        abstract: "SANA DiT forward/backward and a 10-step SDE rollout vs diffusers.",
        discussion: """
        Configuration: 8 latent channels, 16×16 latent, 4 layers, 4 heads × 32 (width 128), cross-attention \
        4 × 32, caption 16 × 128, batch 8, patch 1. Median of --repeats runs after --warmup.
        """)

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Threads for our kernels and PyTorch (set UNIRL_NUM_THREADS to the same).") var threads = 2
    @Option(help: "Timed runs per case.") var repeats = 20
    @Option(help: "Untimed runs before them (PyTorch needs several to reach its steady state).") var warmup = 10
    @Flag(help: "Skip the diffusers comparison even if .venv-reference exists.") var noTorch = false
    @Option(help: "Package root holding .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath
    @Option(help: "Comma-separated cases to time: forward, forward_backward, rollout (e.g. to profile one).")
    var cases = "forward,forward_backward,rollout"

    func validate() throws {
        let known: Set = ["forward", "forward_backward", "rollout"]
        if let bad = selectedCases.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown case '\(bad)'; choose from forward, forward_backward, rollout")
        }
        if Parallel.threadCount != threads {
            throw ValidationError(threadCountMismatch(threads))
        }
    }

    var selectedCases: Set<String> { Set(cases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }

    /// The benchmark model: diffusers' `SanaTransformer2DModel` of this configuration.
    static let model = SanaTransformerConfiguration(
        inChannels: 8, outChannels: 8, numAttentionHeads: 4, attentionHeadDim: 32, numLayers: 4,
        numCrossAttentionHeads: 4, crossAttentionHeadDim: 32, crossAttentionDim: 128, captionChannels: 128,
        mlpRatio: 2.5, sampleSize: 16, patchSize: 1)
    static let shape = "x[8,8,16,16] caption[8,16,128] L=4 H=4×32"

    func run() throws {
        var rng = RandomState(seed: 0)
        let transformer = try SanaTransformer(configuration: Self.model, rng: &rng)
        let x = Tensor.randomNormal([8, 8, 16, 16], using: &rng)
        let caption = Tensor.randomNormal([8, 16, 128], using: &rng)
        let timestep = Tensor([Float](repeating: 500, count: 8))
        let parameters = transformer.namedParameters().map(\.parameter)

        let selected = selectedCases
        var rows: [BenchmarkRow] = []
        if selected.contains("forward") {
            resetPeakResident()
            let ms = medianMilliseconds(warmup: warmup, repeats: repeats) {
                _ = withoutGrad { transformer(x, encoderHiddenStates: caption, timestep: timestep) }
            }
            rows.append(
                BenchmarkRow(name: "sana_dit", pass: "forward", shape: Self.shape, ms: ms,
                             peakRSSMiB: peakResidentMiB()))
        }
        if selected.contains("forward_backward") {
            resetPeakResident()
            let ms = medianMilliseconds(warmup: warmup, repeats: repeats) {
                for p in parameters { p.zeroGrad() }
                let out = transformer(x, encoderHiddenStates: caption, timestep: timestep)
                (out.square().sum() * (1 / Float(out.elementCount))).backward()
            }
            for p in parameters { p.zeroGrad() }
            rows.append(
                BenchmarkRow(name: "sana_dit", pass: "forward_backward", shape: Self.shape, ms: ms,
                             peakRSSMiB: peakResidentMiB()))
        }
        if selected.contains("rollout") {
            let policy = SanaPolicy(transformer: transformer, settings: SanaPolicySettings(steps: 10, noiseLevel: 0.7), latentSize: 16)
            let conditions = (0..<8).map { SanaCondition(embedding: caption.slice(axis: 0, $0..<($0 + 1)).squeezed(0)) }
            var sampling = RandomState(seed: 1)
            resetPeakResident()
            let ms = medianMilliseconds(warmup: 1, repeats: max(3, repeats / 2)) {
                _ = try? policy.sample(conditions, using: &sampling)
            }
            rows.append(
                BenchmarkRow(name: "sde_rollout_10", pass: "sample+logprob", shape: Self.shape, ms: ms,
                             peakRSSMiB: peakResidentMiB()))
        }

        var versions: String?
        if !noTorch, let reference = ReferenceBenchmark(root: URL(fileURLWithPath: root), script: "scripts/bench_diffusers_sana.py"),
           let out = reference.run(arguments: ["--threads", String(threads), "--warmup", String(warmup), "--repeats", String(repeats)]) {
            let diffusers = out.diffusers ?? "?"
            versions = "torch \(out.torch), diffusers \(diffusers)"
            for i in rows.indices {
                if let r = out.results.first(where: { $0.name == rows[i].name && $0.pass == rows[i].pass }) {
                    rows[i].referenceMs = r.ms
                    rows[i].referenceName = "diffusers \(diffusers)"
                }
            }
        }
        let report = BenchmarkReport(suite: "sana", threads: threads, machine: machineDescription(), torchVersion: versions, rows: rows)
        if json {
            print(try prettyJSON(report))
        } else {
            print("unirl bench sana — \(report.machine), \(threads) threads, median ms\n")
            print(report.table())
            if versions == nil && !noTorch {
                print("\n(diffusers columns empty: run scripts/setup-reference-env.sh to create .venv-reference)")
            }
        }
    }
}
