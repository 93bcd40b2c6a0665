import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

@Suite struct VQAGeneratorTests {
    @Test func answersAreExact() {
        var rng = RandomState(seed: 31)
        let generator = VQAGenerator()
        var kinds: [VQAQuestionKind: Int] = [:]
        var answers: [String: Int] = [:]
        for _ in 0..<2000 {
            let q = generator.sample(using: &rng)
            kinds[q.kind, default: 0] += 1
            answers[q.answer, default: 0] += 1
            let s = q.scene
            switch q.kind {
            case .count:
                // Recount from the question's words.
                let words = q.question.lowercased().split(separator: " ").map(String.init)
                let shape = ShapeKind.allCases.first { words.contains($0.plural) }
                let color = PaletteColor.allCases.first { words.contains($0.name) }
                #expect(q.answer == String(s.objects(shape: shape, color: color).count), "\(q.question)")
            case .colorOf:
                let subject = s.objects.filter { o in
                    q.question.hasSuffix("the \(o.shape.name)?") || q.question.hasSuffix("in the \(o.cell.name)?")
                }
                #expect(subject.count == 1, "\(q.question)")
                #expect(subject.first?.color.name == q.answer)
            case .positionOf:
                let named = s.objects.filter { q.question.contains("the \($0.phrase) relative") }
                let reference = s.objects.filter { q.question.hasSuffix("the \($0.phrase)?") }
                #expect(named.count == 1 && reference.count == 1, "\(q.question)")
                if let a = named.first, let b = reference.first {
                    let relations = SpatialRelation.relations(of: a.unitBoundingBox, relativeTo: b.unitBoundingBox)
                    #expect(relations.map(\.answerWord) == [q.answer])
                }
            case .existence:
                let present = s.objects.contains { q.question == "Is there \(PromptGenerator.phrase("a", $0.phrase))?" }
                    || s.objects.contains { q.question == "Is there \(PromptGenerator.phrase("a", $0.shape.name))?" }
                #expect(q.answer == (present ? "yes" : "no"), "\(q.question)")
            }
        }
        for kind in VQAQuestionKind.allCases { #expect(kinds[kind, default: 0] > 400) }
        #expect(answers["yes", default: 0] > 150 && answers["no", default: 0] > 150)
        #expect(answers["0", default: 0] > 20)
    }

    @Test func responsesAreNormalisedBeforeComparison() {
        let q = VQASample(scene: Scene(), question: "How many circles are there?", answer: "2", kind: .count)
        #expect(q.isCorrect("2") && q.isCorrect("Two.") && q.isCorrect("there are two"))
        #expect(!q.isCorrect("3") && !q.isCorrect(""))
        let p = VQASample(scene: Scene(), question: "Where…?", answer: "left", kind: .positionOf)
        #expect(p.isCorrect("To the left.") && p.isCorrect("left of it") && !p.isCorrect("right"))
    }

    @Test func deterministicFromTheSeed() {
        var a = RandomState(seed: 4), b = RandomState(seed: 4)
        for _ in 0..<50 { #expect(VQAGenerator().sample(using: &a) == VQAGenerator().sample(using: &b)) }
    }
}

@Suite struct EditGeneratorTests {
    @Test func targetsDifferFromSourcesByExactlyTheEdit() {
        var rng = RandomState(seed: 17)
        let generator = EditGenerator()
        for _ in 0..<2000 {
            let e = generator.sample(using: &rng)
            #expect(e.source.layoutViolation == nil && e.target.layoutViolation == nil)
            #expect(e.source != e.target)
            let before = Set(e.source.objects), after = Set(e.target.objects)
            let gone = before.subtracting(after), new = after.subtracting(before)
            switch e.kind {
            case .recolor:
                #expect(gone.count == 1 && new.count == 1)
                if let o = gone.first, let n = new.first {
                    #expect(o.shape == n.shape && o.cell == n.cell && o.color != n.color)
                    #expect(e.instruction.contains(o.phrase) && e.instruction.hasSuffix(n.color.name))
                    #expect(e.reverseInstruction.contains(n.phrase) && e.reverseInstruction.hasSuffix(o.color.name))
                    #expect(e.source.objects(shape: o.shape, color: o.color).count == 1)
                    #expect(e.target.objects(shape: n.shape, color: n.color).count == 1)
                }
            case .move:
                #expect(gone.count == 1 && new.count == 1)
                if let o = gone.first, let n = new.first {
                    #expect(o.shape == n.shape && o.color == n.color && o.size == n.size && o.cell != n.cell)
                    #expect(e.instruction.contains(o.phrase) && e.instruction.hasSuffix(n.cell.name))
                    #expect(e.reverseInstruction.hasSuffix(o.cell.name))
                }
            case .add:
                #expect(gone.isEmpty && new.count == 1)
                if let n = new.first {
                    #expect(e.instruction.contains(n.phrase) && e.instruction.hasSuffix(n.cell.name))
                    #expect(e.reverseInstruction.hasSuffix("the \(n.phrase)"))
                    #expect(e.target.objects(shape: n.shape, color: n.color).count == 1)
                }
            case .remove:
                #expect(gone.count == 1 && new.isEmpty && !e.target.objects.isEmpty)
                if let o = gone.first {
                    #expect(e.instruction.hasSuffix("the \(o.phrase)"))
                    #expect(e.reverseInstruction.contains(o.phrase) && e.reverseInstruction.hasSuffix(o.cell.name))
                }
            }
        }
    }

    @Test func everyKindIsProducedAndTheReverseRestoresTheSource() {
        var rng = RandomState(seed: 2)
        for kind in EditKind.allCases {
            let e = EditGenerator().sample(kind, using: &rng)
            #expect(e.kind == kind)
            // Undo by hand what each reverse instruction says and compare cells, shapes and colours.
            func signature(_ s: Scene) -> Set<String> { Set(s.objects.map { "\($0.phrase)@\($0.cell.name)" }) }
            let undone: Set<String>
            switch kind {
            case .recolor, .move:
                undone = signature(e.source)   // both are symmetric edits of one object
            case .add:
                undone = signature(e.target).filter { !e.reverseInstruction.hasSuffix(String($0.split(separator: "@")[0])) }
            case .remove:
                let cell = GridCell.all.first { e.reverseInstruction.hasSuffix($0.name) }
                let shape = ShapeKind.allCases.first { e.reverseInstruction.contains($0.name) }
                let color = PaletteColor.allCases.first { e.reverseInstruction.contains($0.name) }
                undone = signature(e.target).union(["\(color?.name ?? "") \(shape?.name ?? "")@\(cell?.name ?? "")"])
            }
            #expect(undone == signature(e.source), "\(kind): \(e.instruction) / \(e.reverseInstruction)")
        }
    }
}

@Suite struct IndirectPromptGeneratorTests {
    @Test func indirectPromptsResolveExactly() {
        var rng = RandomState(seed: 23)
        for _ in 0..<600 {
            let p = IndirectPromptGenerator().sample(using: &rng)
            #expect(p.resolved.specificationError == nil)
            let objects = p.scene.objects.map { DetectedObject(groundTruth: $0) }
            #expect(ShapesEval.evaluate(prompt: p.resolved, objects: objects).correct)
            let requirement = p.resolved.include[0]
            guard let color = requirement.color else { Issue.record("no colour in \(p.text)"); continue }
            if p.text.hasPrefix("as many") {
                // "as many circles as 5-2, coloured like a banana"
                let expression = p.text.split(separator: " ")[4].trimmingCharacters(in: .punctuationCharacters)
                let value: Int? = {
                    if let plus = expression.firstIndex(of: "+") {
                        return Int(expression[..<plus]).flatMap { a in Int(expression[expression.index(after: plus)...]).map { a + $0 } }
                    }
                    if let minus = expression.firstIndex(of: "-") {
                        return Int(expression[..<minus]).flatMap { a in Int(expression[expression.index(after: minus)...]).map { a - $0 } }
                    }
                    return nil
                }()
                #expect(value == requirement.count, "\(p.text)")
                #expect(p.text.contains(requirement.shape.plural))
                #expect(p.resolved.exclude.first?.count == requirement.count + 1)
            }
            if let like = p.text.range(of: "coloured like ") {
                #expect(PaletteColor.named(byThing: String(p.text[like.upperBound...])) == color, "\(p.text)")
            }
            if let like = p.text.range(of: "shape like ") {
                #expect(ShapeKind.named(byThing: String(p.text[like.upperBound...])) == requirement.shape, "\(p.text)")
            }
        }
        var rng2 = RandomState(seed: 1)
        let example = IndirectPromptGenerator().sample(.counting, using: &rng2)
        #expect(example.reasoning.contains(" = ") && example.reasoning.contains("so: "))
    }
}

@Suite struct TextTaskGeneratorTests {
    @Test func arithmeticAnswersAreExact() {
        var rng = RandomState(seed: 29)
        for _ in 0..<1000 {
            let t = TextTaskGenerator().sample(using: &rng)
            let numbers = t.question.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            switch t.kind {
            case .addition: #expect(t.answer == numbers[0] + numbers[1])
            case .subtraction: #expect(t.answer == numbers[0] - numbers[1] && t.answer >= 0)
            case .multiplication: #expect(t.answer == numbers[0] * numbers[1])
            case .wordProblem:
                #expect(numbers.count == 2)
                let combined = [numbers[0] + numbers[1], numbers[0] - numbers[1], numbers[0] * numbers[1]]
                #expect(combined.contains(t.answer) && t.answer >= 0, "\(t.question)")
            }
            #expect(t.isCorrect("The answer is \(t.answer)."))
            #expect(!t.isCorrect("The answer is \(t.answer + 1)."))
        }
    }

    @Test func theLastIntegerIsTheAnswer() {
        #expect(TextTask.lastInteger(in: "3 + 4 = 7") == 7)
        #expect(TextTask.lastInteger(in: "<answer>12</answer>") == 12)
        #expect(TextTask.lastInteger(in: "it is -5") == -5)
        #expect(TextTask.lastInteger(in: "no number") == nil)
    }
}
