import Foundation
import UniRLCore
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The parsers that read files a user hands to UniRL, each behind one entry point that takes
/// arbitrary bytes: the libFuzzer harness (`Fuzz/`, `make fuzz`) calls them with mutated inputs
/// and the test suite feeds them the committed seeds (`Fuzz/Seeds/<target>/`). An entry may
/// throw nothing and must return: every failure is a typed error it catches.
public enum FuzzTargets {
    /// The target names, as the seed folders are named.
    public static let names = [
        "safetensors", "model-config", "run-config", "tokenizer-json", "tiktoken", "bpe-encode", "png", "jpeg", "prompts",
    ]

    /// Runs target `name` on `data`; false when there is no such target.
    @discardableResult
    public static func run(_ name: String, _ data: Data) -> Bool {
        switch name {
        case "safetensors": safetensors(data)
        case "model-config": modelConfiguration(data)
        case "run-config": runConfiguration(data)
        case "tokenizer-json": _ = try? BPETokenizer(tokenizerJSON: data)
        case "tiktoken": _ = try? BPETokenizer(tiktokenRanks: data, specialTokens: ["<|endoftext|>": 1 << 20])
        case "bpe-encode": bpeEncode(data)
        case "png": _ = try? RGBImage(pngData: data)
        case "jpeg": _ = try? RGBImage(jpegData: data)
        case "prompts": _ = try? PromptFile.decode(String(decoding: data, as: UTF8.self))
        default: return false
        }
        return true
    }

    /// Parses the header and reads every tensor it declares.
    static func safetensors(_ data: Data) {
        guard let file = try? SafeTensorsFile(data: data) else { return }
        for name in file.names { _ = try? file.tensor(named: name) }
    }

    /// The first byte picks the model kind; the rest is its `config.json`.
    static func modelConfiguration(_ data: Data) {
        guard let kind = data.first else { return }
        let url = scratchFile
        guard (try? data.dropFirst().write(to: url)) != nil else { return }
        switch kind % 5 {
        case 0: _ = try? Qwen2Configuration.load(from: url)
        case 1: _ = try? QwenVLConfiguration.load(from: url)
        case 2: _ = try? SanaTransformerConfiguration.load(from: url)
        case 3: _ = try? AutoencoderDCConfiguration.load(from: url)
        default: _ = try? MetaQueryConnectorConfiguration.load(from: url)
        }
    }

    /// The first byte picks JSON or YAML; the rest is a run configuration, validated.
    static func runConfiguration(_ data: Data) {
        guard let kind = data.first else { return }
        let text = String(decoding: data.dropFirst(), as: UTF8.self)
        let base = GRPOConfiguration().addingDefaults(for: [("lm", .discrete), ("dm", .sde)])
        let merged = kind % 2 == 0 ? try? base.merging(json: text) : try? base.merging(yaml: text)
        try? merged?.validate()
    }

    /// The small bundled-style tokenizer encoding arbitrary text (valid UTF-8 or not), and the
    /// round trip of what it produces.
    static func bpeEncode(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        let ids = tokenizer.encode(text)
        _ = try? tokenizer.decode(ids)
    }

    /// A byte-level tokenizer with a few merges, built once.
    static let tokenizer: BPETokenizer = {
        var lines: [String] = []
        for b in 0..<256 { lines.append("\(Data([UInt8(b)]).base64EncodedString()) \(b)") }
        for (i, pair) in ["th", "he", "in", "er", "the", " t"].enumerated() {
            lines.append("\(Data(pair.utf8).base64EncodedString()) \(256 + i)")
        }
        return try! BPETokenizer(tiktokenRanks: Data(lines.joined(separator: "\n").utf8), specialTokens: ["<|endoftext|>": 262])
    }()

    /// A per-process file for the entries that read from a path.
    static let scratchFile = FileManager.default.temporaryDirectory
        .appendingPathComponent("unirl-fuzz-\(ProcessInfo.processInfo.processIdentifier).json")
}
