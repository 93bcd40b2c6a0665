import Foundation
import UniRLTensor

/// Multi-head self-attention of a CLIP layer: biased `q_proj`, `k_proj`, `v_proj`, `out_proj`,
/// scale 1/√head_dim (transformers' `CLIPAttention`, models/clip/modeling_clip.py).
public final class CLIPAttention: Module {
    public let heads: Int, headDim: Int
    public let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear

    init(hidden: Int, heads: Int, _ vb: ParameterBuilder) {
        self.heads = heads
        headDim = hidden / heads
        qProj = Linear(inputSize: hidden, outputSize: hidden, vb.scoped("q_proj"))
        kProj = Linear(inputSize: hidden, outputSize: hidden, vb.scoped("k_proj"))
        vProj = Linear(inputSize: hidden, outputSize: hidden, vb.scoped("v_proj"))
        outProj = Linear(inputSize: hidden, outputSize: hidden, vb.scoped("out_proj"))
    }

    public var submodules: [String: any Module] { ["q_proj": qProj, "k_proj": kProj, "v_proj": vProj, "out_proj": outProj] }

    /// x [B, T, C] → [B, T, C].
    func callAsFunction(_ x: Tensor, mask: AttentionMask) -> Tensor {
        let (b, t) = (x.shape[0], x.shape[1])
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, headDim]).transposed(1, 2) }
        let o = Tensor.scaledDotProductAttention(query: split(qProj(x)), key: split(kProj(x)), value: split(vProj(x)), mask: mask)
        return outProj(o.transposed(1, 2).reshaped([b, t, heads * headDim]))
    }
}

/// `fc2(act(fc1(x)))` (transformers' `CLIPMLP`).
public final class CLIPMLP: Module {
    public let fc1: Linear, fc2: Linear
    public let activation: CLIPActivation

    init(hidden: Int, intermediate: Int, activation: CLIPActivation, _ vb: ParameterBuilder) {
        fc1 = Linear(inputSize: hidden, outputSize: intermediate, vb.scoped("fc1"))
        fc2 = Linear(inputSize: intermediate, outputSize: hidden, vb.scoped("fc2"))
        self.activation = activation
    }

    public var submodules: [String: any Module] { ["fc1": fc1, "fc2": fc2] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = fc1(x)
        let a: Tensor
        switch activation {
        case .quickGELU: a = h * (h * 1.702).sigmoid()   // transformers' QuickGELUActivation: x·σ(1.702x)
        case .gelu: a = h.gelu()
        case .geluNew, .geluTanh: a = h.gelu(approximateTanh: true)
        }
        return fc2(a)
    }
}

/// A pre-norm encoder layer: x + attn(layer_norm1(x)), then + mlp(layer_norm2(x)).
public final class CLIPEncoderLayer: Module {
    public let selfAttn: CLIPAttention
    public let layerNorm1: LayerNorm, layerNorm2: LayerNorm
    public let mlp: CLIPMLP

    init(_ c: CLIPTowerConfiguration, _ vb: ParameterBuilder) {
        selfAttn = CLIPAttention(hidden: c.hiddenSize, heads: c.numAttentionHeads, vb.scoped("self_attn"))
        layerNorm1 = LayerNorm(dimension: c.hiddenSize, eps: c.layerNormEps, vb.scoped("layer_norm1"))
        layerNorm2 = LayerNorm(dimension: c.hiddenSize, eps: c.layerNormEps, vb.scoped("layer_norm2"))
        mlp = CLIPMLP(hidden: c.hiddenSize, intermediate: c.intermediateSize,
                      activation: CLIPActivation(rawValue: c.hiddenAct) ?? .quickGELU, vb.scoped("mlp"))
    }

    public var submodules: [String: any Module] {
        ["self_attn": selfAttn, "layer_norm1": layerNorm1, "layer_norm2": layerNorm2, "mlp": mlp]
    }

    func callAsFunction(_ x: Tensor, mask: AttentionMask) -> Tensor {
        let h = x + selfAttn(layerNorm1(x), mask: mask)
        return h + mlp(layerNorm2(h))
    }
}

/// The stack of encoder layers shared by both towers (`encoder.layers.*`).
public final class CLIPEncoder: Module {
    public let layers: ModuleList<CLIPEncoderLayer>

    init(_ c: CLIPTowerConfiguration, _ vb: ParameterBuilder) {
        layers = ModuleList((0..<c.numHiddenLayers).map { CLIPEncoderLayer(c, vb.scoped("layers.\($0)")) })
    }

    public var submodules: [String: any Module] { ["layers": layers] }

    func callAsFunction(_ x: Tensor, mask: AttentionMask) -> Tensor {
        layers.items.reduce(x) { h, layer in layer(h, mask: mask) }
    }
}
