import Foundation
import UniRLExperts
import UniRLTensor

/// Runs `autoencoder_dc_encode` / `autoencoder_dc_decode` cases: diffusers'
/// `AutoencoderDC.encode(sample).latent` and `.decode(latent).sample`, and the gradients of
/// L = Σ out² / numel(out) with respect to every parameter that takes part.
enum AutoencoderDCParity {
    static let encode: ParityRunner = { parityCase in
        let model = try AutoencoderDC.load(from: parityCase.directory)
        let latent = model.encode(try parityCase.inputs().tensor(named: "sample"))
        return (outputs: ["latent": (value: latent.detached(), mask: nil)],
                gradients: SanaTransformerParity.parameterGradients(of: latent, in: model))
    }

    static let decode: ParityRunner = { parityCase in
        let model = try AutoencoderDC.load(from: parityCase.directory)
        let sample = model.decode(try parityCase.inputs().tensor(named: "latent"))
        return (outputs: ["sample": (value: sample.detached(), mask: nil)],
                gradients: SanaTransformerParity.parameterGradients(of: sample, in: model))
    }
}
