extension Tensor {
    /// Picks one entry per row of the last axis: result[i] = self[i, indices[i]] for self viewed
    /// as [rows, n]; the result has the shape without its last axis. Typical use: the
    /// log-probabilities of chosen tokens from log-softmax outputs.
    public func gathering(alongLastAxis indices: [Int]) -> Tensor {
        let n = shape.last ?? 1, rows = elementCount / Swift.max(n, 1)
        precondition(indices.count == rows, "\(indices.count) indices for \(rows) rows of shape \(shape)")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "gather index out of range 0..<\(n)")
        let src = storage.pointer
        let out = Tensor(shape: Array(shape.dropLast())) { d in for r in 0..<rows { d[r] = src[r * n + indices[r]] } }
        let original = shape
        return Tensor.record("gather_last", result: out, inputs: [self]) { g in
            let dx = Tensor.zeros(original)
            let dp = dx.storage.pointer, gp = g.storage.pointer
            for r in 0..<rows { dp[r * n + indices[r]] += gp[r] }
            return [dx]
        }
    }

    /// Mean cross-entropy of logits [..., V] against integer targets, skipping rows whose target
    /// is `ignoreIndex` (PyTorch's `F.cross_entropy(..., ignore_index=-100)`).
    public func crossEntropy(targets: [Int], ignoreIndex: Int = -100) -> Tensor {
        let n = shape.last ?? 1
        let rows = elementCount / Swift.max(n, 1)
        precondition(targets.count == rows, "\(targets.count) targets for \(rows) rows")
        let kept = targets.enumerated().filter { $0.element != ignoreIndex }
        let picked = reshaped([rows, n]).indexSelect(axis: 0, kept.map(\.offset))
        let nll = -picked.logSoftmax(axis: -1).gathering(alongLastAxis: kept.map(\.element))
        return nll.mean()
    }
}
