import UniRLTensor

/// One SANA block, diffusers' `SanaTransformerBlock` (models/transformers/sana_transformer.py):
/// adaLN-single modulation of a linear self-attention and a Mix-FFN, with an unmodulated
/// cross-attention to the caption between them,
///
///     shift₁, scale₁, gate₁, shift₂, scale₂, gate₂ = scale_shift_table + modulation(t)
///     h = x + gate₁ · attn1(LN(x) · (1 + scale₁) + shift₁)
///     h = h + attn2(h, caption, mask)
///     y = h + gate₂ · ff(LN(h) · (1 + scale₂) + shift₂)          (ff on the H × W token grid)
///
/// `norm1` is a LayerNorm without affine; `norm2` has one when `norm_elementwise_affine` is set.
final class SanaTransformerBlock: Module {
    let width: Int
    let scaleShiftTable: Parameter
    let norm1: LayerNorm, attn1: SanaAttention
    let norm2: LayerNorm, attn2: SanaAttention
    let ff: GLUMBConv

    init(_ c: SanaTransformerConfiguration, _ vb: ParameterBuilder) {
        let d = c.innerDim, eps = Float(c.normEps), qkNorm = c.qkNorm != nil
        width = d
        norm1 = LayerNorm(dimension: d, eps: eps, affine: false, vb.scoped("norm1"))
        attn1 = SanaAttention(processor: .reluLinear, width: d, heads: c.numAttentionHeads, headDim: c.attentionHeadDim,
                              bias: c.attentionBias, qkNorm: qkNorm, vb.scoped("attn1"))
        norm2 = LayerNorm(dimension: d, eps: eps, affine: c.normElementwiseAffine, vb.scoped("norm2"))
        attn2 = SanaAttention(processor: .softmax, width: d, contextWidth: c.crossAttentionDim ?? d,
                              heads: c.numCrossAttentionHeads ?? 1, headDim: c.crossAttentionHeadDim ?? d, bias: true, qkNorm: qkNorm,
                              vb.scoped("attn2"))
        ff = GLUMBConv(inChannels: d, outChannels: d, expandRatio: c.mlpRatio, rmsNorm: false, residualConnection: false, vb.scoped("ff"))
        // diffusers: torch.randn(6, dim) / dim**0.5
        scaleShiftTable = vb.parameter("scale_shift_table", [6, d], .normal(std: 1 / Float(d).squareRoot()))
    }

    var parameters: [String: Parameter] { ["scale_shift_table": scaleShiftTable] }
    var submodules: [String: any Module] {
        ["norm1": norm1, "attn1": attn1, "norm2": norm2, "attn2": attn2, "ff": ff]
    }

    /// x [B, H·W, D] → [B, H·W, D]; `caption` [B, L, D] (projected and normalised), `modulation`
    /// [B, 6·D] from the timestep embedding.
    func callAsFunction(_ x: Tensor, caption: Tensor, captionMask: AttentionMask, modulation: Tensor,
                        height: Int, width: Int) -> Tensor {
        let b = x.shape[0], d = self.width
        let m = (scaleShiftTable.value.reshaped([1, 6, d]) + modulation.reshaped([b, 6, d])).chunked(6, axis: 1)
        let (shiftMSA, scaleMSA, gateMSA, shiftMLP, scaleMLP, gateMLP) = (m[0], m[1], m[2], m[3], m[4], m[5])
        let attended = attn1(SanaKernels.modulate(norm1(x), shift: shiftMSA, scale: scaleMSA))
        var h = SanaKernels.gatedResidual(x, gate: gateMSA, update: attended)
        h = attn2(h, context: caption, mask: captionMask) + h
        let ffOut = ff(tokens: SanaKernels.modulate(norm2(h), shift: shiftMLP, scale: scaleMLP), height: height, width: width)
        return SanaKernels.gatedResidual(h, gate: gateMLP, update: ffOut)
    }
}
