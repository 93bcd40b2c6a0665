import UniRLTensor

// The layers the SANA models are made of, built through a ``SanaParameterFactory`` so that one
// construction path serves random initialisation, checkpoint loading and shape listing. Each one
// computes what its PyTorch / diffusers counterpart computes, with the same parameter names.

/// `nn.Linear`: y = x·Wᵀ + b, W [out, in], default init U(±1/√in).
final class SanaLinear: Module {
    let weight: Parameter
    let bias: Parameter?

    /// `zeroInitialized`: weight and bias start at 0 under random initialisation (diffusers'
    /// `zero_module`, as UniRL-Zero's `ref_linear`).
    init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true, zeroInitialized: Bool = false, _ factory: SanaParameterFactory) {
        let bound = 1 / Float(inputSize).squareRoot()
        weight = factory.parameter([outputSize, inputSize], zeroInitialized ? .zeros : .uniform(bound: bound))
        self.bias = bias ? factory.parameter([outputSize], zeroInitialized ? .zeros : .uniform(bound: bound)) : nil
    }

    var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight.value, bias: bias?.value) }
}

/// `nn.Conv2d` with a square kernel, symmetric zero padding and equal strides; weight
/// [out, in/groups, k, k], default init U(±1/√fan_in), fan_in = in/groups·k².
final class SanaConv2d: Module {
    let weight: Parameter
    let bias: Parameter?
    let stride: Int, padding: Int, groups: Int

    init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1,
         bias: Bool = true, _ factory: SanaParameterFactory) {
        let bound = 1 / Float(inChannels / groups * kernelSize * kernelSize).squareRoot()
        weight = factory.parameter([outChannels, inChannels / groups, kernelSize, kernelSize], .uniform(bound: bound))
        self.bias = bias ? factory.parameter([outChannels], .uniform(bound: bound)) : nil
        self.stride = stride; self.padding = padding; self.groups = groups
    }

    var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    /// x [N, Cin, H, W] → [N, Cout, H', W'].
    func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding, groups: groups)
    }
}

/// diffusers' `RMSNorm` (models/normalization.py) with `elementwise_affine=True`:
/// y = x / √(mean(x²) + ε) · w (+ b when built with `bias: true`).
final class SanaRMSNorm: Module {
    let weight: Parameter
    let bias: Parameter?
    let eps: Float

    init(_ dimension: Int, eps: Float, bias: Bool = false, _ factory: SanaParameterFactory) {
        weight = factory.parameter([dimension], .ones)
        self.bias = bias ? factory.parameter([dimension], .zeros) : nil
        self.eps = eps
    }

    var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    /// Normalises over the last axis.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x.rmsNorm(weight: weight.value, eps: eps)
        return bias.map { y + $0.value } ?? y
    }

    /// Normalises [N, C, H, W] over the channels, as diffusers' `norm(x.movedim(1, -1)).movedim(-1, 1)`.
    func channelsFirst(_ x: Tensor) -> Tensor {
        callAsFunction(x.permuted([0, 2, 3, 1])).permuted([0, 3, 1, 2])
    }
}

/// `nn.LayerNorm` over the last axis, with or without its affine weight and bias.
final class SanaLayerNorm: Module {
    let weight: Parameter?
    let bias: Parameter?
    let eps: Float

    init(_ dimension: Int, eps: Float, affine: Bool, _ factory: SanaParameterFactory) {
        weight = affine ? factory.parameter([dimension], .ones) : nil
        bias = affine ? factory.parameter([dimension], .zeros) : nil
        self.eps = eps
    }

    var parameters: [String: Parameter] {
        var p: [String: Parameter] = [:]
        if let weight { p["weight"] = weight }
        if let bias { p["bias"] = bias }
        return p
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight?.value, bias: bias?.value, eps: eps) }
}
