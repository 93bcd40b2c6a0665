/// RMSNorm over the last axis with a learned scale (initialised to 1).
public final class RMSNorm: Module {
    public let weight: Parameter
    public let eps: Float
    public init(dimension: Int, eps: Float = 1e-6) {
        weight = Parameter(.ones([dimension]))
        self.eps = eps
    }
    public var parameters: [String: Parameter] { ["weight": weight] }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight.value, eps: eps) }
}

/// LayerNorm over the last axis, optionally with a learned scale and shift.
public final class LayerNorm: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let eps: Float
    public init(dimension: Int, eps: Float = 1e-5, affine: Bool = true, bias: Bool = true) {
        weight = affine ? Parameter(.ones([dimension])) : nil
        self.bias = affine && bias ? Parameter(.zeros([dimension])) : nil
        self.eps = eps
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
    public init(groups: Int, channels: Int, eps: Float = 1e-5, affine: Bool = true) {
        self.groups = groups
        weight = affine ? Parameter(.ones([channels])) : nil
        bias = affine ? Parameter(.zeros([channels])) : nil
        self.eps = eps
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
