import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// Greedy generation equals transformers' `generate(do_sample=False)` on fixture models
/// (scripts/make_generation_fixtures.py): left-padded prompts, 16 new tokens, Qwen2 and
/// Qwen2.5-VL with two images.
@Suite struct GreedyParityTests {
    static let folder = QwenVLConfigurationTests.fixtures.appendingPathComponent("generation")

    /// Runs our generator on a fixture folder's inputs and returns (ours, reference) new tokens.
    static func compare(_ model: some CausalLanguageModel, case name: String) throws -> (ours: [[Int]], reference: [[Int]]) {
        let dir = folder.appendingPathComponent(name)
        let inputs = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("inputs.safetensors"))
        let info = try inputs.tensorInfo(named: "input_ids")
        let b = info.shape[0]
        let images = inputs.contains("pixel_values")
            ? ProcessedImage.split(pixelValues: try inputs.tensor(named: "pixel_values"),
                                   grids: try inputs.integers(named: "image_grid_thw"))
            : []
        let batch = TokenBatch(ids: try inputs.integers(named: "input_ids"), attentionMask: try inputs.integers(named: "attention_mask"),
                               batch: b, images: images)
        let expected = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("outputs.safetensors")).integers(named: "new_tokens")
        let n = expected.count / b
        var rng = RandomState(seed: 0)
        let ours = try TokenGenerator(model).generate(batch, options: .greedy(maxNewTokens: n), using: &rng).map(\.tokens)
        return (ours, (0..<b).map { Array(expected[($0 * n)..<(($0 + 1) * n)]) })
    }

    @Test func qwen2GreedyMatchesTransformers() throws {
        let r = try Self.compare(try Qwen2CausalLM.load(from: Self.folder.appendingPathComponent("qwen2_greedy")), case: "qwen2_greedy")
        #expect(r.ours == r.reference)
    }

    @Test func qwen2_5_VLGreedyMatchesTransformers() throws {
        let model = try QwenVLForConditionalGeneration.load(from: Self.folder.appendingPathComponent("qwen2_5_vl_greedy"))
        let r = try Self.compare(model, case: "qwen2_5_vl_greedy")
        #expect(r.ours == r.reference)
    }
}
