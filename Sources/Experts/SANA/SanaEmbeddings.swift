import Foundation
import UniRLTensor

// The SANA transformer's input embeddings: latent patches (with optional 2-D sinusoidal
// positions), the timestep (sinusoid → MLP → adaLN-single modulation) and the caption projection.

/// diffusers' `PatchEmbed` (models/embeddings.py) as SANA configures it: a k = s = patch_size
/// convolution, flattened to tokens, plus `get_2d_sincos_pos_embed` positions when the model has
/// an `interpolation_scale` (`pos_embed_type="sincos"`), recomputed for the latent's own grid.
final class SanaPatchEmbedding: Module {
    let proj: Conv2d
    let patchSize: Int, embedDim: Int
    /// `sample_size // patch_size`: the grid the positions are scaled to.
    let baseSize: Int
    let interpolationScale: Double?

    init(_ c: SanaTransformerConfiguration, _ vb: ParameterBuilder) {
        patchSize = c.patchSize
        embedDim = c.innerDim
        baseSize = c.sampleSize / c.patchSize
        interpolationScale = c.interpolationScale
        proj = Conv2d(inChannels: c.inChannels, outChannels: c.innerDim, kernelSize: c.patchSize, stride: c.patchSize,
                      vb.scoped("proj"))
    }

    var submodules: [String: any Module] { ["proj": proj] }

    /// [B, C, H, W] → tokens [B, (H/p)·(W/p), D], row-major over the patch grid.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let patches = proj(x)
        let (b, d, h, w) = (patches.shape[0], patches.shape[1], patches.shape[2], patches.shape[3])
        let tokens = patches.reshaped([b, d, h * w]).transposed(1, 2)
        guard let scale = interpolationScale else { return tokens }
        let positions = Self.sincosPositions(embedDim: embedDim, height: h, width: w, baseSize: baseSize, interpolationScale: scale)
        return tokens + positions.reshaped([1, h * w, embedDim])
    }

    /// PixArt's 2-D sin-cos positions (`get_2d_sincos_pos_embed`), [H·W, D]: for token y·W + x the
    /// first D/2 channels encode the column coordinate x·base/W/scale and the last D/2 the row
    /// coordinate y·base/H/scale, each as [sin(pos·ω_k), cos(pos·ω_k)] with ω_k = 10000^(−k/(D/4)).
    /// As in diffusers, the coordinates are float32 and the sinusoids float64, rounded at the end.
    static func sincosPositions(embedDim: Int, height: Int, width: Int, baseSize: Int, interpolationScale: Double) -> Tensor {
        let quarter = embedDim / 4
        let omega = (0..<quarter).map { k in 1.0 / Foundation.pow(10000.0, Double(k) / (Double(embedDim) / 4.0)) }
        func coordinates(_ n: Int) -> [Double] {
            let step = Float(Double(n) / Double(baseSize)), scale = Float(interpolationScale)
            return (0..<n).map { Double(Float(Float($0) / step) / scale) }
        }
        let rows = coordinates(height), columns = coordinates(width)
        return Tensor(shape: [height * width, embedDim]) { out in
            for y in 0..<height {
                for x in 0..<width {
                    let row = (y * width + x) * embedDim
                    for (half, pos) in [(0, columns[x]), (1, rows[y])] {
                        let base = row + half * embedDim / 2
                        for k in 0..<quarter {
                            let angle = pos * omega[k]
                            out[base + k] = Float(Foundation.sin(angle))
                            out[base + quarter + k] = Float(Foundation.cos(angle))
                        }
                    }
                }
            }
        }
    }
}

/// diffusers' `TimestepEmbedding` with SiLU: linear_2(silu(linear_1(x))).
final class SanaTimestepMLP: Module {
    let linear1: Linear, linear2: Linear

    init(inputs: Int, width: Int, _ vb: ParameterBuilder) {
        linear1 = Linear(inputSize: inputs, outputSize: width, vb.scoped("linear_1"))
        linear2 = Linear(inputSize: width, outputSize: width, vb.scoped("linear_2"))
    }

    var submodules: [String: any Module] { ["linear_1": linear1, "linear_2": linear2] }

    func callAsFunction(_ x: Tensor) -> Tensor { linear2(linear1(x).silu()) }
}

/// diffusers' `AdaLayerNormSingle` (models/normalization.py, PixArt-α's adaLN-single) without
/// additional conditions: e = MLP(sinusoid₂₅₆(t)) and the six per-block modulation vectors
/// linear(silu(e)), which every block adds to its own `scale_shift_table`.
final class SanaTimestepEmbedding: Module {
    static let sinusoidChannels = 256
    let timestepEmbedder: SanaTimestepMLP
    let linear: Linear

    init(width: Int, _ vb: ParameterBuilder) {
        timestepEmbedder = SanaTimestepMLP(inputs: Self.sinusoidChannels, width: width, vb.scoped("emb.timestep_embedder"))
        linear = Linear(inputSize: width, outputSize: 6 * width, vb.scoped("linear"))
    }

    var submodules: [String: any Module] {
        ["emb": ModuleDictionary(["timestep_embedder": timestepEmbedder]), "linear": linear]
    }

    /// timestep [B] (t·1000) → (modulation [B, 6·D], embedded timestep [B, D]).
    func callAsFunction(_ timestep: Tensor) -> (modulation: Tensor, embedded: Tensor) {
        let embedded = timestepEmbedder(Self.sinusoids(timestep.scalars, channels: Self.sinusoidChannels))
        return (linear(embedded.silu()), embedded)
    }

    /// diffusers' `Timesteps(num_channels, flip_sin_to_cos=True, downscale_freq_shift=0)`
    /// (`get_timestep_embedding`): [cos(t·f_i), sin(t·f_i)] with f_i = exp(−ln(10000)·i/half),
    /// i < half = channels/2, every step rounded to float32 as PyTorch computes it.
    static func sinusoids(_ timesteps: [Float], channels: Int) -> Tensor {
        let half = channels / 2
        let logPeriod = Float(-Foundation.log(10000.0))
        let frequencies = (0..<half).map { Foundation.exp(logPeriod * Float($0) / Float(half)) }
        return Tensor(shape: [timesteps.count, channels]) { out in
            for (b, t) in timesteps.enumerated() {
                let row = b * channels
                for i in 0..<half {
                    let angle = t * frequencies[i]
                    out[row + i] = Foundation.cos(angle)
                    out[row + half + i] = Foundation.sin(angle)
                }
                if channels % 2 == 1 { out[row + channels - 1] = 0 }
            }
        }
    }
}

/// diffusers' `PixArtAlphaTextProjection` with `gelu_tanh`: linear_2(gelu_tanh(linear_1(caption))).
final class SanaCaptionProjection: Module {
    let linear1: Linear, linear2: Linear

    init(captionChannels: Int, width: Int, _ vb: ParameterBuilder) {
        linear1 = Linear(inputSize: captionChannels, outputSize: width, vb.scoped("linear_1"))
        linear2 = Linear(inputSize: width, outputSize: width, vb.scoped("linear_2"))
    }

    var submodules: [String: any Module] { ["linear_1": linear1, "linear_2": linear2] }

    func callAsFunction(_ caption: Tensor) -> Tensor { linear2(linear1(caption).gelu(approximateTanh: true)) }
}
