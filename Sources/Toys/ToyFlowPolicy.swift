import Foundation
import UniRLCore
import UniRLTensor

/// A tiny flow-matching model of 2-D points with Flow-GRPO's SDE sampler, the continuous expert
/// of ``ToyFlowScenario`` and of the tests.
///
/// The network predicts the velocity v_θ(x_t, t) = ε − x_0 of x_t = (1 − t)·x_0 + t·ε. Sampling
/// runs `steps` steps of a linear schedule 1 = t_0 > … > t_T = 0; each step (dt = t_{k+1} − t_k)
///
///     σ_k = a·√(t_k / (1 − t_k))   (at t = 1 the denominator uses t_1)
///     μ_k = x_k + [v + σ_k²/(2t_k)·(x_k + (1 − t_k)·v)]·dt
///     x_{k+1} = μ_k + σ_k·√(−dt)·z
///
/// with log-prob the Gaussian log-density averaged over the two dimensions
/// (flow_grpo/diffusers_patch/sd3_sde_with_logprob.py, `sde_type="sde"`). Outside the
/// ``samplingPlan``'s window a step is the Euler step x_{k+1} = x_k + v·dt (σ = 0) and is no action.
public final class ToyFlowPolicy: SDEPolicyExpert, SDESamplingConfigurable {
    public typealias Condition = Void

    /// The visited points x_0 … x_T (`[steps + 1, 2]`), the stochastic steps (the actions) and their log-probs.
    public struct Rollout: RecordedActions, Sendable {
        public let path: Tensor
        /// The steps k (x_k → x_{k+1}) that drew noise, increasing.
        public let steps: [Int]
        public let actionLogProbs: [Float]
        /// The final point.
        public var point: (x: Float, y: Float) {
            let s = path.scalars
            return (s[s.count - 2], s[s.count - 1])
        }
    }

    public let name: String
    public let network: ToyMLP
    public let steps: Int
    /// a, the SDE noise level. Default 0.7.
    public let noiseLevel: Float
    /// t_0 = 1 > t_1 > … > t_T = 0.
    public let timesteps: [Float]
    public var module: any Module { network }
    /// The window of stochastic steps and initial-noise sharing of the next ``sample(_:using:)``.
    public var samplingPlan = SDESamplingPlan.standard

    public init(name: String = "dm", hidden: Int = 64, steps: Int = 8, noiseLevel: Float = 0.7, rng: inout RandomState) {
        self.name = name
        self.steps = steps
        self.noiseLevel = noiseLevel
        timesteps = (0...steps).map { 1 - Float($0) / Float(steps) }
        network = ToyMLP(sizes: [3, hidden, hidden, 2], rng: &rng)
    }

    /// A new policy with the same weights.
    public func copy(name: String? = nil) -> ToyFlowPolicy {
        var rng = RandomState(seed: 0)
        let c = ToyFlowPolicy(name: name ?? self.name, hidden: network.layers[0].weight.shape[0], steps: steps,
                              noiseLevel: noiseLevel, rng: &rng)
        c.network.load(from: network)
        return c
    }

    /// v_θ for points `x` `[n, 2]` at per-row times `t`.
    public func velocity(_ x: Tensor, t: [Float]) -> Tensor {
        network(Tensor.concatenate([x, Tensor(shape: [t.count, 1], scalars: t)], axis: 1))
    }

    /// σ_k of step k.
    public func noiseScale(step k: Int) -> Float {
        let t = timesteps[k]
        let denominator = 1 - (t == 1 ? timesteps[1] : t)
        return noiseLevel * (t / denominator).squareRoot()
    }

    /// μ_k for rows of points at steps `ks` (taped through `v`).
    func stepMean(_ x: Tensor, v: Tensor, steps ks: [Int]) -> Tensor {
        var a: [Float] = [], b: [Float] = []
        for k in ks {
            let t = timesteps[k], dt = timesteps[k + 1] - t, s = noiseScale(step: k)
            let c = s * s / (2 * t)
            a.append(1 + c * dt)
            b.append((1 + c * (1 - t)) * dt)
        }
        return x * Tensor(shape: [ks.count, 1], scalars: a) + v * Tensor(shape: [ks.count, 1], scalars: b)
    }

    /// Gaussian log-density of `next` under N(μ, σ_k²·(−dt)), averaged over dimensions, per row.
    func stepLogProb(_ next: Tensor, mean: Tensor, steps ks: [Int]) -> Tensor {
        var inverseTwoVariance: [Float] = [], constant: [Float] = []
        for k in ks {
            let std = noiseScale(step: k) * (timesteps[k] - timesteps[k + 1]).squareRoot()
            inverseTwoVariance.append(1 / (2 * std * std))
            constant.append(-Foundation.log(std) - 0.5 * Foundation.log(2 * Float.pi))
        }
        let n = ks.count
        let quadratic = (next - mean).square() * Tensor(shape: [n, 1], scalars: inverseTwoVariance)
        return (Tensor(shape: [n, 1], scalars: constant) - quadratic).mean(axis: 1)
    }

    public func sample(_ conditions: [Void], using rng: inout RandomState) throws -> [Rollout] {
        let n = conditions.count
        var x = samplingPlan.initialNoise(rows: n, shape: [2], using: &rng)
        let window = samplingPlan.window.steps(samplerSteps: steps, trainingStep: samplingPlan.trainingStep, using: &rng)
        var path = [x], logProbs: [Tensor] = []
        try withoutGrad {
            for k in 0..<steps {
                let ks = [Int](repeating: k, count: n)
                let v = velocity(x, t: [Float](repeating: timesteps[k], count: n))
                guard window.contains(k) else {
                    x = x + v * (timesteps[k + 1] - timesteps[k])
                    path.append(x)
                    continue
                }
                let mean = stepMean(x, v: v, steps: ks)
                let std = noiseScale(step: k) * (timesteps[k] - timesteps[k + 1]).squareRoot()
                let next = mean + Tensor.randomNormal([n, 2], using: &rng) * std
                logProbs.append(stepLogProb(next, mean: mean, steps: ks))
                path.append(next)
                x = next
                if !next.scalars.allSatisfy(\.isFinite) { throw ToyFlowError.diverged }
            }
        }
        let points = Tensor.stack(path, axis: 1)            // [n, T+1, 2]
        let actions = Array(window)
        let lps = Tensor.stack(logProbs, axis: 1).scalars    // [n, actions]
        return (0..<n).map { i in
            Rollout(path: points.slice(axis: 0, i..<(i + 1)).reshaped([steps + 1, 2]), steps: actions,
                    actionLogProbs: Array(lps[(i * actions.count)..<((i + 1) * actions.count)]))
        }
    }

    /// Replays the recorded steps of every rollout in one batch: μ_θ and log p on the tape.
    public func replay(_ rollouts: [Rollout], given conditions: [Void]) throws -> [SDEReplay] {
        var current: [Tensor] = [], next: [Tensor] = [], ks: [Int] = []
        for r in rollouts {
            current.append(r.path.indexSelect(axis: 0, r.steps))
            next.append(r.path.indexSelect(axis: 0, r.steps.map { $0 + 1 }))
            ks += r.steps
        }
        guard !ks.isEmpty else { return [] }
        let x = Tensor.concatenate(current, axis: 0), target = Tensor.concatenate(next, axis: 0)
        let mean = stepMean(x, v: velocity(x, t: ks.map { timesteps[$0] }), steps: ks)
        let logProbs = stepLogProb(target, mean: mean, steps: ks)
        var start = 0
        return rollouts.map { r in
            let rows = start..<(start + r.steps.count)
            start += r.steps.count
            return SDEReplay(logProbs: logProbs.slice(axis: 0, rows), means: mean.slice(axis: 0, rows),
                             noiseScales: r.steps.map { noiseScale(step: $0) },
                             stepSizes: r.steps.map { timesteps[$0] - timesteps[$0 + 1] })
        }
    }

    /// Flow-matching pre-training ("cold start") on points drawn by `data`: minimises
    /// ‖v_θ(x_t, t) − (ε − x_0)‖² with t = sigmoid(n), n ~ N(0, 1). Returns the losses.
    @discardableResult
    public func pretrain(steps count: Int, batchSize: Int = 256, learningRate: Float = 3e-3,
                         data: (inout RandomState) -> (Float, Float), rng: inout RandomState) -> [Float] {
        let optimizer = AdamW(parameters: network.trainableParameters(), learningRate: learningRate, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<count {
            var x0: [Float] = [], t: [Float] = []
            for _ in 0..<batchSize {
                let p = data(&rng)
                x0 += [p.0, p.1]
                t.append(1 / (1 + Foundation.exp(-rng.nextNormal())))
            }
            let clean = Tensor(shape: [batchSize, 2], scalars: x0)
            let noise = Tensor.randomNormal([batchSize, 2], using: &rng)
            let tt = Tensor(shape: [batchSize, 1], scalars: t)
            let xt = clean * (1 - tt) + noise * tt
            let loss = (velocity(xt, t: t) - (noise - clean)).square().mean()
            network.zeroGrad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item)
        }
        network.zeroGrad()
        return losses
    }
}

public enum ToyFlowError: Error {
    case diverged
}
