import Foundation
import Testing
import UniRLExperts

/// UniRL-Zero's real-scale model, declared shape-only and checked name by name against the
/// official module definitions (connector and reference path dumped from PyTorch modules written
/// from G-U-N/UniRL's code by scripts/make_unified_fixtures.py, on the meta device).
@Suite struct UnifiedPresetTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/parity/unified_preset_shapes")

    static func reference(_ file: String) throws -> [String: [Int]] {
        try JSONDecoder().decode([String: [Int]].self, from: Data(contentsOf: folder.appendingPathComponent(file)))
    }

    @Test func connectorAndReferencePathMatchTheOfficialModules() throws {
        let connector = try MetaQueryConnectorConfiguration.unirlZero.parameterShapes()
        #expect(connector == (try Self.reference("connector_unirl_zero.json")))
        // The official definitions, read off transformer_projector.py and blip3o_arch.py:
        #expect(connector["t2i_queries"] == [1, 256, 2048] && connector["i2i_queries"] == [1, 256, 2048])
        #expect(connector["layers.11.attn.q_norm.weight"] == [256] && connector["layers.11.attn.k_norm.weight"] == [256])
        #expect(connector["layers.0.attn.q_proj.bias"] == [2048] && connector["layers.0.attn.out_proj.weight"] == [2048, 2048])
        #expect(connector["layers.0.ffn.w1.weight"] == [4096, 2048] && connector["layers.0.ffn.w2.bias"] == [4096])
        #expect(connector["layers.0.ffn.w3.weight"] == [2048, 4096] && connector["layers.0.norm2.weight"] == [2048])
        #expect(connector["norm_final.weight"] == [2048] && connector["output_linear.weight"] == [2304, 2048])
        #expect(connector["layers.12.norm1.weight"] == nil && connector.count == 12 * 18 + 3 + 2)

        let withPath = try SanaTransformerConfiguration.sana1600M1024.parameterShapes(referencePath: true)
        let plain = try SanaTransformerConfiguration.sana1600M1024.parameterShapes()
        let added = withPath.filter { plain[$0.key] == nil }
        #expect(added == (try Self.reference("sana_1600m_1024_reference_path.json")))
        #expect(added["ref_patch_embed.proj.weight"] == [2240, 32, 1, 1] && added["ref_linear.weight"] == [2240, 2240])
    }

    @Test func unirlZeroTotalsWithoutAllocating() throws {
        let preset = UnifiedPreset.unirlZero
        let (parts, total) = try preset.parameterCounts()
        let byName = Dictionary(uniqueKeysWithValues: parts.map { ($0.name, $0.count) })
        #expect(byName["lm"] == 3_754_622_976)
        #expect(byName["connector"] == 509_364_480)
        #expect(byName["dm"] == (try SanaTransformerConfiguration.sana1600M1024.parameterCount()) + 5_093_760)
        #expect(byName["vae"] == (try AutoencoderDCConfiguration.dcAEf32c32.parameterCount()))
        #expect(total == 6_185_794_243)
        var broken = preset
        broken.connector.outputSize = 2048
        #expect(throws: ModelConfigurationError.self) { try broken.parameterCounts() }
    }
}
