extension Tensor {
    /// `f(inputs)` without keeping its intermediate activations: the forward runs off the tape,
    /// and the backward runs `f` again on the tape and backpropagates through that (gradient
    /// checkpointing, as PyTorch's `torch.utils.checkpoint`). Memory: one call's activations at
    /// a time during the backward instead of every call's; cost: one more forward of `f`.
    ///
    /// `f` must be deterministic (same inputs, same output) and depend only on `inputs` and on
    /// parameters; its parameters' gradients are accumulated when the backward reaches this call,
    /// in the same operations and order as without recomputation, so they are identical. When no
    /// input requires a gradient, `f` runs on the tape as usual (nothing would call the backward
    /// that fills its parameters' gradients).
    public static func recomputed(_ inputs: [Tensor], _ f: @escaping ([Tensor]) -> Tensor) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: \.requiresGrad) else { return f(inputs) }
        let out = withoutGrad { f(inputs.map { $0.detached() }) }
        return Tensor.record("recomputed", result: out, inputs: inputs) { g in
            GradMode.$isEnabled.withValue(true) {
                let again = inputs.map { $0.requiresGrad ? $0.detached().requiringGrad() : $0.detached() }
                f(again).backward(g)
                return again.map { $0.requiresGrad ? $0.grad : nil }
            }
        }
    }
}
