import UniRLTensor

/// DC-AE's decoder, diffusers' `Decoder`:
///
///     h = conv_in(z) (+ z with each channel repeated C/latent times)
///     h = up_blocks[i](h)             i from the last stage down: a DCUpBlock2d from stage i+1, then the layers
///     x = conv_out(act(RMSNorm_C(h)))  conv_out a 3×3 conv, or a DCUpBlock2d when stage 0 has no layers
final class AutoencoderDCDecoder: Module {
    let convIn: Conv2d
    let upBlocks: ModuleList<AutoencoderDCStage>
    let normOut: RMSNorm
    let convActivation: SanaActivation
    let convOut: any AutoencoderDCLayer
    /// Times each latent channel is repeated by the input shortcut, or nil without it.
    let inShortcutRepeats: Int?

    init(_ c: AutoencoderDCConfiguration, _ vb: ParameterBuilder) {
        let channels = c.decoderBlockOutChannels, layers = c.decoderLayersPerBlock, n = channels.count
        convIn = Conv2d(inChannels: c.latentChannels, outChannels: channels[n - 1], kernelSize: 3, padding: 1, vb.scoped("conv_in"))
        inShortcutRepeats = c.decoderInShortcut ? channels[n - 1] / c.latentChannels : nil
        // diffusers builds the stages from the last to the first; parameters are drawn in that order.
        var stages: [AutoencoderDCStage] = []
        for i in (0..<n).reversed() {
            var stage: [any AutoencoderDCLayer] = []
            let stageBuilder = vb.scoped("up_blocks.\(i)")
            if i < n - 1 && layers[i] > 0 {
                stage.append(DCUpBlock(inChannels: channels[i + 1], outChannels: channels[i],
                                       interpolates: c.upsamplesByInterpolation, shortcut: true, stageBuilder.scoped("0")))
            }
            let activation = SanaActivation(name: c.decoderActFns.value(at: i)) ?? .silu
            for _ in 0..<layers[i] {
                let index = stage.count
                stage.append(autoencoderDCBlock(type: c.decoderBlockTypes.value(at: i), channels: channels[i], headDim: c.attentionHeadDim,
                                                kernelSizes: c.decoderQkvMultiscales[i], activation: activation,
                                                stageBuilder.scoped("\(index)")))
            }
            stages.insert(AutoencoderDCStage(stage), at: 0)
        }
        upBlocks = ModuleList(stages)
        let last = layers[0] > 0 ? channels[0] : channels[1]
        normOut = RMSNorm(dimension: last, eps: 1e-5, bias: true, vb.scoped("norm_out"))
        convActivation = SanaActivation(name: c.decoderConvActFn) ?? .relu
        if layers[0] > 0 {
            convOut = Conv2d(inChannels: last, outChannels: c.inChannels, kernelSize: 3, padding: 1, vb.scoped("conv_out"))
        } else {
            convOut = DCUpBlock(inChannels: last, outChannels: c.inChannels, interpolates: c.upsamplesByInterpolation,
                                shortcut: false, vb.scoped("conv_out"))
        }
    }

    var submodules: [String: any Module] {
        ["conv_in": convIn, "up_blocks": upBlocks, "norm_out": normOut, "conv_out": convOut]
    }

    func callAsFunction(_ z: Tensor) -> Tensor {
        var h = convIn(z)
        if let repeats = inShortcutRepeats { h = h + repeatingChannels(z, times: repeats) }
        h = upBlocks.items.reversed().reduce(h) { $1($0) }
        return convOut(convActivation(normOut.channelsFirst(h)))
    }
}
