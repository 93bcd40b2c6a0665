import UniRLTensor

// DC-AE's attention stage block: diffusers' `EfficientViTBlock` (models/autoencoders/autoencoder_dc.py)
// with its `SanaMultiscaleLinearAttention` (models/attention_processor.py).

/// One multi-scale aggregation of diffusers' `SanaMultiscaleAttentionProjection`: a k×k depthwise
/// convolution of the concatenated q/k/v channels, then a grouped 1×1 convolution (3·heads groups),
/// both without bias.
final class MultiscaleProjection: Module {
    let projIn: Conv2d, projOut: Conv2d

    init(channels: Int, heads: Int, kernelSize: Int, _ vb: ParameterBuilder) {
        let c = 3 * channels
        projIn = Conv2d(inChannels: c, outChannels: c, kernelSize: kernelSize, padding: kernelSize / 2, groups: c, bias: false,
                        vb.scoped("proj_in"))
        projOut = Conv2d(inChannels: c, outChannels: c, kernelSize: 1, groups: 3 * heads, bias: false, vb.scoped("proj_out"))
    }

    var submodules: [String: any Module] { ["proj_in": projIn, "proj_out": projOut] }

    func callAsFunction(_ x: Tensor) -> Tensor { projOut(projIn(x)) }
}

/// diffusers' `SanaMultiscaleLinearAttention` with `SanaMultiscaleAttnProcessor2_0` and
/// `rms_norm`, residual: per-pixel q, k, v projections (no bias) concatenated along channels as
/// [q | k | v], the same tensor aggregated by each multi-scale projection and appended, then cut
/// into groups of 3·head_dim consecutive channels, each group's thirds being one head's q, k, v
/// (diffusers' reshape, which is what the checkpoints were trained with). Each head computes ReLU
/// linear attention (ε = 1e-15); the heads go through `to_out` (no bias), an RMSNorm over
/// channels with bias, and the residual.
///
/// diffusers switches to a "quadratic" form when H·W ≤ head_dim; it is the same quantity,
/// Σ_m v_m (k'_m·q'_n) / (Σ_m k'_m·q'_n + ε), summed in another order, so one kernel serves both.
final class MultiscaleLinearAttention: Module {
    let heads: Int, headDim: Int
    let toQ: Linear, toK: Linear, toV: Linear
    let toQKVMultiscale: ModuleList<MultiscaleProjection>
    let toOut: Linear
    let normOut: RMSNorm

    init(channels: Int, headDim: Int, kernelSizes: [Int], _ vb: ParameterBuilder) {
        let heads = channels / headDim      // int(in_channels // attention_head_dim * mult), mult = 1
        let inner = heads * headDim
        self.heads = heads
        self.headDim = headDim
        toQ = Linear(inputSize: channels, outputSize: inner, bias: false, vb.scoped("to_q"))
        toK = Linear(inputSize: channels, outputSize: inner, bias: false, vb.scoped("to_k"))
        toV = Linear(inputSize: channels, outputSize: inner, bias: false, vb.scoped("to_v"))
        toQKVMultiscale = ModuleList(
            kernelSizes.enumerated().map { i, k in
                MultiscaleProjection(channels: inner, heads: heads, kernelSize: k, vb.scoped("to_qkv_multiscale.\(i)"))
            })
        toOut = Linear(inputSize: inner * (1 + kernelSizes.count), outputSize: channels, bias: false, vb.scoped("to_out"))
        normOut = RMSNorm(dimension: channels, eps: 1e-5, bias: true, vb.scoped("norm_out"))
    }

    var submodules: [String: any Module] {
        ["to_q": toQ, "to_k": toK, "to_v": toV, "to_qkv_multiscale": toQKVMultiscale, "to_out": toOut, "norm_out": normOut]
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let pixels = x.permuted([0, 2, 3, 1])                                   // [B, H, W, C]
        let qkv = Tensor.concatenate([toQ(pixels), toK(pixels), toV(pixels)], axis: 3).permuted([0, 3, 1, 2])
        let scales = [qkv] + toQKVMultiscale.items.map { $0(qkv) }
        let all = Tensor.concatenate(scales, axis: 1)                           // [B, 3·inner·(1+S), H, W]
        let groups = all.shape[1] / (3 * headDim), n = h * w
        // [B, G, 3, D, N] → [3, B, G, N, D]: the q, k, v of every group, pixels first.
        let parts = all.reshaped([b, groups, 3, headDim, n]).permuted([2, 0, 1, 4, 3]).chunked(3, axis: 0)
        func part(_ i: Int) -> Tensor { parts[i].reshaped([b, groups, n, headDim]) }
        let o = Tensor.reluLinearAttention(query: part(0), key: part(1), value: part(2), eps: 1e-15)
        // [B, G, N, D] → [B, H, W, G·D] (channel g·D + d, as diffusers' reshape) → to_out → norm.
        let merged = o.permuted([0, 2, 1, 3]).reshaped([b, h, w, groups * headDim])
        return normOut(toOut(merged)).permuted([0, 3, 1, 2]) + x
    }
}

/// diffusers' `EfficientViTBlock`: multi-scale linear attention (residual) then a Mix-FFN
/// (`GLUMBConv`, expand ratio 4, RMSNorm with bias, residual).
final class EfficientViTBlock: AutoencoderDCLayer {
    let attn: MultiscaleLinearAttention
    let convOut: GLUMBConv

    init(channels: Int, headDim: Int, kernelSizes: [Int], _ vb: ParameterBuilder) {
        attn = MultiscaleLinearAttention(channels: channels, headDim: headDim, kernelSizes: kernelSizes, vb.scoped("attn"))
        convOut = GLUMBConv(
            inChannels: channels, outChannels: channels, expandRatio: 4, rmsNorm: true, residualConnection: true, vb.scoped("conv_out"))
    }

    var submodules: [String: any Module] { ["attn": attn, "conv_out": convOut] }

    func callAsFunction(_ x: Tensor) -> Tensor { convOut(attn(x)) }
}
