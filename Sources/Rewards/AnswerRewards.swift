import Foundation
import UniRLCore
import UniRLShapesWorld

/// A text policy's completion together with the answer it should give: what ``AnswerAccuracyReward``
/// and ``AnswerFormatReward`` score. Any text policy can fill one in (decode its tokens, lossily
/// if they are not valid UTF-8).
public struct AnswerSample: Sendable, Equatable {
    /// The generated text (the stop token may be included or not).
    public var completion: String
    /// The ground-truth answer.
    public var groundTruth: String
    /// How the answer and the ground truth are compared.
    public var matching: AnswerMatching
    /// Whether generation stopped at its length limit.
    public var isTruncated: Bool

    public init(completion: String, groundTruth: String, matching: AnswerMatching = .exact, isTruncated: Bool = false) {
        self.completion = completion
        self.groundTruth = groundTruth
        self.matching = matching
        self.isTruncated = isTruncated
    }
}

/// How an extracted answer is compared with the ground truth.
public enum AnswerMatching: String, Sendable, Codable, CaseIterable {
    /// Equal after trimming white space.
    case exact
    /// Equal after ShapesWorld's VQA normalisation (``VQASample/normalize(_:)``: lower case,
    /// punctuation dropped, number words as digits, leading "it is" / "there are" … removed).
    case vqa
    /// Equal as integers (white space and a leading `+` ignored; "012" equals "12").
    case integer

    /// Whether `answer` matches `truth` under this rule.
    public func matches(_ answer: String, _ truth: String) -> Bool {
        switch self {
        case .exact:
            return answer.trimmingCharacters(in: .whitespacesAndNewlines) == truth.trimmingCharacters(in: .whitespacesAndNewlines)
        case .vqa:
            return VQASample.normalize(answer) == VQASample.normalize(truth)
        case .integer:
            func value(_ s: String) -> Int? {
                var t = Substring(s.trimmingCharacters(in: .whitespacesAndNewlines))
                if t.hasPrefix("+") { t = t.dropFirst() }
                return Int(t)
            }
            guard let a = value(answer), let b = value(truth) else { return false }
            return a == b
        }
    }
}

/// The reasoning-then-answer format `<think>REASONING</think><answer>ANSWER</answer>` (DeepSeek-R1's
/// and UniRL-Zero's), with the tags as settings so that another documented pair can be used.
public struct ThinkAnswerFormat: Sendable, Equatable {
    public var thinkOpen = "<think>", thinkClose = "</think>"
    public var answerOpen = "<answer>", answerClose = "</answer>"
    /// End-of-turn markers allowed (once) after the answer, e.g. `<|im_end|>`.
    public var stopMarkers = ["<|im_end|>", "<|endoftext|>"]

    public init() {}

    /// The completion without surrounding white space and one trailing stop marker.
    func trimmed(_ completion: String) -> Substring {
        var s = Substring(completion.trimmingCharacters(in: .whitespacesAndNewlines))
        for m in stopMarkers where s.hasSuffix(m) {
            s = Substring(s.dropLast(m.count).trimmingCharacters(in: .whitespacesAndNewlines))
            break
        }
        return s
    }

    /// Reasoning and answer when `completion` is exactly one think block followed by one answer
    /// block (white space between them allowed) and no tag appears inside either; nil otherwise.
    public func parse(_ completion: String) -> (reasoning: String, answer: String)? {
        let s = trimmed(completion)
        guard s.hasPrefix(thinkOpen), s.hasSuffix(answerClose) else { return nil }
        let body = s.dropFirst(thinkOpen.count).dropLast(answerClose.count)
        guard let close = body.range(of: thinkClose) else { return nil }
        let reasoning = body[..<close.lowerBound]
        let rest = body[close.upperBound...].drop(while: \.isWhitespace)
        guard rest.hasPrefix(answerOpen) else { return nil }
        let answer = rest.dropFirst(answerOpen.count)
        let tags = [thinkOpen, thinkClose, answerOpen, answerClose]
        for part in [reasoning, answer] where tags.contains(where: { part.contains($0) }) { return nil }
        return (String(reasoning), String(answer))
    }

    /// The content of the first `<answer>…</answer>` block anywhere in `completion` (format or
    /// not); nil when there is none.
    public func answer(in completion: String) -> String? {
        guard let open = completion.range(of: answerOpen),
            let close = completion.range(of: answerClose, range: open.upperBound..<completion.endIndex)
        else { return nil }
        return String(completion[open.upperBound..<close.lowerBound])
    }
}

/// 1 when the completion's `<answer>` content, after the sample's normalisation, equals the
/// ground truth; else 0 (no answer block, a wrong answer, text that is not an answer). With
/// `requireFormat` the whole completion must also follow ``ThinkAnswerFormat``. Never throws:
/// truncated or garbled completions are scored like any other.
///
/// ```swift
/// let reward = WeightedRewards<AnswerSample>([(AnswerAccuracyReward(), 1), (AnswerFormatReward(), 0.2)])
/// ```
public struct AnswerAccuracyReward: RewardFunction {
    public let name = "accuracy"
    public var format: ThinkAnswerFormat
    public var requireFormat: Bool

    public init(format: ThinkAnswerFormat = ThinkAnswerFormat(), requireFormat: Bool = false) {
        self.format = format
        self.requireFormat = requireFormat
    }

    /// Whether one sample's answer is right.
    public func isCorrect(_ sample: AnswerSample) -> Bool {
        let answer = requireFormat ? format.parse(sample.completion)?.answer : format.answer(in: sample.completion)
        guard let answer else { return false }
        return sample.matching.matches(answer, sample.groundTruth)
    }

    public func scores(for batch: [AnswerSample]) async throws -> [Float?] {
        batch.map { isCorrect($0) ? 1 : 0 }
    }
}

/// 1 when the completion follows ``ThinkAnswerFormat`` exactly (one think block, then one answer
/// block, then at most a stop marker), else 0.
public struct AnswerFormatReward: RewardFunction {
    public let name = "format"
    public var format: ThinkAnswerFormat

    public init(format: ThinkAnswerFormat = ThinkAnswerFormat()) { self.format = format }

    public func scores(for batch: [AnswerSample]) async throws -> [Float?] {
        batch.map { format.parse($0.completion) == nil ? 0 : 1 }
    }
}
