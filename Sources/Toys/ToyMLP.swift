import UniRLTensor

/// A small multilayer perceptron, `Linear → tanh → … → Linear`, for the toy policies.
public final class ToyMLP: Module {
    public let layers: ModuleList<Linear>

    /// `sizes` = [input, hidden…, output].
    public init(sizes: [Int], rng: inout RandomState) {
        precondition(sizes.count >= 2, "an MLP needs an input and an output size")
        var layers: [Linear] = []
        for (a, b) in zip(sizes, sizes.dropFirst()) { layers.append(Linear(inputSize: a, outputSize: b, rng: &rng)) }
        self.layers = ModuleList(layers)
    }

    public var submodules: [String: any Module] { ["layers": layers] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (i, layer) in layers.items.enumerated() {
            h = layer(h)
            if i < layers.count - 1 { h = h.tanh() }
        }
        return h
    }

    /// Copies every parameter value from `other` (same architecture).
    public func load(from other: ToyMLP) {
        let mine = namedParameters(), theirs = Dictionary(uniqueKeysWithValues: other.namedParameters().map { ($0.name, $0.parameter) })
        for (name, p) in mine { p.assign(theirs[name]!.value) }
    }
}
