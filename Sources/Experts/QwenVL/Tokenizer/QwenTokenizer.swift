import Foundation

/// Qwen2.5 / Qwen2.5-VL's tokenizer: the 151,643-token byte-level BPE vocabulary shared by all Qwen
/// generations, Qwen2.5's special tokens from id 151,643, Qwen's split, and the ChatML template.
///
/// ```swift
/// let qwen = try QwenTokenizer(tokenizerJSON: checkpoint.appendingPathComponent("tokenizer.json"))
/// let prompt = qwen.encode(conversation: [ChatMessage(role: .user, parts: [.image, .text("How many circles?")])],
///                          addGenerationPrompt: true)
/// let (ids, lossMask) = qwen.encodeForTraining([ChatMessage(role: .user, "2+2?"), ChatMessage(role: .assistant, "4")])
/// ```
public struct QwenTokenizer: Sendable {
    /// The BPE tokenizer underneath.
    public let bpe: BPETokenizer

    /// Qwen2.5(-VL)'s added tokens and ids (Qwen/Qwen2.5-VL-7B-Instruct tokenizer_config.json
    /// `added_tokens_decoder`): 151,643 … 151,664.
    public static let specialTokens: [String: Int] = [
        "<|endoftext|>": 151_643, "<|im_start|>": 151_644, "<|im_end|>": 151_645,
        "<|object_ref_start|>": 151_646, "<|object_ref_end|>": 151_647, "<|box_start|>": 151_648, "<|box_end|>": 151_649,
        "<|quad_start|>": 151_650, "<|quad_end|>": 151_651, "<|vision_start|>": 151_652, "<|vision_end|>": 151_653,
        "<|vision_pad|>": 151_654, "<|image_pad|>": 151_655, "<|video_pad|>": 151_656,
        "<tool_call>": 151_657, "</tool_call>": 151_658, "<|fim_prefix|>": 151_659, "<|fim_middle|>": 151_660,
        "<|fim_suffix|>": 151_661, "<|fim_pad|>": 151_662, "<|repo_name|>": 151_663, "<|file_sep|>": 151_664,
    ]

    /// dashscope's Qwen specials (dashscope/tokenizers/qwen_tokenizer.py): `<|endoftext|>`,
    /// `<|im_start|>`, `<|im_end|>`, then `<|extra_0|>` … `<|extra_204|>`, from id 151,643.
    public static let dashscopeSpecialTokens: [String: Int] = {
        var s = ["<|endoftext|>": 151_643, "<|im_start|>": 151_644, "<|im_end|>": 151_645]
        for i in 0..<205 { s["<|extra_\(i)|>"] = 151_646 + i }
        return s
    }()

    public let endOfTextID: Int, imStartID: Int, imEndID: Int
    public let visionStartID: Int, visionEndID: Int, imagePadID: Int, videoPadID: Int

    /// Wraps a tokenizer that has ChatML's and the vision special tokens.
    public init(_ bpe: BPETokenizer) throws {
        self.bpe = bpe
        func id(_ t: String) throws -> Int {
            guard let id = bpe.specialID(t) else { throw TokenizerError.unsupported("a Qwen2.5-VL tokenizer without \(t)") }
            return id
        }
        endOfTextID = try id("<|endoftext|>"); imStartID = try id("<|im_start|>"); imEndID = try id("<|im_end|>")
        visionStartID = try id("<|vision_start|>"); visionEndID = try id("<|vision_end|>")
        imagePadID = try id("<|image_pad|>"); videoPadID = try id("<|video_pad|>")
    }

    /// A checkpoint's `tokenizer.json`.
    public init(tokenizerJSON url: URL) throws { try self.init(BPETokenizer(tokenizerJSON: url)) }

    /// A tiktoken rank file of Qwen's vocabulary (dashscope's `qwen.tiktoken`) with Qwen2.5's specials.
    /// Qwen2's `tokenizer.json` also normalises to NFC; pass `.none` to match tiktoken instead.
    public init(tiktokenRanks url: URL, normalization: BPETokenizer.Normalization = .nfc) throws {
        try self.init(BPETokenizer(tiktokenRanks: url, specialTokens: Self.specialTokens, pattern: .qwen2, normalization: normalization))
    }

    public func encode(_ text: String, allowedSpecial: BPETokenizer.AllowedSpecial = .all) -> [Int] {
        bpe.encode(text, allowedSpecial: allowedSpecial)
    }

    public func decode(_ ids: [Int]) throws(TokenizerError) -> String { try bpe.decode(ids) }

    /// The ChatML text of a conversation (see ``QwenChatTemplate``).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, addVisionID: Bool = false,
                       imagePadCounts: [Int]? = nil) -> String {
        QwenChatTemplate.render(messages, addGenerationPrompt: addGenerationPrompt, addVisionID: addVisionID,
                                imagePadCounts: imagePadCounts)
    }

    /// The ids of a conversation's ChatML text.
    public func encode(conversation messages: [ChatMessage], addGenerationPrompt: Bool, addVisionID: Bool = false,
                       imagePadCounts: [Int]? = nil) -> [Int] {
        bpe.encode(render(messages, addGenerationPrompt: addGenerationPrompt, addVisionID: addVisionID, imagePadCounts: imagePadCounts))
    }

    /// Ids and the assistant-reply loss mask of a conversation
    /// (see ``QwenChatTemplate/encodeForTraining(_:tokenizer:addVisionID:imagePadCounts:)``).
    public func encodeForTraining(_ messages: [ChatMessage], addVisionID: Bool = false,
                                  imagePadCounts: [Int]? = nil) -> (ids: [Int], lossMask: [Int]) {
        QwenChatTemplate.encodeForTraining(messages, tokenizer: bpe, addVisionID: addVisionID, imagePadCounts: imagePadCounts)
    }
}
