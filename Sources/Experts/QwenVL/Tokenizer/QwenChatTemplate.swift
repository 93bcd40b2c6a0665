/// One message of a conversation: a role and its parts (text, or an image or video placeholder).
public struct ChatMessage: Sendable, Equatable {
    /// Who speaks. `system`, `user` and `assistant` are ChatML's; any other name renders as given.
    public struct Role: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public static let system: Role = "system"
        public static let user: Role = "user"
        public static let assistant: Role = "assistant"
    }

    public enum Part: Sendable, Equatable { case text(String), image, video }

    public var role: Role
    public var parts: [Part]

    public init(role: Role, parts: [Part]) { self.role = role; self.parts = parts }
    public init(role: Role, _ text: String) { self.init(role: role, parts: [.text(text)]) }
}

/// Qwen2.5-VL's ChatML chat template (Qwen/Qwen2.5-VL-*-Instruct chat_template.json):
///
///     <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n
///
/// The default system message is added when the first message is not a system message, images are
/// `<|vision_start|><|image_pad|><|vision_end|>` and videos `<|vision_start|><|video_pad|><|vision_end|>`
/// (the processor later repeats the pad once per merged patch, or pass `imagePadCounts`), and
/// `addGenerationPrompt` ends with `<|im_start|>assistant\n`.
public enum QwenChatTemplate {
    public static let defaultSystem = "You are a helpful assistant."

    /// A rendered conversation and, per assistant message, the UTF-8 byte range of its content plus
    /// its `<|im_end|>` (what supervised fine-tuning trains on, as transformers' `{% generation %}`).
    public struct Rendering: Sendable, Equatable {
        public var text: String
        public var assistantByteRanges: [Range<Int>]
    }

    /// The conversation's text.
    ///
    /// - Parameters:
    ///   - addVisionID: prefix each image with `Picture n: ` and each video with `Video n: `.
    ///   - imagePadCounts: `<|image_pad|>` repeats per image, in order (one each when nil).
    public static func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, addVisionID: Bool = false,
                              imagePadCounts: [Int]? = nil) -> String {
        renderWithAssistantRanges(messages, addGenerationPrompt: addGenerationPrompt, addVisionID: addVisionID,
                                  imagePadCounts: imagePadCounts).text
    }

    /// The conversation's text with the byte ranges of the assistant replies.
    public static func renderWithAssistantRanges(_ messages: [ChatMessage], addGenerationPrompt: Bool, addVisionID: Bool = false,
                                                 imagePadCounts: [Int]? = nil) -> Rendering {
        var text = "", ranges: [Range<Int>] = []
        var images = 0, videos = 0
        let all = messages.isEmpty || messages[0].role == .system ? messages : [ChatMessage(role: .system, defaultSystem)] + messages
        for m in all {
            text += "<|im_start|>\(m.role.rawValue)\n"
            let start = text.utf8.count
            for p in m.parts {
                switch p {
                case .text(let s): text += s
                case .image:
                    images += 1
                    if addVisionID { text += "Picture \(images): " }
                    let pads = imagePadCounts.flatMap { images <= $0.count ? $0[images - 1] : nil } ?? 1
                    text += "<|vision_start|>" + String(repeating: "<|image_pad|>", count: pads) + "<|vision_end|>"
                case .video:
                    videos += 1
                    if addVisionID { text += "Video \(videos): " }
                    text += "<|vision_start|><|video_pad|><|vision_end|>"
                }
            }
            text += "<|im_end|>"
            if m.role == .assistant { ranges.append(start..<text.utf8.count) }
            text += "\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return Rendering(text: text, assistantByteRanges: ranges)
    }

    /// Token ids of the conversation and a loss mask (1 for tokens of assistant replies, their
    /// `<|im_end|>` included; 0 elsewhere) for ``SupervisedExample``. A token counts as the
    /// assistant's when its bytes overlap a reply.
    public static func encodeForTraining(_ messages: [ChatMessage], tokenizer: BPETokenizer, addVisionID: Bool = false,
                                         imagePadCounts: [Int]? = nil) -> (ids: [Int], lossMask: [Int]) {
        // Normalise the contents first so that the byte ranges hold in the text the splitter sees.
        let normalized = messages.map { m in
            ChatMessage(role: m.role, parts: m.parts.map { p in
                if case .text(let s) = p { return .text(tokenizer.normalized(s)) }
                return p
            })
        }
        let rendering = renderWithAssistantRanges(normalized, addGenerationPrompt: false, addVisionID: addVisionID,
                                                  imagePadCounts: imagePadCounts)
        let (ids, offsets) = tokenizer.encodeWithOffsets(rendering.text)
        let mask = offsets.map { token in rendering.assistantByteRanges.contains { $0.overlaps(token) } ? 1 : 0 }
        return (ids, mask)
    }
}
