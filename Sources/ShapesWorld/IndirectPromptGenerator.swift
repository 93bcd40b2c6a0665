import UniRLTensor

/// A prompt that needs a step of reasoning before it can be drawn: "as many circles as 1+2,
/// coloured like grass" means three green circles.
public struct IndirectPrompt: Sendable, Hashable, Codable {
    /// What the model is given.
    public var text: String
    /// The steps that resolve it: "1+2 = 3; grass is green; so: three green circles".
    public var reasoning: String
    /// The direct prompt it resolves to; ShapesEval scores images against this.
    public var resolved: ShapesPrompt
    /// A scene that satisfies ``resolved``.
    public var scene: Scene

    public init(text: String, reasoning: String, resolved: ShapesPrompt, scene: Scene) {
        self.text = text
        self.reasoning = reasoning
        self.resolved = resolved
        self.scene = scene
    }
}

/// Draws indirect prompts for chain-of-thought image generation, deterministically from a seed.
///
/// Three kinds, each resolving to a direct prompt that ShapesEval can score:
/// - **counting**: "as many circles as 1+2, coloured like grass" → exactly three green circles
///   (a `counting` prompt);
/// - **colour riddle**: "a square coloured like a banana" → a yellow square (`colors`);
/// - **shape riddle**: "a red shape like a slice of pizza" → a red triangle (`colors`).
///
/// ```swift
/// var rng = RandomState(seed: 5)
/// let p = IndirectPromptGenerator().sample(using: &rng)
/// p.text, p.reasoning, p.resolved.caption
/// ```
public struct IndirectPromptGenerator: Sendable {
    public enum Kind: String, CaseIterable, Codable, Sendable {
        case counting, colorRiddle = "color_riddle", shapeRiddle = "shape_riddle"
    }

    public init() {}

    /// An indirect prompt of a uniformly drawn kind.
    public func sample(using rng: inout RandomState) -> IndirectPrompt {
        sample(rng.element(of: Kind.allCases), using: &rng)
    }

    /// An indirect prompt of `kind`.
    public func sample(_ kind: Kind, using rng: inout RandomState) -> IndirectPrompt {
        let shape = rng.element(of: ShapeKind.allCases), color = rng.element(of: PaletteColor.allCases)
        let colorThing = rng.element(of: color.things), shapeThing = rng.element(of: shape.things)
        let text: String, reasoning: String, resolved: ShapesPrompt
        switch kind {
        case .counting:
            let range = PromptGenerator.countingRange
            let n = range.lowerBound + rng.index(range.count)
            let (expression, steps) = Self.expression(equalTo: n, using: &rng)
            let word = Self.numberWord(n)
            text = "as many \(shape.plural) as \(expression), coloured like \(colorThing)"
            reasoning = "\(steps); \(colorThing) is \(color.name); so: \(word) \(color.name) \(shape.plural)"
            resolved = ShapesPrompt(category: .counting, caption: "\(word) \(color.name) \(shape.plural)",
                                    include: [ObjectRequirement(shape, count: n, color: color)],
                                    exclude: [ObjectRequirement(shape, count: n + 1, color: color)])
        case .colorRiddle:
            text = "\(PromptGenerator.phrase("a", shape.name)) coloured like \(colorThing)"
            reasoning = "\(colorThing) is \(color.name); so: \(PromptGenerator.phrase("a", "\(color.name) \(shape.name)"))"
            resolved = ShapesPrompt(category: .colors, caption: PromptGenerator.phrase("a", "\(color.name) \(shape.name)"),
                                    include: [ObjectRequirement(shape, color: color)])
        case .shapeRiddle:
            text = "\(PromptGenerator.phrase("a", color.name)) shape like \(shapeThing)"
            reasoning = "\(shapeThing) is shaped like \(PromptGenerator.phrase("a", shape.name)); "
                + "so: \(PromptGenerator.phrase("a", "\(color.name) \(shape.name)"))"
            resolved = ShapesPrompt(category: .colors, caption: PromptGenerator.phrase("a", "\(color.name) \(shape.name)"),
                                    include: [ObjectRequirement(shape, color: color)])
        }
        var scene: Scene?
        while scene == nil { scene = try? Scene.sample(satisfying: resolved, using: &rng) }
        return IndirectPrompt(text: text, reasoning: reasoning, resolved: resolved, scene: scene ?? Scene())
    }

    /// A small sum or difference equal to `n` ("1+2"), with its worked step ("1+2 = 3").
    static func expression(equalTo n: Int, using rng: inout RandomState) -> (String, String) {
        let e: String
        if rng.chance(0.5) {
            let a = 1 + rng.index(n - 1)
            e = "\(a)+\(n - a)"
        } else {
            let b = 1 + rng.index(5)
            e = "\(n + b)-\(b)"
        }
        return (e, "\(e) = \(n)")
    }

    static func numberWord(_ n: Int) -> String {
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"][min(max(n, 0), 9)]
    }
}
