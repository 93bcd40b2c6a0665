import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

@Suite struct PromptGeneratorTests {
    @Test func promptsAreDeterministicFromTheSeed() {
        let a = PromptGenerator().prompts(count: 60, seed: 9), b = PromptGenerator().prompts(count: 60, seed: 9)
        #expect(a == b)
        #expect(a != PromptGenerator().prompts(count: 60, seed: 10))
        #expect(PromptGenerator.evaluationSet() == PromptGenerator.evaluationSet())
    }

    @Test func everyGeneratedSceneSatisfiesItsPrompt() {
        for (i, sample) in PromptGenerator().prompts(count: 1200, seed: 3).enumerated() {
            #expect(sample.prompt.category == PromptCategory.allCases[i % 6])
            #expect(sample.prompt.specificationError == nil)
            #expect(sample.scene.layoutViolation == nil)
            let objects = sample.scene.objects.map { DetectedObject(groundTruth: $0) }
            #expect(ShapesEval.evaluate(prompt: sample.prompt, objects: objects).correct, "\(sample.prompt.caption)")
            #expect(Scene.defaultObjectCount.contains(sample.scene.objects.count))
        }
    }

    @Test func trainingPromptsNeverOverlapTheEvaluationSet() throws {
        let evaluation = Set(try PromptGenerator.bundledEvaluationSet().map(\.caption))
        #expect(evaluation.allSatisfy { PromptSplit.of(caption: $0) == .evaluation })
        var rng = RandomState(seed: 77)
        let generator = PromptGenerator()
        var captions = Set<String>()
        for _ in 0..<20_000 {
            let p = generator.prompt(split: .train, using: &rng).prompt
            #expect(PromptSplit.of(caption: p.caption) == .train)
            captions.insert(p.caption)
        }
        #expect(captions.isDisjoint(with: evaluation))
        // The training side is large: thousands of distinct captions.
        #expect(captions.count > 10_000)
    }

    @Test func everyCategoryKeepsEnoughTrainingCaptions() {
        var rng = RandomState(seed: 5)
        for category in PromptCategory.allCases {
            var train = Set<String>(), all = Set<String>()
            for _ in 0..<5_000 {
                let p = PromptGenerator.draft(category, using: &rng)
                all.insert(p.caption)
                if PromptSplit.of(caption: p.caption) == .train { train.insert(p.caption) }
            }
            // single_object has the fewest captions (3 shapes × 96 phrasings); 3/8 are held out.
            #expect(train.count >= 150, "\(category): \(train.count) training captions")
            #expect(Double(train.count) / Double(all.count) > 0.5)
        }
    }

    @Test func theEvaluationSetIsBalancedDistinctAndLargeEnough() throws {
        let prompts = try PromptGenerator.bundledEvaluationSet()
        #expect(prompts.count >= 500)
        for category in PromptCategory.allCases {
            #expect(prompts.filter { $0.category == category }.count == PromptGenerator.evaluationPromptsPerCategory)
        }
        #expect(Set(prompts.map(\.caption)).count == prompts.count)
        // Content is spread within categories too.
        let counts = prompts.filter { $0.category == .counting }.map { $0.include[0].count }
        for n in PromptGenerator.countingRange { #expect(counts.filter { $0 == n }.count >= 20) }
        let relations = prompts.compactMap { $0.include.last?.position?.relation }
        for r in SpatialRelation.allCases { #expect(relations.filter { $0 == r }.count >= 15) }
    }

    @Test func captionsSayWhatTheSpecificationAsks() {
        var rng = RandomState(seed: 21)
        for category in PromptCategory.allCases {
            for _ in 0..<300 {
                let p = PromptGenerator.draft(category, using: &rng)
                for r in p.include {
                    #expect(p.caption.contains(r.count == 1 ? r.shape.name : r.shape.plural), "\(p.caption)")
                    if let c = r.color { #expect(p.caption.contains(c.name), "\(p.caption)") }
                }
                #expect(!p.caption.contains("a orange"))
            }
        }
    }
}
