import Foundation
import UniRLTensor

/// One block fixture written by scripts/make_tensor_fixtures.py: `case.json` (tolerances),
/// `config.json`, `model.safetensors` (weights), `inputs.safetensors`, `outputs.safetensors`
/// (the output and `grad.*` of every parameter and of the input under L = Σ(out·m)²/numel(out)).
public struct BlockFixture {
    struct Tolerances: Decodable { var rtol: Float; var atol: Float; var grad_rtol: Float? }

    /// How a block compared with its fixture.
    public struct Result {
        public var outputPassed: Bool, outputRelative: Float
        /// Gradients outside the tolerance.
        public var gradientFailures: [String]
        public var worstGradient: Float, worstGradientName: String?
        /// Gradients the fixture holds, and parameters + input of the block (they should be equal).
        public var referenceGradients: Int, expectedGradients: Int
        /// One line like the parity runner's.
        public var summary: String
    }

    public let directory: URL
    let tolerances: Tolerances
    public let weights: SafeTensorsFile
    public let inputs: SafeTensorsFile
    public let outputs: SafeTensorsFile

    public init(_ directory: URL) throws {
        self.directory = directory
        let settings = try Data(readingFileAt: directory.appendingPathComponent("case.json"))
        tolerances = try JSONDecoder().decode(Tolerances.self, from: settings)
        weights = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        inputs = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("inputs.safetensors"))
        outputs = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("outputs.safetensors"))
    }

    /// The fixture's `config.json`.
    public func config<C: Decodable>(_ type: C.Type) throws -> C {
        try JSONDecoder().decode(type, from: Data(readingFileAt: directory.appendingPathComponent("config.json")))
    }

    /// Runs `forward` on the fixture's input with the module's parameters already loaded,
    /// backpropagates the fixture's loss (masked by `mask` [B, T] when given) and compares the
    /// output and every gradient; `gradientName` maps a parameter name to the fixture's.
    public func check(_ module: some Module, mask: Tensor?, gradientName: (String) -> String = { $0 },
                      _ forward: (Tensor) -> Tensor) throws -> Result {
        let x = try inputs.tensor(named: "hidden_states").requiringGrad()
        let out = forward(x)
        let m = mask.map { $0.reshaped($0.shape + [1]) }
        let masked = m.map { out * $0 } ?? out
        let loss = masked.square().sum() * (1 / Float(out.elementCount))
        loss.backward()
        let reference = try outputs.tensor(named: "output")
        let outputCheck = ReferenceComparison.checkOutput(out, reference, rtol: tolerances.rtol, atol: tolerances.atol, mask: m)
        var ours: [String: Tensor] = ["grad.hidden_states": x.grad ?? .zeros(x.shape)]
        for (name, p) in module.namedParameters() { ours["grad." + gradientName(name)] = p.grad }
        var refs: [String: Tensor] = [:]
        for name in outputs.names where name.hasPrefix("grad.") { refs[name] = try outputs.tensor(named: name) }
        let gradCheck = ReferenceComparison.checkGradients(ours, refs, gradRtol: tolerances.grad_rtol ?? 1e-3)
        let passed = outputCheck.passed && gradCheck.failures.isEmpty
        let summary = "\(directory.lastPathComponent): \(passed ? "ok" : "FAIL") output \(outputCheck.relative) "
            + "gradients \(gradCheck.worst) (\(gradCheck.worstName ?? "-"))"
        return Result(outputPassed: outputCheck.passed, outputRelative: outputCheck.relative, gradientFailures: gradCheck.failures,
                      worstGradient: gradCheck.worst, worstGradientName: gradCheck.worstName, referenceGradients: refs.count,
                      expectedGradients: module.namedParameters().count + 1, summary: summary)
    }
}
