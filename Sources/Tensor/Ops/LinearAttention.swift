// ReLU linear attention (SANA, Xie et al. 2024), fused with its backward. Per batch entry and head:
//     q' = relu(q), k' = relu(k),  KV = k'ᵀ·v [D×Dv],  z = k'ᵀ·1 [D]
//     out[n] = (q'[n]·KV) / (q'[n]·z + ε)
// which is what diffusers' `SanaLinearAttnProcessor2_0` (models/attention_processor.py)
// computes with its padded-value trick.

extension Tensor {
    /// ReLU linear attention of q, k [B, H, N, D] and v [B, H, N, Dv]; returns [B, H, N, Dv].
    public static func reluLinearAttention(query q: Tensor, key k: Tensor, value v: Tensor, eps: Float = 1e-15) -> Tensor {
        precondition(q.rank == 4 && k.shape == q.shape && v.rank == 4 && v.shape[0...2] == q.shape[0...2],
                     "linear attention needs q, k [B,H,N,D] and v [B,H,N,Dv]; got \(q.shape), \(k.shape), \(v.shape)")
        let (b, h, n, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let dv = v.shape[3]
        let qr = q.map { Swift.max($0, 0) }, kr = k.map { Swift.max($0, 0) }
        let qp = qr.storage.pointer, kp = kr.storage.pointer, vp = v.storage.pointer
        // Saved for the backward pass: KV, z and the denominators.
        let kvAll = TensorStorage(uninitializedCount: b * h * d * dv)
        let zAll = TensorStorage(uninitializedCount: b * h * d)
        let denAll = TensorStorage(uninitializedCount: b * h * n)
        let out = Tensor(shape: [b, h, n, dv]) { dst in
            let o = dst.baseAddress!
            do {
                Parallel.forEachRange(b * h, costPerItem: n * d * dv * 4) { r in
                    for bh in r {
                        let qh = qp + bh * n * d, kh = kp + bh * n * d, vh = vp + bh * n * dv
                        let kv = kvAll.pointer + bh * d * dv, z = zAll.pointer + bh * d, den = denAll.pointer + bh * n
                        sgemm(kh, transposeA: true, vh, transposeB: false, kv, m: d, n: dv, k: n)
                        z.update(repeating: 0, count: d)
                        for m in 0..<n { let row = kh + m * d; for i in 0..<d { z[i] += row[i] } }
                        let oh = o + bh * n * dv
                        sgemm(qh, transposeA: false, kv, transposeB: false, oh, m: n, n: dv, k: d)
                        for t in 0..<n {
                            let qrow = qh + t * d
                            var s: Float = 0
                            for i in 0..<d { s += qrow[i] * z[i] }
                            den[t] = s + eps
                            let inv = 1 / den[t], orow = oh + t * dv
                            for j in 0..<dv { orow[j] *= inv }
                        }
                    }
                }
            }
        }
        let saved = (kv: Tensor(shape: [b * h * d * dv], storage: kvAll), z: Tensor(shape: [b * h * d], storage: zAll),
                     den: Tensor(shape: [b * h * n], storage: denAll))
        return record("relu_linear_attention", result: out, inputs: [q, k, v]) { g in
            // Keep the ReLU'd inputs alive for as long as the tape holds this closure.
            let (qp, kp) = (qr.storage.pointer, kr.storage.pointer)
            let gp = g.storage.pointer, op = out.storage.pointer
            let kvp = saved.kv.storage.pointer, zp = saved.z.storage.pointer, denp = saved.den.storage.pointer
            let dq = Tensor.zeros(q.shape), dk = Tensor.zeros(k.shape), dvT = Tensor.zeros(v.shape)
            let dqp = dq.storage.pointer, dkp = dk.storage.pointer, dvp = dvT.storage.pointer
            let qRaw = q.storage.pointer, kRaw = k.storage.pointer
            do {
                Parallel.forEachRange(b * h, costPerItem: n * d * dv * 8) { r in
                    let dnum = UnsafeMutablePointer<Float>.allocate(capacity: n * dv)
                    let dden = UnsafeMutablePointer<Float>.allocate(capacity: n)
                    let dkv = UnsafeMutablePointer<Float>.allocate(capacity: d * dv)
                    let dz = UnsafeMutablePointer<Float>.allocate(capacity: d)
                    defer { dnum.deallocate(); dden.deallocate(); dkv.deallocate(); dz.deallocate() }
                    for bh in r {
                        let qh = qp + bh * n * d, kh = kp + bh * n * d, vh = vp + bh * n * dv
                        let kv = kvp + bh * d * dv, z = zp + bh * d, den = denp + bh * n
                        let go = gp + bh * n * dv, oh = op + bh * n * dv
                        // out = num / den: dnum = g / den, dden = −Σ_j g·out / den.
                        for t in 0..<n {
                            let inv = 1 / den[t]
                            var acc: Float = 0
                            let dn = dnum + t * dv, gt = go + t * dv, ot = oh + t * dv
                            for j in 0..<dv { dn[j] = gt[j] * inv; acc += gt[j] * ot[j] }
                            dden[t] = -acc * inv
                        }
                        // dq' = dnum·KVᵀ + dden ⊗ z
                        let dqh = dqp + bh * n * d
                        sgemm(dnum, transposeA: false, kv, transposeB: true, dqh, m: n, n: d, k: dv)
                        for t in 0..<n { let row = dqh + t * d; for i in 0..<d { row[i] += dden[t] * z[i] } }
                        // dKV = q'ᵀ·dnum, dz = q'ᵀ·dden
                        sgemm(qh, transposeA: true, dnum, transposeB: false, dkv, m: d, n: dv, k: n)
                        dz.update(repeating: 0, count: d)
                        for t in 0..<n { let row = qh + t * d; for i in 0..<d { dz[i] += dden[t] * row[i] } }
                        // dk' = v·dKVᵀ + 1 ⊗ dz, dv = k'·dKV
                        let dkh = dkp + bh * n * d
                        sgemm(vh, transposeA: false, dkv, transposeB: true, dkh, m: n, n: d, k: dv)
                        for m in 0..<n { let row = dkh + m * d; for i in 0..<d { row[i] += dz[i] } }
                        sgemm(kh, transposeA: false, dkv, transposeB: false, dvp + bh * n * dv, m: n, n: dv, k: d)
                        // Through the ReLUs.
                        let qo = qRaw + bh * n * d, ko = kRaw + bh * n * d
                        for i in 0..<(n * d) {
                            if qo[i] <= 0 { dqh[i] = 0 }
                            if ko[i] <= 0 { dkh[i] = 0 }
                        }
                    }
                }
            }
            return [q.requiresGrad ? dq : nil, k.requiresGrad ? dk : nil, v.requiresGrad ? dvT : nil]
        }
    }
}
