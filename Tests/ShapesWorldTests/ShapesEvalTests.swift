import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

/// A scene of objects at chosen cells, centred, 0.7 cells wide.
private func scene(_ objects: [(ShapeKind, PaletteColor, Int, Int)]) -> Scene {
    Scene(objects: objects.map { s, c, col, row in
        SceneObject(shape: s, color: c, cell: GridCell(column: col, row: row),
                    centerX: (Double(col) + 0.5) / 3, centerY: (Double(row) + 0.5) / 3, size: 0.7 / 3)
    })
}

private func prompt(_ json: String) throws -> ShapesPrompt { try PromptFile.decode(json)[0] }

/// Scores a prompt both on the ground truth and on a 32-pixel render through the detector; the
/// two must agree.
private func verdict(_ p: ShapesPrompt, _ s: Scene) -> Bool {
    let truth = ShapesEval.evaluate(prompt: p, objects: s.objects.map { DetectedObject(groundTruth: $0, imageSize: 32) }).correct
    let detected = ShapesEval().score(prompt: p, image: SceneRenderer().render(s))
    #expect(truth == detected, "ground truth and detector disagree on '\(p.caption)'")
    return detected
}

@Suite struct ShapesEvalTests {
    @Test func singleObject() throws {
        let p = try prompt(#"{"tag":"single_object","include":[{"class":"circle","count":1}],"prompt":"a circle"}"#)
        #expect(verdict(p, scene([(.circle, .red, 0, 0)])))
        #expect(verdict(p, scene([(.circle, .blue, 2, 2), (.square, .red, 0, 0)])))   // other objects are allowed
        #expect(!verdict(p, scene([(.square, .red, 0, 0)])))
        #expect(!verdict(p, Scene()))
    }

    @Test func twoObjects() throws {
        let p = try prompt(#"{"tag":"two_object","include":[{"class":"circle","count":1},{"class":"triangle","count":1}],"#
                           + #""prompt":"a circle and a triangle"}"#)
        #expect(verdict(p, scene([(.circle, .red, 0, 0), (.triangle, .green, 2, 1)])))
        #expect(!verdict(p, scene([(.circle, .red, 0, 0), (.square, .green, 2, 1)])))
        #expect(!verdict(p, scene([(.triangle, .green, 2, 1)])))
    }

    @Test func countingIsExact() throws {
        let p = try prompt(#"{"tag":"counting","include":[{"class":"square","count":3}],"exclude":[{"class":"square","count":4}],"#
                           + #""prompt":"three squares"}"#)
        #expect(verdict(p, scene([(.square, .red, 0, 0), (.square, .blue, 1, 0), (.square, .red, 2, 2)])))
        #expect(verdict(p, scene([(.square, .red, 0, 0), (.square, .blue, 1, 0), (.square, .red, 2, 2), (.circle, .red, 1, 1)])))
        #expect(!verdict(p, scene([(.square, .red, 0, 0), (.square, .blue, 1, 0)])))
        #expect(!verdict(p, scene([(.square, .red, 0, 0), (.square, .blue, 1, 0), (.square, .red, 2, 2), (.square, .red, 0, 2)])))
        let colored = try prompt(#"{"tag":"counting","include":[{"class":"circle","color":"green","count":2}],"#
                                 + #""exclude":[{"class":"circle","color":"green","count":3}],"prompt":"two green circles"}"#)
        #expect(verdict(colored, scene([(.circle, .green, 0, 0), (.circle, .green, 2, 0), (.circle, .red, 1, 1)])))
        #expect(!verdict(colored, scene([(.circle, .green, 0, 0), (.circle, .blue, 2, 0)])))
    }

    @Test func colors() throws {
        let p = try prompt(#"{"tag":"colors","include":[{"class":"triangle","color":"purple","count":1}],"prompt":"a purple triangle"}"#)
        #expect(verdict(p, scene([(.triangle, .purple, 1, 1)])))
        #expect(!verdict(p, scene([(.triangle, .orange, 1, 1)])))
        #expect(!verdict(p, scene([(.circle, .purple, 1, 1)])))
        let result = ShapesEval.evaluate(prompt: p,
                                         objects: scene([(.triangle, .orange, 1, 1)]).objects.map { DetectedObject(groundTruth: $0) })
        #expect(result.reasons == ["expected purple triangle>=1, found 0 (triangles found: orange)"])
    }

    @Test func position() throws {
        let p = try prompt(#"{"tag":"position","include":[{"class":"square","color":"blue","count":1},"#
                           + #"{"class":"circle","color":"red","count":1,"position":["left of",0]}],"#
                           + #""prompt":"a red circle to the left of a blue square"}"#)
        #expect(verdict(p, scene([(.circle, .red, 0, 1), (.square, .blue, 2, 1)])))
        #expect(verdict(p, scene([(.circle, .red, 0, 0), (.square, .blue, 1, 1)])))   // diagonal: left of and above
        #expect(!verdict(p, scene([(.circle, .red, 2, 1), (.square, .blue, 0, 1)])))
        #expect(!verdict(p, scene([(.circle, .red, 1, 0), (.square, .blue, 1, 2)])))   // above, not left of
        #expect(!verdict(p, scene([(.circle, .blue, 0, 1), (.square, .red, 2, 1)])))   // colours swapped
        #expect(!verdict(p, scene([(.circle, .red, 0, 1)])))                              // no target
        // Any matching pair will do.
        #expect(verdict(p, scene([(.circle, .red, 2, 0), (.circle, .red, 0, 1), (.square, .blue, 1, 1)])))
        for relation in SpatialRelation.allCases {
            let q = try prompt(#"{"tag":"position","include":[{"class":"square","count":1},"#
                               + #"{"class":"circle","count":1,"position":[""# + relation.rawValue + #"",0]}],"prompt":"x"}"#)
            let (col, row) = switch relation {
            case .leftOf: (0, 1)
            case .rightOf: (2, 1)
            case .above: (1, 0)
            case .below: (1, 2)
            }
            #expect(verdict(q, scene([(.square, .green, 1, 1), (.circle, .green, col, row)])), "\(relation)")
            #expect(!verdict(q, scene([(.square, .green, 1, 1), (.circle, .green, 2 - col, 2 - row)])), "\(relation)")
        }
    }

    @Test func colorAttributionBindsEachColourToItsShape() throws {
        let p = try prompt(#"{"tag":"color_attr","include":[{"class":"circle","color":"red","count":1},"#
                           + #"{"class":"square","color":"blue","count":1}],"prompt":"a red circle and a blue square"}"#)
        #expect(verdict(p, scene([(.circle, .red, 0, 0), (.square, .blue, 2, 2)])))
        #expect(!verdict(p, scene([(.circle, .blue, 0, 0), (.square, .red, 2, 2)])))
        #expect(!verdict(p, scene([(.circle, .red, 0, 0), (.square, .red, 2, 2)])))
    }

    @Test func genevalRelativePositionRule() {
        func box(_ x: Double, _ y: Double, _ s: Double = 2) -> BoundingBox {
            BoundingBox(minX: x - s / 2, minY: y - s / 2, maxX: x + s / 2, maxY: y + s / 2)
        }
        #expect(SpatialRelation.relations(of: box(0, 0), relativeTo: box(10, 0)) == [.leftOf])
        #expect(SpatialRelation.relations(of: box(10, 0), relativeTo: box(0, 0)) == [.rightOf])
        #expect(SpatialRelation.relations(of: box(0, 0), relativeTo: box(0, 10)) == [.above])
        #expect(SpatialRelation.relations(of: box(0, 10), relativeTo: box(0, 0)) == [.below])
        #expect(SpatialRelation.relations(of: box(0, 0), relativeTo: box(10, 10)) == [.leftOf, .above])
        #expect(SpatialRelation.relations(of: box(0, 0), relativeTo: box(0.3, 0)).isEmpty)   // within the threshold
        #expect(SpatialRelation.relations(of: box(0, 0), relativeTo: box(10, 7)) == [.leftOf, .above])
        #expect(SpatialRelation.relations(of: box(0, 0), relativeTo: box(10, 3)) == [.leftOf])
    }

    @Test(arguments: [32, 64])
    func referenceScenesOfTheEvaluationSetScorePerfectly(size: Int) throws {
        let prompts = try PromptGenerator.bundledEvaluationSet()
        var rng = RandomState(seed: 1)
        let scenes = try prompts.map { try Scene.sample(satisfying: $0, using: &rng) }
        let renderer = SceneRenderer(size: size)
        let report = ShapesEval().evaluate(prompts: prompts, images: scenes.map(renderer.render))
        #expect(report.overall == 1)
        #expect(report.categories.map(\.total) == Array(repeating: 100, count: 6))
    }

    @Test func reportTabulatesLikeGenEval() throws {
        let prompts = try Array(PromptGenerator.bundledEvaluationSet().prefix(3)) + [try PromptGenerator.bundledEvaluationSet()[200]]
        let blank = SceneRenderer().render(Scene())
        var rng = RandomState(seed: 4)
        let good = try SceneRenderer().render(Scene.sample(satisfying: prompts[0], using: &rng))
        let report = ShapesEval().evaluate(prompts: prompts, images: [good, blank, blank, blank])
        #expect(report.categories.map(\.category) == [.singleObject, .counting])
        #expect(report.accuracy(of: .singleObject) == 1.0 / 3)
        #expect(report.accuracy(of: .counting) == 0)
        #expect(abs(report.overall - (1.0 / 3 + 0) / 2) < 1e-12)
        #expect(report.imageAccuracy == 0.25)
        let table = report.table()
        #expect(table.contains("single_object  = 33.33% (1 / 3)"))
        #expect(table.contains("counting       = 0.00% (0 / 1)"))
        #expect(table.contains("Overall score (avg. over tasks): 0.16667"))
        // Several images per prompt: a prompt counts as correct if any of its images is.
        let grouped = ShapesEval().evaluate(prompts: [prompts[0], prompts[0]], images: [good, blank], promptIndices: [0, 0])
        #expect(grouped.promptCount == 1 && grouped.promptAccuracy == 1 && grouped.imageAccuracy == 0.5)
        let json = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(ShapesEvalReport.self, from: json) == report)
    }

    @Test func batchScoresMatchSingleScores() throws {
        let prompts = Array(try PromptGenerator.bundledEvaluationSet().prefix(40))
        var rng = RandomState(seed: 12)
        let images = (0..<prompts.count).map { _ in SceneRenderer().render(Scene.random(using: &rng)) }
        let eval = ShapesEval()
        #expect(eval.scores(prompts: prompts, images: images) == zip(prompts, images).map { eval.score(prompt: $0, image: $1) })
    }
}

@Suite struct PartialScoreTests {
    @Test func partialScoresCountTheEntriesThatHold() throws {
        let p = try PromptFile.decode(
            #"{"tag":"counting","include":[{"class":"circle","count":2}],"exclude":[{"class":"circle","count":3}],"#
                + #""prompt":"two circles"}"#)[0]
        func partial(_ n: Int) -> Double {
            let objects = (0..<n).map { i in
                DetectedObject(groundTruth: SceneObject(shape: .circle, color: .red, cell: GridCell.all[i],
                                                        centerX: 0.5, centerY: 0.5, size: 0.2))
            }
            return ShapesEval.evaluate(prompt: p, objects: objects).partialScore
        }
        #expect(partial(2) == 1)
        #expect(partial(1) == 0.5)   // too few circles, but not too many
        #expect(partial(3) == 0.5)   // enough circles, but too many
    }
}
