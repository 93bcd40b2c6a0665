import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// The CLIP image processor against transformers' `CLIPImageProcessorPil` on committed PNGs
/// (scripts/make_clip_image_processor_fixtures.py).
@Suite struct CLIPImageProcessorTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/image_processor/clip")

    @Test func matchesTransformersOnEveryFixture() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(names.count >= 5)
        for name in names {
            let stem = String(name.dropLast(4))
            let ref = try SafeTensorsFile(contentsOf: Self.folder.appendingPathComponent(stem + ".safetensors"))
            let crop = try ref.integers(named: "crop")
            let processor = CLIPImageProcessor(shortestEdge: try ref.integers(named: "shortest_edge")[0],
                                               cropHeight: crop[0], cropWidth: crop[1])
            let ours = try processor(RGBImage(contentsOfPNG: Self.folder.appendingPathComponent(name)))
            let expected = try ref.tensor(named: "pixel_values")
            try #require(ours.shape == expected.shape, "\(stem): \(ours.shape) vs \(expected.shape)")
            let diff = zip(ours.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
            print("CLIP image processor \(stem): \(ours.shape), max difference \(diff)")
            #expect(diff < 1e-5, "\(stem): max difference \(diff)")
        }
    }

    @Test func resizeRuleAndErrors() throws {
        let p = CLIPImageProcessor()
        #expect(p.resizedSize(height: 480, width: 640) == (224, 298))
        #expect(p.resizedSize(height: 300, width: 100) == (672, 224))
        #expect(throws: ImageProcessingError.self) { _ = try p(RGBImage(width: 0, height: 4, pixels: [])) }
    }
}
