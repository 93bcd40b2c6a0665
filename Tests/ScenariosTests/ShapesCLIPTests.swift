import Foundation
import Testing
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// The shipped ShapesCLIP: transformers computes the same ids, pixels and embeddings from the same
/// folder (scripts/make_shapes_clip_fixtures.py), it is small, and it knows ShapesWorld.
@Suite struct ShapesCLIPTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    struct Inputs: Decodable { var captions: [String]; var images: [String] }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0 }

    @Test func transformersComputesTheSameEmbeddings() throws {
        let clip = try ShapesCLIP.load()
        let folder = Self.fixtures.appendingPathComponent("shapes_clip")
        let inputs = try JSONDecoder().decode(Inputs.self, from: Data(contentsOf: folder.appendingPathComponent("inputs.json")))
        let expected = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("expected.safetensors"))
        let batch = clip.tokenizer(inputs.captions, padToLongest: true)
        #expect(batch.ids == (try expected.integers(named: "input_ids")))
        #expect(batch.attentionMask == (try expected.integers(named: "attention_mask")))
        let root = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent()
        let images = try inputs.images.map { try RGBImage(contentsOfPNG: root.appendingPathComponent($0)) }
        let pixels = try clip.processor(images)
        #expect(Self.maxDifference(pixels, try expected.tensor(named: "pixel_values")) < 1e-5)
        let text = try clip.textEmbeddings(inputs.captions), image = try clip.imageEmbeddings(images)
        let textDiff = Self.maxDifference(text, try expected.tensor(named: "text_embeds"))
        let imageDiff = Self.maxDifference(image, try expected.tensor(named: "image_embeds"))
        print("ShapesCLIP vs transformers: text_embeds \(textDiff), image_embeds \(imageDiff)")
        #expect(textDiff < 1e-4 && imageDiff < 1e-4)
    }

    @Test func shippedFolderIsSmallAndComplete() throws {
        let dir = try #require(ShapesCLIP.bundledDirectory)
        var total = 0
        for name in ["config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)
            total += (attributes[.size] as? Int) ?? 0
        }
        #expect(total < 5_000_000)
        // Every ShapesWorld word is a single token of its vocabulary.
        let clip = try ShapesCLIP.load()
        for word in ["red", "green", "blue", "yellow", "purple", "orange", "circle", "squares", "triangles", "two", "four", "and"] {
            #expect(clip.tokenizer.encode(word).count == 3, "\(word)")
        }
    }

    @Test func captionsDescribeScenes() {
        var rng = RandomState(seed: 3)
        for _ in 0..<200 {
            let scene = ShapesCLIP.scene(using: &rng)
            #expect((1...4).contains(scene.objects.count))
            #expect(Set(scene.objects.map(\.cell)).count == scene.objects.count)
            let caption = ShapesCLIP.caption(of: scene)
            let kinds = Set(scene.objects.map { "\($0.color) \($0.shape)" })
            #expect(caption.components(separatedBy: " and ").count == kinds.count)
        }
        let red = SceneObject(shape: .circle, color: .red, cell: GridCell(column: 0, row: 0), centerX: 0.15, centerY: 0.15, size: 0.2)
        let blue = SceneObject(shape: .square, color: .blue, cell: GridCell(column: 1, row: 1), centerX: 0.5, centerY: 0.5, size: 0.2)
        #expect(ShapesCLIP.caption(of: Scene(objects: [blue, red, red.moved(to: GridCell(column: 2, row: 2))]))
                == "two red circles and a blue square")
    }

    @Test func trainingIsDeterministic() throws {
        var settings = ShapesCLIPPretrainingSettings()
        settings.steps = 2; settings.batchSize = 8; settings.seed = 4
        var first: [Float] = [], second: [Float] = []
        _ = try ShapesCLIPPretraining(settings: settings).run { first.append($0.loss) }
        _ = try ShapesCLIPPretraining(settings: settings).run { second.append($0.loss) }
        #expect(first.count == 2 && first == second)
    }

    @Test func rewardsPreferTheTrueCaptionAndEdit() async throws {
        let score = try CLIPScore.shapesCLIP()
        var rng = RandomState(seed: 8)
        let renderer = SceneRenderer(size: ShapesCLIP.imageSize)
        var batch: [CaptionedImage] = [], wrong: [CaptionedImage] = []
        for _ in 0..<40 {
            let o = SceneObject(shape: ShapeKind.allCases[Int(rng.next() % 3)], color: PaletteColor.allCases[Int(rng.next() % 6)],
                                cell: GridCell.all[Int(rng.next() % 9)], using: &rng)
            let other = PaletteColor.allCases.filter { $0 != o.color }[Int(rng.next() % 5)]
            let image = renderer.render(Scene(objects: [o]))
            batch.append(CaptionedImage(image: image, caption: ShapesCLIP.phrase(count: 1, color: o.color, shape: o.shape)))
            wrong.append(CaptionedImage(image: image, caption: ShapesCLIP.phrase(count: 1, color: other, shape: o.shape)))
        }
        let right = try await score.scores(for: batch).map { $0! }, bad = try await score.scores(for: wrong).map { $0! }
        let wins = zip(right, bad).filter { $0 > $1 }.count
        #expect(wins >= 36, "true caption preferred on \(wins) of 40")
        // Recolouring a red circle blue points from "a red circle" to "a blue circle", not to "a green circle".
        let red = SceneObject(shape: .circle, color: .red, cell: GridCell(column: 1, row: 1), using: &rng)
        var blue = red
        blue.color = .blue
        let (src, dst) = (renderer.render(Scene(objects: [red])), renderer.render(Scene(objects: [blue])))
        let direction = try CLIPDirection.shapesCLIP()
        let s = try await direction.scores(for: [
            ImageEdit(source: src, edited: dst, sourceCaption: "a red circle", targetCaption: "a blue circle"),
            ImageEdit(source: src, edited: dst, sourceCaption: "a red circle", targetCaption: "a green circle"),
        ]).map { $0! }
        #expect(s[0] > 0.2 && s[0] > s[1], "direction \(s)")
        let same = try await CLIPImageSimilarity.shapesCLIP().scores(for: [ImagePair(image: src, reference: src),
                                                                          ImagePair(image: src, reference: dst)]).map { $0! }
        #expect(abs(same[0] - 1) < 1e-4 && same[1] < same[0])
    }
}
