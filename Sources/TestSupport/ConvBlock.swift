import UniRLTensor

/// Configuration of ``ConvBlock``.
public struct ConvBlockConfiguration: Codable, Sendable, Equatable {
    public var inChannels: Int, midChannels: Int, groups: Int, eps: Float
    public init(inChannels: Int, midChannels: Int, groups: Int, eps: Float = 1e-6) {
        self.inChannels = inChannels; self.midChannels = midChannels; self.groups = groups; self.eps = eps
    }
    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", midChannels = "mid_channels", groups, eps
    }
}

/// A convolutional residual block that exercises every image op of the engine, used as the
/// conv parity fixture and benchmark:
///
///     h = conv3(dw(SiLU(GN₂(conv1(SiLU(GN₁(x))))))) + shortcut(x)
///     y = down(h)                                  (3×3, stride 2)
///     out = pixel_unshuffle(pixel_shuffle(expand(y), 2) + nearest_up(y, 2), 2)
public final class ConvBlock: Module {
    public let configuration: ConvBlockConfiguration
    public let norm1: GroupNorm, conv1: Conv2d, norm2: GroupNorm, conv2: Conv2d, conv3: Conv2d
    public let shortcut: Conv2d, down: Conv2d, expand: Conv2d

    public init(_ c: ConvBlockConfiguration, rng: inout RandomState) {
        configuration = c
        norm1 = GroupNorm(groups: c.groups, channels: c.inChannels, eps: c.eps)
        conv1 = Conv2d(inChannels: c.inChannels, outChannels: c.midChannels, kernelSize: 3, padding: 1, rng: &rng)
        norm2 = GroupNorm(groups: c.groups, channels: c.midChannels, eps: c.eps)
        conv2 = Conv2d(inChannels: c.midChannels, outChannels: c.midChannels, kernelSize: 3, padding: 1, groups: c.midChannels, rng: &rng)
        conv3 = Conv2d(inChannels: c.midChannels, outChannels: c.midChannels, kernelSize: 1, groups: c.groups, rng: &rng)
        shortcut = Conv2d(inChannels: c.inChannels, outChannels: c.midChannels, kernelSize: 1, rng: &rng)
        down = Conv2d(inChannels: c.midChannels, outChannels: c.inChannels, kernelSize: 3, stride: 2, padding: 1, rng: &rng)
        expand = Conv2d(inChannels: c.inChannels, outChannels: 4 * c.inChannels, kernelSize: 1, rng: &rng)
    }

    public var submodules: [String: any Module] {
        ["norm1": norm1, "conv1": conv1, "norm2": norm2, "conv2": conv2, "conv3": conv3,
         "shortcut": shortcut, "down": down, "expand": expand]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv3(conv2(norm2(conv1(norm1(x).silu())).silu())) + shortcut(x)
        let y = down(h)
        return (expand(y).pixelShuffle(2) + y.upsampledNearest(2)).pixelUnshuffle(2)
    }
}
