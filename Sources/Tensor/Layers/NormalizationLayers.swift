/// RMSNorm over the last axis with a learned scale (initialised to 1) and, when built with
/// `bias: true`, a learned shift (diffusers' `RMSNorm` with `elementwise_affine`): y = x / √(mean(x²) + ε) · w (+ b).
public final class RMSNorm: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let eps: Float

    public init(dimension: Int, eps: Float = 1e-6, bias: Bool = false, _ vb: ParameterBuilder) {
        weight = vb.parameter("weight", [dimension], .ones)
        self.bias = bias ? vb.parameter("bias", [dimension], .zeros) : nil
        self.eps = eps
    }

    /// A freshly initialised norm (scale 1, no shift).
    public convenience init(dimension: Int, eps: Float = 1e-6) {
        self.init(dimension: dimension, eps: eps, .random(RandomState(seed: 0)))
    }

    public var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x.rmsNorm(weight: weight.value, eps: eps)
        return bias.map { y + $0.value } ?? y
    }

    /// Normalises [N, C, H, W] over the channels, as diffusers' `norm(x.movedim(1, -1)).movedim(-1, 1)`.
    public func channelsFirst(_ x: Tensor) -> Tensor {
        callAsFunction(x.permuted([0, 2, 3, 1])).permuted([0, 3, 1, 2])
    }
}

/// LayerNorm over the last axis, optionally with a learned scale and shift.
public final class LayerNorm: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let eps: Float

    public init(dimension: Int, eps: Float = 1e-5, affine: Bool = true, bias: Bool = true, _ vb: ParameterBuilder) {
        weight = affine ? vb.parameter("weight", [dimension], .ones) : nil
        self.bias = affine && bias ? vb.parameter("bias", [dimension], .zeros) : nil
        self.eps = eps
    }

    /// A freshly initialised norm (scale 1, shift 0).
    public convenience init(dimension: Int, eps: Float = 1e-5, affine: Bool = true, bias: Bool = true) {
        self.init(dimension: dimension, eps: eps, affine: affine, bias: bias, .random(RandomState(seed: 0)))
    }

    public var parameters: [String: Parameter] {
        var p: [String: Parameter] = [:]
        if let weight { p["weight"] = weight }
        if let bias { p["bias"] = bias }
        return p
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight?.value, bias: bias?.value, eps: eps) }
}

/// GroupNorm of [N, C, …] with a per-channel scale and shift.
public final class GroupNorm: Module {
    public let groups: Int
    public let weight: Parameter?
    public let bias: Parameter?
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5, affine: Bool = true, _ vb: ParameterBuilder) {
        self.groups = groups
        weight = affine ? vb.parameter("weight", [channels], .ones) : nil
        bias = affine ? vb.parameter("bias", [channels], .zeros) : nil
        self.eps = eps
    }

    /// A freshly initialised norm (scale 1, shift 0).
    public convenience init(groups: Int, channels: Int, eps: Float = 1e-5, affine: Bool = true) {
        self.init(groups: groups, channels: channels, eps: eps, affine: affine, .random(RandomState(seed: 0)))
    }

    public var parameters: [String: Parameter] {
        var p: [String: Parameter] = [:]
        if let weight { p["weight"] = weight }
        if let bias { p["bias"] = bias }
        return p
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.groupNorm(groups: groups, weight: weight?.value, bias: bias?.value, eps: eps)
    }
}
