import Foundation
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The indirect prompts of chain-of-thought generation (``IndirectPromptGenerator``) on either
/// side of ShapesWorld's train / held-out split, and how each becomes the unified model's input.
///
/// A prompt's text goes into the official t2i instruction as the user's message; the LM replies
/// in ``TinyLMFormat`` with its reasoning and the resolved caption, and the t2i queries follow the
/// whole conversation (prompt + reply), so that the image is drawn from the decoded prompt and
/// reasoning together (G-U-N/UniRL `unimodel/blip3o/model/language_model/blip3o_qwen_inference.py`,
/// `_prepare_img_hidden_states`: the queries are appended after the full text it is given).
///
///     <|im_start|>user\nPlease generate image based on the following caption: as many circles as 1+2, coloured like grass<|im_end|>
///     <|im_start|>assistant\n<think>1+2 = 3; grass is green; so: three green circles</think><answer>three green circles</answer><|im_end|>
///     [t2i queries]
///
/// Without reasoning (the baseline) the queries follow the prompt straight away.
public enum ChainOfThoughtPrompts {
    /// `count` distinct indirect prompts (by text) on side `split`, drawn from `seed`.
    public static func prompts(count: Int, split: PromptSplit, seed: UInt64) -> [IndirectPrompt] {
        var rng = RandomState(seed: seed)
        var out: [IndirectPrompt] = [], seen: Set<String> = []
        // Indirect texts are a finite set; stop drawing when no new one appears for a long while.
        var misses = 0
        while out.count < count && misses < 20_000 {
            let p = IndirectPromptGenerator().sample(using: &rng)
            guard PromptSplit.of(caption: p.text) == split, seen.insert(p.text).inserted else {
                misses += 1
                continue
            }
            misses = 0
            out.append(p)
        }
        return out
    }

    /// One freshly drawn training-side prompt (with a fresh scene), for supervised batches.
    public static func trainingSample(using rng: inout RandomState) -> IndirectPrompt {
        while true {
            let p = IndirectPromptGenerator().sample(using: &rng)
            if PromptSplit.of(caption: p.text) == .train { return p }
        }
    }

    /// The reply the cold start teaches: `<think>reasoning</think><answer>resolved caption</answer>`.
    public static func completion(_ prompt: IndirectPrompt) -> String {
        TinyLMFormat.completion(reasoning: prompt.reasoning, answer: prompt.resolved.caption)
    }

    /// The user's message: the official t2i instruction around the indirect text.
    public static func message(_ prompt: IndirectPrompt) -> String {
        "Please generate image based on the following caption: \(prompt.text)"
    }

    /// The chat prompt the LM continues (ends with `<|im_start|>assistant\n`).
    public static func chatPrompt(_ prompt: IndirectPrompt, tokenizer: QwenTokenizer) -> LanguagePrompt {
        LanguagePrompt(tokens: tokenizer.encode(conversation: [ChatMessage(role: .user, message(prompt))], addGenerationPrompt: true))
    }

    /// The chat prompt followed by `reply` (token ids, `<|im_end|>` included): what the queries follow.
    public static func conditionPrompt(_ prompt: IndirectPrompt, reply: [Int], tokenizer: QwenTokenizer) -> LanguagePrompt {
        LanguagePrompt(tokens: chatPrompt(prompt, tokenizer: tokenizer).tokens + reply)
    }

    /// The reference reply's ids: the completion and `<|im_end|>`.
    public static func referenceReply(_ prompt: IndirectPrompt, tokenizer: QwenTokenizer) -> [Int] {
        tokenizer.encode(completion(prompt)) + [tokenizer.imEndID]
    }

    /// The supervised LM task of a prompt (the reply is the loss's target), for ``TinyLMPretraining/example(_:lm:)``.
    public static func task(_ prompt: IndirectPrompt) -> TinyLMTask {
        TinyLMTask(kind: .indirect, prompt: message(prompt), completion: completion(prompt), answer: prompt.resolved.caption,
                   subkind: "cot")
    }

    /// The arithmetic step of a counting prompt's reasoning ("1+2 = 3"), nil for the riddles.
    public static func arithmeticStep(_ prompt: IndirectPrompt) -> String? {
        guard prompt.resolved.category == .counting else { return nil }
        return prompt.reasoning.components(separatedBy: ";").first?.trimmingCharacters(in: .whitespaces)
    }
}
