import Foundation
import UniRLCore
import UniRLExperts
import UniRLTensor

/// Why a language-model folder for the text and VQA scenarios cannot be used.
public enum AnswerLMError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unsupportedModelType(path: String, modelType: String)
    case unsupportedChatTemplate(path: String)
    case noVision(path: String)
    case damaged(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let p): "the language-model folder has no \(p)"
        case .unsupportedModelType(let p, let t): "\(p): model_type '\(t)' is not a Qwen2.5-VL or Qwen2 language model"
        case .unsupportedChatTemplate(let p): "\(p): the chat template is not ChatML (<|im_start|>role … <|im_end|>)"
        case .noVision(let p): "\(p) has no vision tower, and this scenario shows the model images"
        case .damaged(let p, let r): "\(p) cannot be read: \(r)"
        }
    }
}

/// A language expert as the text and VQA scenarios use it, loaded from a transformers folder
/// (the bundled tiny LM's, or a Qwen2.5-VL / Qwen2 checkpoint's): the model behind a
/// ``QwenPolicy``, the tokenizer, the chat template's system message and the stop tokens, all
/// from the folder's own files:
///
/// - `config.json`'s `model_type` picks the model (`qwen2_5_vl` with its vision tower, or `qwen2`),
///   flat or nested layout, one file or shards;
/// - `tokenizer.json` is the tokenizer;
/// - stop tokens: `generation_config.json`'s `eos_token_id` (one id or a list), else
///   `tokenizer_config.json`'s `eos_token`, else `config.json`'s `eos_token_id`; padding is
///   `tokenizer_config.json`'s `pad_token` (else `<|endoftext|>`);
/// - the chat template (`tokenizer_config.json`'s or `chat_template.json`'s `chat_template`) must be
///   ChatML; the default system message is the literal one the template writes when a
///   conversation has none (Qwen2.5's "You are Qwen, created by Alibaba Cloud…", Qwen2.5-VL's "You
///   are a helpful assistant."), and Qwen's when there is no template.
public final class AnswerLanguageModel {
    public let directory: URL
    public let tokenizer: QwenTokenizer
    /// The image processor, when the model has a vision tower.
    public let imageProcessor: QwenImageProcessor?
    public let spatialMerge: Int
    public let stopTokens: Set<Int>
    public let padID: Int
    public let systemMessage: String
    public let module: any Module
    /// The policy expert named `lm`, with `options` as its sampling settings.
    public let expert: AnyPolicyExpert
    private let sampleRows: ([LanguagePrompt], inout RandomState) throws -> [(tokens: [Int], segment: TrajectorySegment)]
    private let generateRows: ([LanguagePrompt], GenerationOptions) throws -> [GeneratedSequence]

    /// Loads `directory` and makes its policy sample with `options` (its stop tokens and padding
    /// are replaced by the folder's).
    public init(directory: URL, options: GenerationOptions) throws {
        self.directory = directory
        let config = directory.appendingPathComponent("config.json")
        for url in [config, directory.appendingPathComponent("tokenizer.json")]
        where !FileManager.default.fileExists(atPath: url.path) {
            throw AnswerLMError.missingFile(path: url.path)
        }
        let json = try Self.readJSON(config) ?? [:]
        let modelType = json["model_type"] as? String ?? ""
        let tokenizer: QwenTokenizer
        do { tokenizer = try QwenTokenizer(tokenizerJSON: directory.appendingPathComponent("tokenizer.json")) } catch {
            throw AnswerLMError.damaged(path: directory.appendingPathComponent("tokenizer.json").path, reason: "\(error)")
        }
        self.tokenizer = tokenizer
        let tokenizerConfig = try Self.readJSON(directory.appendingPathComponent("tokenizer_config.json")) ?? [:]
        let generationConfig = try Self.readJSON(directory.appendingPathComponent("generation_config.json")) ?? [:]
        let templateFile = try Self.readJSON(directory.appendingPathComponent("chat_template.json")) ?? [:]
        let template = tokenizerConfig["chat_template"] as? String ?? templateFile["chat_template"] as? String
        if let template {
            guard template.contains("<|im_start|>"), template.contains("<|im_end|>") else {
                throw AnswerLMError.unsupportedChatTemplate(path: directory.path)
            }
            systemMessage = Self.defaultSystemMessage(inTemplate: template) ?? QwenChatTemplate.defaultSystem
        } else {
            systemMessage = QwenChatTemplate.defaultSystem
        }
        func id(_ token: Any?) -> Int? {
            guard let s = token as? String ?? (token as? [String: Any])?["content"] as? String else { return nil }
            let ids = tokenizer.encode(s)
            return ids.count == 1 ? ids[0] : nil
        }
        func ids(_ value: Any?) -> Set<Int> {
            if let v = value as? Int { return [v] }
            return Set((value as? [Int]) ?? [])
        }
        var stops = ids(generationConfig["eos_token_id"])
        if stops.isEmpty, let e = id(tokenizerConfig["eos_token"]) { stops = [e] }
        if stops.isEmpty { stops = ids(json["eos_token_id"]) }
        if stops.isEmpty { stops = [tokenizer.imEndID] }
        stopTokens = stops
        padID = id(tokenizerConfig["pad_token"]) ?? tokenizer.endOfTextID
        var options = options
        options.stopTokens = stops
        options.padID = padID
        do {
            switch modelType {
            case "qwen2_5_vl", "qwen2_vl":
                let model = try QwenVLForConditionalGeneration.load(from: directory)
                imageProcessor = QwenImageProcessor(model.configuration.vision)
                spatialMerge = model.configuration.vision.spatialMergeSize
                let w = Self.wrap(model, options: options)
                module = w.0; expert = w.1; sampleRows = w.2; generateRows = w.3
            case "qwen2":
                let model = try Qwen2CausalLM.load(from: directory)
                imageProcessor = nil
                spatialMerge = 1
                let w = Self.wrap(model, options: options)
                module = w.0; expert = w.1; sampleRows = w.2; generateRows = w.3
            default:
                throw AnswerLMError.unsupportedModelType(path: config.path, modelType: modelType)
            }
        } catch let error as AnswerLMError {
            throw error
        } catch {
            throw AnswerLMError.damaged(path: directory.path, reason: "\(error)")
        }
    }

    private static func wrap<M: CausalLanguageModel>(_ model: M, options: GenerationOptions) -> (
        any Module, AnyPolicyExpert, ([LanguagePrompt], inout RandomState) throws -> [(tokens: [Int], segment: TrajectorySegment)],
        ([LanguagePrompt], GenerationOptions) throws -> [GeneratedSequence]
    ) {
        let policy = QwenPolicy(name: "lm", model: model, options: options)
        let sample: ([LanguagePrompt], inout RandomState) throws -> [(tokens: [Int], segment: TrajectorySegment)] = { prompts, rng in
            try zip(prompts, policy.sample(prompts, using: &rng)).map { prompt, r in
                (r.tokens, TrajectorySegment(expert: policy, rollout: r, condition: prompt))
            }
        }
        let generate: ([LanguagePrompt], GenerationOptions) throws -> [GeneratedSequence] = { prompts, o in
            var o = o
            o.stopTokens = options.stopTokens
            o.padID = options.padID
            var rng = RandomState(seed: 0)
            let batch = TokenBatch(leftPadding: prompts.map(\.tokens), padID: o.padID, images: prompts.flatMap(\.images))
            return try TokenGenerator(model).generate(batch, options: o, using: &rng)
        }
        return (model, AnyPolicyExpert(policy), sample, generate)
    }

    /// A JSON object file, nil when the file does not exist.
    static func readJSON(_ url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(readingFileAt: url)) as? [String: Any] else {
                throw AnswerLMError.damaged(path: url.path, reason: "not a JSON object")
            }
            return object
        } catch let error as AnswerLMError { throw error } catch {
            throw AnswerLMError.damaged(path: url.path, reason: "\(error)")
        }
    }

    /// The literal system message a ChatML template writes when the conversation has none: the
    /// text after `<|im_start|>system` and a newline (or an escaped `\n` inside a Jinja string)
    /// up to `<|im_end|>`, when it holds no template code.
    public static func defaultSystemMessage(inTemplate template: String) -> String? {
        guard let start = template.range(of: "<|im_start|>system") else { return nil }
        var rest = template[start.upperBound...]
        if rest.hasPrefix("\n") { rest = rest.dropFirst() } else if rest.hasPrefix("\\n") { rest = rest.dropFirst(2) } else { return nil }
        guard let end = rest.range(of: "<|im_end|>") else { return nil }
        let message = rest[..<end.lowerBound]
        guard !message.isEmpty, !message.contains("{{"), !message.contains("{%") else { return nil }
        return String(message)
    }

    /// The prompt ids of a user message (images first), ending with `<|im_start|>assistant\n`.
    public func prompt(text: String, images: [RGBImage]) throws -> LanguagePrompt {
        guard images.isEmpty || imageProcessor != nil else { throw AnswerLMError.noVision(path: directory.path) }
        let processed = try images.map { try imageProcessor!($0) }
        let messages = [
            ChatMessage(role: .system, systemMessage),
            ChatMessage(role: .user, parts: images.map { _ in .image } + [.text(text)]),
        ]
        let tokens = tokenizer.encode(
            conversation: messages, addGenerationPrompt: true,
            imagePadCounts: processed.map { $0.tokenCount(spatialMerge: spatialMerge) })
        return LanguagePrompt(tokens: tokens, images: processed)
    }

    /// Samples one completion per prompt with the training options (for rollouts).
    func sample(_ prompts: [LanguagePrompt], using rng: inout RandomState) throws -> [(tokens: [Int], segment: TrajectorySegment)] {
        try sampleRows(prompts, &rng)
    }

    /// Greedy completions of `prompts` in batches of 50 (evaluation), as (text, truncated).
    public func greedy(_ prompts: [LanguagePrompt], maxNewTokens: Int) throws -> [(text: String, isTruncated: Bool)] {
        var out: [(String, Bool)] = []
        for start in stride(from: 0, to: prompts.count, by: 50) {
            let chunk = Array(prompts[start..<min(start + 50, prompts.count)])
            for g in try generateRows(chunk, .greedy(maxNewTokens: maxNewTokens)) {
                out.append((decode(g.tokens), g.isTruncated))
            }
        }
        return out
    }

    /// The text of generated ids without stop tokens; bytes that are not valid UTF-8 become U+FFFD
    /// (a completion is always scored, never an error).
    public func decode(_ tokens: [Int]) -> String {
        let kept = tokens.filter { !stopTokens.contains($0) }
        guard let bytes = try? tokenizer.bpe.decodeBytes(kept) else { return "\u{FFFD}" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
