import ArgumentParser
import Foundation
import UniRLExperts

/// `unirl bench tokenizer`: Qwen BPE encoding throughput on the committed corpus (repeated), ours
/// against tiktoken (scripts/bench_tiktoken.py, run from the reference environment in the same
/// invocation), one string at a time on one thread and in batches on `--threads` threads.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Qwen BPE encoding throughput (MB/s, tokens/s) vs tiktoken.",
        discussion: """
        Vocabulary: dashscope's qwen.tiktoken (151,643 ranks, Qwen's split, dashscope's 208 specials), the \
        1,500-string corpus of Tests/Fixtures/tokenizer repeated --copies times. encode: special tokens \
        allowed (tiktoken allowed_special="all"); encode_ordinary: none; documents_*: --copies documents, \
        each the whole corpus joined with blank lines. Median of --repeats runs.
        """)

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Times the corpus is repeated per run.") var copies = 64
    @Option(help: "Timed runs per case.") var repeats = 5
    @Option(help: "Threads for the batch cases (ours and tiktoken's num_threads).") var threads = 2
    @Flag(help: "Skip the tiktoken comparison.") var noTiktoken = false
    @Option(help: "Package root holding Tests/Fixtures, .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath

    struct Row: Codable {
        var name: String
        var threads: Int
        var ms: Double
        var megabytesPerSecond: Double
        var megatokensPerSecond: Double
        var tiktokenMs: Double?

        enum CodingKeys: String, CodingKey {
            case name, threads, ms
            case megabytesPerSecond = "mb_per_s", megatokensPerSecond = "mtokens_per_s", tiktokenMs = "tiktoken_ms"
        }
    }

    struct Report: Codable {
        var machine: String
        var strings: Int
        var bytes: Int
        var tokens: Int
        var tiktoken: String?
        var rows: [Row]
    }

    func run() throws {
        let folder = URL(fileURLWithPath: root).appendingPathComponent("Tests/Fixtures/tokenizer")
        let tok = try BPETokenizer(tiktokenRanks: folder.appendingPathComponent("qwen.tiktoken"),
                                   specialTokens: QwenTokenizer.dashscopeSpecialTokens, pattern: .qwen2)
        struct Line: Decodable { var text: String }
        let lines = try String(contentsOf: folder.appendingPathComponent("corpus.jsonl"), encoding: .utf8).split(separator: "\n")
        let corpus = try lines.map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)).text }
        let texts = Array(repeating: corpus, count: copies).flatMap { $0 }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        let tokens = texts.reduce(0) { $0 + tok.encode($1).count }
        let ordinaryTokens = texts.reduce(0) { $0 + tok.encode($1, allowedSpecial: .none).count }
        let documents = Array(repeating: corpus.joined(separator: "\n\n"), count: copies)
        let documentTokens = documents.reduce(0) { $0 + tok.encode($1, allowedSpecial: .none).count }

        let documentBytes = documents.reduce(0) { $0 + $1.utf8.count }
        func measure(_ name: String, threads: Int, tokens: Int, _ body: @escaping () -> Void) -> Row {
            let ms = medianMilliseconds(warmup: 1, repeats: repeats, body)
            let size = name.hasPrefix("documents") ? documentBytes : bytes
            return Row(name: name, threads: threads, ms: ms, megabytesPerSecond: Double(size) / 1e3 / ms,
                       megatokensPerSecond: Double(tokens) / 1e3 / ms)
        }
        var rows = [
            measure("encode", threads: 1, tokens: tokens) { for t in texts { _ = tok.encode(t) } },
            measure("encode_ordinary", threads: 1, tokens: ordinaryTokens) { for t in texts { _ = tok.encode(t, allowedSpecial: .none) } },
            measure("encode_batch", threads: threads, tokens: tokens) { _ = tok.encodeBatch(texts, threads: threads) },
            measure("encode_ordinary_batch", threads: threads, tokens: ordinaryTokens) {
                _ = tok.encodeBatch(texts, allowedSpecial: .none, threads: threads)
            },
            measure("documents_encode_ordinary", threads: 1, tokens: documentTokens) {
                for d in documents { _ = tok.encode(d, allowedSpecial: .none) }
            },
            measure("documents_encode_ordinary_batch", threads: threads, tokens: documentTokens) {
                _ = tok.encodeBatch(documents, allowedSpecial: .none, threads: threads)
            },
        ]
        var version: String?
        if !noTiktoken, let out = ReferenceBenchmark(root: URL(fileURLWithPath: root), script: "scripts/bench_tiktoken.py")?
            .run(arguments: ["--copies", String(copies), "--repeats", String(repeats), "--threads", String(threads),
                             "--expect-tokens", String(tokens)]) {
            version = out.transformers
            for i in rows.indices { rows[i].tiktokenMs = out.results.first { $0.name == rows[i].name }?.ms }
        }
        let report = Report(machine: machineDescription(), strings: texts.count, bytes: bytes, tokens: tokens, tiktoken: version,
                            rows: rows)
        if json {
            print(try prettyJSON(report))
            return
        }
        print("unirl bench tokenizer — \(report.machine); \(texts.count) strings, \(String(format: "%.2f", Double(bytes) / 1e6)) MB, "
              + "\(tokens) tokens; median of \(repeats)\n")
        print("| case | threads | UniRL ms | UniRL MB/s | UniRL Mtok/s | \(version ?? "tiktoken") ms | tiktoken MB/s | speed vs tiktoken |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows {
            let ref = r.tiktokenMs.map { String(format: "%.1f", $0) } ?? "—"
            let refRate = r.tiktokenMs.map { String(format: "%.2f", r.megabytesPerSecond * r.ms / $0) } ?? "—"
            let ratio = r.tiktokenMs.map { String(format: "%.2f×", $0 / r.ms) } ?? "—"
            print("| \(r.name) | \(r.threads) | \(String(format: "%.1f", r.ms)) | \(String(format: "%.2f", r.megabytesPerSecond)) | "
                  + "\(String(format: "%.2f", r.megatokensPerSecond)) | \(ref) | \(refRate) | \(ratio) |")
        }
        if version == nil && !noTiktoken {
            print("\n(tiktoken columns empty: run scripts/setup-reference-env.sh to create .venv-reference)")
        }
    }
}
