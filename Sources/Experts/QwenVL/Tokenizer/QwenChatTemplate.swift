/// One message of a conversation: a role and its parts (text, or an image placeholder).
public struct ChatMessage: Sendable, Equatable {
    public enum Part: Sendable, Equatable { case text(String), image }
    public var role: String
    public var parts: [Part]
    public init(role: String, parts: [Part]) { self.role = role; self.parts = parts }
    public init(role: String, _ text: String) { self.init(role: role, parts: [.text(text)]) }
}

/// Qwen2.5-VL's ChatML chat template: `<|im_start|>role\ncontent<|im_end|>\n` per message, a
/// default system message when the conversation has none, images as
/// `<|vision_start|><|image_pad|><|vision_end|>` (the processor later repeats the pad once per
/// merged patch), and `<|im_start|>assistant\n` as the generation prompt.
public enum QwenChatTemplate {
    public static let defaultSystem = "You are a helpful assistant."

    public static func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        renderWithAssistantSpans(messages, addGenerationPrompt: addGenerationPrompt).text
    }

    /// The text and, for each assistant message, the character range of its content plus its
    /// `<|im_end|>` (what SFT trains on).
    public static func renderWithAssistantSpans(_ messages: [ChatMessage], addGenerationPrompt: Bool)
        -> (text: String, assistantSpans: [Range<Int>]) {
        var text = "", spans: [Range<Int>] = []
        let all = messages.first?.role == "system" ? messages : [ChatMessage(role: "system", defaultSystem)] + messages
        for m in all {
            text += "<|im_start|>\(m.role)\n"
            let start = text.count
            for p in m.parts {
                switch p {
                case .text(let s): text += s
                case .image: text += "<|vision_start|><|image_pad|><|vision_end|>"
                }
            }
            text += "<|im_end|>"
            if m.role == "assistant" { spans.append(start..<text.count) }
            text += "\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return (text, spans)
    }

    /// Token ids of the conversation and a loss mask marking the assistant tokens (content and
    /// `<|im_end|>`), found from the token counts of the rendered prefixes.
    public static func encodeForTraining(_ messages: [ChatMessage], tokenizer: BPETokenizer) -> (ids: [Int], lossMask: [Int]) {
        let (text, spans) = renderWithAssistantSpans(messages, addGenerationPrompt: false)
        let ids = tokenizer.encode(text)
        var mask = [Int](repeating: 0, count: ids.count)
        for span in spans {
            let a = tokenizer.encode(String(text.prefix(span.lowerBound))).count
            let b = tokenizer.encode(String(text.prefix(span.upperBound))).count
            for i in a..<min(b, ids.count) { mask[i] = 1 }
        }
        return (ids, mask)
    }
}

extension BPETokenizer {
    /// Qwen2.5's special tokens (ids of the Qwen2.5 / Qwen2.5-VL vocabulary).
    public static let qwen2_5SpecialTokens: [String: Int] = [
        "<|endoftext|>": 151_643, "<|im_start|>": 151_644, "<|im_end|>": 151_645,
        "<|object_ref_start|>": 151_646, "<|object_ref_end|>": 151_647, "<|box_start|>": 151_648, "<|box_end|>": 151_649,
        "<|quad_start|>": 151_650, "<|quad_end|>": 151_651, "<|vision_start|>": 151_652, "<|vision_end|>": 151_653,
        "<|vision_pad|>": 151_654, "<|image_pad|>": 151_655, "<|video_pad|>": 151_656,
    ]

    /// dashscope's Qwen specials: `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`, `<|extra_0..204|>` from 151,643.
    public static let dashscopeSpecialTokens: [String: Int] = {
        var s = ["<|endoftext|>": 151_643, "<|im_start|>": 151_644, "<|im_end|>": 151_645]
        for i in 0..<205 { s["<|extra_\(i)|>"] = 151_646 + i }
        return s
    }()
}
