import UniRLTensor

// The blocks of the meta-query connector, computed as UniRL-Zero's `TransformerBlock` /
// `SelfAttentionBlock` / `SwiGLU` (G-U-N/UniRL unimodel/blip3o/model/multimodal_projector/
// transformer_projector.py) with its parameter names. Built through a ``SanaParameterFactory`` so
// that one construction path serves random initialisation, loading and shape listing.

/// Bidirectional multi-head self-attention over the query states: biased q/k/v/out projections,
/// RMSNorm over each head's q and k (weight [head_dim]), softmax(q·kᵀ/√head_dim)·v with no mask
/// and no positions.
final class ConnectorAttention: Module {
    let qProj: SanaLinear, kProj: SanaLinear, vProj: SanaLinear, outProj: SanaLinear
    let qNorm: SanaRMSNorm, kNorm: SanaRMSNorm
    let heads: Int, headDim: Int

    init(_ c: MetaQueryConnectorConfiguration, _ factory: SanaParameterFactory) {
        let d = c.hiddenSize
        heads = c.numAttentionHeads
        headDim = c.headDim
        qProj = SanaLinear(d, d, factory); kProj = SanaLinear(d, d, factory)
        vProj = SanaLinear(d, d, factory); outProj = SanaLinear(d, d, factory)
        qNorm = SanaRMSNorm(headDim, eps: Float(c.rmsNormEps), factory)
        kNorm = SanaRMSNorm(headDim, eps: Float(c.rmsNormEps), factory)
    }

    var submodules: [String: any Module] {
        ["q_proj": qProj, "k_proj": kProj, "v_proj": vProj, "out_proj": outProj, "q_norm": qNorm, "k_norm": kNorm]
    }

    /// x [B, N, d] → [B, N, d].
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, n) = (x.shape[0], x.shape[1])
        // [B, N, d] → [B, N, H, hd] (norm over hd) → [B, H, N, hd]
        func heads(_ t: Tensor) -> Tensor { t.reshaped([b, n, self.heads, headDim]) }
        let q = qNorm(heads(qProj(x))).transposed(1, 2)
        let k = kNorm(heads(kProj(x))).transposed(1, 2)
        let v = heads(vProj(x)).transposed(1, 2)
        let o = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: .none)
        return outProj(o.transposed(1, 2).reshaped([b, n, self.heads * headDim]))
    }
}

/// The official `SwiGLU`: w3(silu(w1·x) · w2·x), all three biased, hidden width 2d.
final class ConnectorFeedForward: Module {
    let w1: SanaLinear, w2: SanaLinear, w3: SanaLinear

    init(_ c: MetaQueryConnectorConfiguration, _ factory: SanaParameterFactory) {
        w1 = SanaLinear(c.hiddenSize, c.feedForwardSize, factory)
        w2 = SanaLinear(c.hiddenSize, c.feedForwardSize, factory)
        w3 = SanaLinear(c.feedForwardSize, c.hiddenSize, factory)
    }

    var submodules: [String: any Module] { ["w1": w1, "w2": w2, "w3": w3] }

    func callAsFunction(_ x: Tensor) -> Tensor { w3(w1(x).silu() * w2(x)) }
}

/// One pre-norm block: x += attn(norm1(x)); x += ffn(norm2(x)).
final class ConnectorBlock: Module {
    let norm1: SanaRMSNorm, norm2: SanaRMSNorm
    let attn: ConnectorAttention
    let ffn: ConnectorFeedForward

    init(_ c: MetaQueryConnectorConfiguration, _ factory: SanaParameterFactory) {
        norm1 = SanaRMSNorm(c.hiddenSize, eps: Float(c.rmsNormEps), factory)
        attn = ConnectorAttention(c, factory)
        norm2 = SanaRMSNorm(c.hiddenSize, eps: Float(c.rmsNormEps), factory)
        ffn = ConnectorFeedForward(c, factory)
    }

    var submodules: [String: any Module] { ["norm1": norm1, "attn": attn, "norm2": norm2, "ffn": ffn] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + attn(norm1(x))
        return h + ffn(norm2(h))
    }
}
