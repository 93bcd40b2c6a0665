import Foundation
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// The pictures `unirl pretrain sana` leaves next to the models it trains.
extension TinySana {
    /// reconstructions.png and samples.png (3× size) in `folder`; returns the sampled captions.
    @discardableResult
    public func writeGrids(to folder: URL, guidanceScale: Float, sampleSteps: Int) throws -> [String] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeReconstructions(to: folder.appendingPathComponent("reconstructions.png"))
        return try writeSamples(to: folder.appendingPathComponent("samples.png"), guidanceScale: guidanceScale, steps: sampleSteps)
    }

    /// Eight renders of evaluation-split scenes (top row) and their reconstructions (bottom row).
    public func writeReconstructions(to url: URL) throws {
        var rng = RandomState(seed: 99)
        let renderer = SceneRenderer(size: TinySana.imageSize)
        let originals = (0..<8).map { _ in renderer.render(PromptGenerator().prompt(split: .evaluation, using: &rng).scene) }
        let rebuilt = decode(encode(originals))
        try ImageGrid.tile(originals + rebuilt, columns: 8).upscaled(by: 3).writePNG(to: url)
    }

    /// Sixteen captions of the bundled evaluation set, one sample each (Euler ODE, guidance);
    /// returns the captions.
    @discardableResult
    public func writeSamples(to url: URL, guidanceScale: Float, steps: Int) throws -> [String] {
        let all = try PromptGenerator.bundledEvaluationSet()
        let captions = Array(all.enumerated().filter { $0.offset % 38 == 0 }.map(\.element.caption).prefix(16))
        let scenario = TextToImageScenario(models: self, reward: JPEGCompressibilityReward(),
                                           settings: .init(guidanceScale: guidanceScale))
        let images = try scenario.generate(captions: captions, steps: steps, seed: 0)
        try ImageGrid.tile(images, columns: 8).upscaled(by: 3).writePNG(to: url)
        return captions
    }
}
