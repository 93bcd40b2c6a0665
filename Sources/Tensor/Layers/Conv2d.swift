/// 2-D convolution layer (PyTorch's `nn.Conv2d`, square kernel, default initialisation
/// U(−1/√fan_in, 1/√fan_in), fan_in = Cin/groups · k²).
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, groups: Int

    /// A layer whose `weight` [out, in/groups, k, k] (and `bias`) come from `vb`.
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, _ vb: ParameterBuilder) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "channels must divide into \(groups) groups")
        let bound = 1 / Float(inChannels / groups * kernelSize * kernelSize).squareRoot()
        weight = vb.parameter("weight", [outChannels, inChannels / groups, kernelSize, kernelSize], .uniform(bound: bound))
        self.bias = bias ? vb.parameter("bias", [outChannels], .uniform(bound: bound)) : nil
        self.stride = stride; self.padding = padding; self.groups = groups
    }

    /// A randomly initialised layer, drawing from `rng`.
    public convenience init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            groups: Int = 1, bias: Bool = true, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride, padding: padding,
                  groups: groups, bias: bias, vb)
        rng = vb.randomState
    }

    public var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    /// x [N, Cin, H, W] → [N, Cout, H', W'].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding, groups: groups)
    }
}
