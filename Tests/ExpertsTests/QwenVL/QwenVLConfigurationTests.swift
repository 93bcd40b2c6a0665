import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// Qwen2.5-VL configuration: both config.json layouts, the 3B preset's shapes, typed errors.
@Suite struct QwenVLConfigurationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func tiny(tie: Bool = false) -> QwenVLConfiguration {
        QwenVLConfiguration(
            text: Qwen2Configuration(vocabSize: 64, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2,
                                     numAttentionHeads: 4, numKeyValueHeads: 2, tieWordEmbeddings: tie),
            vision: QwenVisionConfiguration(depth: 2, hiddenSize: 16, intermediateSize: 24, numHeads: 2, outHiddenSize: 32,
                                            windowSize: 56, fullAttentionBlocks: [1]),
            mropeSection: [2, 1, 1], imageTokenID: 60, videoTokenID: 61, visionStartTokenID: 62, visionEndTokenID: 63)
    }

    /// The hub's flat config.json of Qwen2.5-VL-3B-Instruct decodes to the declared preset, whose
    /// shapes and count are transformers 5.24's (meta-device `Qwen2_5_VLForConditionalGeneration`:
    /// 3,754,622,976 parameters in 824 tensors, head tied).
    @Test func qwen3BPresetMatchesHubConfigAndTransformersShapes() throws {
        let decoded = try QwenVLConfiguration.load(from: Self.fixtures.appendingPathComponent("configs/qwen2_5_vl_3b_instruct.json"))
        let preset = QwenVLConfiguration.qwen2_5_VL_3B_Instruct
        #expect(decoded == preset)
        let shapes = preset.parameterShapes()
        #expect(shapes.count == 824)
        #expect(preset.parameterCount() == 3_754_622_976)
        #expect(shapes["visual.patch_embed.proj.weight"] == [1280, 3, 2, 14, 14])
        #expect(shapes["visual.merger.mlp.0.weight"] == [5120, 5120])
        #expect(shapes["visual.merger.mlp.2.weight"] == [2048, 5120])
        #expect(shapes["visual.blocks.0.attn.qkv.weight"] == [3840, 1280])
        #expect(shapes["visual.blocks.31.mlp.gate_proj.weight"] == [3420, 1280])
        #expect(shapes["model.layers.35.self_attn.k_proj.weight"] == [256, 2048])
        #expect(shapes["model.embed_tokens.weight"] == [151_936, 2048])
        #expect(shapes["lm_head.weight"] == nil)
        #expect(preset.vision.patchValues == 1176)
        let sectionTotal: Int = preset.mropeSection.reduce(0, +)
        #expect(sectionTotal == 64)
    }

    /// Declared shapes agree with the modules actually built, tied and untied.
    @Test func declaredShapesMatchBuiltModel() {
        for tie in [false, true] {
            let c = Self.tiny(tie: tie)
            var rng = RandomState(seed: 1)
            let model = QwenVLForConditionalGeneration(c, rng: &rng)
            let built = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.shape) })
            #expect(built == c.parameterShapes())
        }
    }

    /// transformers 5's nested layout (the parity fixtures) and the flat hub layout read alike.
    @Test func nestedAndFlatLayoutsDecode() throws {
        let parity = Self.fixtures.appendingPathComponent("parity")
        let nested = try QwenVLConfiguration.load(from: parity.appendingPathComponent("qwen2_5_vl_one_image/config.json"))
        let flat = try QwenVLConfiguration.load(from: parity.appendingPathComponent("qwen2_5_vl_text_only/config.json"))
        #expect(nested.mropeSection == [2, 1, 1] && flat.mropeSection == [2, 1, 1])
        #expect(nested.text.hiddenSize == 32 && flat.text.hiddenSize == 32)
        #expect(nested.vision.windowSize == 56 && flat.vision.windowSize == 56)
        #expect(nested.imageTokenID == 100 && flat.imageTokenID == 100)
        #expect(nested.text.tieWordEmbeddings == false)
    }

    @Test func unknownKeysAndBadValuesAreTypedErrors() throws {
        let url = Self.fixtures.appendingPathComponent("configs/qwen2_5_vl_3b_instruct.json")
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        func decode(_ edit: (inout [String: Any]) -> Void) throws {
            var o = base
            edit(&o)
            _ = try QwenVLConfiguration.decode(try JSONSerialization.data(withJSONObject: o), path: "config.json")
        }
        #expect(throws: ModelConfigurationError.unknownKeys(path: "config.json (text)", keys: ["hiden_size"])) {
            try decode { $0["hiden_size"] = 3 }
        }
        #expect(throws: ModelConfigurationError.self) {
            try decode { o in var v = o["vision_config"] as! [String: Any]; v["window_sizes"] = 1; o["vision_config"] = v }
        }
        #expect(throws: ModelConfigurationError.self) {
            try decode { $0["rope_scaling"] = ["type": "mrope", "mrope_section": [16, 24, 20]] }
        }
        #expect(throws: ModelConfigurationError.self) { try decode { $0["use_sliding_window"] = true } }
        #expect(throws: ModelConfigurationError.self) { try decode { $0.removeValue(forKey: "vision_config") } }
        #expect(throws: ModelConfigurationError.self) {
            try decode { o in var v = o["vision_config"] as! [String: Any]; v["window_size"] = 100; o["vision_config"] = v }
        }
        #expect(throws: ModelConfigurationError.self) {
            _ = try QwenVLConfiguration.decode(Data("{\"text_config\": ".utf8), path: "config.json")
        }
    }
}
