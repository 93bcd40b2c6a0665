import Foundation
import UniRLTensor

/// Self-attention of a vision block: fused `qkv` projection, 2-D rotary on q and k, attention
/// inside each span of `boundaries` (windows or whole frames), output `proj`.
/// (transformers' `Qwen2_5_VLVisionAttention`, models/qwen2_5_vl/modeling_qwen2_5_vl.py)
public final class QwenVisionAttention: Module {
    public let heads: Int, headDim: Int
    public let qkv: Linear, proj: Linear

    init(hidden: Int, heads: Int, _ vb: ParameterBuilder) {
        self.heads = heads
        headDim = hidden / heads
        qkv = Linear(inputSize: hidden, outputSize: 3 * hidden, bias: true, vb.scoped("qkv"))
        proj = Linear(inputSize: hidden, outputSize: hidden, bias: true, vb.scoped("proj"))
    }

    public var submodules: [String: any Module] { ["qkv": qkv, "proj": proj] }

    /// x [N, C]; rotary tables [N, headDim]; boundaries cumulative over N.
    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), boundaries: [Int]) -> Tensor {
        let n = x.shape[0]
        // [N, 3, H, D] → [3, H, N, D]
        let parts = qkv(x).reshaped([n, 3, heads, headDim]).permuted([1, 2, 0, 3]).chunked(3, axis: 0)
        let q = parts[0].applyingRotaryEmbedding(cos: rotary.cos, sin: rotary.sin)
        let k = parts[1].applyingRotaryEmbedding(cos: rotary.cos, sin: rotary.sin)
        let v = parts[2]
        var outputs: [Tensor] = []
        for (start, end) in zip(boundaries, boundaries.dropFirst()) where end > start {
            let r = start..<end
            outputs.append(Tensor.scaledDotProductAttention(query: q.slice(axis: 2, r), key: k.slice(axis: 2, r),
                                                            value: v.slice(axis: 2, r)))
        }
        let o = Tensor.concatenate(outputs, axis: 2)          // [1, H, N, D]
        return proj(o.squeezed(0).transposed(0, 1).reshaped([n, heads * headDim]))
    }
}

/// A pre-norm vision block: x + attn(norm1(x)), then + mlp(norm2(x)) with a biased SwiGLU.
public final class QwenVisionBlock: Module {
    public let norm1: RMSNorm, norm2: RMSNorm
    public let attn: QwenVisionAttention
    public let mlp: SwiGLU

    init(_ c: QwenVisionConfiguration, _ vb: ParameterBuilder) {
        norm1 = RMSNorm(dimension: c.hiddenSize, eps: 1e-6, vb.scoped("norm1"))
        norm2 = RMSNorm(dimension: c.hiddenSize, eps: 1e-6, vb.scoped("norm2"))
        attn = QwenVisionAttention(hidden: c.hiddenSize, heads: c.numHeads, vb.scoped("attn"))
        mlp = SwiGLU(hidden: c.hiddenSize, intermediate: c.intermediateSize, bias: true, vb.scoped("mlp"))
    }

    public var submodules: [String: any Module] { ["norm1": norm1, "norm2": norm2, "attn": attn, "mlp": mlp] }

    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), boundaries: [Int]) -> Tensor {
        let h = x + attn(norm1(x), rotary: rotary, boundaries: boundaries)
        return h + mlp(norm2(h))
    }
}

/// The patch merger: RMSNorm per patch, then m² neighbouring patches concatenated and mapped by
/// Linear → GELU (exact) → Linear to the text width (`merger.ln_q`, `merger.mlp.0`, `merger.mlp.2`).
public final class QwenPatchMerger: Module {
    public let lnQ: RMSNorm
    public let fc1: Linear, fc2: Linear
    let unit: Int

    init(_ c: QwenVisionConfiguration, _ vb: ParameterBuilder) {
        unit = c.spatialMergeSize * c.spatialMergeSize
        lnQ = RMSNorm(dimension: c.hiddenSize, eps: 1e-6, vb.scoped("ln_q"))
        fc1 = Linear(inputSize: c.hiddenSize * unit, outputSize: c.hiddenSize * unit, bias: true, vb.scoped("mlp.0"))
        fc2 = Linear(inputSize: c.hiddenSize * unit, outputSize: c.outHiddenSize, bias: true, vb.scoped("mlp.2"))
    }

    public var submodules: [String: any Module] { ["ln_q": lnQ, "mlp": ModuleDictionary(["0": fc1, "2": fc2])] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let merged = lnQ(x).reshaped([x.shape[0] / unit, x.shape[1] * unit])
        return fc2(fc1(merged).gelu())
    }
}

/// Qwen2.5-VL's vision tower (transformers' `Qwen2_5_VisionTransformerPretrainedModel`): a
/// patch embedding (a Conv3d whose kernel equals its stride, i.e. a linear map of each flattened
/// patch), 2-D rotary positions, blocks with window attention except `fullatt_block_indexes`, and
/// the patch merger. Output: one vector per merged patch, in the processor's order.
public final class QwenVisionTransformer: Module {
    public let configuration: QwenVisionConfiguration
    /// `patch_embed.proj.weight`, [C_out, C_in, temporal, patch, patch].
    public let patchEmbedding: Parameter
    public let blocks: ModuleList<QwenVisionBlock>
    public let merger: QwenPatchMerger

    /// Builds the tower with parameters from `vb` (random, loaded or shapes only).
    public init(_ c: QwenVisionConfiguration, _ vb: ParameterBuilder) {
        configuration = c
        patchEmbedding = vb.parameter(
            "patch_embed.proj.weight", [c.hiddenSize, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize],
            .normal(std: 1 / Float(c.patchValues).squareRoot()))
        blocks = ModuleList((0..<c.depth).map { QwenVisionBlock(c, vb.scoped("blocks.\($0)")) })
        merger = QwenPatchMerger(c, vb.scoped("merger"))
    }

    /// A randomly initialised tower, drawing from `rng`.
    public convenience init(_ c: QwenVisionConfiguration, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        [
            "patch_embed": ModuleDictionary(["proj": ModuleDictionary(parameters: ["weight": patchEmbedding])]),
            "blocks": blocks, "merger": merger,
        ]
    }

    /// Merged patch features [Σ t·h·w / m², out_hidden] for the images' concatenated pixel values.
    public func callAsFunction(_ images: [ProcessedImage]) throws -> Tensor {
        let c = configuration
        for im in images
        where im.pixelValues.shape[1] != c.patchValues || im.grid.h % c.spatialMergeSize != 0 || im.grid.w % c.spatialMergeSize != 0 {
            throw ModelInputError.imagePatches(
                expected: c.patchValues, got: im.pixelValues.shape[1], grid: [im.grid.t, im.grid.h, im.grid.w])
        }
        let pixels = Tensor.concatenate(images.map(\.pixelValues), axis: 0)
        let layout = VisionWindowLayout(grids: images.map(\.grid), spatialMerge: c.spatialMergeSize,
                                        windowSize: c.windowSize, patchSize: c.patchSize)
        let unit = c.spatialMergeSize * c.spatialMergeSize
        let permutation = layout.patchPermutation(unit: unit)
        var x = pixels.matmul(patchEmbedding.value.reshaped([c.hiddenSize, c.patchValues]), transposeOther: true)
        x = x.indexSelect(axis: 0, permutation)
        // Angles [h·inv, w·inv] over inverse frequencies of width headDim/2 (axial 2-D rotary).
        let d = c.headDim, spatial = d / 2
        let inv = (0..<(spatial / 2)).map { i in 1 / Float(Foundation.pow(Double(c.ropeTheta), Double(2 * i) / Double(spatial))) }
        let angles = permutation.map { p in
            let pos = layout.positions[p]
            return inv.map { Float(pos.h) * $0 } + inv.map { Float(pos.w) * $0 }
        }
        let rotary = RotaryEmbedding.tables(angles: angles, dimension: d)
        let full = Set(c.fullAttentionBlocks)
        for (i, block) in blocks.items.enumerated() {
            x = block(x, rotary: rotary, boundaries: full.contains(i) ? layout.frameBoundaries : layout.windowBoundaries)
        }
        return merger(x).indexSelect(axis: 0, layout.reverseIndex)
    }
}
