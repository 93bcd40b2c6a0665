/// The gated MLP of Llama/Qwen: down(silu(gate(x)) · up(x)), with `gate_proj`, `up_proj`, `down_proj`.
public final class SwiGLU: Module {
    public let gateProj: Linear, upProj: Linear, downProj: Linear

    public init(hidden: Int, intermediate: Int, bias: Bool = false, _ vb: ParameterBuilder) {
        gateProj = Linear(inputSize: hidden, outputSize: intermediate, bias: bias, vb.scoped("gate_proj"))
        upProj = Linear(inputSize: hidden, outputSize: intermediate, bias: bias, vb.scoped("up_proj"))
        downProj = Linear(inputSize: intermediate, outputSize: hidden, bias: bias, vb.scoped("down_proj"))
    }

    /// A randomly initialised MLP, drawing from `rng`.
    public convenience init(hidden: Int, intermediate: Int, bias: Bool = false, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(hidden: hidden, intermediate: intermediate, bias: bias, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] { ["gate_proj": gateProj, "up_proj": upProj, "down_proj": downProj] }
    public func callAsFunction(_ x: Tensor) -> Tensor { downProj(gateProj(x).silu() * upProj(x)) }
}
