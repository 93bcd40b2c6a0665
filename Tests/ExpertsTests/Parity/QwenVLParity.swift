import Foundation
import UniRLExperts
import UniRLTensor

/// Runs a `qwen2_5_vl` case: Qwen2_5_VLForConditionalGeneration(input_ids, attention_mask,
/// pixel_values, image_grid_thw) → logits, loss L = Σ(logits·m)²/numel(logits). As the reference
/// forward does, rows get 3-D positions over their real tokens when images are present and
/// positions 0..<T otherwise. Gradients are reported under the weight file's own names, whichever
/// transformers layout it uses.
enum QwenVLParity {
    static let runner: ParityRunner = { c in
        let model = try QwenVLForConditionalGeneration.load(from: c.directory)
        let inputs = try c.inputs()
        let idsInfo = try inputs.tensorInfo(named: "input_ids")
        let (b, t) = (idsInfo.shape[0], idsInfo.shape[1])
        let ids = try inputs.integers(named: "input_ids")
        let mask = inputs.contains("attention_mask") ? try inputs.integers(named: "attention_mask") : [Int](repeating: 1, count: b * t)
        let images = inputs.contains("pixel_values")
            ? ProcessedImage.split(pixelValues: try inputs.tensor(named: "pixel_values"),
                                   grids: try inputs.integers(named: "image_grid_thw"))
            : []
        let batch = TokenBatch(ids: ids, attentionMask: mask, batch: b, images: images)
        let positions = images.isEmpty ? PositionIDs.sequential(batch: b, length: t) : try model.positionIDs(for: batch)
        let logits = try model.logits(for: batch, positions: positions, cache: nil)
        let m = batch.maskTensor.reshaped([b, t, 1])
        ((logits * m).square().sum() * (1 / Float(logits.elementCount))).backward()
        let ours = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter) })
        var grads: [String: Tensor] = [:]
        for name in try ShardedCheckpoint(contentsOf: c.directory).names {
            guard let mine = QwenVLForConditionalGeneration.checkpointName(name, tied: model.configuration.text.tieWordEmbeddings),
                  let g = ours[mine]?.grad else { continue }
            grads["grad." + name] = g
        }
        return (["logits": (logits, m)], grads)
    }
}
