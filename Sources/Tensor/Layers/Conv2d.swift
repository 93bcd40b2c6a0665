/// 2-D convolution layer (PyTorch's `nn.Conv2d`, square kernel, default initialisation
/// U(−1/√fan_in, 1/√fan_in), fan_in = Cin/groups · k²).
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, groups: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, rng: inout RandomState) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "channels must divide into \(groups) groups")
        let fanIn = inChannels / groups * kernelSize * kernelSize
        let bound = 1 / Float(fanIn).squareRoot()
        weight = Parameter(.randomUniform([outChannels, inChannels / groups, kernelSize, kernelSize], low: -bound, high: bound, using: &rng))
        self.bias = bias ? Parameter(.randomUniform([outChannels], low: -bound, high: bound, using: &rng)) : nil
        self.stride = stride; self.padding = padding; self.groups = groups
    }

    public var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding, groups: groups)
    }
}
