import Foundation
import Testing
import UniRLExperts

/// Qwen2.5-VL's ChatML template and the assistant-token loss mask.
@Suite struct TokenizerChatTemplateTests {
    static let qwen = Result { try QwenTokenizer(tiktokenRanks: TokenizerFixtures.folder.appendingPathComponent("qwen.tiktoken")) }

    @Test func tokenizerChatTemplateRendersChatML() {
        let messages = [ChatMessage(role: .user, parts: [.image, .text("How many circles?")]), ChatMessage(role: .assistant, "Three.")]
        #expect(QwenChatTemplate.render(messages, addGenerationPrompt: false) == """
            <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>\
            How many circles?<|im_end|>\n<|im_start|>assistant\nThree.<|im_end|>\n
            """)
        #expect(QwenChatTemplate.render([ChatMessage(role: "user", "hi")], addGenerationPrompt: true) == """
            <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n
            """)
        // A system message of our own replaces the default; only a first system message counts.
        #expect(QwenChatTemplate.render([ChatMessage(role: .system, "Be brief."), ChatMessage(role: .user, "hi")],
                                        addGenerationPrompt: false)
                == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n")
        #expect(QwenChatTemplate.render([], addGenerationPrompt: true) == "<|im_start|>assistant\n")
        let vision = [ChatMessage(role: .user, parts: [.image, .video, .image, .text("Compare.")])]
        #expect(QwenChatTemplate.render(vision, addGenerationPrompt: false, addVisionID: true, imagePadCounts: [2, 1]).hasSuffix("""
            <|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|image_pad|><|vision_end|>\
            Video 1: <|vision_start|><|video_pad|><|vision_end|>\
            Picture 2: <|vision_start|><|image_pad|><|vision_end|>Compare.<|im_end|>\n
            """))
    }

    @Test func tokenizerQwenSpecialsAndConversationIds() throws {
        let qwen = try Self.qwen.get()
        #expect(qwen.imStartID == 151_644 && qwen.imEndID == 151_645 && qwen.visionStartID == 151_652 && qwen.imagePadID == 151_655)
        #expect(qwen.bpe.specialID("<|file_sep|>") == 151_664)
        let ids = qwen.encode(conversation: [ChatMessage(role: .user, parts: [.image, .text("hi")])], addGenerationPrompt: true)
        #expect(ids.filter { $0 == qwen.imagePadID }.count == 1)
        #expect(Array(ids.suffix(3)) == [qwen.imStartID, qwen.encode("assistant")[0], qwen.encode("\n")[0]])
        #expect(try qwen.decode(ids) == qwen.render([ChatMessage(role: .user, parts: [.image, .text("hi")])], addGenerationPrompt: true))
    }

    @Test func tokenizerAssistantMaskCoversRepliesOnly() throws {
        let qwen = try Self.qwen.get()
        let messages = [ChatMessage(role: .user, "2+2?"), ChatMessage(role: .assistant, "4"),
                        ChatMessage(role: .user, parts: [.image, .text("And this?")]),
                        ChatMessage(role: .assistant, "\n\nA cafe\u{301}, surely.")]
        let (ids, mask) = qwen.encodeForTraining(messages)
        #expect(ids.count == mask.count)
        #expect(ids == qwen.encode(conversation: messages.map { m in
            ChatMessage(role: m.role, parts: m.parts.map {
                if case .text(let s) = $0 { .text(s.precomposedStringWithCanonicalMapping) } else { $0 }
            })
        }, addGenerationPrompt: false))
        // Masked runs, decoded: each reply and its <|im_end|> (a reply starting with newlines shares its
        // first token with the template's "\n").
        var runs: [[Int]] = [], current: [Int] = []
        for (id, m) in zip(ids, mask) {
            if m == 1 { current.append(id) } else if !current.isEmpty { runs.append(current); current = [] }
        }
        if !current.isEmpty { runs.append(current) }
        #expect(try runs.map { try qwen.decode($0) } == ["4<|im_end|>", "\n\n\nA café, surely.<|im_end|>"])
    }
}
