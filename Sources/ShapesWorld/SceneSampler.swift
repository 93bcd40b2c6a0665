import UniRLTensor

/// Why no scene could be drawn for a prompt.
public struct SceneSamplingError: Error, CustomStringConvertible, Sendable {
    public var caption: String
    public var reason: String
    public var description: String { "no ShapesWorld scene satisfies '\(caption)': \(reason)" }
}

extension Scene {
    /// A random scene that satisfies `prompt` by ShapesEval's rules: exactly the objects its
    /// `include` entries ask for (colours drawn at random where the prompt leaves them free),
    /// with related objects in the same row (left/right) or column (above/below) so that the
    /// relation is unambiguous to a person too.
    ///
    /// - Throws: ``SceneSamplingError`` if the prompt is unsound or no layout was found.
    public static func sample(satisfying prompt: ShapesPrompt, using rng: inout RandomState) throws -> Scene {
        if let problem = prompt.specificationError { throw SceneSamplingError(caption: prompt.caption, reason: problem) }
        for _ in 0..<200 {
            if let scene = attempt(prompt, using: &rng),
               ShapesEval.evaluate(prompt: prompt, objects: scene.objects.map { DetectedObject(groundTruth: $0) }).correct {
                return scene
            }
        }
        throw SceneSamplingError(caption: prompt.caption, reason: "no layout found in 200 attempts")
    }

    private static func attempt(_ prompt: ShapesPrompt, using rng: inout RandomState) -> Scene? {
        var free = Set(GridCell.all)
        var groups: [[SceneObject]] = []
        var objects: [SceneObject] = []
        for requirement in prompt.include {
            var group: [SceneObject] = []
            for _ in 0..<requirement.count {
                var candidates = free.sorted()
                if let position = requirement.position, position.target < groups.count, let anchor = groups[position.target].first {
                    let a = anchor.cell
                    candidates = candidates.filter { c in
                        switch position.relation {
                        case .leftOf: c.row == a.row && c.column < a.column
                        case .rightOf: c.row == a.row && c.column > a.column
                        case .above: c.column == a.column && c.row < a.row
                        case .below: c.column == a.column && c.row > a.row
                        }
                    }
                }
                guard !candidates.isEmpty else { return nil }
                let cell = rng.element(of: candidates)
                free.remove(cell)
                let color = requirement.color ?? rng.element(of: PaletteColor.allCases)
                let object = SceneObject(shape: requirement.shape, color: color, cell: cell, using: &rng)
                group.append(object)
                objects.append(object)
            }
            groups.append(group)
        }
        return Scene(objects: objects)
    }
}
