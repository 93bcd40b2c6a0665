/// y = x·Wᵀ + b, with W [out, in] as in PyTorch's `nn.Linear` (and its default initialisation,
/// U(−1/√in, 1/√in) for weight and bias).
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    /// A low-rank adapter added to the output (``LoRA``); its weights appear as `lora_A.weight` and
    /// `lora_B.weight` under this layer, as PEFT names them. Default none.
    public var adapter: LoRAAdapter?

    /// A layer whose `weight` (and `bias`) come from `vb`, scoped to this layer's path.
    /// `zeroInitialized`: both start at 0 under random initialisation (diffusers' `zero_module`).
    public init(inputSize: Int, outputSize: Int, bias: Bool = true, zeroInitialized: Bool = false, _ vb: ParameterBuilder) {
        let initializer: ParameterInitializer = zeroInitialized ? .zeros : .uniform(bound: 1 / Float(inputSize).squareRoot())
        weight = vb.matrix("weight", [outputSize, inputSize], initializer)
        self.bias = bias ? vb.parameter("bias", [outputSize], initializer) : nil
    }

    /// A randomly initialised layer, drawing from `rng`.
    public convenience init(inputSize: Int, outputSize: Int, bias: Bool = true, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(inputSize: inputSize, outputSize: outputSize, bias: bias, vb)
        rng = vb.randomState
    }

    public var parameters: [String: Parameter] {
        var p = ["weight": weight]
        if let bias { p["bias"] = bias }
        return p
    }

    public var submodules: [String: any Module] { adapter?.submodules ?? [:] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let base =
            if let frozen = weight.bfloat16 { x.linear(bfloat16: frozen, bias: bias?.value) } else {
                x.linear(weight: weight.value, bias: bias?.value)
            }
        guard let adapter, adapter.isEnabled else { return base }
        return base + adapter(x)
    }
}

/// A lookup table of `count` vectors of size `dimension` (PyTorch's `nn.Embedding`, N(0, 1) init).
public final class Embedding: Module {
    public let weight: Parameter

    public init(count: Int, dimension: Int, _ vb: ParameterBuilder) {
        weight = vb.matrix("weight", [count, dimension], .normal(std: 1))
    }

    /// A randomly initialised table, drawing from `rng`.
    public convenience init(count: Int, dimension: Int, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(count: count, dimension: dimension, vb)
        rng = vb.randomState
    }

    public var parameters: [String: Parameter] { ["weight": weight] }

    /// Looks up `ids` laid out as `shape`; the result is shape + [dimension].
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        if let frozen = weight.bfloat16 { return Tensor.embedding(frozen, ids: ids, idsShape: shape) }
        return Tensor.embedding(weight.value, ids: ids, idsShape: shape)
    }
}
