/// How ``TokenGenerator`` picks tokens.
///
/// The recorded log-probability of a token is log softmax(logits / temperature) at that token —
/// the distribution the policy defines, before top-k / top-p truncation (which only restricts
/// which tokens can be drawn). It is what ``QwenPolicy/replay(_:given:)`` recomputes, so the
/// GRPO ratio is exactly 1 before the first update (as trl and verl compute log-probs from
/// temperature-scaled logits).
public struct GenerationOptions: Sendable, Equatable {
    /// Tokens to generate at most per row.
    public var maxNewTokens: Int
    /// Softmax temperature; 0 picks the most likely token (greedy), and then log-probs are those
    /// of the untempered distribution.
    public var temperature: Float
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens whose probability reaches p (nil: all), as
    /// transformers' `TopPLogitsWarper`; at least one token is always kept.
    public var topP: Float?
    /// A row stops after emitting one of these (the stop token is part of its output).
    public var stopTokens: Set<Int>
    /// The id that left-pads prompts of different lengths (``QwenPolicy``); padding is masked out.
    public var padID: Int
    /// Tokens never drawn (transformers' `suppress_tokens`). Like top-k and top-p they restrict
    /// the draw only: the recorded log-probability stays that of the whole tempered distribution,
    /// the one replay computes. ``TokenGenerator`` adds the model's image placeholders
    /// (``CausalLanguageModel/placeholderTokenIDs``) to them.
    public var suppressedTokens: Set<Int> = []

    public init(maxNewTokens: Int = 64, temperature: Float = 1, topK: Int? = nil, topP: Float? = nil,
                stopTokens: Set<Int> = [], padID: Int = 0) {
        self.maxNewTokens = maxNewTokens; self.temperature = temperature; self.topK = topK; self.topP = topP
        self.stopTokens = stopTokens; self.padID = padID
    }

    /// Greedy decoding.
    public static func greedy(maxNewTokens: Int, stopTokens: Set<Int> = []) -> GenerationOptions {
        GenerationOptions(maxNewTokens: maxNewTokens, temperature: 0, stopTokens: stopTokens)
    }

    /// The temperature used for log-probabilities (1 when greedy).
    public var logProbTemperature: Float { temperature > 0 ? temperature : 1 }
}

/// One generated continuation.
public struct GeneratedSequence: Sendable, Equatable {
    /// The new tokens, the stop token included when one ended the row.
    public var tokens: [Int]
    /// log π(token) of each new token (see ``GenerationOptions``).
    public var logProbs: [Float]
    /// Whether the row ran out of `maxNewTokens` before a stop token.
    public var isTruncated: Bool
}

/// Problems with a generation request.
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case rightPadded(row: Int)
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .rightPadded(let r): "prompt row \(r) ends in padding; generation needs left-padded prompts"
        case .invalidOptions(let why): "invalid generation options: \(why)"
        }
    }
}
