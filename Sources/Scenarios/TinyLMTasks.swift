import Foundation
import UniRLExperts
import UniRLShapesWorld
import UniRLTensor

/// The answer format of the tiny LM's reasoning tasks (VQA, text tasks, indirect prompts), the
/// one the text and VQA scenarios reward:
///
///     <think>SHORT REASONING</think><answer>ANSWER</answer>
///
/// followed by the stop token `<|im_end|>`. The four tags are added tokens of the bundled
/// tokenizer (one id each), so a completion's format is a matter of four tokens.
public enum TinyLMFormat {
    public static let thinkOpen = "<think>", thinkClose = "</think>"
    public static let answerOpen = "<answer>", answerClose = "</answer>"
    /// The four tags, in order.
    public static let tags = [thinkOpen, thinkClose, answerOpen, answerClose]

    /// A completion in the format.
    public static func completion(reasoning: String, answer: String) -> String {
        "\(thinkOpen)\(reasoning)\(thinkClose)\(answerOpen)\(answer)\(answerClose)"
    }

    /// The reasoning and answer of a completion that follows the format exactly (surrounding
    /// white space and one trailing `<|im_end|>` allowed); nil otherwise.
    public static func parse(_ completion: String) -> (reasoning: String, answer: String)? {
        var s = completion.trimmingCharacters(in: .whitespacesAndNewlines)
        if s.hasSuffix("<|im_end|>") { s = String(s.dropLast("<|im_end|>".count)).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard s.hasPrefix(thinkOpen), s.hasSuffix(answerClose) else { return nil }
        let body = s.dropFirst(thinkOpen.count).dropLast(answerClose.count)
        let parts = body.components(separatedBy: thinkClose + answerOpen)
        guard parts.count == 2 else { return nil }
        for part in parts where tags.contains(where: { part.contains($0) }) { return nil }
        return (parts[0], parts[1])
    }
}

/// One ShapesWorld task for the tiny LM: a chat prompt (with an image for VQA), the supervised
/// completion, and the ground-truth answer that scores a completion.
public struct TinyLMTask: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        /// A text-to-image caption or an editing instruction as the user's message; trained as
        /// language modelling of the message (no reply), so the LM's states carry the caption.
        case caption
        /// An indirect prompt ("as many circles as 1+2, coloured like grass") resolved to a caption.
        case indirect
        /// A ShapesWorld visual question about a 32 × 32 render.
        case vqa
        /// A ShapesWorld text task (arithmetic, word problems).
        case text
    }

    public var kind: Kind
    /// The user's message (text; VQA puts the image before it).
    public var prompt: String
    /// The render a VQA question is about.
    public var image: RGBImage?
    /// The supervised reply in ``TinyLMFormat`` (nil for captions).
    public var completion: String?
    /// The ground truth: the answer for VQA/text, the resolved caption for indirect prompts.
    public var answer: String
    /// The VQA question kind or the text task kind, for per-kind tables.
    public var subkind: String

    public init(kind: Kind, prompt: String, image: RGBImage? = nil, completion: String?, answer: String, subkind: String) {
        self.kind = kind; self.prompt = prompt; self.image = image
        self.completion = completion; self.answer = answer; self.subkind = subkind
    }

    /// The conversation of the prompt (the default system message is added by the template).
    public var messages: [ChatMessage] {
        [ChatMessage(role: .user, parts: image == nil ? [.text(prompt)] : [.image, .text(prompt)])]
    }

    /// Whether `completion` (the generated text, stop token included or not) gives the answer:
    /// the format must hold, then answers compare after ShapesWorld's normalisation (VQA) or
    /// as integers (text tasks) or exactly (indirect prompts).
    public func isCorrect(_ completion: String) -> Bool {
        guard let answerText = TinyLMFormat.parse(completion)?.answer else { return false }
        switch kind {
        case .vqa: return VQASample.normalize(answerText) == VQASample.normalize(answer)
        case .text: return Int(answerText.trimmingCharacters(in: .whitespaces)) == Int(answer)
        case .indirect, .caption: return answerText.trimmingCharacters(in: .whitespaces) == answer
        }
    }
}

/// Draws ShapesWorld tasks for the tiny LM on either side of the train / held-out split.
///
/// The split extends ShapesWorld's caption hash (``PromptSplit/of(caption:)``) to every task:
/// captions and indirect prompts by their text, text tasks by their question, VQA by the question
/// together with the scene (objects by cell, shape and colour), so that a held-out VQA prompt is
/// never a training prompt (the same question about the same picture).
public struct TinyLMTaskGenerator: Sendable {
    public let renderer = SceneRenderer(size: 32)
    /// How text tasks' supervised replies reason (the split and the answers do not depend on it).
    public var textReasoning: TextReasoningStyle
    /// The share of text tasks drawn with operands up to ``extendedMaximumOperand`` instead of
    /// ShapesWorld's 20 (0: none, and the draws are exactly those of the plain generator). Such
    /// questions are far too many to memorise, so a model trained on them must copy the operands
    /// and work the columns; the split still applies to every question by its hash.
    public var extendedTextShare: Double
    /// The largest operand of an extended sum or difference (products keep factors up to 9).
    public var extendedMaximumOperand: Int

    public init(textReasoning: TextReasoningStyle = .short, extendedTextShare: Double = 0, extendedMaximumOperand: Int = 99) {
        self.textReasoning = textReasoning
        self.extendedTextShare = extendedTextShare
        self.extendedMaximumOperand = extendedMaximumOperand
    }

    /// The split of a VQA sample.
    public static func split(of sample: VQASample) -> PromptSplit {
        let objects = sample.scene.objects.sorted { $0.cell < $1.cell }
            .map { "\($0.cell.column)\($0.cell.row) \($0.color.name) \($0.shape.name)" }
        return PromptSplit.of(caption: sample.question + " | " + objects.joined(separator: ", "))
    }

    /// The split of a text task.
    public static func split(of task: TextTask) -> PromptSplit { PromptSplit.of(caption: task.question) }

    /// A task of `kind` on side `split`.
    public func task(_ kind: TinyLMTask.Kind, split: PromptSplit, using rng: inout RandomState) -> TinyLMTask {
        switch kind {
        case .caption:
            // Mostly text-to-image captions; editing instructions a fifth of the time.
            while true {
                if rng.nextUniform() < 0.2 {
                    let edit = EditGenerator().sample(using: &rng)
                    guard PromptSplit.of(caption: edit.instruction) == split else { continue }
                    return TinyLMTask(kind: .caption, prompt: edit.instruction, completion: nil, answer: "", subkind: "edit")
                }
                let p = PromptGenerator().prompt(split: split, using: &rng).prompt
                return TinyLMTask(kind: .caption, prompt: p.caption, completion: nil, answer: "", subkind: p.category.rawValue)
            }
        case .indirect:
            while true {
                let p = IndirectPromptGenerator().sample(using: &rng)
                guard PromptSplit.of(caption: p.text) == split else { continue }
                return TinyLMTask(
                    kind: .indirect, prompt: p.text,
                    completion: TinyLMFormat.completion(reasoning: p.reasoning, answer: p.resolved.caption),
                    answer: p.resolved.caption, subkind: "indirect")
            }
        case .vqa:
            while true {
                let q = VQAGenerator().sample(using: &rng)
                guard Self.split(of: q) == split else { continue }
                return TinyLMTask(
                    kind: .vqa, prompt: q.question, image: renderer.render(q.scene),
                    completion: TinyLMFormat.completion(reasoning: Self.reasoning(for: q), answer: q.answer),
                    answer: q.answer, subkind: q.kind.rawValue)
            }
        case .text:
            while true {
                let extended = extendedTextShare > 0 && Double(rng.nextUniform()) < extendedTextShare
                let t = TextTaskGenerator(maximumOperand: extended ? max(2, extendedMaximumOperand) : 20).sample(using: &rng)
                guard Self.split(of: t) == split else { continue }
                return TinyLMTask(
                    kind: .text, prompt: t.question,
                    completion: TinyLMFormat.completion(reasoning: Self.reasoning(for: t, style: textReasoning), answer: String(t.answer)),
                    answer: String(t.answer), subkind: t.kind.rawValue)
            }
        }
    }

    /// The reasoning of a text task in `style`: ``reasoning(for:)`` or ``WorkedArithmetic``'s.
    public static func reasoning(for task: TextTask, style: TextReasoningStyle) -> String {
        switch style {
        case .short: return reasoning(for: task)
        case .worked:
            guard let (a, op, b) = WorkedArithmetic.operation(of: task) else { return "\(task.answer)" }
            return WorkedArithmetic.reasoning(a, op, b)
        }
    }

    /// The one-step reasoning of a text task: "7+5=12", "12-5=7", "3×4=12" (word problems by their
    /// operation: "erases" subtracts, "rows of" multiplies, the others add).
    public static func reasoning(for task: TextTask) -> String {
        guard let (a, op, b) = WorkedArithmetic.operation(of: task) else { return "\(task.answer)" }
        return "\(a)\(op.rawValue)\(b)=\(task.answer)"
    }

    /// The short look before a VQA answer: the objects the question is about, by cell.
    /// Counting and existence list the matching objects ("red circle, red circle" or "none");
    /// colour questions name the object found ("top left: red circle"); position questions place
    /// both objects ("red circle: top left; blue square: top right").
    public static func reasoning(for sample: VQASample) -> String {
        let words = Set(sample.question.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init))
        let color = PaletteColor.allCases.first { words.contains($0.name) }
        let shape = ShapeKind.allCases.first { words.contains($0.name) || words.contains($0.plural) }
        func list(_ objects: [SceneObject]) -> String {
            objects.isEmpty ? "none" : objects.sorted { $0.cell < $1.cell }.map(\.phrase).joined(separator: ", ")
        }
        switch sample.kind {
        case .count, .existence:
            return list(sample.scene.objects(shape: shape, color: color))
        case .colorOf:
            let object: SceneObject?
            if let cell = GridCell.all.first(where: { sample.question.hasSuffix("the \($0.name)?") }) {
                object = sample.scene.objects.first { $0.cell == cell }
            } else {
                object = sample.scene.objects(shape: shape).first
            }
            return object.map { "\($0.cell.name): \($0.phrase)" } ?? "none"
        case .positionOf:
            // "Where is the A relative to the B?": both phrases, in the order asked.
            let found = sample.scene.objects
                .compactMap { o -> (Int, SceneObject)? in
                    let q = sample.question
                    let range = q.range(of: "the \(o.phrase) ") ?? q.range(of: "the \(o.phrase)?")
                    return range.map { (q.distance(from: q.startIndex, to: $0.lowerBound), o) }
                }
                .sorted { $0.0 < $1.0 }.map(\.1)
            return found.map { "\($0.phrase): \($0.cell.name)" }.joined(separator: "; ")
        }
    }

    static func integers(in text: String) -> [Int] {
        text.split(whereSeparator: { !($0.isASCII && $0.isNumber) }).compactMap { Int($0) }
    }

    /// Texts for training the tokenizer: every kind of ShapesWorld text (captions of all six
    /// categories, editing instructions, indirect prompts with their reasoning, VQA questions with
    /// answers and reasoning, text tasks with their steps), both splits, plus the chat template's
    /// own words.
    public static func tokenizerCorpus(samplesPerKind: Int, seed: UInt64) -> [String] {
        var rng = RandomState(seed: seed)
        var corpus = [QwenChatTemplate.defaultSystem, "system\n", "user\n", "assistant\n", "Picture 1: ", "Video 1: "]
        for _ in 0..<samplesPerKind {
            corpus.append(PromptGenerator().prompt(split: rng.nextUniform() < 0.5 ? .train : .evaluation, using: &rng).prompt.caption)
            let e = EditGenerator().sample(using: &rng)
            corpus += [e.instruction, e.reverseInstruction]
            let p = IndirectPromptGenerator().sample(using: &rng)
            corpus += [p.text, TinyLMFormat.completion(reasoning: p.reasoning, answer: p.resolved.caption)]
            let q = VQAGenerator().sample(using: &rng)
            corpus += [q.question, TinyLMFormat.completion(reasoning: reasoning(for: q), answer: q.answer)]
            let t = TextTaskGenerator().sample(using: &rng)
            corpus += [t.question, TinyLMFormat.completion(reasoning: reasoning(for: t), answer: String(t.answer))]
        }
        return corpus
    }
}
