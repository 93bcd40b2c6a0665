import Foundation
import UniRLTensor

extension UnifiedPreset {
    /// Writes a checkpoint of this preset with random weights in the official single-checkpoint
    /// layout that ``UnifiedModel/load(from:requireAutoencoder:matrices:)`` reads (`config.json`,
    /// `model.safetensors` in `BF16`, `dm/config.json`, `vae/config.json`), without ever holding
    /// the model in memory: tensors are drawn and written one at a time, so a 6 B-parameter
    /// preset needs only its largest tensor in memory.
    ///
    /// Each tensor is drawn from its layer's initialiser (PyTorch's defaults) with a generator
    /// seeded by `seed` and the tensor's name, in fixed chunks, so the file does not depend on the
    /// thread count. Returns the number of parameters written.
    @discardableResult
    public func writeRandomCheckpoint(to directory: URL, seed: UInt64) throws -> Int {
        let vb = try shapeOnlyBuild()
        let initializers = vb.declaredInitializers
        var layout: [String: (dtype: SafeTensorsDType, shape: [Int])] = [:]
        var ours: [String: String] = [:]
        for (name, shape) in vb.declaredParameters {
            let official = Self.officialName(name)
            layout[official] = (.BF16, shape)
            ours[official] = name
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SafeTensors.writeStreaming(layout: layout, to: directory.appendingPathComponent("model.safetensors")) { official, bytes in
            let name = ours[official]!
            Self.fill(bytes.bindMemory(to: UInt16.self), initializer: initializers[name]!, seed: seed ^ Self.nameHash(name))
        }
        var top = try JSONSerialization.jsonObject(with: lm.transformersJSON(flat: true)) as? [String: Any] ?? [:]
        top["model_type"] = "blip3o_qwen"
        top["down_projector_type"] = "transformer"
        top["n_query"] = connector.numQueries
        top["sana_embeds_hidden_size"] = connector.outputSize
        top["gen_projector_transformer_layers"] = connector.numHiddenLayers
        top["gen_projector_transformer_heads"] = connector.numAttentionHeads
        let json = try JSONSerialization.data(withJSONObject: top, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        try UnifiedModel.writeConfiguration(transformer, className: "SanaTransformer2DModel", to: directory.appendingPathComponent("dm"))
        try UnifiedModel.writeConfiguration(autoencoder, className: "AutoencoderDC", to: directory.appendingPathComponent("vae"))
        return vb.declaredParameters.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// `lm.X` → `X`, `connector.*_queries` → `model.*_queries`, `connector.X` →
    /// `model.down_projector.X`, `dm.X` → `model.dit.X`, `vae.X` → `model.gen_vision_tower.autoencoder.X`
    /// (the inverse of the official loader's names).
    static func officialName(_ name: String) -> String {
        let part = name.prefix { $0 != "." }, local = String(name.dropFirst(part.count + 1))
        switch part {
        case "lm": return local
        case "connector": return local.hasSuffix("_queries") ? "model." + local : "model.down_projector." + local
        case "dm": return "model.dit." + local
        default: return "model.gen_vision_tower.autoencoder." + local
        }
    }

    /// FNV-1a of the name: a seed per tensor that does not depend on the order of writing.
    static func nameHash(_ name: String) -> UInt64 {
        name.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// Draws `out.count` values of `initializer` as bfloat16, chunk k from `RandomState(seed ⊕ k)`.
    static func fill(_ out: UnsafeMutableBufferPointer<UInt16>, initializer: ParameterInitializer, seed: UInt64) {
        let chunk = 1 << 16
        let chunks = (out.count + chunk - 1) / chunk
        Parallel.forEachRange(chunks, costPerItem: chunk) { range in
            for k in range {
                var rng = RandomState(seed: seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15)
                for i in (k * chunk)..<min(out.count, (k + 1) * chunk) {
                    let value: Float =
                        switch initializer {
                        case .uniform(let bound): (2 * rng.nextUniform() - 1) * bound
                        case .normal(let std): rng.nextNormal() * std
                        case .ones: 1
                        case .zeros: 0
                        case .constant(let c): c
                        }
                    out[i] = HalfPrecision.bfloat16Bits(value).littleEndian
                }
            }
        }
    }
}
