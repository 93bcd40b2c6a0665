import ArgumentParser
import Foundation
import UniRLExperts

/// `unirl bench tokenizer`: encoding the committed 1,200-string corpus (repeated) with Qwen's
/// vocabulary, one thread, against tiktoken (scripts/bench_tiktoken.py).
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "Qwen BPE encoding throughput vs tiktoken.")

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Times the corpus is repeated per run.") var copies = 20
    @Option(help: "Timed runs.") var repeats = 5
    @Flag(help: "Skip the tiktoken comparison.") var noTiktoken = false
    @Option(help: "Package root holding Tests/Fixtures, .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath

    func run() throws {
        let folder = URL(fileURLWithPath: root).appendingPathComponent("Tests/Fixtures/tokenizer")
        let tok = try BPETokenizer(tiktokenRanks: folder.appendingPathComponent("qwen.tiktoken"), specialTokens: BPETokenizer.dashscopeSpecialTokens)
        let lines = try String(contentsOf: folder.appendingPathComponent("corpus.jsonl"), encoding: .utf8).split(separator: "\n")
        let texts = try lines.map { (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["text"] as! String }
        let all = Array(repeating: texts, count: copies).flatMap { $0 }
        let bytes = all.reduce(0) { $0 + $1.utf8.count }
        let ms = medianMilliseconds(warmup: 1, repeats: repeats) { for t in all { _ = tok.encode(t) } }
        var row = BenchmarkRow(name: "qwen_tokenizer", pass: "encode", shape: "\(all.count) strings, \(bytes / 1024) KiB, 1 thread", ms: ms)
        var versions: String?
        if !noTiktoken, let out = PythonBenchmark(root: URL(fileURLWithPath: root), script: "scripts/bench_tiktoken.py")?
            .run(arguments: ["--copies", String(copies), "--repeats", String(repeats)]), let r = out.results.first {
            row.referenceMs = r.ms
            row.referenceName = out.transformers ?? "tiktoken"
            versions = out.transformers
        }
        let report = BenchmarkReport(suite: "tokenizer", threads: 1, machine: machineDescription(), torchVersion: versions, rows: [row])
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("unirl bench tokenizer — \(report.machine), 1 thread, median ms (\(String(format: "%.2f", Double(bytes) / 1e6 / (ms / 1e3))) MB/s ours)\n")
            print(report.table())
        }
    }
}
