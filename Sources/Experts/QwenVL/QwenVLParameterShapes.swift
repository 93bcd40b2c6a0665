extension QwenVLConfiguration {
    /// Every parameter's name (hub layout) and shape, computed without allocating the model, so
    /// real-scale configurations can be checked here; a tied head has no `lm_head.weight`.
    public func parameterShapes() -> [String: [Int]] {
        var s: [String: [Int]] = [:]
        let t = text, v = vision
        let hd = t.hiddenSize / t.numAttentionHeads
        s["model.embed_tokens.weight"] = [t.vocabSize, t.hiddenSize]
        s["model.norm.weight"] = [t.hiddenSize]
        for i in 0..<t.numHiddenLayers {
            let p = "model.layers.\(i)."
            s[p + "input_layernorm.weight"] = [t.hiddenSize]
            s[p + "post_attention_layernorm.weight"] = [t.hiddenSize]
            s[p + "self_attn.q_proj.weight"] = [t.numAttentionHeads * hd, t.hiddenSize]
            s[p + "self_attn.q_proj.bias"] = [t.numAttentionHeads * hd]
            for kv in ["k_proj", "v_proj"] {
                s[p + "self_attn.\(kv).weight"] = [t.numKeyValueHeads * hd, t.hiddenSize]
                s[p + "self_attn.\(kv).bias"] = [t.numKeyValueHeads * hd]
            }
            s[p + "self_attn.o_proj.weight"] = [t.hiddenSize, t.numAttentionHeads * hd]
            s[p + "mlp.gate_proj.weight"] = [t.intermediateSize, t.hiddenSize]
            s[p + "mlp.up_proj.weight"] = [t.intermediateSize, t.hiddenSize]
            s[p + "mlp.down_proj.weight"] = [t.hiddenSize, t.intermediateSize]
        }
        if !t.tieWordEmbeddings { s["lm_head.weight"] = [t.vocabSize, t.hiddenSize] }
        s["visual.patch_embed.proj.weight"] = [v.hiddenSize, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize]
        for i in 0..<v.depth {
            let p = "visual.blocks.\(i)."
            s[p + "norm1.weight"] = [v.hiddenSize]
            s[p + "norm2.weight"] = [v.hiddenSize]
            s[p + "attn.qkv.weight"] = [3 * v.hiddenSize, v.hiddenSize]
            s[p + "attn.qkv.bias"] = [3 * v.hiddenSize]
            s[p + "attn.proj.weight"] = [v.hiddenSize, v.hiddenSize]
            s[p + "attn.proj.bias"] = [v.hiddenSize]
            for n in ["gate_proj", "up_proj"] {
                s[p + "mlp.\(n).weight"] = [v.intermediateSize, v.hiddenSize]
                s[p + "mlp.\(n).bias"] = [v.intermediateSize]
            }
            s[p + "mlp.down_proj.weight"] = [v.hiddenSize, v.intermediateSize]
            s[p + "mlp.down_proj.bias"] = [v.hiddenSize]
        }
        let merged = v.hiddenSize * v.spatialMergeSize * v.spatialMergeSize
        s["visual.merger.ln_q.weight"] = [v.hiddenSize]
        s["visual.merger.mlp.0.weight"] = [merged, merged]
        s["visual.merger.mlp.0.bias"] = [merged]
        s["visual.merger.mlp.2.weight"] = [v.outHiddenSize, merged]
        s["visual.merger.mlp.2.bias"] = [v.outHiddenSize]
        return s
    }

    /// Total parameter count (a tied head counted once).
    public func parameterCount() -> Int { parameterShapes().values.reduce(0) { $0 + $1.reduce(1, *) } }
}
