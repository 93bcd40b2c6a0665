import Foundation
import UniRLExperts
import UniRLTensor

/// Runs `sana_transformer` cases: diffusers' `SanaTransformer2DModel(**inputs).sample` (with
/// UniRL-Zero's reference path and `ref_hidden_states` when the weights hold it) and the gradients
/// of L = Σ sample² / numel(sample) with respect to every parameter.
enum SanaTransformerParity {
    static let run: ParityRunner = { parityCase in
        let model = try SanaTransformer.load(from: parityCase.directory)
        let inputs = try parityCase.inputs()
        let mask = inputs.contains("encoder_attention_mask") ? try inputs.tensor(named: "encoder_attention_mask") : nil
        // The reference path reads `ref_hidden_states` (zeros when absent); a plain diffusers model has none.
        let reference = model.hasReferencePath && inputs.contains("ref_hidden_states") ? try inputs.tensor(named: "ref_hidden_states") : nil
        let sample = model(
            try inputs.tensor(named: "hidden_states"),
            encoderHiddenStates: try inputs.tensor(named: "encoder_hidden_states"),
            timestep: try inputs.tensor(named: "timestep"),
            encoderAttentionMask: mask, referenceHiddenStates: reference)
        return (outputs: ["sample": (value: sample.detached(), mask: nil)], gradients: parameterGradients(of: sample, in: model))
    }

    /// Backpropagates L = Σ out² / numel(out) and collects `grad.<name>` for every parameter of
    /// `model` that received a gradient.
    static func parameterGradients(of output: Tensor, in model: some Module) -> [String: Tensor] {
        model.zeroGrad()
        (output.square().sum() / Float(output.elementCount)).backward()
        var gradients: [String: Tensor] = [:]
        for (name, parameter) in model.namedParameters() {
            if let g = parameter.grad { gradients["grad." + name] = g }
        }
        return gradients
    }
}
