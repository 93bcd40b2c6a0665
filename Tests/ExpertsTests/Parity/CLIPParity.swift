import Foundation
import UniRLExperts
import UniRLTensor

/// Runs a `clip` case: CLIPModel(input_ids, attention_mask, pixel_values) → `text_embeds`,
/// `image_embeds`, `logits_per_text`; gradients of L = Σ logits_per_text² / numel.
enum CLIPParity {
    static let runner: ParityRunner = { c in
        let model = try CLIPModel.load(from: c.directory)
        let inputs = try c.inputs()
        let idsInfo = try inputs.tensorInfo(named: "input_ids")
        let batch = idsInfo.shape[0], t = idsInfo.shape[1]
        let ids = try inputs.integers(named: "input_ids")
        let mask = inputs.contains("attention_mask")
            ? Tensor(shape: [batch, t], scalars: try inputs.integers(named: "attention_mask").map(Float.init)) : nil
        let pixels = try inputs.tensor(named: "pixel_values")
        let out = try model(ids, batch: batch, attentionMask: mask, pixels: pixels)
        let logits = out.logitsPerText
        (logits.square().sum() * (1 / Float(logits.elementCount))).backward()
        var grads: [String: Tensor] = [:]
        for (name, p) in model.namedParameters() { if let g = p.grad { grads["grad." + name] = g } }
        return (["text_embeds": (out.textEmbeds, nil), "image_embeds": (out.imageEmbeds, nil),
                 "logits_per_text": (logits, nil)], grads)
    }
}
