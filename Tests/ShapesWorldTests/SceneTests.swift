import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

@Suite struct SceneTests {
    @Test func scenesAndRendersAreDeterministicFromTheSeed() {
        for seed: UInt64 in [0, 1, 42] {
            var a = RandomState(seed: seed), b = RandomState(seed: seed)
            let sceneA = Scene.random(using: &a), sceneB = Scene.random(using: &b)
            #expect(sceneA == sceneB)
            #expect(SceneRenderer().render(sceneA) == SceneRenderer().render(sceneB))
        }
        var a = RandomState(seed: 1), b = RandomState(seed: 2)
        #expect(Scene.random(using: &a) != Scene.random(using: &b))
    }

    @Test func randomScenesFollowTheLayoutRulesAndNeverOverlap() {
        var rng = RandomState(seed: 7)
        let cell = 1.0 / Double(GridCell.gridSize)
        for _ in 0..<2000 {
            let scene = Scene.random(using: &rng)
            #expect(Scene.defaultObjectCount.contains(scene.objects.count))
            #expect(scene.layoutViolation == nil)
            for (i, a) in scene.objects.enumerated() {
                for b in scene.objects[(i + 1)...] {
                    let ba = a.unitBoundingBox, bb = b.unitBoundingBox
                    let gapX = max(bb.minX - ba.maxX, ba.minX - bb.maxX), gapY = max(bb.minY - ba.maxY, ba.minY - bb.maxY)
                    #expect(max(gapX, gapY) >= 2 * Scene.cellMargin * cell - 1e-9)
                }
            }
        }
    }

    @Test func layoutViolationsAreNamed() {
        var rng = RandomState(seed: 1)
        let o = SceneObject(shape: .circle, color: .red, cell: GridCell(column: 0, row: 0), using: &rng)
        #expect(Scene(objects: [o, o]).layoutViolation?.contains("shares") == true)
        var big = o
        big.size = 0.5
        #expect(Scene(objects: [big]).layoutViolation != nil)
        var off = o
        off.cell = GridCell(column: 3, row: 0)
        #expect(Scene(objects: [off]).layoutViolation?.contains("off the grid") == true)
    }

    @Test(arguments: [32, 64])
    func rendersShowEachObjectInsideItsBoxOnTheBackground(size: Int) {
        var rng = RandomState(seed: 11)
        let renderer = SceneRenderer(size: size)
        for _ in 0..<200 {
            let scene = Scene.random(using: &rng)
            let image = renderer.render(scene)
            #expect(image.width == size && image.height == size)
            let boxes = scene.objects.map { $0.boundingBox(imageSize: size) }
            for y in 0..<size {
                for x in 0..<size where image[x, y] != Palette.background.tuple {
                    // Every painted pixel touches some object's box.
                    let touches = boxes.contains { b in
                        Double(x + 1) > b.minX && Double(x) < b.maxX && Double(y + 1) > b.minY && Double(y) < b.maxY
                    }
                    #expect(touches, "pixel (\(x), \(y)) is painted outside every box")
                }
            }
            for o in scene.objects {
                // The pixel at the centre of mass is fully covered: exactly the object's colour.
                let b = o.boundingBox(imageSize: size)
                let cy = o.shape == .triangle ? b.minY + 2 * b.height / 3 : b.centerY
                #expect(image[Int(b.centerX), Int(cy)] == o.color.rgb.tuple)
            }
        }
    }

    @Test func coverageIsAntiAliasedAndMatchesTheAnalyticArea() {
        let renderer = SceneRenderer(size: 64, samplesPerAxis: 8)
        let cell = GridCell(column: 1, row: 1)
        for shape in ShapeKind.allCases {
            let o = SceneObject(shape: shape, color: .blue, cell: cell, centerX: 0.5013, centerY: 0.4987, size: 0.22)
            let coverage = renderer.coverage(of: o)
            let side = 0.22 * 64
            let expected = switch shape {
            case .circle: Double.pi * side * side / 4
            case .square: side * side
            case .triangle: side * side / 2
            }
            let area = coverage.reduce(0) { $0 + Double($1) }
            #expect(abs(area - expected) / expected < 0.01, "\(shape): \(area) vs \(expected)")
            #expect(coverage.contains { $0 > 0 && $0 < 1 }, "\(shape) has anti-aliased edge pixels")
        }
    }

    @Test func gridCellNamesRoundTrip() {
        #expect(GridCell.all.count == 9)
        #expect(Set(GridCell.all.map(\.name)).count == 9)
        for cell in GridCell.all { #expect(GridCell(name: cell.name) == cell) }
        #expect(GridCell(column: 0, row: 0).name == "top left")
        #expect(GridCell(column: 1, row: 1).name == "centre")
        #expect(GridCell(column: 2, row: 2).name == "bottom right")
    }

    @Test func scenesRoundTripThroughJSON() throws {
        var rng = RandomState(seed: 5)
        let scene = Scene.random(objectCount: 4...4, using: &rng)
        let data = try JSONEncoder().encode(scene)
        #expect(try JSONDecoder().decode(Scene.self, from: data) == scene)
    }

    @Test func paletteColoursAreWellSeparated() {
        let all = Palette.colors.map(\.rgb) + [Palette.background]
        for (i, a) in all.enumerated() {
            for b in all[(i + 1)...] {
                let d = [Double(a.r) - Double(b.r), Double(a.g) - Double(b.g), Double(a.b) - Double(b.b)]
                #expect(d.map { $0 * $0 }.reduce(0, +).squareRoot() > 60, "\(a) and \(b) are too close")
            }
        }
        for color in PaletteColor.allCases {
            for thing in color.things { #expect(PaletteColor.named(byThing: thing) == color) }
        }
        #expect(PaletteColor.named(byThing: "grass") == .green)
        for shape in ShapeKind.allCases {
            for thing in shape.things { #expect(ShapeKind.named(byThing: thing) == shape) }
        }
    }
}
