import Testing
import UniRLCore
import UniRLShapesWorld
import UniRLTensor
@testable import UniRLRewards

@Suite struct RewardsTests {
    @Test func shapesEvalRewardScoresMatchingAndMismatchingImages() async throws {
        var rng = RandomState(seed: 11)
        let generator = PromptGenerator()
        let renderer = SceneRenderer(size: 32)
        var batch: [PromptedImage] = []
        for category in PromptCategory.allCases {
            let generated = generator.prompt(category, split: .train, using: &rng)
            batch.append(PromptedImage(prompt: generated.prompt, image: renderer.render(generated.scene)))
        }
        let right = try await ShapesEvalReward().scores(for: batch)
        #expect(right.allSatisfy { $0 == 1 }, "\(right)")
        // A blank canvas satisfies no prompt.
        let blank = batch.map { PromptedImage(prompt: $0.prompt, image: RGBImage(width: 32, height: 32, fill: (240, 240, 240))) }
        let wrong = try await ShapesEvalReward().scores(for: blank)
        #expect(wrong.allSatisfy { $0 == 0 }, "\(wrong)")
        let partial = try await ShapesEvalReward(partialCredit: true).scores(for: batch)
        #expect(partial.allSatisfy { $0 == 1 })
    }

    @Test func jpegRewardsOrderSimpleAndBusyImages() async throws {
        let flat = RGBImage(width: 32, height: 32, fill: (200, 100, 50))
        var rng = RandomState(seed: 1)
        let noisy = RGBImage(width: 32, height: 32, pixels: (0..<(32 * 32 * 3)).map { _ in UInt8(rng.next() % 256) })
        let compress = try await JPEGCompressibilityReward().scores(for: [flat, noisy])
        let incompress = try await JPEGIncompressibilityReward().scores(for: [flat, noisy])
        #expect(compress[0]! > compress[1]!)
        #expect(incompress[1]! > incompress[0]!)
        #expect(compress[0]! == -incompress[0]!)
        // Kilobytes, as ddpo-pytorch: bytes / 1000.
        #expect(try jpegKilobytes(flat) == Float(try flat.jpegData(quality: 95).count) / 1000)
    }
}
