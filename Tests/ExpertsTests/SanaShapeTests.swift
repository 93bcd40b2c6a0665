import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// The SANA configurations: real-scale presets (listed without allocating their parameters),
/// agreement between declared and built parameter shapes, forward shapes, and config.json
/// decoding that refuses unknown keys and unimplemented features.
@Suite struct SanaShapeTests {
    /// Fixture folders of the SANA kinds (their configs exercise every optional part).
    static func fixtureFolders(kinds: Set<String>) throws -> [URL] {
        try ParityCase.discover().filter { kinds.contains(try ParityCase(directory: $0).settings.kind) }
    }

    // MARK: presets

    /// Counts from diffusers 0.42.1 (`sum(p.numel() for p in model.parameters())` on the meta device).
    @Test func sana1600MPresetsHaveDiffusersParameterShapes() throws {
        for preset in [SanaTransformerConfiguration.sana1600M1024, .sana1600M512] {
            let shapes = try preset.parameterShapes()
            #expect(shapes.count == 396)
            #expect(try preset.parameterCount() == 1_604_462_752)
            #expect(shapes["patch_embed.proj.weight"] == [2240, 32, 1, 1])
            #expect(shapes["time_embed.emb.timestep_embedder.linear_1.weight"] == [2240, 256])
            #expect(shapes["time_embed.linear.weight"] == [13440, 2240])
            #expect(shapes["caption_projection.linear_1.weight"] == [2240, 2304])
            #expect(shapes["caption_norm.weight"] == [2240])
            #expect(shapes["transformer_blocks.19.scale_shift_table"] == [6, 2240])
            #expect(shapes["transformer_blocks.0.attn1.to_q.weight"] == [2240, 2240])
            #expect(shapes["transformer_blocks.0.attn1.to_q.bias"] == nil)
            #expect(shapes["transformer_blocks.0.attn1.to_out.0.bias"] == [2240])
            #expect(shapes["transformer_blocks.0.attn2.to_k.weight"] == [2240, 2240])
            #expect(shapes["transformer_blocks.0.ff.conv_inverted.weight"] == [11200, 2240, 1, 1])
            #expect(shapes["transformer_blocks.0.ff.conv_depth.weight"] == [11200, 1, 3, 3])
            #expect(shapes["transformer_blocks.0.ff.conv_point.weight"] == [2240, 5600, 1, 1])
            #expect(shapes["transformer_blocks.20.scale_shift_table"] == nil)
            #expect(shapes["scale_shift_table"] == [2, 2240])
            #expect(shapes["proj_out.weight"] == [32, 2240])
        }
        #expect(SanaTransformerConfiguration.sana1600M1024.sampleSize == 32)
        #expect(SanaTransformerConfiguration.sana1600M512.sampleSize == 16)
    }

    @Test func dcAEf32c32PresetHasDiffusersParameterShapes() throws {
        let preset = AutoencoderDCConfiguration.dcAEf32c32
        let shapes = try preset.parameterShapes()
        #expect(shapes.count == 375)
        #expect(try preset.parameterCount() == 312_250_275)
        #expect(preset.spatialCompressionRatio == 32)
        #expect(shapes["encoder.conv_in.weight"] == [128, 3, 3, 3])
        #expect(shapes["encoder.down_blocks.0.2.conv.weight"] == [256, 128, 3, 3])
        #expect(shapes["encoder.down_blocks.3.0.attn.to_q.weight"] == [512, 512])
        #expect(shapes["encoder.down_blocks.3.0.attn.to_qkv_multiscale.0.proj_in.weight"] == [1536, 1, 5, 5])
        #expect(shapes["encoder.down_blocks.3.0.attn.to_qkv_multiscale.0.proj_out.weight"] == [1536, 32, 1, 1])
        #expect(shapes["encoder.down_blocks.3.0.attn.to_out.weight"] == [512, 1024])
        #expect(shapes["encoder.down_blocks.5.2.conv_out.conv_inverted.weight"] == [8192, 1024, 1, 1])
        #expect(shapes["encoder.conv_out.weight"] == [32, 1024, 3, 3])
        #expect(shapes["decoder.conv_in.weight"] == [1024, 32, 3, 3])
        #expect(shapes["decoder.up_blocks.0.0.conv.weight"] == [128, 256, 3, 3])
        #expect(shapes["decoder.up_blocks.5.0.attn.norm_out.bias"] == [1024])
        #expect(shapes["decoder.norm_out.weight"] == [128])
        #expect(shapes["decoder.conv_out.weight"] == [3, 128, 3, 3])
    }

    /// Every name and shape against diffusers' own models, as `scripts/make_sana_fixtures.py`
    /// dumped them (built on the meta device from the hub configurations).
    @Test func presetsMatchDiffusersStateDictShapes() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/parity/sana_preset_shapes")
        let cases: [(String, [String: [Int]])] = [
            ("sana_1600m_1024.json", try SanaTransformerConfiguration.sana1600M1024.parameterShapes()),
            ("dc_ae_f32c32.json", try AutoencoderDCConfiguration.dcAEf32c32.parameterShapes()),
        ]
        for (file, ours) in cases {
            let reference = try JSONDecoder().decode([String: [Int]].self, from: Data(contentsOf: folder.appendingPathComponent(file)))
            #expect(reference == ours, "\(file): names differing \(Set(reference.keys).symmetricDifference(ours.keys).sorted().prefix(10))")
        }
    }

    // MARK: declared shapes = built shapes = checkpoint shapes

    @Test func declaredShapesMatchBuiltModelsAndFixtureCheckpoints() throws {
        var rng = RandomState(seed: 7)
        for folder in try Self.fixtureFolders(kinds: ["sana_transformer", "autoencoder_dc_encode", "autoencoder_dc_decode"]) {
            let checkpoint = try ShardedCheckpoint(contentsOf: folder)
            let fromFile = Dictionary(uniqueKeysWithValues: checkpoint.names.map { ($0, checkpoint.info(for: $0)!.shape) })
            let declared: [String: [Int]], built: [String: [Int]]
            if try ParityCase(directory: folder).settings.kind == "sana_transformer" {
                let c = try SanaTransformerConfiguration.load(from: folder.appendingPathComponent("config.json"))
                // UniRL-Zero's reference path, when the checkpoint holds it.
                let reference = checkpoint.names.contains { $0.hasPrefix("ref_linear.") }
                declared = try c.parameterShapes(referencePath: reference)
                built = shapes(of: try SanaTransformer(configuration: c, referencePath: reference, rng: &rng))
            } else {
                let c = try AutoencoderDCConfiguration.load(from: folder.appendingPathComponent("config.json"))
                declared = try c.parameterShapes()
                built = shapes(of: try AutoencoderDC(configuration: c, rng: &rng))
            }
            #expect(declared == built, "\(folder.lastPathComponent)")
            #expect(declared == fromFile, "\(folder.lastPathComponent): \(Set(declared.keys).symmetricDifference(fromFile.keys).sorted())")
        }
    }

    private func shapes(of module: some Module) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.parameter.shape) })
    }

    /// A checkpoint that lacks a tensor, or holds one of another shape, is refused by name; BF16
    /// weights load (rounded), as from a hub checkpoint saved in bfloat16.
    @Test func loadingChecksNamesAndShapesAndReadsBF16() throws {
        let source = try #require(try Self.fixtureFolders(kinds: ["sana_transformer"]).first)
        let checkpoint = try ShardedCheckpoint(contentsOf: source)
        var tensors = Dictionary(uniqueKeysWithValues: try checkpoint.names.map { ($0, try checkpoint.tensor(named: $0)) })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sana-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        let weights = folder.appendingPathComponent("diffusion_pytorch_model.safetensors")

        try SafeTensors.write(tensors, dtype: .BF16, to: weights)
        let model = try SanaTransformer.load(from: folder)
        #expect(model.namedParameters().count == tensors.count)

        let removed = tensors.removeValue(forKey: "caption_norm.weight")
        try SafeTensors.write(tensors, to: weights)
        do {
            _ = try SanaTransformer.load(from: folder)
            Issue.record("a missing tensor was accepted")
        } catch ModuleLoadError.incompatible(let report) {
            #expect(report.missing == ["caption_norm.weight"])
        }
        tensors["caption_norm.weight"] = Tensor.zeros([(removed?.elementCount ?? 1) + 1])
        try SafeTensors.write(tensors, to: weights)
        do {
            _ = try SanaTransformer.load(from: folder)
            Issue.record("a mis-shaped tensor was accepted")
        } catch ModuleLoadError.shapeMismatch(let report) {
            #expect(report.mismatched.map(\.name) == ["caption_norm.weight"])
        }
    }

    // MARK: forward shapes

    @Test func transformerMapsLatentsToVelocitiesOfTheSameGrid() throws {
        var c = SanaTransformerConfiguration(inChannels: 4, outChannels: 6, numAttentionHeads: 2, attentionHeadDim: 4,
                                             numLayers: 1, numCrossAttentionHeads: 3, crossAttentionHeadDim: 4,
                                             crossAttentionDim: 8, captionChannels: 5, sampleSize: 4, patchSize: 2)
        var rng = RandomState(seed: 1)
        for interpolationScale in [nil, 1.0] as [Double?] {
            c.interpolationScale = interpolationScale
            let model = try SanaTransformer(configuration: c, rng: &rng)
            let x = Tensor.randomNormal([2, 4, 6, 10], using: &rng)
            let caption = Tensor.randomNormal([2, 3, 5], using: &rng)
            let out = model(x, encoderHiddenStates: caption, timestep: Tensor([500, 20]),
                            encoderAttentionMask: Tensor(shape: [2, 3], scalars: [1, 1, 0, 1, 0, 0]))
            #expect(out.shape == [2, 6, 6, 10])
            #expect(out.scalars.allSatisfy { $0.isFinite })
        }
    }

    /// A 0/1 caption mask runs as key padding (−∞), anything else as diffusers' −10000 bias; the
    /// two agree where both apply (a sample's output does not depend on its batch neighbours).
    @Test func captionMaskPathsAgree() throws {
        let c = SanaTransformerConfiguration(inChannels: 4, outChannels: 4, numAttentionHeads: 2, attentionHeadDim: 4,
                                             numLayers: 1, numCrossAttentionHeads: 2, crossAttentionHeadDim: 4,
                                             crossAttentionDim: 8, captionChannels: 6, sampleSize: 4)
        var rng = RandomState(seed: 3)
        let model = try SanaTransformer(configuration: c, rng: &rng)
        let x = Tensor.randomNormal([2, 4, 3, 3], using: &rng), caption = Tensor.randomNormal([2, 4, 6], using: &rng)
        let t = Tensor([300, 700])
        func run(_ mask: [Float]) -> [Float] {
            withoutGrad { model(x, encoderHiddenStates: caption, timestep: t, encoderAttentionMask: Tensor(shape: [2, 4], scalars: mask)) }
                .slice(axis: 0, 0..<1).scalars
        }
        let keyPadding = run([1, 1, 0, 1, 1, 0, 1, 1])     // every row keeps a token
        let additive = run([1, 1, 0, 1, 0, 0, 0, 0])       // sample 1 fully masked: bias path
        let worst = zip(keyPadding, additive).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * (keyPadding.map(abs).max() ?? 1))
        #expect(run([1, 1, 1, 1, 1, 1, 1, 1]) != keyPadding)
    }

    @Test func autoencoderEncodesAndDecodesAtItsCompression() throws {
        var c = AutoencoderDCConfiguration()
        c.latentChannels = 4
        c.attentionHeadDim = 4
        c.encoderBlockTypes = .perStage(["ResBlock", "EfficientViTBlock", "EfficientViTBlock"])
        c.decoderBlockTypes = c.encoderBlockTypes
        c.encoderBlockOutChannels = [4, 8, 8]
        c.decoderBlockOutChannels = [4, 8, 8]
        c.encoderLayersPerBlock = [1, 1, 1]
        c.decoderLayersPerBlock = [1, 1, 1]
        c.encoderQkvMultiscales = [[], [5], [3]]
        c.decoderQkvMultiscales = [[], [5], [3]]
        var rng = RandomState(seed: 2)
        let model = try AutoencoderDC(configuration: c, rng: &rng)
        let latent = model.encode(Tensor.randomNormal([2, 3, 12, 8], using: &rng))
        #expect(latent.shape == [2, 4, 3, 2])
        #expect(model.decode(latent).shape == [2, 3, 12, 8])
    }

    // MARK: config.json

    private func writeTemporaryConfig(_ json: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sana-config-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: url)
        return url
    }

    @Test func unknownConfigurationKeysThrow() throws {
        let transformer = try writeTemporaryConfig(#"{"_class_name": "SanaTransformer2DModel", "num_layers": 2, "num_layer": 3}"#)
        let autoencoder = try writeTemporaryConfig(#"{"_class_name": "AutoencoderDC", "latent_channel": 32}"#)
        defer { try? FileManager.default.removeItem(at: transformer); try? FileManager.default.removeItem(at: autoencoder) }
        #expect(throws: ModelConfigurationError.unknownKeys(path: transformer.path, keys: ["num_layer"])) {
            try SanaTransformerConfiguration.load(from: transformer)
        }
        #expect(throws: ModelConfigurationError.unknownKeys(path: autoencoder.path, keys: ["latent_channel"])) {
            try AutoencoderDCConfiguration.load(from: autoencoder)
        }
    }

    /// An older hub config without the later keys gets diffusers' defaults; `null` keeps its meaning.
    @Test func missingKeysTakeDiffusersDefaultsAndNullKeepsItsMeaning() throws {
        let url = try writeTemporaryConfig(#"""
        {"_class_name": "SanaTransformer2DModel", "_diffusers_version": "0.32.0.dev0", "attention_bias": false,
         "attention_head_dim": 32, "caption_channels": 2304, "cross_attention_dim": 2240, "cross_attention_head_dim": 112,
         "dropout": 0.0, "in_channels": 32, "mlp_ratio": 2.5, "norm_elementwise_affine": false, "norm_eps": 1e-06,
         "num_attention_heads": 70, "num_cross_attention_heads": 20, "num_layers": 20, "out_channels": 32,
         "patch_size": 1, "sample_size": 32, "interpolation_scale": null}
        """#)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try SanaTransformerConfiguration.load(from: url) == .sana1600M1024)

        let nullOut = try JSONDecoder().decode(SanaTransformerConfiguration.self,
                                               from: Data(#"{"in_channels": 8, "out_channels": null}"#.utf8))
        #expect(nullOut.resolvedOutChannels == 8)
        let missingOut = try JSONDecoder().decode(SanaTransformerConfiguration.self, from: Data(#"{"in_channels": 8}"#.utf8))
        #expect(missingOut.resolvedOutChannels == 32)
    }

    @Test func configurationsRoundTripThroughJSON() throws {
        let transformer = try JSONEncoder().encode(SanaTransformerConfiguration.sana1600M512)
        #expect(try JSONDecoder().decode(SanaTransformerConfiguration.self, from: transformer) == .sana1600M512)
        let keys = try #require(try JSONSerialization.jsonObject(with: transformer) as? [String: Any]).keys
        #expect(Set(keys) == SanaTransformerConfiguration.configurationKeys)
        let autoencoder = try JSONEncoder().encode(AutoencoderDCConfiguration.dcAEf32c32)
        #expect(try JSONDecoder().decode(AutoencoderDCConfiguration.self, from: autoencoder) == .dcAEf32c32)
    }

    @Test func unimplementedFeaturesAreRefusedByName() throws {
        func refused(_ c: SanaTransformerConfiguration) -> Bool {
            do { try c.validate(); return false } catch ModelConfigurationError.inconsistent { return true } catch { return false }
        }
        var c = SanaTransformerConfiguration.sana1600M512
        c.guidanceEmbeds = true
        #expect(refused(c))
        c = .sana1600M512; c.qkNorm = "layer_norm"
        #expect(refused(c))
        c = .sana1600M512; c.dropout = 0.1
        #expect(refused(c))
        c = .sana1600M512; c.crossAttentionDim = nil
        #expect(refused(c))
        c = .sana1600M512; c.crossAttentionDim = 1152
        #expect(refused(c))

        func refused(_ c: AutoencoderDCConfiguration) -> Bool {
            do { try c.validate(); return false } catch ModelConfigurationError.inconsistent { return true } catch { return false }
        }
        var ae = AutoencoderDCConfiguration.dcAEf32c32
        ae.decoderNormTypes = .perStage(["batch_norm", "batch_norm", "batch_norm", "rms_norm", "rms_norm", "rms_norm"])
        #expect(refused(ae))
        ae = .dcAEf32c32; ae.decoderActFns = .uniform("mish")
        #expect(refused(ae))
        ae = .dcAEf32c32; ae.encoderLayersPerBlock = [2, 2, 2]
        #expect(refused(ae))
        ae = .dcAEf32c32; ae.encoderBlockTypes = .uniform("AttnBlock")
        #expect(refused(ae))
        #expect(throws: Never.self) { try AutoencoderDCConfiguration.dcAEf32c32.validate() }
    }
}
