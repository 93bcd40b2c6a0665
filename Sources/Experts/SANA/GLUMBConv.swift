import UniRLTensor

/// SANA's Mix-FFN, diffusers' `GLUMBConv` (models/transformers/sana_transformer.py): an inverted
/// 1×1 convolution to 2·hidden channels, SiLU, a 3×3 depthwise convolution, a gated linear unit
/// (first half · SiLU(second half)) and a 1×1 projection without bias,
///
///     h, g = chunk₂(dw3×3(silu(conv₁ₓ₁(x))))
///     y = conv₁ₓ₁(h · silu(g))   [→ RMSNorm over channels (+ bias), ε = 1e-5]   [+ x]
///
/// The transformer uses it without norm and residual, DC-AE's EfficientViT blocks with both.
final class GLUMBConv: Module {
    let hiddenChannels: Int
    let convInverted: Conv2d, convDepth: Conv2d, convPoint: Conv2d
    let norm: RMSNorm?
    let residualConnection: Bool

    init(inChannels: Int, outChannels: Int, expandRatio: Double = 4, rmsNorm: Bool, residualConnection: Bool,
         _ vb: ParameterBuilder) {
        hiddenChannels = Int((expandRatio * Double(inChannels)).rounded(.towardZero))
        let doubled = 2 * hiddenChannels
        convInverted = Conv2d(inChannels: inChannels, outChannels: doubled, kernelSize: 1, vb.scoped("conv_inverted"))
        convDepth = Conv2d(inChannels: doubled, outChannels: doubled, kernelSize: 3, padding: 1, groups: doubled, vb.scoped("conv_depth"))
        convPoint = Conv2d(inChannels: hiddenChannels, outChannels: outChannels, kernelSize: 1, bias: false, vb.scoped("conv_point"))
        norm = rmsNorm ? RMSNorm(dimension: outChannels, eps: 1e-5, bias: true, vb.scoped("norm")) : nil
        self.residualConnection = residualConnection
    }

    var submodules: [String: any Module] {
        var m: [String: any Module] = ["conv_inverted": convInverted, "conv_depth": convDepth, "conv_point": convPoint]
        if let norm { m["norm"] = norm }
        return m
    }

    /// x [B, C, H, W] → [B, C_out, H, W].
    func callAsFunction(_ x: Tensor) -> Tensor {
        let expanded = convDepth(convInverted(x).silu())
        let halves = expanded.chunked(2, axis: 1)
        var y = convPoint(halves[0] * halves[1].silu())
        if let norm { y = norm.channelsFirst(y) }
        return residualConnection ? y + x : y
    }

    /// The same on channels-last tokens [B, H·W, C] of an H × W grid (row-major), as the
    /// transformer block calls it (diffusers moves them to [B, C, H, W] and back): the 1×1
    /// convolutions become single GEMMs and the depthwise convolution and the gate fused kernels.
    func callAsFunction(tokens x: Tensor, height: Int, width: Int) -> Tensor {
        let inverted = convInverted.weight.value, point = convPoint.weight.value
        let expanded = x.linear(weight: inverted.reshaped([inverted.shape[0], inverted.shape[1]]), bias: convInverted.bias?.value)
        let depthWeight = convDepth.weight.value, depthBias = convDepth.bias?.value
        let gated: Tensor
        if GradMode.isEnabled && (expanded.requiresGrad || depthWeight.requiresGrad || depthBias?.requiresGrad == true) {
            let mixed = SanaKernels.depthwiseConvolution(tokens: expanded.silu(), height: height, width: width,
                                                         weight: depthWeight, bias: depthBias)
            gated = SanaKernels.gatedLinearUnit(mixed)
        } else {
            // Nothing to differentiate (sampling): one fused pass, no intermediates.
            gated = SanaKernels.siluDepthwiseGLU(tokens: expanded, height: height, width: width, weight: depthWeight, bias: depthBias)
        }
        var y = gated.linear(weight: point.reshaped([point.shape[0], point.shape[1]]), bias: nil)
        if let norm { y = norm(y) }
        return residualConnection ? y + x : y
    }
}
