import Foundation
import UniRLTensor

/// Which side of the train/evaluation partition a caption falls on.
///
/// The partition is a hash of the caption (FNV-1a, 64 bit): a fixed ``evaluationShare`` of all
/// captions is held out for evaluation, and ``PromptGenerator`` only ever draws training prompts
/// from the rest. The bundled evaluation set is drawn from the held-out part, so no training
/// prompt can equal an evaluation prompt, whatever the seed.
public enum PromptSplit: String, Sendable, Codable, CaseIterable {
    case train
    case evaluation

    /// The share of captions held out for evaluation: 3/8.
    public static let evaluationShare = (numerator: UInt64(3), denominator: UInt64(8))

    /// The side `caption` falls on.
    public static func of(caption: String) -> PromptSplit {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in caption.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash % evaluationShare.denominator < evaluationShare.numerator ? .evaluation : .train
    }
}

/// A prompt together with a scene that satisfies it (the reference image's ground truth).
public struct GeneratedPrompt: Sendable, Hashable {
    public var prompt: ShapesPrompt
    public var scene: Scene

    public init(prompt: ShapesPrompt, scene: Scene) {
        self.prompt = prompt
        self.scene = scene
    }
}

/// Draws text-to-image prompts in GenEval's six categories, deterministically from a seed.
///
/// | category | example | what must be in the image |
/// |---|---|---|
/// | `single_object` | "a circle" | a circle |
/// | `two_object` | "a circle and a square" | a circle and a square |
/// | `counting` | "three circles", "exactly 3 green circles" | exactly three (green) circles |
/// | `colors` | "a red circle", "a circle that is red" | a red circle |
/// | `position` | "a red circle to the left of a blue square" | a red circle left of a blue square |
/// | `color_attr` | "a red circle and a blue square" | a red circle and a blue square |
///
/// Captions vary in phrasing too ("a photo of …", "… on a white background", "one …"), which
/// gives every category enough distinct captions to hold out an evaluation set (see
/// ``PromptSplit``); each category draws its content (shapes, colours, counts, relations)
/// uniformly.
///
/// ```swift
/// var rng = RandomState(seed: 7)
/// let sample = PromptGenerator().prompt(.counting, using: &rng)
/// sample.prompt.caption   // e.g. "an image of exactly four triangles"
/// sample.scene            // four triangles
/// ```
public struct PromptGenerator: Sendable {
    /// Counts a counting prompt asks for (GenEval's range).
    public static let countingRange: ClosedRange<Int> = 2...4
    /// The seed of the bundled evaluation set.
    public static let evaluationSeed: UInt64 = 2025
    /// Prompts per category in the bundled evaluation set (600 in all).
    public static let evaluationPromptsPerCategory = 100
    /// The bundled evaluation set's file name in the module's resources.
    public static let evaluationFileName = "eval_prompts.jsonl"

    static let prefixes = ["", "a photo of ", "an image of ", "a picture of ", "a drawing of ", "a rendering of ",
                           "an illustration of ", "a simple image of "]
    static let suffixes = ["", " on a white background", " on a plain background", ", flat style"]
    static let conjunctions = ["and", "together with", "as well as"]
    static let numberWords = [2: ["two", "2"], 3: ["three", "3"], 4: ["four", "4"]]
    static let relationPhrases: [SpatialRelation: [String]] = [
        .leftOf: ["to the left of", "left of", "on the left of"],
        .rightOf: ["to the right of", "right of", "on the right of"],
        .above: ["above", "over"],
        .below: ["below", "under", "beneath"],
    ]

    public init() {}

    /// A prompt of `category` whose caption lies in `split`, with a scene that satisfies it.
    public func prompt(_ category: PromptCategory, split: PromptSplit = .train, using rng: inout RandomState) -> GeneratedPrompt {
        while true {
            let draft = Self.draft(category, using: &rng)
            guard PromptSplit.of(caption: draft.caption) == split else { continue }
            // Generated prompts are always satisfiable; the fallback is never reached.
            if let scene = try? Scene.sample(satisfying: draft, using: &rng) { return GeneratedPrompt(prompt: draft, scene: scene) }
        }
    }

    /// A prompt of a uniformly drawn category in `split`.
    public func prompt(split: PromptSplit = .train, using rng: inout RandomState) -> GeneratedPrompt {
        prompt(rng.element(of: PromptCategory.allCases), split: split, using: &rng)
    }

    /// `count` prompts from `seed`, cycling through `categories` in order.
    public func prompts(count: Int, categories: [PromptCategory] = PromptCategory.allCases,
                        split: PromptSplit = .train, seed: UInt64) -> [GeneratedPrompt] {
        precondition(!categories.isEmpty, "no categories to draw from")
        var rng = RandomState(seed: seed)
        return (0..<count).map { i in prompt(categories[i % categories.count], split: split, using: &rng) }
    }

    /// The evaluation set: `perCategory` distinct held-out captions per category, grouped by
    /// category in GenEval's order. With the defaults this is exactly the bundled
    /// `eval_prompts.jsonl` (a test checks it).
    public static func evaluationSet(perCategory: Int = evaluationPromptsPerCategory,
                                     seed: UInt64 = evaluationSeed) -> [ShapesPrompt] {
        var rng = RandomState(seed: seed)
        var out: [ShapesPrompt] = []
        for category in PromptCategory.allCases {
            var seen = Set<String>()
            var attempts = 0
            while seen.count < perCategory {
                attempts += 1
                precondition(attempts < 1_000_000, "the \(category.rawValue) category has fewer than \(perCategory) held-out captions")
                let draft = draft(category, using: &rng)
                guard PromptSplit.of(caption: draft.caption) == .evaluation, seen.insert(draft.caption).inserted else { continue }
                out.append(draft)
            }
        }
        return out
    }

    /// The evaluation set shipped with the package (`Resources/eval_prompts.jsonl`).
    public static func bundledEvaluationSet() throws -> [ShapesPrompt] {
        guard let url = bundledEvaluationFileURL else {
            throw PromptFileError(path: evaluationFileName, line: nil, reason: "not found in the UniRLShapesWorld bundle")
        }
        return try PromptFile.read(from: url)
    }

    /// Where the bundled evaluation set lies, or `nil` if the resource bundle lacks it.
    public static var bundledEvaluationFileURL: URL? {
        Bundle.module.url(forResource: "eval_prompts", withExtension: "jsonl", subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "eval_prompts", withExtension: "jsonl")
    }

    // MARK: - Drafting captions and specifications

    /// `determiner + " " + words`, with "a" turned into "an" before a vowel ("an orange circle").
    static func phrase(_ determiner: String, _ words: String) -> String {
        let article = determiner == "a" && words.first.map { "aeiou".contains($0) } == true ? "an" : determiner
        return "\(article) \(words)"
    }

    /// One prompt of `category`, drawn without regard to the split.
    static func draft(_ category: PromptCategory, using rng: inout RandomState) -> ShapesPrompt {
        let body: String
        var include: [ObjectRequirement] = [], exclude: [ObjectRequirement] = []
        switch category {
        case .singleObject:
            let shape = rng.element(of: ShapeKind.allCases)
            body = phrase(rng.element(of: ["a", "one", "a single"]), shape.name)
            include = [ObjectRequirement(shape)]
        case .twoObject:
            let shapes = rng.sample(ShapeKind.allCases, count: 2)
            let det = rng.element(of: ["a", "one"])
            body = "\(phrase(det, shapes[0].name)) \(rng.element(of: conjunctions)) \(phrase(det, shapes[1].name))"
            include = shapes.map { ObjectRequirement($0) }
        case .counting:
            let shape = rng.element(of: ShapeKind.allCases)
            let n = countingRange.lowerBound + rng.index(countingRange.count)
            let color: PaletteColor? = rng.chance(0.5) ? rng.element(of: PaletteColor.allCases) : nil
            let number = rng.element(of: numberWords[n] ?? [String(n)])
            let exactly = rng.element(of: ["", "exactly "])
            body = exactly + [number, color?.name, shape.plural].compactMap { $0 }.joined(separator: " ")
            include = [ObjectRequirement(shape, count: n, color: color)]
            exclude = [ObjectRequirement(shape, count: n + 1, color: color)]
        case .colors:
            let shape = rng.element(of: ShapeKind.allCases), color = rng.element(of: PaletteColor.allCases)
            let det = rng.element(of: ["a", "one"])
            body = rng.element(of: [phrase(det, "\(color.name) \(shape.name)"), phrase(det, "\(shape.name) that is \(color.name)"),
                                    phrase(det, "\(shape.name) coloured \(color.name)")])
            include = [ObjectRequirement(shape, color: color)]
        case .position:
            let a = (rng.element(of: ShapeKind.allCases), rng.element(of: PaletteColor.allCases))
            var b = a
            while b == a { b = (rng.element(of: ShapeKind.allCases), rng.element(of: PaletteColor.allCases)) }
            let relation = rng.element(of: SpatialRelation.allCases)
            let det = rng.element(of: ["a", "one"])
            let relationPhrase = rng.element(of: relationPhrases[relation] ?? [relation.rawValue])
            body = "\(phrase(det, "\(a.1.name) \(a.0.name)")) \(relationPhrase) \(phrase(det, "\(b.1.name) \(b.0.name)"))"
            // GenEval's layout: the reference object first, the placed object pointing at it.
            include = [ObjectRequirement(b.0, color: b.1), ObjectRequirement(a.0, color: a.1, position: RelativePosition(relation, of: 0))]
        case .colorAttribution:
            let shapes = rng.sample(ShapeKind.allCases, count: 2), colors = rng.sample(PaletteColor.allCases, count: 2)
            let det = rng.element(of: ["a", "one"])
            let conjunction = rng.element(of: conjunctions)
            body = "\(phrase(det, "\(colors[0].name) \(shapes[0].name)")) \(conjunction) "
                + "\(phrase(det, "\(colors[1].name) \(shapes[1].name)"))"
            include = [ObjectRequirement(shapes[0], color: colors[0]), ObjectRequirement(shapes[1], color: colors[1])]
        }
        let caption = rng.element(of: prefixes) + body + rng.element(of: suffixes)
        return ShapesPrompt(category: category, caption: caption, include: include, exclude: exclude)
    }
}
