import UniRLTensor

/// The kinds of image edit ShapesWorld pairs.
public enum EditKind: String, CaseIterable, Codable, Sendable {
    /// "make the red circle blue" ↔ "make the blue circle red".
    case recolor
    /// "move the red circle to the top left" ↔ "move the red circle to the centre".
    case move
    /// "add a green triangle in the top right" ↔ "remove the green triangle".
    case add
    /// "remove the blue square" ↔ "add a blue square in the bottom centre".
    case remove
}

/// An editing quadruple: a source scene, an instruction, the scene the instruction produces, and
/// the instruction that undoes it.
///
/// Every object an instruction names is the only one of its colour and shape in the scene it
/// is applied to, so both instructions are unambiguous. Applying the reverse instruction to the
/// target gives back the source's objects (an object added back takes the cell the instruction
/// names, centred there).
public struct EditSample: Sendable, Hashable, Codable {
    public var source: Scene
    public var instruction: String
    public var target: Scene
    public var reverseInstruction: String
    public var kind: EditKind

    public init(source: Scene, instruction: String, target: Scene, reverseInstruction: String, kind: EditKind) {
        self.source = source
        self.instruction = instruction
        self.target = target
        self.reverseInstruction = reverseInstruction
        self.kind = kind
    }
}

/// Draws editing quadruples for recolour, move, add and remove, deterministically from a seed.
///
/// ```swift
/// var rng = RandomState(seed: 3)
/// let edit = EditGenerator().sample(.recolor, using: &rng)
/// edit.instruction          // "make the red circle blue"
/// edit.reverseInstruction   // "make the blue circle red"
/// ```
public struct EditGenerator: Sendable {
    /// Objects in a source scene (an add needs a free slot, a remove leaves one object).
    public var objectCount: ClosedRange<Int>

    public init(objectCount: ClosedRange<Int> = Scene.defaultObjectCount) {
        precondition(objectCount.lowerBound >= 1 && objectCount.upperBound <= GridCell.all.count, "1 to 9 objects")
        self.objectCount = objectCount
    }

    /// An edit of a uniformly drawn kind.
    public func sample(using rng: inout RandomState) -> EditSample {
        sample(rng.element(of: EditKind.allCases), using: &rng)
    }

    /// An edit of `kind` on a fresh random scene.
    public func sample(_ kind: EditKind, using rng: inout RandomState) -> EditSample {
        switch kind {
        case .remove: precondition(objectCount.upperBound >= 2, "a remove needs scenes of two or more objects")
        case .move, .add: precondition(objectCount.lowerBound < GridCell.all.count, "a \(kind) needs a free cell")
        case .recolor: break
        }
        while true {
            let scene = Scene.random(objectCount: objectCount, using: &rng)
            if let edit = edit(kind, of: scene, using: &rng) { return edit }
        }
    }

    /// An edit of `kind` applied to `scene`, or `nil` if the scene allows none (no uniquely
    /// named object, no free cell, or a single object to remove).
    public func edit(_ kind: EditKind, of scene: Scene, using rng: inout RandomState) -> EditSample? {
        let unique = scene.objects.indices.filter {
            scene.objects(shape: scene.objects[$0].shape, color: scene.objects[$0].color).count == 1
        }
        switch kind {
        case .recolor:
            guard !unique.isEmpty else { return nil }
            let i = rng.element(of: unique)
            let o = scene.objects[i]
            let newColors = PaletteColor.allCases.filter { scene.objects(shape: o.shape, color: $0).isEmpty }
            guard !newColors.isEmpty else { return nil }
            let newColor = rng.element(of: newColors)
            var target = scene
            target.objects[i].color = newColor
            let forms = ["make the %@ %@", "change the %@ to %@", "paint the %@ %@", "recolour the %@ %@"]
            let form = rng.element(of: forms), back = rng.element(of: forms)
            return EditSample(source: scene, instruction: fill(form, o.phrase, newColor.name), target: target,
                              reverseInstruction: fill(back, target.objects[i].phrase, o.color.name), kind: .recolor)
        case .move:
            let free = scene.emptyCells
            guard !unique.isEmpty, !free.isEmpty else { return nil }
            let i = rng.element(of: unique)
            let o = scene.objects[i]
            let destination = rng.element(of: free)
            var target = scene
            target.objects[i] = o.moved(to: destination)
            let forms = ["move the %@ to the %@", "put the %@ in the %@", "shift the %@ to the %@"]
            return EditSample(source: scene, instruction: fill(rng.element(of: forms), o.phrase, destination.name), target: target,
                              reverseInstruction: fill(rng.element(of: forms), o.phrase, o.cell.name), kind: .move)
        case .add:
            let free = scene.emptyCells
            let absent = ShapeKind.allCases.flatMap { s in PaletteColor.allCases.map { (s, $0) } }
                .filter { scene.objects(shape: $0.0, color: $0.1).isEmpty }
            guard !free.isEmpty, !absent.isEmpty else { return nil }
            let (shape, color) = rng.element(of: absent)
            let cell = rng.element(of: free)
            let added = SceneObject(shape: shape, color: color, cell: cell, using: &rng)
            let target = Scene(objects: scene.objects + [added])
            return EditSample(source: scene, instruction: addInstruction(added, using: &rng), target: target,
                              reverseInstruction: removeInstruction(added, using: &rng), kind: .add)
        case .remove:
            guard scene.objects.count >= 2, !unique.isEmpty else { return nil }
            let i = rng.element(of: unique)
            let o = scene.objects[i]
            var target = scene
            target.objects.remove(at: i)
            return EditSample(source: scene, instruction: removeInstruction(o, using: &rng), target: target,
                              reverseInstruction: addInstruction(o, using: &rng), kind: .remove)
        }
    }

    private func addInstruction(_ o: SceneObject, using rng: inout RandomState) -> String {
        let forms = ["add %@ in the %@", "draw %@ in the %@", "put %@ in the %@"]
        return fill(rng.element(of: forms), PromptGenerator.phrase("a", o.phrase), o.cell.name)
    }

    private func removeInstruction(_ o: SceneObject, using rng: inout RandomState) -> String {
        fill(rng.element(of: ["remove the %@", "delete the %@", "erase the %@"]), o.phrase)
    }

    /// `form` with each `%@` replaced by the next argument.
    private func fill(_ form: String, _ arguments: String...) -> String {
        var out = "", rest = arguments[...]
        var remaining = Substring(form)
        while let range = remaining.range(of: "%@") {
            out += remaining[..<range.lowerBound]
            out += rest.popFirst() ?? ""
            remaining = remaining[range.upperBound...]
        }
        return out + remaining
    }
}
