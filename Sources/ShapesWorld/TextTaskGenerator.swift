import UniRLTensor

/// A text-only problem with an exact integer answer, for text RL.
public struct TextTask: Sendable, Hashable, Codable {
    public enum Kind: String, CaseIterable, Codable, Sendable {
        case addition, subtraction, multiplication
        case wordProblem = "word_problem"
    }

    public var question: String
    public var answer: Int
    public var kind: Kind

    public init(question: String, answer: Int, kind: Kind) {
        self.question = question
        self.answer = answer
        self.kind = kind
    }

    /// Whether the last integer in `response` is the answer ("… so the answer is 12." counts).
    public func isCorrect(_ response: String) -> Bool { Self.lastInteger(in: response) == answer }

    /// The last integer written in `text` (with an optional leading minus sign), if any.
    public static func lastInteger(in text: String) -> Int? {
        var last: Int?
        var digits = "", negative = false
        var previous: Character = " "
        func flush() {
            if !digits.isEmpty, let v = Int(digits) { last = negative ? -v : v }
            digits = ""
            negative = false
        }
        for ch in text {
            if ch.isASCII && ch.isNumber {
                if digits.isEmpty { negative = previous == "-" }
                digits.append(ch)
            } else {
                flush()
            }
            previous = ch
        }
        flush()
        return last
    }
}

/// Draws arithmetic and word problems with exact answers, deterministically from a seed.
///
/// ```swift
/// var rng = RandomState(seed: 2)
/// let task = TextTaskGenerator().sample(using: &rng)
/// task.question   // "What is 7 + 5?"
/// task.answer     // 12
/// ```
public struct TextTaskGenerator: Sendable {
    /// The largest operand of a sum or difference (products use up to a tenth of it, at least 9).
    public var maximumOperand: Int

    public init(maximumOperand: Int = 20) {
        precondition(maximumOperand >= 2, "operands go up to at least 2")
        self.maximumOperand = maximumOperand
    }

    /// A task of a uniformly drawn kind.
    public func sample(using rng: inout RandomState) -> TextTask {
        sample(rng.element(of: TextTask.Kind.allCases), using: &rng)
    }

    /// A task of `kind`.
    public func sample(_ kind: TextTask.Kind, using rng: inout RandomState) -> TextTask {
        func operand(_ upTo: Int) -> Int { 1 + rng.index(upTo) }
        /// At least 2, so that the noun it counts is plural.
        func several(_ upTo: Int) -> Int { 2 + rng.index(max(1, upTo - 1)) }
        switch kind {
        case .addition:
            let a = operand(maximumOperand), b = operand(maximumOperand)
            return TextTask(question: "What is \(a) + \(b)?", answer: a + b, kind: .addition)
        case .subtraction:
            let a = operand(maximumOperand), b = operand(maximumOperand)
            let (hi, lo) = (max(a, b), min(a, b))
            return TextTask(question: "What is \(hi) - \(lo)?", answer: hi - lo, kind: .subtraction)
        case .multiplication:
            let top = max(9, maximumOperand / 10)
            let a = operand(top), b = operand(top)
            return TextTask(question: "What is \(a) × \(b)?", answer: a * b, kind: .multiplication)
        case .wordProblem:
            let name = rng.element(of: ["Ada", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hugo"])
            let shape = rng.element(of: ShapeKind.allCases), color = rng.element(of: PaletteColor.allCases)
            let things = "\(color.name) \(shape.plural)"
            switch rng.index(4) {
            case 0:
                let a = several(maximumOperand), b = operand(maximumOperand)
                return TextTask(question: "\(name) draws \(a) \(things) and then \(b) more. How many \(things) has \(name) drawn?",
                                answer: a + b, kind: .wordProblem)
            case 1:
                let a = several(maximumOperand) + 1
                let b = operand(a - 1)
                return TextTask(question: "There are \(a) \(things) on a page. \(name) erases \(b) of them. How many are left?",
                                answer: a - b, kind: .wordProblem)
            case 2:
                let top = max(9, maximumOperand / 10)
                let rows = several(top), perRow = several(top)
                return TextTask(question: "\(name) draws \(rows) rows of \(perRow) \(things). How many \(things) is that?",
                                answer: rows * perRow, kind: .wordProblem)
            default:
                let a = several(maximumOperand), b = several(maximumOperand)
                let other = rng.element(of: ShapeKind.allCases.filter { $0 != shape })
                return TextTask(question: "A picture has \(a) \(shape.plural) and \(b) \(other.plural). How many shapes does it have?",
                                answer: a + b, kind: .wordProblem)
            }
        }
    }
}
