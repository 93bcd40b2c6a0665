import UniRLTensor

/// DC-AE's decoder, diffusers' `Decoder`:
///
///     h = conv_in(z) (+ z with each channel repeated C/latent times)
///     h = up_blocks[i](h)             i from the last stage down: a DCUpBlock2d from stage i+1, then the layers
///     x = conv_out(act(RMSNorm_C(h)))  conv_out a 3×3 conv, or a DCUpBlock2d when stage 0 has no layers
final class AutoencoderDCDecoder: Module {
    let convIn: SanaConv2d
    let upBlocks: ModuleList<AutoencoderDCStage>
    let normOut: SanaRMSNorm
    let convActivation: SanaActivation
    let convOut: any AutoencoderDCLayer
    /// Times each latent channel is repeated by the input shortcut, or nil without it.
    let inShortcutRepeats: Int?

    init(_ c: AutoencoderDCConfiguration, _ factory: SanaParameterFactory) {
        let channels = c.decoderBlockOutChannels, layers = c.decoderLayersPerBlock, n = channels.count
        convIn = SanaConv2d(c.latentChannels, channels[n - 1], kernelSize: 3, padding: 1, factory)
        inShortcutRepeats = c.decoderInShortcut ? channels[n - 1] / c.latentChannels : nil
        // diffusers builds the stages from the last to the first; parameters are drawn in that order.
        var stages: [AutoencoderDCStage] = []
        for i in (0..<n).reversed() {
            var stage: [any AutoencoderDCLayer] = []
            if i < n - 1 && layers[i] > 0 {
                stage.append(DCUpBlock(inChannels: channels[i + 1], outChannels: channels[i],
                                       interpolates: c.upsamplesByInterpolation, shortcut: true, factory))
            }
            let activation = SanaActivation(name: c.decoderActFns.value(at: i)) ?? .silu
            for _ in 0..<layers[i] {
                stage.append(autoencoderDCBlock(type: c.decoderBlockTypes.value(at: i), channels: channels[i], headDim: c.attentionHeadDim,
                                                kernelSizes: c.decoderQkvMultiscales[i], activation: activation, factory))
            }
            stages.insert(AutoencoderDCStage(stage), at: 0)
        }
        upBlocks = ModuleList(stages)
        let last = layers[0] > 0 ? channels[0] : channels[1]
        normOut = SanaRMSNorm(last, eps: 1e-5, bias: true, factory)
        convActivation = SanaActivation(name: c.decoderConvActFn) ?? .relu
        if layers[0] > 0 {
            convOut = SanaConv2d(last, c.inChannels, kernelSize: 3, padding: 1, factory)
        } else {
            convOut = DCUpBlock(inChannels: last, outChannels: c.inChannels, interpolates: c.upsamplesByInterpolation,
                                shortcut: false, factory)
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
