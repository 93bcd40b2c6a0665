import Foundation
import UniRLTensor

// Reading and writing unified models: the four-folder layout (lm/ connector/ dm/ vae/) and the
// official UniRL-Zero single checkpoint (G-U-N/UniRL unimodel/blip3o/model/blip3o_arch.py: the
// Qwen2.5-VL keys beside `model.t2i_queries`, `model.i2i_queries`, `model.down_projector.*`,
// `model.dit.*` and `model.gen_vision_tower.autoencoder.*`).

extension UnifiedModel {
    /// Loads either layout from `directory`:
    ///
    ///     lm/          Qwen2.5-VL checkpoint (either transformers layout)
    ///     connector/   config.json + model.safetensors (MetaQueryConnector, with the queries)
    ///     dm/          diffusers SanaTransformer2DModel (optionally with ref_patch_embed / ref_linear)
    ///     vae/         diffusers AutoencoderDC (optional when `requireAutoencoder` is false)
    ///
    /// or the official checkpoint: `config.json` (Qwen2.5-VL's plus `n_query`,
    /// `sana_embeds_hidden_size`, …) with the weights, the DiT and DC-AE configurations taken
    /// from `dm/config.json` and `vae/config.json` when present, otherwise Sana_1600M 1024 px and
    /// DC-AE f32c32 (what the official `build_dit` / `DiffusersAutoEncoderDCTower` use).
    ///
    /// `matrices`: ``WeightPrecision/bfloat16`` keeps every part's weight matrices frozen in
    /// bfloat16 (memory-mapped from `BF16` files, half the memory of `Float`), for a model that is
    /// only run or whose trained parts are adapters.
    public static func load(
        from directory: URL, requireAutoencoder: Bool = true, matrices: WeightPrecision = .float32
    ) throws -> UnifiedModel {
        let fm = FileManager.default
        func exists(_ path: String) -> Bool { fm.fileExists(atPath: directory.appendingPathComponent(path).path) }
        guard fm.fileExists(atPath: directory.path) else { throw UnifiedModelError.missingPart(path: directory.path) }
        if exists("lm") || exists("connector") {
            for part in ["lm/config.json", "connector/config.json", "dm/config.json"] + (requireAutoencoder ? ["vae/config.json"] : [])
            where !exists(part) {
                throw UnifiedModelError.missingPart(path: directory.appendingPathComponent(part).path)
            }
            func part<T>(_ name: String, _ load: (URL) throws -> T) throws -> T {
                let url = directory.appendingPathComponent(name)
                do { return try load(url) } catch { throw UnifiedModelError.partFailed(path: url.path, reason: "\(error)") }
            }
            let lm = try part("lm") { try QwenVLForConditionalGeneration.load(from: $0, matrices: matrices) }
            let connector = try part("connector") { try MetaQueryConnector.load(from: $0, matrices: matrices) }
            let dm = try part("dm") { try SanaTransformer.load(from: $0, matrices: matrices) }
            let vae = exists("vae/config.json") ? try part("vae") { try AutoencoderDC.load(from: $0, matrices: matrices) } : nil
            return try UnifiedModel(lm: lm, connector: connector, transformer: dm, autoencoder: vae)
        }
        if exists("config.json") {
            do {
                return try loadOfficial(from: directory, requireAutoencoder: requireAutoencoder, matrices: matrices)
            } catch let e as UnifiedModelError {
                throw e
            } catch { throw UnifiedModelError.partFailed(path: directory.path, reason: "\(error)") }
        }
        throw UnifiedModelError.unrecognizedLayout(path: directory.path)
    }

    /// Keys the official training adds to Qwen2.5-VL's `config.json` (blip3o_arch.py, train_joint.py).
    static let officialKeys: Set<String> = [
        "n_query", "sana_embeds_hidden_size", "down_projector_type", "gen_vision_tower", "gen_hidden_size",
        "vision_tower_pretrained", "gen_projector_transformer_layers", "gen_projector_transformer_heads",
        "gen_projector_transformer_kv_heads", "gen_projector_transformer_use_rope", "tokenizer_model_max_length",
        "tokenizer_padding_side",
    ]

    /// Which part of the official model a weight belongs to, and its name inside that part.
    enum OfficialPart { case lm, connector, dm, vae }
    static func officialPart(_ name: String) -> (OfficialPart, String) {
        for (prefix, part) in [
            ("model.down_projector.", OfficialPart.connector), ("model.dit.", .dm),
            ("model.gen_vision_tower.autoencoder.", .vae),
        ] where name.hasPrefix(prefix) {
            return (part, String(name.dropFirst(prefix.count)))
        }
        if name == "model.t2i_queries" || name == "model.i2i_queries" { return (.connector, String(name.dropFirst("model.".count))) }
        return (.lm, name)
    }

    static func loadOfficial(from directory: URL, requireAutoencoder: Bool, matrices: WeightPrecision) throws -> UnifiedModel {
        let configURL = directory.appendingPathComponent("config.json")
        let data: Data
        do { data = try Data(readingFileAt: configURL) } catch {
            throw ModelConfigurationError.unreadable(path: configURL.path, reason: error.localizedDescription)
        }
        guard var top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelConfigurationError.invalid(path: configURL.path, reason: "not a JSON object")
        }
        let checkpoint = try ShardedCheckpoint(contentsOf: directory)
        guard checkpoint.names.contains("model.t2i_queries") || checkpoint.names.contains(where: { $0.hasPrefix("model.down_projector.") })
        else {
            throw UnifiedModelError.unrecognizedLayout(path: directory.path)
        }
        if let type = top["down_projector_type"] as? String, type != "transformer" {
            throw UnifiedModelError.unsupported(path: configURL.path, reason: "down_projector_type '\(type)' (only 'transformer')")
        }
        if top["gen_projector_transformer_use_rope"] as? Bool == true {
            throw UnifiedModelError.unsupported(
                path: configURL.path, reason: "a connector with rotary positions (the official code asserts it off)")
        }
        let blip = top.filter { officialKeys.contains($0.key) }
        for key in officialKeys { top.removeValue(forKey: key) }
        top["model_type"] = nil
        let lmConfiguration = try QwenVLConfiguration.decode(try JSONSerialization.data(withJSONObject: top), path: configURL.path)
        let d = lmConfiguration.text.hiddenSize
        let heads = blip["gen_projector_transformer_heads"] as? Int ?? 8
        if let kv = blip["gen_projector_transformer_kv_heads"] as? Int, kv != heads {
            throw UnifiedModelError.unsupported(path: configURL.path, reason: "grouped key/value heads in the connector")
        }
        let connectorConfiguration = MetaQueryConnectorConfiguration(
            hiddenSize: d, numHiddenLayers: blip["gen_projector_transformer_layers"] as? Int ?? 12, numAttentionHeads: heads,
            outputSize: blip["sana_embeds_hidden_size"] as? Int ?? 2304, rmsNormEps: 1e-6, numQueries: blip["n_query"] as? Int)
        try connectorConfiguration.validate()

        let dmURL = directory.appendingPathComponent("dm/config.json")
        let dmConfiguration =
            FileManager.default.fileExists(atPath: dmURL.path)
            ? try SanaTransformerConfiguration.load(from: dmURL) : .sana1600M1024
        let vaeURL = directory.appendingPathComponent("vae/config.json")
        let vaeConfiguration =
            FileManager.default.fileExists(atPath: vaeURL.path)
            ? try AutoencoderDCConfiguration.load(from: vaeURL) : .dcAEf32c32

        // One builder over the whole file, each part scoped to its own names.
        let tied = lmConfiguration.text.tieWordEmbeddings
        let vb = ParameterBuilder.loading(checkpoint, matrices: matrices) { name in
            switch officialPart(name) {
            case (.lm, let local): QwenVLForConditionalGeneration.checkpointName(local, tied: tied).map { "lm." + $0 }
            case (.connector, let local): "connector." + local
            case (.dm, let local): "dm." + local
            case (.vae, let local): "vae." + local
            }
        }
        let lm = try QwenVLForConditionalGeneration.load(configuration: lmConfiguration, from: vb.scoped("lm"))
        let connector = try MetaQueryConnector.load(configuration: connectorConfiguration, from: vb.scoped("connector"))
        let dm = try SanaTransformer.load(configuration: dmConfiguration, from: vb.scoped("dm"))
        var vae: AutoencoderDC?
        if checkpoint.names.contains(where: { officialPart($0).0 == .vae }) {
            vae = try vb.scoped("vae").build { AutoencoderDC(configuration: vaeConfiguration, $0) }
        } else if requireAutoencoder {
            throw UnifiedModelError.missingPart(
                path: directory.appendingPathComponent("model.gen_vision_tower.autoencoder.* (DC-AE weights)").path)
        }
        return try UnifiedModel(lm: lm, connector: connector, transformer: dm, autoencoder: vae)
    }

    // MARK: Writing

    /// Writes the four-folder layout: `lm/` (hub names, nested `text_config`), `connector/`,
    /// `dm/` and `vae/` (diffusers names, `_class_name` set).
    public func save(to directory: URL, dtype: SafeTensorsDType = .F32) throws {
        let fm = FileManager.default
        let lmURL = directory.appendingPathComponent("lm")
        try fm.createDirectory(at: lmURL, withIntermediateDirectories: true)
        try lm.configuration.transformersJSON().write(to: lmURL.appendingPathComponent("config.json"), options: .atomic)
        try SafeTensors.write(lm.stateDict(), dtype: dtype, to: lmURL.appendingPathComponent("model.safetensors"))
        try connector.save(to: directory.appendingPathComponent("connector"), dtype: dtype)
        try Self.writeDiffusers(
            transformer, configuration: transformer.configuration, className: "SanaTransformer2DModel",
            to: directory.appendingPathComponent("dm"), dtype: dtype)
        if let autoencoder {
            try Self.writeDiffusers(
                autoencoder, configuration: autoencoder.configuration, className: "AutoencoderDC",
                to: directory.appendingPathComponent("vae"), dtype: dtype)
        }
    }

    /// Writes the official single-checkpoint naming (`model.t2i_queries`, `model.down_projector.*`,
    /// `model.dit.*`, `model.gen_vision_tower.autoencoder.*` beside the Qwen keys) with its
    /// `config.json`, plus `dm/config.json` and `vae/config.json` for non-preset sizes.
    public func saveOfficial(to directory: URL, dtype: SafeTensorsDType = .F32) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors = lm.stateDict()
        for (k, v) in connector.stateDict() {
            tensors[k.hasSuffix("_queries") ? "model." + k : "model.down_projector." + k] = v
        }
        for (k, v) in transformer.stateDict() { tensors["model.dit." + k] = v }
        if let autoencoder { for (k, v) in autoencoder.stateDict() { tensors["model.gen_vision_tower.autoencoder." + k] = v } }
        try SafeTensors.write(tensors, dtype: dtype, to: directory.appendingPathComponent("model.safetensors"))
        var top = try JSONSerialization.jsonObject(with: lm.configuration.transformersJSON(flat: true)) as? [String: Any] ?? [:]
        let c = connector.configuration
        top["model_type"] = "blip3o_qwen"
        top["down_projector_type"] = "transformer"
        top["n_query"] = c.numQueries
        top["sana_embeds_hidden_size"] = c.outputSize
        top["gen_projector_transformer_layers"] = c.numHiddenLayers
        top["gen_projector_transformer_heads"] = c.numAttentionHeads
        let json = try JSONSerialization.data(withJSONObject: top, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        try Self.writeConfiguration(
            transformer.configuration, className: "SanaTransformer2DModel", to: directory.appendingPathComponent("dm"))
        if let autoencoder {
            try Self.writeConfiguration(autoencoder.configuration, className: "AutoencoderDC", to: directory.appendingPathComponent("vae"))
        }
    }

    static func writeConfiguration(_ configuration: some Encodable, className: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var object = try JSONSerialization.jsonObject(with: encoder.encode(configuration)) as? [String: Any] ?? [:]
        object["_class_name"] = className
        let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: url.appendingPathComponent("config.json"), options: .atomic)
    }

    static func writeDiffusers(
        _ module: some Module, configuration: some Encodable, className: String, to url: URL,
        dtype: SafeTensorsDType
    ) throws {
        try writeConfiguration(configuration, className: className, to: url)
        try SafeTensors.write(module.stateDict(), dtype: dtype, to: url.appendingPathComponent("diffusion_pytorch_model.safetensors"))
    }
}

extension QwenVLConfiguration {
    /// A `config.json` that ``QwenVLConfiguration/load(from:)`` (and transformers) read: nested
    /// `text_config` with `rope_parameters.mrope_section` (transformers 5), or the hub's flat
    /// layout with `rope_scaling` when `flat`.
    public func transformersJSON(flat: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        var textObject = try JSONSerialization.jsonObject(with: encoder.encode(text)) as? [String: Any] ?? [:]
        let vision = try JSONSerialization.jsonObject(with: encoder.encode(self.vision)) as? [String: Any] ?? [:]
        var top: [String: Any] = [
            "vision_config": vision, "image_token_id": imageTokenID, "video_token_id": videoTokenID,
            "vision_start_token_id": visionStartTokenID, "vision_end_token_id": visionEndTokenID,
            "model_type": "qwen2_5_vl", "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        ]
        if flat {
            textObject.removeValue(forKey: "rope_parameters")
            textObject["rope_theta"] = text.ropeTheta
            textObject["rope_scaling"] = ["type": "mrope", "mrope_section": mropeSection]
            top.merge(textObject) { a, _ in a }
        } else {
            textObject["rope_parameters"] = ["rope_type": "default", "rope_theta": text.ropeTheta, "mrope_section": mropeSection]
            top["text_config"] = textObject
            top["tie_word_embeddings"] = text.tieWordEmbeddings
        }
        return try JSONSerialization.data(withJSONObject: top, options: [.prettyPrinted, .sortedKeys])
    }
}
