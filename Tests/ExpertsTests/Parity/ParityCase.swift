import Foundation
import UniRLTensor
import UniRLTestSupport

/// One parity fixture folder (docs/ARCHITECTURE.md, "Parity fixtures"): `case.json`, the reference
/// library's `config.json` and weights, `inputs.safetensors` and `outputs.safetensors`.
struct ParityCase: Sendable {
    struct Settings: Decodable, Sendable {
        var kind: String
        var rtol: Float
        var atol: Float
        var grad_rtol: Float?
    }

    let directory: URL
    let settings: Settings
    var name: String { directory.lastPathComponent }
    var gradRtol: Float { settings.grad_rtol ?? 1e-3 }

    init(directory: URL) throws {
        self.directory = directory
        let data = try Data(contentsOf: directory.appendingPathComponent("case.json"))
        settings = try JSONDecoder().decode(Settings.self, from: data)
    }

    var configURL: URL { directory.appendingPathComponent("config.json") }
    func inputs() throws -> SafeTensorsFile { try SafeTensorsFile(contentsOf: directory.appendingPathComponent("inputs.safetensors")) }
    func outputs() throws -> SafeTensorsFile { try SafeTensorsFile(contentsOf: directory.appendingPathComponent("outputs.safetensors")) }
    /// The weights as `save_pretrained` wrote them (single file or sharded with an index).
    func weights() throws -> ShardedCheckpoint { try ShardedCheckpoint(contentsOf: directory) }

    /// Every case folder directly inside `Tests/Fixtures/parity/` and directly inside each folder
    /// listed in `UNIRL_EXTRA_PARITY_DIRS` (colon-separated; links are followed).
    static func discover() -> [URL] {
        let builtIn = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/parity")
        var roots = [builtIn]
        if let extra = ProcessInfo.processInfo.environment["UNIRL_EXTRA_PARITY_DIRS"] {
            roots += extra.split(separator: ":").filter { !$0.isEmpty }.map { URL(fileURLWithPath: String($0)) }
        }
        var cases: [URL] = []
        for root in roots {
            let resolved = root.resolvingSymlinksInPath()
            guard let entries = try? FileManager.default.contentsOfDirectory(at: resolved, includingPropertiesForKeys: nil) else {
                continue
            }
            for entry in entries.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
                let folder = entry.resolvingSymlinksInPath()
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent("case.json").path) { cases.append(folder) }
            }
        }
        return cases
    }
}

/// What running a case produced: our tensors next to the reference's, compared by the pass rule.
struct ParityOutcome {
    var passed: Bool
    var worstOutput: Float
    var worstGradient: Float?
    var detail: String
}

/// Runs a model on a case: returns our outputs (by output name, with the comparison mask) and
/// our gradients (by `grad.<parameter>` name) of L = Σ(out·m)² / numel(out).
typealias ParityRunner = @Sendable (ParityCase) throws -> (outputs: [String: (value: Tensor, mask: Tensor?)], gradients: [String: Tensor])

extension ParityCase {
    /// Compares a runner's results with `outputs.safetensors` by docs/ARCHITECTURE.md's pass rule.
    func evaluate(_ runner: ParityRunner) throws -> ParityOutcome {
        let (ours, grads) = try runner(self)
        let reference = try outputs()
        var passed = true, worst: Float = 0, notes: [String] = []
        for (name, ourOutput) in ours.sorted(by: { $0.key < $1.key }) {
            let ref = try reference.tensor(named: name)
            guard ref.shape == ourOutput.value.shape else {
                return ParityOutcome(passed: false, worstOutput: .infinity, worstGradient: nil,
                                     detail: "\(name): shape \(ourOutput.value.shape) vs reference \(ref.shape)")
            }
            let check = ReferenceComparison.checkOutput(
                ourOutput.value, ref, rtol: settings.rtol, atol: settings.atol, mask: ourOutput.mask)
            worst = Swift.max(worst, check.relative)
            if !check.passed { passed = false; notes.append("\(name) off by \(check.relative)") }
        }
        let refGradNames = reference.names.filter { $0.hasPrefix("grad.") }
        var worstGrad: Float?
        if !refGradNames.isEmpty {
            var refs: [String: Tensor] = [:]
            for n in refGradNames { refs[n] = try reference.tensor(named: n) }
            let check = ReferenceComparison.checkGradients(grads, refs, gradRtol: gradRtol)
            worstGrad = check.worst
            if !check.failures.isEmpty {
                passed = false
                let shown = check.failures.prefix(6).joined(separator: ", ")
                notes.append("gradients off: " + shown + (check.failures.count > 6 ? ", …" : ""))
            }
        }
        return ParityOutcome(passed: passed, worstOutput: worst, worstGradient: worstGrad, detail: notes.joined(separator: "; "))
    }
}
