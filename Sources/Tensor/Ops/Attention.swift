import Foundation

// Scaled dot-product attention as one fused op with a fused backward:
// O = softmax(Q·Kᵀ·scale + mask)·V per batch entry and head. Grouped-query attention is
// supported (H query heads share H/Hk key/value heads), as in Qwen2's attention.

/// Which key positions a query may attend to.
public struct AttentionMask: Sendable {
    /// Causal masking, bottom-right aligned: query i of T may see key j of S when j ≤ i + (S − T),
    /// which is PyTorch's `is_causal` for S = T and the right rule with a KV cache.
    public var causal: Bool
    /// Optional key padding, [B, S] of 1 (attend) and 0 (ignore), as transformers' `attention_mask`.
    public var keyPadding: Tensor?
    /// Optional additive bias broadcastable to [B, H, T, S] (no gradient flows into it).
    public var additive: Tensor?

    public init(causal: Bool = false, keyPadding: Tensor? = nil, additive: Tensor? = nil) {
        self.causal = causal
        self.keyPadding = keyPadding
        self.additive = additive
    }

    public static let none = AttentionMask()
}

extension Tensor {
    /// Scaled dot-product attention of q [B, H, T, D], k [B, Hk, S, D], v [B, Hk, S, Dv].
    /// Rows whose keys are all masked produce zeros.
    public static func scaledDotProductAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                                                 mask: AttentionMask = .none, scale: Float? = nil) -> Tensor {
        precondition(q.rank == 4 && k.rank == 4 && v.rank == 4, "attention needs rank-4 q, k, v; got \(q.shape), \(k.shape), \(v.shape)")
        let (b, h, t, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (hk, s, dv) = (k.shape[1], k.shape[2], v.shape[3])
        precondition(k.shape[0] == b && v.shape[0] == b && k.shape[3] == d && v.shape[1] == hk && v.shape[2] == s && h % hk == 0,
                     "attention shapes disagree: q \(q.shape), k \(k.shape), v \(v.shape)")
        if let kp = mask.keyPadding { precondition(kp.shape == [b, s], "key padding mask \(kp.shape), expected [\(b), \(s)]") }
        let additive = mask.additive.map { $0.broadcast(to: [b, h, t, s]) }
        let sc = scale ?? 1 / Float(d).squareRoot()
        let groupSize = h / hk
        let qp = q.storage.pointer, kp = k.storage.pointer, vp = v.storage.pointer
        let padp = mask.keyPadding?.storage.pointer, addp = additive?.storage.pointer
        let causalOffset = s - t
        let probabilities = TensorStorage(uninitializedCount: b * h * t * s)
        let pp = probabilities.pointer
        let out = Tensor(shape: [b, h, t, dv]) { dst in
            let o = dst.baseAddress!
            do {
                Parallel.forEachRange(b * h, costPerItem: t * s * (d + dv) * 2) { r in
                    for bh in r {
                        let bi = bh / h, hi = bh % h, kvh = bi * hk + hi / groupSize
                        let scores = pp + bh * t * s
                        sgemm(qp + bh * t * d, transposeA: false, kp + kvh * s * d, transposeB: true, scores, m: t, n: s, k: d, alpha: sc)
                        for i in 0..<t {
                            let row = scores + i * s
                            if let addp { let a = addp + (bh * t + i) * s; for j in 0..<s { row[j] += a[j] } }
                            if let padp { let pm = padp + bi * s; for j in 0..<s where pm[j] == 0 { row[j] = -.infinity } }
                            if mask.causal {
                                let lim = i + causalOffset
                                if lim + 1 < s { for j in Swift.max(lim + 1, 0)..<s { row[j] = -.infinity } }
                            }
                            softmaxRow(row, row, s)
                        }
                        sgemm(scores, transposeA: false, vp + kvh * s * dv, transposeB: false, o + bh * t * dv, m: t, n: dv, k: s)
                    }
                }
            }
        }
        let probs = Tensor(shape: [b, h, t, s], storage: probabilities)
        return record("scaled_dot_product_attention", result: out, inputs: [q, k, v]) { g in
            let gp = g.storage.pointer, pr = probs.storage.pointer
            let dq = Tensor.zeros(q.shape), dk = Tensor.zeros(k.shape), dvT = Tensor.zeros(v.shape)
            let dqp = dq.storage.pointer, dkp = dk.storage.pointer, dvp = dvT.storage.pointer
            // One work item per (batch, kv head): the query heads of a group accumulate into the
            // same dK/dV, so they are handled in order by one thread.
            do {
                Parallel.forEachRange(b * hk, costPerItem: groupSize * t * s * (d + dv) * 4) { r in
                    let dP = UnsafeMutablePointer<Float>.allocate(capacity: t * s)
                    defer { dP.deallocate() }
                    for bk in r {
                        let bi = bk / hk, kh = bk % hk
                        for hi in (kh * groupSize)..<((kh + 1) * groupSize) {
                            let bh = bi * h + hi
                            let p = pr + bh * t * s, go = gp + bh * t * dv
                            // dV += Pᵀ·dO
                            sgemm(p, transposeA: true, go, transposeB: false, dvp + bk * s * dv, m: s, n: dv, k: t, accumulate: true)
                            // dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P))
                            sgemm(go, transposeA: false, vp + bk * s * dv, transposeB: true, dP, m: t, n: s, k: dv)
                            for i in 0..<t {
                                let pri = p + i * s, dpi = dP + i * s
                                var dot: Float = 0
                                for j in 0..<s { dot += pri[j] * dpi[j] }
                                for j in 0..<s { dpi[j] = pri[j] * (dpi[j] - dot) }
                            }
                            // dQ = dS·K·scale, dK += dSᵀ·Q·scale
                            sgemm(dP, transposeA: false, kp + bk * s * d, transposeB: false, dqp + bh * t * d, m: t, n: d, k: s, alpha: sc)
                            sgemm(dP, transposeA: true, qp + bh * t * d, transposeB: false, dkp + bk * s * d, m: s, n: d, k: t,
                                  accumulate: true, alpha: sc)
                        }
                    }
                }
            }
            return [q.requiresGrad ? dq : nil, k.requiresGrad ? dk : nil, v.requiresGrad ? dvT : nil]
        }
    }
}
