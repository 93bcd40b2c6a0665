import Foundation

/// Hugging Face `tokenizer_config.json` contents for tokenizers this package trains.
public enum HFTokenizerConfig {
    /// Qwen2.5-VL's ChatML chat template (Qwen/Qwen2.5-VL-7B-Instruct chat_template.json), the
    /// Jinja form of ``QwenChatTemplate``.
    public static let qwen2_5_VLChatTemplate = """
    {% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}\
    {% if loop.first and message['role'] != 'system' %}<|im_start|>system
    You are a helpful assistant.<|im_end|>
    {% endif %}<|im_start|>{{ message['role'] }}
    {% if message['content'] is string %}{{ message['content'] }}<|im_end|>
    {% else %}{% for content in message['content'] %}\
    {% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}\
    {% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}\
    <|vision_start|><|image_pad|><|vision_end|>\
    {% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}\
    {% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>\
    {% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>
    {% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
    {% endif %}
    """

    /// A Qwen2-style `tokenizer_config.json` for `trained`: `Qwen2TokenizerFast`, no BOS, the
    /// given EOS and padding tokens, the added tokens' table and Qwen2.5-VL's chat template.
    public static func qwen2(_ trained: TrainedBPE, eos: String, pad: String, maxLength: Int = 2048) -> [String: Any] {
        var decoder: [String: Any] = [:]
        for (i, content) in trained.addedTokens.enumerated() {
            decoder[String(trained.tokens.count + i)] = [
                "content": content, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false,
                "special": !trained.plainAddedTokens.contains(content),
            ] as [String: Any]
        }
        return [
            "tokenizer_class": "Qwen2Tokenizer", "add_bos_token": false, "add_prefix_space": false, "bos_token": NSNull(),
            "eos_token": eos, "pad_token": pad, "unk_token": NSNull(), "errors": "replace", "model_max_length": maxLength,
            "clean_up_tokenization_spaces": false, "split_special_tokens": false, "added_tokens_decoder": decoder,
            "chat_template": qwen2_5_VLChatTemplate,
        ]
    }
}
