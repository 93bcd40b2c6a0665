import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

@Suite struct DetectorTests {
    /// The detector agrees with the ground truth (same objects, shapes, colours, boxes with
    /// IoU ≥ 0.5) on at least 99.5% of seeded clean renders.
    @Test(arguments: [(32, 2000), (64, 2000)])
    func agreesWithGroundTruthOnCleanRenders(size: Int, count: Int) {
        let start = Date()
        var rng = RandomState(seed: 2024)
        let scenes = (0..<count).map { _ in Scene.random(using: &rng) }
        let renderer = SceneRenderer(size: size), detector = ShapeDetector()
        let matches = ShapesEval.parallelMap(count: count) { i in
            GroundTruthMatch(detected: detector.detect(renderer.render(scenes[i])), scene: scenes[i], imageSize: size)
        }
        let agreement = Double(matches.filter(\.agrees).count) / Double(count)
        let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
        print("detector agreement at \(size)×\(size): \(agreement * 100)% of \(count) scenes in \(seconds) s")
        #expect(agreement >= 0.995)
    }

    @Test func everyColourAndShapeIsRecognisedInEveryCell() {
        for size in [32, 64] {
            var rng = RandomState(seed: 3)
            for shape in ShapeKind.allCases {
                for color in PaletteColor.allCases {
                    let cell = rng.element(of: GridCell.all)
                    let scene = Scene(objects: [SceneObject(shape: shape, color: color, cell: cell, using: &rng)])
                    let found = ShapeDetector().detect(SceneRenderer(size: size).render(scene))
                    #expect(found.count == 1)
                    #expect(found.first?.shape == shape)
                    #expect(found.first?.color == color)
                    #expect(found.first?.cell(imageWidth: size, imageHeight: size) == cell)
                }
            }
        }
    }

    @Test func theSmallestAndLargestShapesAreRecognised() {
        for sizeInCells in [Scene.sizeRange.lowerBound, Scene.sizeRange.upperBound] {
            for shape in ShapeKind.allCases {
                let side = sizeInCells / 3
                let o = SceneObject(shape: shape, color: .yellow, cell: GridCell(column: 1, row: 1), centerX: 0.5, centerY: 0.5, size: side)
                let found = ShapeDetector().detect(SceneRenderer(size: 32).render(Scene(objects: [o])))
                #expect(found.map(\.shape) == [shape], "\(shape) at \(sizeInCells) cells")
            }
        }
    }

    @Test func anEmptyImageHasNoObjects() {
        #expect(ShapeDetector().detect(SceneRenderer().render(Scene())).isEmpty)
        #expect(ShapeDetector().detect(RGBImage(width: 0, height: 0, pixels: [])).isEmpty)
    }

    @Test func isolatedSpecksAreIgnored() {
        var image = SceneRenderer().render(Scene())
        image[5, 5] = PaletteColor.red.rgb.tuple
        image[20, 9] = PaletteColor.blue.rgb.tuple
        #expect(ShapeDetector().detect(image).isEmpty)
    }

    @Test func groundTruthAsDetectionsHasTheIdealFeatures() {
        let o = SceneObject(shape: .triangle, color: .red, cell: GridCell(column: 0, row: 0), centerX: 0.16, centerY: 0.16, size: 0.2)
        let d = DetectedObject(groundTruth: o, imageSize: 32)
        #expect(d.triangularity == 1 && d.squareness == 0)
        #expect(abs(d.box.width - 6.4) < 1e-9)
        #expect(abs(d.area - 0.5 * 6.4 * 6.4) < 1e-9)
    }

    @Test func detectedBoxesMatchTheGroundTruthClosely() {
        var rng = RandomState(seed: 8)
        var ious: [Double] = []
        for _ in 0..<200 {
            let scene = Scene.random(using: &rng)
            let found = ShapeDetector().detect(SceneRenderer(size: 64).render(scene))
            for o in scene.objects {
                let box = o.boundingBox(imageSize: 64)
                ious.append(found.map { $0.box.intersectionOverUnion(box) }.max() ?? 0)
            }
        }
        let mean = ious.reduce(0, +) / Double(ious.count)
        #expect(mean > 0.9)
        #expect(ious.min() ?? 0 > 0.75)
    }
}
