/// y = x·Wᵀ + b, with W [out, in] as in PyTorch's `nn.Linear` (and its default initialisation,
/// U(−1/√in, 1/√in) for weight and bias).
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    /// A low-rank adapter added to the output (``LoRA``); its weights appear as `lora_A.weight` and
    /// `lora_B.weight` under this layer, as PEFT names them. Default none.
    public var adapter: LoRAAdapter?

    public init(inputSize: Int, outputSize: Int, bias: Bool = true, rng: inout RandomState) {
        let bound = 1 / Float(inputSize).squareRoot()
        weight = Parameter(.randomUniform([outputSize, inputSize], low: -bound, high: bound, using: &rng))
        self.bias = bias ? Parameter(.randomUniform([outputSize], low: -bound, high: bound, using: &rng)) : nil
    }

    public var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    public var submodules: [String: any Module] { adapter?.submodules ?? [:] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let base = x.linear(weight: weight.value, bias: bias?.value)
        guard let adapter, adapter.isEnabled else { return base }
        return base + adapter(x)
    }
}

/// A lookup table of `count` vectors of size `dimension` (PyTorch's `nn.Embedding`, N(0, 1) init).
public final class Embedding: Module {
    public let weight: Parameter

    public init(count: Int, dimension: Int, rng: inout RandomState) {
        weight = Parameter(.randomNormal([count, dimension], using: &rng))
    }

    public var parameters: [String: Parameter] { ["weight": weight] }

    /// Looks up `ids` laid out as `shape`; the result is shape + [dimension].
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        Tensor.embedding(weight.value, ids: ids, idsShape: shape)
    }
}
