import UniRLTensor

/// The kinds of visual question ShapesWorld asks.
public enum VQAQuestionKind: String, CaseIterable, Codable, Sendable {
    /// "How many red circles are there?" → "2" (may be "0").
    case count
    /// "What colour is the square?" → "blue".
    case colorOf = "color_of"
    /// "Where is the red circle relative to the blue square?" → "left" / "right" / "above" / "below".
    case positionOf = "position_of"
    /// "Is there a green triangle?" → "yes" / "no".
    case existence
}

/// A question about a scene with its exact answer.
public struct VQASample: Sendable, Hashable, Codable {
    public var scene: Scene
    public var question: String
    /// The answer in its canonical form: a digit string, a colour name, a relation word, or
    /// "yes"/"no".
    public var answer: String
    public var kind: VQAQuestionKind

    public init(scene: Scene, question: String, answer: String, kind: VQAQuestionKind) {
        self.scene = scene
        self.question = question
        self.answer = answer
        self.kind = kind
    }

    /// Whether `response` states the answer: compared after ``VQASample/normalize(_:)``, so
    /// "Two." and "2", or "to the left" and "left", are the same answer.
    public func isCorrect(_ response: String) -> Bool { Self.normalize(response) == Self.normalize(answer) }

    /// Lower case, no punctuation, number words as digits, British or American "colour", and
    /// no leading "it is", "there are", "the", "a" or "to the", nor a trailing "of it".
    public static func normalize(_ text: String) -> String {
        let numbers = ["zero": "0", "none": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                       "six": "6", "seven": "7", "eight": "8", "nine": "9"]
        let cleaned = String(text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : " " })
        var words = cleaned.split(separator: " ").map { numbers[String($0)] ?? String($0) }
        let leading: Set<String> = ["it", "is", "its", "there", "are", "the", "a", "an", "to", "on", "answer"]
        while let first = words.first, leading.contains(first), words.count > 1 { words.removeFirst() }
        if words.count > 1, words.last == "it" { words.removeLast() }
        if words.count > 1, words.last == "of" { words.removeLast() }
        return words.joined(separator: " ")
    }
}

/// Draws scenes with questions whose answers are exact, deterministically from a seed.
///
/// ```swift
/// var rng = RandomState(seed: 1)
/// let q = VQAGenerator().sample(.count, using: &rng)
/// q.question   // "How many triangles are there?"
/// q.answer     // "2"
/// ```
public struct VQAGenerator: Sendable {
    /// Objects per scene.
    public var objectCount: ClosedRange<Int>

    public init(objectCount: ClosedRange<Int> = Scene.defaultObjectCount) {
        precondition(objectCount.lowerBound >= 1 && objectCount.upperBound <= GridCell.all.count, "1 to 9 objects")
        self.objectCount = objectCount
    }

    /// A question of a uniformly drawn kind.
    public func sample(using rng: inout RandomState) -> VQASample {
        sample(rng.element(of: VQAQuestionKind.allCases), using: &rng)
    }

    /// A question of `kind` about a fresh random scene.
    public func sample(_ kind: VQAQuestionKind, using rng: inout RandomState) -> VQASample {
        precondition(kind != .positionOf || objectCount.upperBound >= 2, "a position question needs scenes of two or more objects")
        while true {
            let scene = Scene.random(objectCount: objectCount, using: &rng)
            if let sample = question(kind, about: scene, using: &rng) { return sample }
        }
    }

    /// A question of `kind` about `scene`, or `nil` if the scene cannot support one (a
    /// position question needs two objects side by side that their colour and shape name
    /// uniquely).
    public func question(_ kind: VQAQuestionKind, about scene: Scene, using rng: inout RandomState) -> VQASample? {
        switch kind {
        case .count:
            let present = scene.objects.isEmpty ? nil : rng.element(of: scene.objects)
            let shape = rng.chance(0.7) ? present?.shape ?? rng.element(of: ShapeKind.allCases) : rng.element(of: ShapeKind.allCases)
            let color = rng.chance(0.7) ? present?.color ?? rng.element(of: PaletteColor.allCases) : rng.element(of: PaletteColor.allCases)
            let question: String, n: Int
            switch rng.index(4) {
            case 0:
                question = "How many \(shape.plural) are there?"
                n = scene.objects(shape: shape).count
            case 1:
                question = "How many \(color.name) shapes are there?"
                n = scene.objects(color: color).count
            case 2:
                question = "How many \(color.name) \(shape.plural) are there?"
                n = scene.objects(shape: shape, color: color).count
            default:
                question = "How many shapes are there?"
                n = scene.objects.count
            }
            return VQASample(scene: scene, question: question, answer: String(n), kind: .count)
        case .colorOf:
            guard !scene.objects.isEmpty else { return nil }
            let o = rng.element(of: scene.objects)
            let question = scene.objects(shape: o.shape).count == 1 && rng.chance(0.5)
                ? "What colour is the \(o.shape.name)?"
                : "What colour is the shape in the \(o.cell.name)?"
            return VQASample(scene: scene, question: question, answer: o.color.name, kind: .colorOf)
        case .positionOf:
            let unique = scene.objects.filter { scene.objects(shape: $0.shape, color: $0.color).count == 1 }
            var pairs: [(SceneObject, SceneObject, SpatialRelation)] = []
            for a in unique {
                for b in unique where a != b && (a.cell.row == b.cell.row || a.cell.column == b.cell.column) {
                    let rels = SpatialRelation.relations(of: a.unitBoundingBox, relativeTo: b.unitBoundingBox)
                    if rels.count == 1, let r = rels.first { pairs.append((a, b, r)) }
                }
            }
            guard !pairs.isEmpty else { return nil }
            let (a, b, r) = rng.element(of: pairs)
            return VQASample(scene: scene, question: "Where is the \(a.phrase) relative to the \(b.phrase)?",
                             answer: r.answerWord, kind: .positionOf)
        case .existence:
            let wantsYes = rng.chance(0.5)
            let useColor = rng.chance(0.7)
            let candidates: [(ShapeKind, PaletteColor?)] = ShapeKind.allCases.flatMap { s in
                useColor ? PaletteColor.allCases.map { (s, Optional($0)) } : [(s, nil)]
            }
            let matching = candidates.filter { !scene.objects(shape: $0.0, color: $0.1).isEmpty == wantsYes }
            guard !matching.isEmpty else { return nil }
            let (shape, color) = rng.element(of: matching)
            let noun = color.map { "\($0.name) \(shape.name)" } ?? shape.name
            return VQASample(scene: scene, question: "Is there \(PromptGenerator.phrase("a", noun))?",
                             answer: wantsYes ? "yes" : "no", kind: .existence)
        }
    }
}
