import Foundation
import UniRLTensor

/// Picks one token from a row of logits: greedy, or a draw from the tempered distribution
/// restricted by top-k and top-p; returns the token and its log-probability (see
/// ``GenerationOptions`` for which distribution that is).
struct TokenSampler {
    let options: GenerationOptions

    /// log softmax(logits / T), in float64 for the normaliser.
    func logProbabilities(_ logits: UnsafeBufferPointer<Float>) -> [Float] {
        let t = options.logProbTemperature
        var m = -Float.infinity
        for v in logits { m = max(m, v / t) }
        var s = 0.0
        for v in logits { s += Foundation.exp(Double(v / t - m)) }
        let log = Float(Foundation.log(s)) + m
        return logits.map { $0 / t - log }
    }

    /// The tokens that may be drawn, most likely first: top-k, then top-p over the tempered
    /// probabilities (transformers applies the warpers in this order).
    func candidates(_ logProbs: [Float]) -> [Int] {
        var order = Array(logProbs.indices)
        order.sort { logProbs[$0] > logProbs[$1] || (logProbs[$0] == logProbs[$1] && $0 < $1) }
        if let k = options.topK, k > 0, k < order.count { order = Array(order.prefix(k)) }
        if let p = options.topP, p < 1 {
            // Renormalise over the kept tokens, keep the shortest prefix whose mass reaches p.
            let total = order.reduce(0.0) { $0 + Foundation.exp(Double(logProbs[$1])) }
            var mass = 0.0, keep = 0
            for i in order {
                mass += Foundation.exp(Double(logProbs[i])) / total
                keep += 1
                if mass >= Double(p) { break }
            }
            order = Array(order.prefix(max(keep, 1)))
        }
        return order
    }

    func pick(_ logits: UnsafeBufferPointer<Float>, rng: inout RandomState) -> (token: Int, logProb: Float) {
        let lp = logProbabilities(logits)
        if options.temperature == 0 {
            var best = 0
            for i in lp.indices where lp[i] > lp[best] { best = i }
            return (best, lp[best])
        }
        let allowed = candidates(lp)
        let weights = allowed.map { Foundation.exp(Double(lp[$0])) }
        let u = Double(rng.nextUniform()) * weights.reduce(0, +)
        var c = 0.0
        for (i, w) in zip(allowed, weights) {
            c += w
            if u < c { return (i, lp[i]) }
        }
        return (allowed.last!, lp[allowed.last!])
    }
}
