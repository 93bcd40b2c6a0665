import Foundation
import UniRLExperts
import UniRLTensor

/// Runs a `qwen2` case: Qwen2ForCausalLM(input_ids, attention_mask) → logits, with the loss
/// L = Σ(logits·m)²/numel(logits), m the attention mask over the vocabulary dimension.
enum Qwen2Parity {
    static let runner: ParityRunner = { c in
        let lm = try Qwen2CausalLM.load(from: c.directory)
        let inputs = try c.inputs()
        let idsInfo = try inputs.tensorInfo(named: "input_ids")
        let batch = idsInfo.shape[0], t = idsInfo.shape[1]
        let ids = try inputs.integers(named: "input_ids")
        let mask = inputs.contains("attention_mask")
            ? Tensor(shape: [batch, t], scalars: try inputs.integers(named: "attention_mask").map(Float.init)) : nil
        let logits = lm(ids, batch: batch, attentionMask: mask)
        let m = mask?.reshaped([batch, t, 1])
        let masked = m.map { logits * $0 } ?? logits
        (masked.square().sum() * (1 / Float(logits.elementCount))).backward()
        var grads: [String: Tensor] = [:]
        for (name, p) in lm.namedParameters() { if let g = p.grad { grads["grad." + name] = g } }
        return (["logits": (logits, m)], grads)
    }
}
