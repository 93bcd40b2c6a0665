import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// The image processor against transformers' `Qwen2VLImageProcessorPil` on committed PNGs
/// (scripts/make_image_processor_fixtures.py): the same grid and the same normalised patches.
@Suite struct QwenImageProcessorTests {
    static let folder = QwenVLConfigurationTests.fixtures.appendingPathComponent("image_processor")

    @Test func matchesTransformersOnEveryFixture() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(names.count >= 6)
        for name in names {
            let stem = String(name.dropLast(4))
            let ref = try SafeTensorsFile(contentsOf: Self.folder.appendingPathComponent(stem + ".safetensors"))
            let processor = QwenImageProcessor(minPixels: try ref.integers(named: "min_pixels")[0],
                                               maxPixels: try ref.integers(named: "max_pixels")[0])
            let image = try RGBImage(contentsOfPNG: Self.folder.appendingPathComponent(name))
            let ours = try processor(image)
            let grid = try ref.integers(named: "image_grid_thw")
            #expect([ours.grid.t, ours.grid.h, ours.grid.w] == grid, "\(stem): grid")
            let expected = try ref.tensor(named: "pixel_values")
            try #require(ours.pixelValues.shape == expected.shape, "\(stem): \(ours.pixelValues.shape) vs \(expected.shape)")
            let diff = zip(ours.pixelValues.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
            // Identical bytes after resizing give differences of float rounding only.
            print("image processor \(stem): grid \(grid), max difference \(diff)")
            #expect(diff < 1e-5, "\(stem): max difference \(diff)")
        }
    }

    @Test func smartResizeRulesAndErrors() throws {
        let p = QwenImageProcessor()
        #expect(try p.targetSize(height: 42, width: 70) == (56, 56))      // 1.5 → 2, 2.5 → 2 (halves to even)
        #expect(try p.targetSize(height: 32, width: 32) == (56, 56))      // raised to min_pixels
        let big = try p.targetSize(height: 2000, width: 3000)
        #expect(big.height * big.width <= 28 * 28 * 1280 && big.height % 28 == 0 && big.width % 28 == 0)
        #expect(throws: ImageProcessingError.aspectRatio(width: 201 * 28, height: 28)) { try p.targetSize(height: 28, width: 201 * 28) }
        #expect(throws: ImageProcessingError.empty(width: 0, height: 5)) { try p.targetSize(height: 5, width: 0) }
    }
}
