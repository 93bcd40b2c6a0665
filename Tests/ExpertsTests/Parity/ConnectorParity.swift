import Foundation
import UniRLExperts
import UniRLTensor

/// Runs `meta_query_connector` cases: UniRL-Zero's `VisionTransformerProjector(hidden_states)`
/// → `output`, and the gradients of L = Σ output² / numel(output) for every parameter (the stored
/// queries take no part and get none).
enum ConnectorParity {
    static let run: ParityRunner = { parityCase in
        let connector = try MetaQueryConnector.load(from: parityCase.directory)
        let output = try connector.project(try parityCase.inputs().tensor(named: "hidden_states"))
        return (outputs: ["output": (value: output.detached(), mask: nil)],
                gradients: SanaTransformerParity.parameterGradients(of: output, in: connector))
    }
}
