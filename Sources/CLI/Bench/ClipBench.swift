import ArgumentParser
import Foundation
import UniRLExperts
import UniRLTensor

/// `unirl bench clip`: CLIP text and image embedding throughput at ViT-B/32 shapes (random
/// weights) against transformers (scripts/bench_transformers_clip.py).
struct ClipBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "CLIP text and image embedding (ViT-B/32 shapes, random weights) vs transformers.",
        discussion: """
            clip_text: projected text features of ids [batch, 77] with a padding mask (row r holds 7 + 10·r tokens). \
            clip_image: projected image features of pixels [batch, 3, 224, 224]. No gradients. Median of --repeats \
            runs after --warmup; the table adds texts or images per second.
            """)

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Threads for our kernels and PyTorch (set UNIRL_NUM_THREADS to the same).") var threads = 2
    @Option(help: "Timed runs per case.") var repeats = 5
    @Option(help: "Untimed runs before them.") var warmup = 2
    @Option(help: "Texts and images per call.") var batch = 8
    @Flag(help: "Skip the transformers comparison even if .venv-reference exists.") var noTorch = false
    @Option(help: "Package root holding .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath

    func validate() throws {
        if Parallel.threadCount != threads {
            throw ValidationError(
                "our kernels use \(Parallel.threadCount) threads; run with UNIRL_NUM_THREADS=\(threads) to benchmark \(threads)")
        }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        var rng = RandomState(seed: 0)
        let model = CLIPModel(CLIPConfiguration(text: .text(), vision: .vision()), rng: &rng)
        var ids = [Int](repeating: 49_407, count: batch * 77), mask = [Float](repeating: 0, count: batch * 77)
        for r in 0..<batch {
            let n = min(7 + 10 * r, 77)
            ids[r * 77] = 49_406
            for j in 1..<(n - 1) { ids[r * 77 + j] = Int(rng.next() % 49_406) }
            for j in 0..<n { mask[r * 77 + j] = 1 }
        }
        let maskTensor = Tensor(shape: [batch, 77], scalars: mask)
        let pixels = Tensor.randomNormal([batch, 3, 224, 224], using: &rng)
        resetPeakResident()
        let text = medianMilliseconds(warmup: warmup, repeats: repeats) {
            withoutGrad { _ = try! model.textFeatures(ids, batch: batch, attentionMask: maskTensor) }
        }
        let textPeak = peakResidentMiB()
        resetPeakResident()
        let image = medianMilliseconds(warmup: warmup, repeats: repeats) {
            withoutGrad { _ = try! model.imageFeatures(pixels) }
        }
        var rows = [
            BenchmarkRow(
                name: "clip_text", pass: "forward", shape: "ids[\(batch),77] B/32 text", ms: text, peakRSSMiB: textPeak),
            BenchmarkRow(
                name: "clip_image", pass: "forward", shape: "pixels[\(batch),3,224,224] ViT-B/32", ms: image,
                peakRSSMiB: peakResidentMiB()),
        ]
        var versions: String?
        if !noTorch,
            let out = ReferenceBenchmark(root: URL(fileURLWithPath: root), script: "scripts/bench_transformers_clip.py")?
                .run(arguments: [
                    "--threads", String(threads), "--warmup", String(warmup), "--repeats", String(repeats),
                    "--batch", String(batch),
                ])
        {
            let name = "transformers \(out.transformers ?? "?")"
            versions = "torch \(out.torch), \(name)"
            rows.fillReference(from: out, label: name)
        }
        let report = BenchmarkReport(suite: "clip", threads: threads, machine: machineDescription(), torchVersion: versions, rows: rows)
        if json {
            print(try prettyJSON(report))
        } else {
            print("unirl bench clip — \(report.machine), \(threads) threads, median ms, batch \(batch)\n")
            print(report.table())
            for row in rows {
                let ours = Double(batch) / row.ms * 1000
                let theirs = row.referenceMs.map { String(format: ", transformers %.1f/s", Double(batch) / $0 * 1000) } ?? ""
                print(String(format: "%@: UniRL %.1f %@/s%@", row.name, ours, row.name == "clip_text" ? "texts" : "images", theirs))
            }
            if versions == nil && !noTorch {
                print("\n(transformers columns empty: run scripts/setup-reference-env.sh to create .venv-reference)")
            }
        }
    }
}
