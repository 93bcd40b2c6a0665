import UniRLTensor

// DC-AE's resolution changes with their shortcuts: diffusers' `DCDownBlock2d` and `DCUpBlock2d`
// (models/autoencoders/autoencoder_dc.py).

/// diffusers' `DCDownBlock2d`: halves the resolution, either by a 3×3 conv to C_out/4 channels and
/// pixel-unshuffle (`downsample`), or by a stride-2 3×3 conv; the shortcut pixel-unshuffles the
/// input and averages groups of 4·C_in/C_out consecutive channels.
final class DCDownBlock: AutoencoderDCLayer {
    let conv: Conv2d
    let unshuffles: Bool, shortcut: Bool
    let outChannels: Int

    init(inChannels: Int, outChannels: Int, unshuffles: Bool, shortcut: Bool, _ vb: ParameterBuilder) {
        conv = Conv2d(inChannels: inChannels, outChannels: unshuffles ? outChannels / 4 : outChannels, kernelSize: 3,
                      stride: unshuffles ? 1 : 2, padding: 1, vb.scoped("conv"))
        self.unshuffles = unshuffles; self.shortcut = shortcut; self.outChannels = outChannels
    }

    var submodules: [String: any Module] { ["conv": conv] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var y = conv(x)
        if unshuffles { y = y.pixelUnshuffle(2) }
        guard shortcut else { return y }
        let packed = x.pixelUnshuffle(2)
        let (b, c, h, w) = (packed.shape[0], packed.shape[1], packed.shape[2], packed.shape[3])
        return y + packed.reshaped([b, outChannels, c / outChannels, h, w]).mean(axis: 2)
    }
}

/// diffusers' `DCUpBlock2d`: doubles the resolution, either by nearest interpolation and a 3×3
/// conv (`interpolate`), or by a 3×3 conv to 4·C_out channels and pixel-shuffle; the shortcut
/// repeats every input channel 4·C_out/C_in times (`repeat_interleave`) and pixel-shuffles.
final class DCUpBlock: AutoencoderDCLayer {
    let conv: Conv2d
    let interpolates: Bool, shortcut: Bool
    let inChannels: Int, outChannels: Int

    init(inChannels: Int, outChannels: Int, interpolates: Bool, shortcut: Bool, _ vb: ParameterBuilder) {
        conv = Conv2d(inChannels: inChannels, outChannels: interpolates ? outChannels : 4 * outChannels, kernelSize: 3, padding: 1,
                      vb.scoped("conv"))
        self.interpolates = interpolates; self.shortcut = shortcut
        self.inChannels = inChannels; self.outChannels = outChannels
    }

    var submodules: [String: any Module] { ["conv": conv] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = interpolates ? conv(x.upsampledNearest(2)) : conv(x).pixelShuffle(2)
        guard shortcut else { return y }
        return y + repeatingChannels(x, times: 4 * outChannels / inChannels).pixelShuffle(2)
    }
}

/// `x.repeat_interleave(times, dim=1)` of [B, C, H, W]: channel c becomes channels c·times … c·times + times − 1.
func repeatingChannels(_ x: Tensor, times: Int) -> Tensor {
    let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.reshaped([b, c, 1, h, w]).broadcast(to: [b, c, times, h, w]).reshaped([b, c * times, h, w])
}
