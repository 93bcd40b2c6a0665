import Foundation
import Testing
@testable import UniRLTensor

/// Fused scaled dot-product attention and ReLU linear attention against float64 loops.
@Suite struct OpsAttentionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var b = 1, h = 2, hk = 2, t = 3, s = 3, d = 4, dv = 3
        var causal = false
        var keyPadding: [[Float]]? = nil
        var additiveShape: [Int]? = nil
        var scale: Float? = nil
        var testDescription: String { name }
        var qShape: [Int] { [b, h, t, d] }
        var kShape: [Int] { [b, hk, s, d] }
        var vShape: [Int] { [b, hk, s, dv] }
    }

    /// O[b,h,i] = Σ_j softmax_j(scale·q·k_j + add, masked) v_j with kv head h / (H/Hk); rows with
    /// every key masked are zero.
    static func reference(_ q: [Double], _ k: [Double], _ v: [Double], _ c: Case,
                          keyPadding: [Double]?, additive: [Double]?) -> [Double] {
        let scale = Double(c.scale ?? 1 / Float(c.d).squareRoot())
        let group = c.h / c.hk
        var out = [Double](repeating: 0, count: c.b * c.h * c.t * c.dv)
        for bi in 0..<c.b {
            for hi in 0..<c.h {
                let kv = bi * c.hk + hi / group, bh = bi * c.h + hi
                for i in 0..<c.t {
                    var scores = [Double?](repeating: nil, count: c.s)
                    for j in 0..<c.s {
                        if let kp = keyPadding, kp[bi * c.s + j] == 0 { continue }
                        if c.causal && j > i + c.s - c.t { continue }
                        var dot = 0.0
                        for e in 0..<c.d { dot += q[(bh * c.t + i) * c.d + e] * k[(kv * c.s + j) * c.d + e] }
                        let score = dot * scale + (additive?[(bh * c.t + i) * c.s + j] ?? 0)
                        if score != -.infinity { scores[j] = score }
                    }
                    let present = scores.compactMap { $0 }
                    guard let m = present.max() else { continue }
                    let total = present.map { Foundation.exp($0 - m) }.reduce(0, +)
                    for j in 0..<c.s {
                        guard let sc = scores[j] else { continue }
                        let p = Foundation.exp(sc - m) / total
                        for e in 0..<c.dv { out[(bh * c.t + i) * c.dv + e] += p * v[(kv * c.s + j) * c.dv + e] }
                    }
                }
            }
        }
        return out
    }

    static let cases: [Case] = [
        Case(name: "no mask"),
        Case(name: "no mask, custom scale", scale: 0.7),
        Case(name: "causal T = S", b: 2, t: 4, s: 4, d: 3, dv: 2, causal: true),
        Case(name: "causal T < S (KV cache)", hk: 1, t: 2, s: 5, causal: true),
        Case(name: "causal T > S (early rows fully masked)", h: 1, hk: 1, t: 4, s: 2, d: 2, dv: 2, causal: true),
        Case(name: "key padding with a fully padded row", b: 2, s: 4, d: 3, dv: 2, keyPadding: [[1, 1, 0, 1], [0, 0, 0, 0]]),
        Case(name: "key padding + causal", b: 2, h: 1, hk: 1, t: 4, s: 4, d: 3, dv: 2, causal: true,
             keyPadding: [[0, 1, 1, 1], [1, 1, 1, 0]]),
        Case(name: "additive [B,1,T,S]", b: 2, additiveShape: [2, 1, 3, 3]),
        Case(name: "additive [T,S]", additiveShape: [3, 3]),
        Case(name: "additive [B,H,T,S] + causal", b: 2, t: 3, s: 4, causal: true, additiveShape: [2, 2, 3, 4]),
        Case(name: "GQA H=4 Hk=2", b: 2, h: 4, hk: 2, d: 3, dv: 2),
        Case(name: "GQA H=4 Hk=2 causal T≠S", h: 4, hk: 2, t: 2, s: 4, d: 3, dv: 2, causal: true),
        Case(name: "GQA H=4 Hk=1 key padding", h: 4, hk: 1, t: 2, s: 3, d: 2, dv: 2, keyPadding: [[1, 0, 1]]),
    ]

    static func inputs(_ c: Case, seed: UInt64) -> (q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, pad: [Double]?, add: [Double]?) {
        let q = randomTensor(c.qShape, seed: seed), k = randomTensor(c.kShape, seed: seed + 1), v = randomTensor(c.vShape, seed: seed + 2)
        let pad = c.keyPadding.map { Tensor(shape: [c.b, c.s], scalars: $0.flatMap { $0 }) }
        var additive = c.additiveShape.map { randomTensor($0, seed: seed + 3, low: -2, high: 2) }
        if let a = additive {
            // One −∞ entry, as masks built by callers carry.
            var values = a.scalars; values[1] = -.infinity
            additive = Tensor(shape: a.shape, scalars: values)
        }
        let addRef = additive.map { doubles($0.broadcast(to: [c.b, c.h, c.t, c.s])) }
        return (q, k, v, AttentionMask(causal: c.causal, keyPadding: pad, additive: additive), pad.map(doubles), addRef)
    }

    @Test(arguments: cases)
    func scaledDotProductAttention(c: Case) {
        let (q, k, v, mask, pad, add) = Self.inputs(c, seed: 10)
        let expected = Self.reference(doubles(q), doubles(k), doubles(v), c, keyPadding: pad, additive: add)
        let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, scale: c.scale)
        assertClose(out, expected, shape: [c.b, c.h, c.t, c.dv])
        checkGradients(of: { Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask, scale: c.scale) },
                       at: [q, k, v])
    }

    @Test func fullyMaskedRowsAreZeroWithZeroGradient() {
        let c = Self.cases[5]
        let (q, k, v, mask, _, _) = Self.inputs(c, seed: 20)
        let lq = q.requiringGrad(), lk = k.requiringGrad(), lv = v.requiringGrad()
        let out = Tensor.scaledDotProductAttention(query: lq, key: lk, value: lv, mask: mask)
        // Batch 1 has every key padded.
        #expect(out.slice(axis: 0, 1..<2).scalars.allSatisfy { $0 == 0 })
        let g = Autodiff.gradients(of: out.square().sum(), withRespectTo: [lq, lk, lv])
        for t in g { #expect(t!.slice(axis: 0, 1..<2).scalars.allSatisfy { $0 == 0 }) }
        #expect(!out.scalars.contains { $0.isNaN })
    }

    @Test func attentionGradientWithOnlyQueryRequiringGrad() {
        let c = Self.cases[10]
        let (q, k, v, mask, _, _) = Self.inputs(c, seed: 30)
        checkGradients(of: { Tensor.scaledDotProductAttention(query: $0[0], key: k, value: v, mask: mask) }, at: [q])
        checkGradients(of: { Tensor.scaledDotProductAttention(query: q, key: k, value: $0[0], mask: mask) }, at: [v])
    }

    /// Work large enough for the forward and backward to be split across threads; the backward
    /// is compared with the same attention built from differentiable primitives.
    @Test func largeAttentionMatchesCompositeOps() {
        let c = Case(name: "large", b: 2, h: 4, hk: 2, t: 32, s: 32, d: 16, dv: 16, causal: true,
                     keyPadding: [[Float](repeating: 1, count: 32), [Float](repeating: 1, count: 30) + [0, 0]])
        let (q, k, v, mask, pad, _) = Self.inputs(c, seed: 40)
        let lq = q.requiringGrad(), lk = k.requiringGrad(), lv = v.requiringGrad()
        let out = Tensor.scaledDotProductAttention(query: lq, key: lk, value: lv, mask: mask)
        assertClose(out, Self.reference(doubles(q), doubles(k), doubles(v), c, keyPadding: pad, additive: nil),
                    shape: [2, 4, 32, 16], rtol: 1e-5)
        let g = randomTensor(out.shape, seed: 41)
        let fused = Autodiff.gradients(of: out, withRespectTo: [lq, lk, lv], seed: g)

        let maskValues = Tensor(shape: [2, 1, 32, 32]) { p in
            for bi in 0..<2 { for i in 0..<32 { for j in 0..<32 {
                let padded = c.keyPadding![bi][j] == 0
                p[(bi * 32 + i) * 32 + j] = padded || j > i ? -.infinity : 0
            } } }
        }
        let heads = [0, 0, 1, 1]
        let kx = lk.indexSelect(axis: 1, heads), vx = lv.indexSelect(axis: 1, heads)
        let probs = (lq.matmul(kx, transposeOther: true) * (1 / Float(4)) + maskValues).softmax()
        let composite = probs.matmul(vx)
        assertClose(out, composite, rtol: 1e-5)
        let reference = Autodiff.gradients(of: composite, withRespectTo: [lq, lk, lv], seed: g)
        for i in 0..<3 { assertClose(fused[i]!, reference[i]!, rtol: 1e-4, "input \(i)") }
    }

    // MARK: - ReLU linear attention

    static func linearReference(_ q: [Double], _ k: [Double], _ v: [Double], shape: [Int], dv: Int, eps: Double) -> [Double] {
        let (bh, n, d) = (shape[0] * shape[1], shape[2], shape[3])
        var out = [Double](repeating: 0, count: bh * n * dv)
        for h in 0..<bh {
            for i in 0..<n {
                var den = 0.0
                var num = [Double](repeating: 0, count: dv)
                for m in 0..<n {
                    var w = 0.0
                    for e in 0..<d { w += Swift.max(q[(h * n + i) * d + e], 0) * Swift.max(k[(h * n + m) * d + e], 0) }
                    den += w
                    for j in 0..<dv { num[j] += w * v[(h * n + m) * dv + j] }
                }
                for j in 0..<dv { out[(h * n + i) * dv + j] = num[j] / (den + eps) }
            }
        }
        return out
    }

    struct LinearCase: Sendable, CustomTestStringConvertible {
        let shape: [Int], dv: Int, eps: Float
        var testDescription: String { "qk \(shape) dv \(dv) eps \(eps)" }
    }

    @Test(arguments: [
        LinearCase(shape: [1, 2, 4, 3], dv: 2, eps: 1e-15),
        LinearCase(shape: [2, 1, 3, 4], dv: 4, eps: 1e-15),
        LinearCase(shape: [1, 1, 5, 2], dv: 3, eps: 0.1),
    ])
    func reluLinearAttention(c: LinearCase) {
        let q = awayFromKinks(randomTensor(c.shape, seed: 50, low: -0.5, high: 1.5), kinks: [0])
        let k = awayFromKinks(randomTensor(c.shape, seed: 51, low: -0.5, high: 1.5), kinks: [0])
        let v = randomTensor(Array(c.shape.prefix(3)) + [c.dv], seed: 52)
        let out = Tensor.reluLinearAttention(query: q, key: k, value: v, eps: c.eps)
        assertClose(out, Self.linearReference(doubles(q), doubles(k), doubles(v), shape: c.shape, dv: c.dv, eps: Double(c.eps)),
                    shape: Array(c.shape.prefix(3)) + [c.dv])
        checkGradients(of: { Tensor.reluLinearAttention(query: $0[0], key: $0[1], value: $0[2], eps: c.eps) }, at: [q, k, v])
    }

    @Test func largeLinearAttentionMatchesCompositeOps() {
        let shape = [2, 2, 64, 16]
        let q = randomTensor(shape, seed: 60, low: -0.5, high: 1.5), k = randomTensor(shape, seed: 61, low: -0.5, high: 1.5)
        let v = randomTensor([2, 2, 64, 16], seed: 62)
        let lq = q.requiringGrad(), lk = k.requiringGrad(), lv = v.requiringGrad()
        let out = Tensor.reluLinearAttention(query: lq, key: lk, value: lv)
        assertClose(out, Self.linearReference(doubles(q), doubles(k), doubles(v), shape: shape, dv: 16, eps: 1e-15),
                    shape: [2, 2, 64, 16], rtol: 1e-5)
        let g = randomTensor(out.shape, seed: 63)
        let fused = Autodiff.gradients(of: out, withRespectTo: [lq, lk, lv], seed: g)
        let qr = lq.relu(), kr = lk.relu()
        let num = qr.matmul(kr.matmul(lv, transposeSelf: true))
        let den = (qr * kr.sum(axis: 2, keepDims: true)).sum(axis: -1, keepDims: true) + 1e-15
        let composite = num / den
        assertClose(out, composite, rtol: 1e-5)
        let reference = Autodiff.gradients(of: composite, withRespectTo: [lq, lk, lv], seed: g)
        for i in 0..<3 { assertClose(fused[i]!, reference[i]!, rtol: 1e-4, "input \(i)") }
    }
}
