import Foundation
import Testing
import UniRLTensor

@testable import UniRLExperts

/// The real-scale presets declared shape-only through the one builder: nothing is allocated, the
/// names the construction declares are the names the module lists, and the counts are the
/// reference libraries' (transformers 5.24 meta-device Qwen2.5-VL-3B: 3,754,622,976 in 824 tensors;
/// the unified `unirl-zero` preset of `unirl inspect`: 6,185,794,243).
@Suite struct ShapeOnlyPresetTests {
    @Test func qwen3BDeclaresItsHubTensors() throws {
        let vb = ParameterBuilder.shapesOnly()
        let model = try vb.build { QwenVLForConditionalGeneration(.qwen2_5_VL_3B_Instruct, $0) }
        #expect(vb.declaredShapes.count == 824)
        #expect(vb.declaredShapes.values.reduce(0) { $0 + $1.reduce(1, *) } == 3_754_622_976)
        #expect(model.namedParameters().allSatisfy { $0.parameter.value.elementCount == 0 })
        #expect(vb.declaredShapes == QwenVLConfiguration.qwen2_5_VL_3B_Instruct.parameterShapes())
    }

    @Test func unifiedPresetDeclaresEveryPartUnderItsScope() throws {
        let shapes = try UnifiedPreset.unirlZero.parameterShapes()
        #expect(shapes.values.reduce(0) { $0 + $1.reduce(1, *) } == 6_185_794_243)
        #expect(shapes["lm.model.embed_tokens.weight"] == [151_936, 2048])
        #expect(shapes["connector.t2i_queries"] == [1, 256, 2048])
        #expect(shapes["dm.ref_linear.weight"] == [2240, 2240])
        #expect(shapes["vae.decoder.conv_in.weight"] != nil)
        let parts = Set(shapes.keys.map { String($0.prefix { $0 != "." }) })
        #expect(parts == ["lm", "connector", "dm", "vae"])
    }
}
