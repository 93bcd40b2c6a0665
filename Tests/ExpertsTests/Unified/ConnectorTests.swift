import Foundation
import Testing
import UniRLTensor

@testable import UniRLExperts

/// The meta-query connector beyond its parity fixtures: files, queries, errors, gradients.
@Suite struct ConnectorTests {
    @Test func saveAndLoadKeepEveryTensorAndTheQueries() throws {
        var rng = RandomState(seed: 4)
        let connector = try MetaQueryConnector(configuration: UnifiedTestModels.connectorConfiguration, rng: &rng)
        let dir = UnifiedTestModels.temporaryDirectory("connector")
        defer { try? FileManager.default.removeItem(at: dir) }
        try connector.save(to: dir)
        let back = try MetaQueryConnector.load(from: dir)
        #expect(back.configuration == connector.configuration)
        #expect(back.availableQuerySets == [.t2i, .i2i])
        for ((n1, p1), (n2, p2)) in zip(connector.namedParameters(), back.namedParameters()) {
            #expect(n1 == n2 && p1.value.scalars == p2.value.scalars)
        }
        #expect(try back.queries(.t2i).shape == [1, 3, 16])
        let names = Set(back.namedParameters().map(\.name))
        for n in [
            "layers.0.attn.q_norm.weight", "layers.0.attn.out_proj.bias", "layers.0.ffn.w3.weight", "layers.0.norm2.weight",
            "norm_final.weight", "output_linear.bias", "t2i_queries", "i2i_queries",
        ] {
            #expect(names.contains(n), "\(n)")
        }
    }

    @Test func typedErrorsForBadFoldersAndInputs() throws {
        var c = UnifiedTestModels.connectorConfiguration
        c.numAttentionHeads = 5
        #expect(throws: ModelConfigurationError.self) { try c.validate() }
        let dir = UnifiedTestModels.temporaryDirectory("connector-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: ModelConfigurationError.self) { try MetaQueryConnector.load(from: dir) }
        try Data(#"{"hidden_size": 16, "num_heads": 2}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: ModelConfigurationError.unknownKeys(path: dir.appendingPathComponent("config.json").path, keys: ["num_heads"])) {
            try MetaQueryConnector.load(from: dir)
        }
        var rng = RandomState(seed: 1)
        let plain = try MetaQueryConnector(
            configuration: MetaQueryConnectorConfiguration(
                hiddenSize: 16, numHiddenLayers: 1,
                numAttentionHeads: 2, outputSize: 4), rng: &rng)
        #expect(throws: ConnectorError.missingQueries(.t2i)) { try plain.queries(.t2i) }
        #expect(throws: ConnectorError.self) { try plain.project(.zeros([1, 3, 8])) }
    }

    /// Bidirectional: the first query's output depends on the last query's input.
    @Test func attentionIsBidirectional() throws {
        var rng = RandomState(seed: 2)
        let connector = try MetaQueryConnector(configuration: UnifiedTestModels.connectorConfiguration, rng: &rng)
        let x = Tensor.randomNormal([1, 3, 16], using: &rng)
        var changed = x.scalars
        for j in 32..<48 { changed[j] += 1 }
        let a = withoutGrad { connector(x) }, b = withoutGrad { connector(Tensor(shape: x.shape, scalars: changed)) }
        #expect(UnifiedTestModels.maxDifference(a.slice(axis: 1, 0..<1), b.slice(axis: 1, 0..<1)) > 1e-3)
    }

    /// Central finite differences through the whole connector (every block's backward: norms,
    /// per-head q/k norms, bidirectional attention, SwiGLU).
    @Test func gradientsMatchFiniteDifferences() throws {
        var rng = RandomState(seed: 3)
        let connector = try MetaQueryConnector(configuration: UnifiedTestModels.connectorConfiguration, rng: &rng)
        let x = Tensor.randomNormal([2, 3, 16], using: &rng)
        let report = GradientCheck.compare({ connector($0[0]) }, at: [x], epsilon: 1e-2)
        #expect(report.outputIsRecorded)
        for r in report.inputs { #expect(r.worstRatio < 2e-2, "\(r.shape): \(r.worstRatio)") }
    }
}
