import Foundation
import UniRLExperts
import UniRLTensor

/// Runs `unified_t2i` cases (folders `lm/`, `connector/`, `dm/`): the LM over the right-padded
/// prompt followed by the t2i queries (mask 1 for the queries, positions cumsum(mask) − 1), the
/// final-norm states at the last N positions through the connector into SANA with
/// `hidden_states` and `timestep` → `sample`; gradients of L = Σ sample² / numel(sample) as
/// `grad.lm.<name>`, `grad.connector.<name>`, `grad.dm.<name>`, each named as in its weight file.
enum UnifiedParity {
    static let run: ParityRunner = { c in
        let model = try UnifiedModel.load(from: c.directory, requireAutoencoder: false)
        let inputs = try c.inputs()
        let info = try inputs.tensorInfo(named: "input_ids")
        let (b, t) = (info.shape[0], info.shape[1])
        let ids = try inputs.integers(named: "input_ids")
        let mask = inputs.contains("attention_mask") ? try inputs.integers(named: "attention_mask") : [Int](repeating: 1, count: b * t)
        let condition = try model.connector.project(
            try model.queryStates(for: TokenBatch(ids: ids, attentionMask: mask, batch: b), querySet: .t2i))
        let sample = model.transformer(try inputs.tensor(named: "hidden_states"), encoderHiddenStates: condition,
                                       timestep: try inputs.tensor(named: "timestep"))
        model.zeroGrad()
        (sample.square().sum() / Float(sample.elementCount)).backward()

        var grads: [String: Tensor] = [:]
        let lmParameters = Dictionary(uniqueKeysWithValues: model.lm.namedParameters().map { ($0.name, $0.parameter) })
        for name in try ShardedCheckpoint(contentsOf: c.directory.appendingPathComponent("lm")).names {
            guard let mine = QwenVLForConditionalGeneration.checkpointName(name, tied: model.lm.configuration.text.tieWordEmbeddings),
                  let g = lmParameters[mine]?.grad else { continue }
            grads["grad.lm." + name] = g
        }
        for (prefix, module) in [("connector", model.connector as any Module), ("dm", model.transformer)] {
            for (name, p) in module.namedParameters() { if let g = p.grad { grads["grad.\(prefix).\(name)"] = g } }
        }
        return (["sample": (sample.detached(), nil)], grads)
    }
}
