import UniRLTensor

/// The pass rule used to compare our tensors with a reference implementation's (docs/ARCHITECTURE.md,
/// "Parity fixtures"): relative to the largest reference magnitude, never element-wise, because
/// gradient magnitudes span many decades.
public enum ReferenceComparison {
    /// max|a − b| over the positions where `mask` (broadcast to the shape) is non-zero.
    public static func maxAbsDifference(_ a: Tensor, _ b: Tensor, mask: Tensor? = nil) -> Float {
        precondition(a.shape == b.shape, "comparing shapes \(a.shape) and \(b.shape)")
        let m = mask.map { $0.broadcast(to: a.shape) }
        var worst: Float = 0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<pa.count where m == nil || m!.storage.pointer[i] != 0 {
                    let d = Swift.abs(pa[i] - pb[i])
                    if d.isNaN || d > worst { worst = d.isNaN ? .infinity : d }
                }
            }
        }
        return worst
    }

    /// max|b| over the compared positions.
    public static func maxAbs(_ b: Tensor, mask: Tensor? = nil) -> Float {
        let m = mask.map { $0.broadcast(to: b.shape) }
        var best: Float = 0
        b.withUnsafeBufferPointer { pb in
            for i in 0..<pb.count where m == nil || m!.storage.pointer[i] != 0 { best = Swift.max(best, Swift.abs(pb[i])) }
        }
        return best
    }

    /// An output passes when max|a − b| ≤ atol + rtol · max|b|. Returns (passed, max|a−b| / max|b|).
    public static func checkOutput(_ a: Tensor, _ b: Tensor, rtol: Float, atol: Float, mask: Tensor? = nil)
        -> (passed: Bool, relative: Float) {
        let diff = maxAbsDifference(a, b, mask: mask), scale = maxAbs(b, mask: mask)
        return (diff <= atol + rtol * scale, diff / Swift.max(scale, .leastNormalMagnitude))
    }

    /// Gradients pass when max|a − b| ≤ gradRtol · max(max|b|, 1e-3 · S), S the largest max|b| of
    /// all the case's gradients. Returns per-name results and the worst relative error.
    public static func checkGradients(_ ours: [String: Tensor], _ reference: [String: Tensor], gradRtol: Float)
        -> (failures: [String], worst: Float, worstName: String?) {
        let s = reference.values.map { maxAbs($0) }.max() ?? 0
        var failures: [String] = [], worst: Float = 0, worstName: String?
        for (name, b) in reference.sorted(by: { $0.key < $1.key }) {
            guard let a = ours[name], a.shape == b.shape else { failures.append(name); continue }
            let scale = Swift.max(maxAbs(b), 1e-3 * s)
            let diff = maxAbsDifference(a, b)
            let rel = diff / Swift.max(scale, .leastNormalMagnitude)
            if rel > worst || rel.isNaN { worst = rel.isNaN ? .infinity : rel; worstName = name }
            if !(diff <= gradRtol * scale) { failures.append(name) }
        }
        return (failures, worst, worstName)
    }
}
