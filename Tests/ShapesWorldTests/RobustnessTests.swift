import Foundation
import Testing
import UniRLTensor
@testable import UniRLShapesWorld

@Suite struct RobustnessTests {
    /// The detector degrades gracefully: mild blur and noise cost little, and accuracy falls
    /// as the corruption grows.
    @Test func accuracyDegradesGracefully() throws {
        let ladder: [ImageCorruption] = [.none, .gaussianBlur(sigma: 0.5), .gaussianBlur(sigma: 1.5),
                                         .gaussianNoise(standardDeviation: 10), .gaussianNoise(standardDeviation: 40)]
        let prompts = Array(try PromptGenerator.bundledEvaluationSet().enumerated().filter { $0.offset % 5 == 0 }.map(\.element))
        let report = try ShapesEval().robustnessReport(corruptions: ladder, sceneCount: 200, imageSize: 32, prompts: prompts, seed: 1)
        print(report.markdownTable())
        let rows = report.rows
        #expect(rows[0].sceneAgreement >= 0.995 && rows[0].promptAccuracy == 1)
        #expect(rows[1].sceneAgreement >= 0.9 && rows[1].promptAccuracy >= 0.9)   // mild blur
        #expect(rows[3].sceneAgreement >= 0.9 && rows[3].promptAccuracy >= 0.9)   // mild noise
        #expect(rows[2].sceneAgreement <= rows[1].sceneAgreement)
        #expect(rows[4].sceneAgreement <= rows[3].sceneAgreement)
        #expect(rows[2].sceneAgreement >= 0.5 && rows[4].sceneAgreement >= 0.5)     // no collapse
    }

    @Test func corruptionsAreDeterministicAndDoWhatTheySay() throws {
        var rng = RandomState(seed: 6)
        let image = SceneRenderer().render(Scene.random(using: &rng))
        var a = RandomState(seed: 1), b = RandomState(seed: 1)
        let noise = ImageCorruption.gaussianNoise(standardDeviation: 10)
        #expect(try noise.apply(to: image, using: &a) == noise.apply(to: image, using: &b))
        #expect(try ImageCorruption.none.apply(to: image, using: &a) == image)
        // A blur keeps the mean colour and lowers the contrast.
        let blurred = try ImageCorruption.gaussianBlur(sigma: 1).apply(to: image, using: &a)
        let mean = { (img: RGBImage) in img.pixels.reduce(0.0) { $0 + Double($1) } / Double(img.pixels.count) }
        #expect(abs(mean(blurred) - mean(image)) < 1)
        #expect(blurred.pixels.min() ?? 0 > image.pixels.min() ?? 0)
        let jpeg = try ImageCorruption.jpeg(quality: 75).apply(to: image, using: &a)
        #expect(jpeg.width == image.width && jpeg != image)
    }
}
