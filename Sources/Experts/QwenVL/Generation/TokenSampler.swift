import Foundation
import UniRLTensor

/// Picks one token from a row of logits: greedy, or a draw from the tempered distribution
/// restricted by top-k and top-p; returns the token and its log-probability (see
/// ``GenerationOptions`` for which distribution that is).
struct TokenSampler {
    var options: GenerationOptions

    /// log softmax(logits / T) (the normaliser summed in float64).
    func logProbabilities(_ logits: UnsafeBufferPointer<Float>) -> [Float] {
        logProbabilitiesAndWeights(logits).logProbs
    }

    /// log softmax(logits / T) and the unnormalised weights exp(logit/T − max) with their sum.
    func logProbabilitiesAndWeights(_ logits: UnsafeBufferPointer<Float>) -> (logProbs: [Float], weights: [Float], total: Double) {
        let inv = 1 / options.logProbTemperature
        var m = -Float.infinity
        for v in logits { m = max(m, v * inv) }
        var weights = [Float](repeating: 0, count: logits.count)
        var s = 0.0
        for i in 0..<logits.count {
            let w = Foundation.exp(logits[i] * inv - m)
            weights[i] = w
            s += Double(w)
        }
        let log = Float(Foundation.log(s)) + m
        return (logits.map { $0 * inv - log }, weights, s)
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
        let (lp, weights, total) = logProbabilitiesAndWeights(logits)
        let suppressed = options.suppressedTokens
        if options.temperature == 0 {
            var best = -1
            for i in lp.indices where !suppressed.contains(i) && (best < 0 || lp[i] > lp[best]) { best = i }
            return (max(best, 0), lp[max(best, 0)])
        }
        // Suppressed tokens by rejection: wherever an unrestricted draw picks an allowed token the
        // result (and the random stream) is the same as without suppression.
        for _ in 0..<32 {
            let drawn = drawOnce(lp, weights: weights, total: total, rng: &rng)
            if !suppressed.contains(drawn.token) { return drawn }
        }
        let allowed = candidates(lp).filter { !suppressed.contains($0) }
        return allowed.isEmpty ? (0, lp[0]) : draw(allowed, weights: weights, logProbs: lp, rng: &rng)
    }

    /// One draw from the tempered distribution restricted by top-k and top-p.
    func drawOnce(_ lp: [Float], weights: [Float], total: Double, rng: inout RandomState) -> (token: Int, logProb: Float) {
        if options.topK == nil && (options.topP ?? 1) >= 1 {
            // No truncation: draw from the whole distribution without sorting it.
            let u = Double(rng.nextUniform()) * total
            var c = 0.0
            for i in weights.indices {
                c += Double(weights[i])
                if u < c { return (i, lp[i]) }
            }
            var last = lp.count - 1
            while last > 0 && lp[last] == -.infinity { last -= 1 }
            return (last, lp[last])
        }
        return draw(candidates(lp), weights: weights, logProbs: lp, rng: &rng)
    }

    /// A draw among `allowed` (not empty) in proportion to their weights.
    func draw(_ allowed: [Int], weights: [Float], logProbs lp: [Float], rng: inout RandomState) -> (token: Int, logProb: Float) {
        let kept = allowed.map { Double(weights[$0]) }
        let u = Double(rng.nextUniform()) * kept.reduce(0, +)
        var c = 0.0
        for (i, w) in zip(allowed, kept) {
            c += w
            if u < c { return (i, lp[i]) }
        }
        return (allowed.last!, lp[allowed.last!])
    }
}
