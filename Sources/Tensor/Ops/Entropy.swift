import Foundation

// The entropy of categorical distributions given by their log-probabilities, fused with its derivative.

extension Tensor {
    /// H_k = −Σ_v exp(l_{r,v})·l_{r,v} for each row r = `rows[k]` of `self` viewed as log-probabilities
    /// [rows, V] (V the last axis); shape `[rows.count]`. The policy entropy of the rows a language
    /// model predicts its chosen tokens from (the entropy bonus, `top_entropy_quantile`).
    ///
    /// Fused so that no copy of the selected rows or of their probabilities stays on the tape: the
    /// pullback reads `self` again, dH_k/dl_{r,v} = −exp(l_{r,v})·(l_{r,v} + 1). Entries of −∞ (zero
    /// probability) contribute 0 and get no gradient.
    public func entropyOfLogProbabilities(rows selected: [Int]) -> Tensor {
        let n = shape.last ?? 1, total = elementCount / Swift.max(n, 1)
        precondition(selected.allSatisfy { $0 >= 0 && $0 < total }, "entropy row out of range 0..<\(total)")
        let source = self
        let src = storage.pointer
        let out = Tensor(shape: [selected.count]) { dst in
            let d = dst.baseAddress!
            Parallel.forEachRange(selected.count, costPerItem: n * 8) { range in
                for k in range {
                    let row = src + selected[k] * n
                    // Accumulated in Double: V can be 150k entries.
                    var h = 0.0
                    for v in 0..<n where row[v] > -Float.infinity { h -= Double(FastMath.exp(row[v]) * row[v]) }
                    d[k] = Float(h)
                }
            }
        }
        let original = shape
        return Tensor.record("log_prob_entropy", result: out, inputs: [self]) { g in
            let gp = g.storage.pointer, lp = source.storage.pointer
            let dx = Tensor.zeros(original)
            let dp = dx.storage.pointer
            // Rows may repeat: accumulate serially per distinct row order (deterministic).
            for (k, r) in selected.enumerated() {
                let row = lp + r * n, o = dp + r * n, gk = gp[k]
                for v in 0..<n where row[v] > -Float.infinity { o[v] -= gk * FastMath.exp(row[v]) * (row[v] + 1) }
            }
            return [dx]
        }
    }
}
