import UniRLTensor

/// DC-AE's encoder, diffusers' `Encoder` (models/autoencoders/autoencoder_dc.py):
///
///     h = conv_in(x)                  3×3 conv, or a DCDownBlock2d when stage 0 has no layers
///     h = down_blocks[i](h)           layers of stage i, then a DCDownBlock2d to stage i+1
///     z = conv_out(h) (+ mean of each group of C/latent channels of h)
final class AutoencoderDCEncoder: Module {
    let convIn: any AutoencoderDCLayer
    let downBlocks: ModuleList<AutoencoderDCStage>
    let convOut: Conv2d
    /// Channels averaged per latent channel by the output shortcut, or nil without it.
    let outShortcutGroup: Int?

    init(_ c: AutoencoderDCConfiguration, _ vb: ParameterBuilder) {
        let channels = c.encoderBlockOutChannels, layers = c.encoderLayersPerBlock, n = channels.count
        if layers[0] > 0 {
            convIn = Conv2d(inChannels: c.inChannels, outChannels: channels[0], kernelSize: 3, padding: 1, vb.scoped("conv_in"))
        } else {
            convIn = DCDownBlock(inChannels: c.inChannels, outChannels: channels[1], unshuffles: c.downsamplesByUnshuffle,
                                 shortcut: false, vb.scoped("conv_in"))
        }
        downBlocks = ModuleList((0..<n).map { i in
            let stageBuilder = vb.scoped("down_blocks.\(i)")
            var stage: [any AutoencoderDCLayer] = (0..<layers[i]).map { j in
                autoencoderDCBlock(type: c.encoderBlockTypes.value(at: i), channels: channels[i], headDim: c.attentionHeadDim,
                                   kernelSizes: c.encoderQkvMultiscales[i], activation: .silu, stageBuilder.scoped("\(j)"))
            }
            if i < n - 1 && layers[i] > 0 {
                let index = stage.count
                stage.append(DCDownBlock(inChannels: channels[i], outChannels: channels[i + 1],
                                         unshuffles: c.downsamplesByUnshuffle, shortcut: true, stageBuilder.scoped("\(index)")))
            }
            return AutoencoderDCStage(stage)
        })
        convOut = Conv2d(inChannels: channels[n - 1], outChannels: c.latentChannels, kernelSize: 3, padding: 1, vb.scoped("conv_out"))
        outShortcutGroup = c.encoderOutShortcut ? channels[n - 1] / c.latentChannels : nil
    }

    var submodules: [String: any Module] { ["conv_in": convIn, "down_blocks": downBlocks, "conv_out": convOut] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = downBlocks.items.reduce(convIn(x)) { $1($0) }
        guard let group = outShortcutGroup else { return convOut(h) }
        let (b, c, height, width) = (h.shape[0], h.shape[1], h.shape[2], h.shape[3])
        return convOut(h) + h.reshaped([b, c / group, group, height, width]).mean(axis: 2)
    }
}
