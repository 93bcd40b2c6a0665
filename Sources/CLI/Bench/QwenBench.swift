import ArgumentParser
import Foundation
import UniRLExperts
import UniRLTensor

/// `unirl bench qwen`: the Qwen2 decoder's forward+backward and KV-cache sampling against
/// transformers on the same configuration (scripts/bench_transformers_qwen.py).
struct QwenBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwen",
        abstract: "Qwen2 decoder forward+backward and 64-token KV-cache sampling vs transformers.",
        discussion: """
        Configuration: hidden 128, 4 layers, 4 heads, 2 KV heads, intermediate 384, vocab 1024, untied head. \
        forward_backward: ids [8, 128], next-token cross-entropy. sample_64: prompts [8, 64], 64 new tokens at \
        temperature 1 without truncation. Median of --repeats runs after --warmup.
        """)

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Threads for our kernels and PyTorch (set UNIRL_NUM_THREADS to the same).") var threads = 2
    @Option(help: "Timed runs per case.") var repeats = 10
    @Option(help: "Untimed runs before them.") var warmup = 5
    @Flag(help: "Skip the transformers comparison even if .venv-reference exists.") var noTorch = false
    @Option(help: "Package root holding .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath

    func validate() throws {
        if Parallel.threadCount != threads {
            throw ValidationError(threadCountMismatch(threads))
        }
    }

    static let model = Qwen2Configuration(vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, numHiddenLayers: 4,
                                          numAttentionHeads: 4, numKeyValueHeads: 2)

    func run() throws {
        var rng = RandomState(seed: 0)
        let lm = Qwen2CausalLM(Self.model, rng: &rng)
        let ids = (0..<(8 * 128)).map { _ in Int(rng.next() % 1024) }
        let batch = TokenBatch(ids: ids, batch: 8)
        var targets = [Int](repeating: -100, count: 8 * 128)
        for r in 0..<8 { for j in 0..<127 { targets[r * 128 + j] = ids[r * 128 + j + 1] } }
        let positions = try lm.positionIDs(for: batch)
        resetPeakResident()
        let both = medianMilliseconds(warmup: warmup, repeats: repeats) {
            lm.zeroGrad()
            let logits = try! lm.logits(for: batch, positions: positions, cache: nil)
            logits.reshaped([8 * 128, 1024]).crossEntropy(targets: targets).backward()
        }
        let bothPeak = peakResidentMiB()
        lm.zeroGrad()
        let prompts = TokenBatch(ids: (0..<(8 * 64)).map { _ in Int(rng.next() % 1024) }, batch: 8)
        var sampling = RandomState(seed: 1)
        let generator = TokenGenerator(lm)
        resetPeakResident()
        let sample = medianMilliseconds(warmup: max(1, warmup / 2), repeats: repeats) {
            _ = try! generator.generate(prompts, options: GenerationOptions(maxNewTokens: 64), using: &sampling)
        }
        var rows = [
            BenchmarkRow(
                name: "qwen_decoder", pass: "forward_backward", shape: "ids[8,128] h128 L4 V1024", ms: both, peakRSSMiB: bothPeak),
            BenchmarkRow(
                name: "qwen_sample", pass: "sample_64", shape: "prompt[8,64] +64 tokens", ms: sample, peakRSSMiB: peakResidentMiB()),
        ]
        var versions: String?
        if !noTorch, let out = ReferenceBenchmark(root: URL(fileURLWithPath: root), script: "scripts/bench_transformers_qwen.py")?
            .run(arguments: ["--threads", String(threads), "--warmup", String(warmup), "--repeats", String(repeats)]) {
            let name = "transformers \(out.transformers ?? "?")"
            versions = "torch \(out.torch), \(name)"
            rows.fillReference(from: out, label: name)
        }
        let report = BenchmarkReport(suite: "qwen", threads: threads, machine: machineDescription(), torchVersion: versions, rows: rows)
        if json {
            print(try prettyJSON(report))
        } else {
            print("unirl bench qwen — \(report.machine), \(threads) threads, median ms\n")
            print(report.table())
            if versions == nil && !noTorch {
                print("\n(transformers columns empty: run scripts/setup-reference-env.sh to create .venv-reference)")
            }
        }
    }
}
