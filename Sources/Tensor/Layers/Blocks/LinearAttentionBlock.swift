/// SANA's ReLU linear self-attention as a layer: `to_q`, `to_k`, `to_v` (no bias) and `to_out`
/// (with bias), heads split from the channel dimension.
public final class LinearAttentionBlock: Module {
    public let heads: Int, eps: Float
    public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear

    public init(hidden: Int, heads: Int, eps: Float = 1e-15, rng: inout RandomState) {
        self.heads = heads; self.eps = eps
        toQ = Linear(inputSize: hidden, outputSize: hidden, bias: false, rng: &rng)
        toK = Linear(inputSize: hidden, outputSize: hidden, bias: false, rng: &rng)
        toV = Linear(inputSize: hidden, outputSize: hidden, bias: false, rng: &rng)
        toOut = Linear(inputSize: hidden, outputSize: hidden, bias: true, rng: &rng)
    }

    public var submodules: [String: any Module] { ["to_q": toQ, "to_k": toK, "to_v": toV, "to_out": toOut] }

    /// x [B, N, C] → [B, N, C].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        func heads(_ t: Tensor) -> Tensor { t.reshaped([b, n, self.heads, c / self.heads]).transposed(1, 2) }
        let o = Tensor.reluLinearAttention(query: heads(toQ(x)), key: heads(toK(x)), value: heads(toV(x)), eps: eps)
        return toOut(o.transposed(1, 2).reshaped([b, n, c]))
    }
}
