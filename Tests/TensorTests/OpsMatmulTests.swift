import Foundation
import Testing
@testable import UniRLTensor

/// Matrix products: 2-D, batched, broadcast batches, shared 2-D weights, transpose flags, and
/// products large enough to take the multi-threaded GEMM paths.
@Suite struct OpsMatmulTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let batchA: [Int], batchB: [Int], m: Int, k: Int, n: Int, tA: Bool, tB: Bool
        var shapeA: [Int] { batchA + (tA ? [k, m] : [m, k]) }
        var shapeB: [Int] { batchB + (tB ? [n, k] : [k, n]) }
        var testDescription: String { "\(shapeA)\(tA ? "ᵀ" : "")·\(shapeB)\(tB ? "ᵀ" : "")" }
    }

    /// op(A)·op(B) in float64 with broadcast batch dimensions.
    static func reference(_ a: [Double], _ b: [Double], _ c: Case) -> (shape: [Int], values: [Double]) {
        let batch = Ref.broadcastShape(c.batchA, c.batchB)
        var out: [Double] = []
        for bi in 0..<Ref.count(batch) {
            let idx = Ref.index(bi, batch)
            let offA = Ref.flat(Array(idx.suffix(c.batchA.count)).enumerated().map { c.batchA[$0.offset] == 1 ? 0 : $0.element }, c.batchA)
            let offB = Ref.flat(Array(idx.suffix(c.batchB.count)).enumerated().map { c.batchB[$0.offset] == 1 ? 0 : $0.element }, c.batchB)
            var am = Array(a[(offA * c.m * c.k)..<((offA + 1) * c.m * c.k)])
            var bm = Array(b[(offB * c.k * c.n)..<((offB + 1) * c.k * c.n)])
            if c.tA { am = Ref.transpose(am, rows: c.k, cols: c.m) }
            if c.tB { bm = Ref.transpose(bm, rows: c.n, cols: c.k) }
            out += Ref.matmul(am, bm, m: c.m, k: c.k, n: c.n)
        }
        return (batch + [c.m, c.n], out)
    }

    static var cases: [Case] {
        var cases: [Case] = []
        for tA in [false, true] {
            for tB in [false, true] {
                cases.append(Case(batchA: [], batchB: [], m: 3, k: 4, n: 5, tA: tA, tB: tB))        // 2-D
                cases.append(Case(batchA: [2], batchB: [2], m: 3, k: 4, n: 2, tA: tA, tB: tB))      // batched
                cases.append(Case(batchA: [2, 1], batchB: [3], m: 2, k: 3, n: 2, tA: tA, tB: tB))   // broadcast batch
                cases.append(Case(batchA: [2, 3], batchB: [], m: 2, k: 4, n: 3, tA: tA, tB: tB))    // shared 2-D weight
                cases.append(Case(batchA: [], batchB: [2], m: 3, k: 2, n: 4, tA: tA, tB: tB))       // 2-D self, batched other
            }
        }
        cases.append(Case(batchA: [1], batchB: [3], m: 2, k: 3, n: 2, tA: false, tB: false))        // size-1 batch in self
        cases.append(Case(batchA: [3], batchB: [1], m: 2, k: 3, n: 2, tA: false, tB: true))         // size-1 batch in other
        return cases
    }

    @Test(arguments: cases)
    func matmul(c: Case) {
        let a = randomTensor(c.shapeA, seed: 1), b = randomTensor(c.shapeB, seed: 2)
        let ref = Self.reference(doubles(a), doubles(b), c)
        assertClose(a.matmul(b, transposeSelf: c.tA, transposeOther: c.tB), ref.values, shape: ref.shape)
        checkGradients(of: { $0[0].matmul($0[1], transposeSelf: c.tA, transposeOther: c.tB) }, at: [a, b])
    }

    @Test func matmulAgainstHandComputedValues() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        #expect(a.matmul(b).scalars == [58, 64, 139, 154])
        #expect(a.matmul(a, transposeOther: true).scalars == [14, 32, 32, 77])
        #expect(a.matmul(a, transposeSelf: true).scalars == [17, 22, 27, 22, 29, 36, 27, 36, 45])
        // bᵀ·aᵀ = (a·b)ᵀ
        #expect(b.matmul(a, transposeSelf: true, transposeOther: true).scalars == [58, 139, 64, 154])
    }

    /// Products with m·n·k ≥ 2¹⁸ are split across threads (row blocks when m ≥ n or m is large,
    /// column blocks otherwise); the forward and both gradients must match float64 references.
    @Test(arguments: [
        Case(batchA: [], batchB: [], m: 64, k: 64, n: 64, tA: false, tB: false),
        Case(batchA: [], batchB: [], m: 64, k: 64, n: 64, tA: true, tB: true),
        Case(batchA: [], batchB: [], m: 4, k: 256, n: 256, tA: false, tB: false),
        Case(batchA: [], batchB: [], m: 4, k: 256, n: 256, tA: true, tB: true),
        Case(batchA: [], batchB: [], m: 6, k: 256, n: 200, tA: false, tB: true),
        Case(batchA: [4, 16], batchB: [], m: 1, k: 64, n: 64, tA: false, tB: true),
        Case(batchA: [2], batchB: [2], m: 70, k: 60, n: 65, tA: true, tB: false),
    ])
    func largeProductsTakeParallelPaths(c: Case) {
        let a = randomTensor(c.shapeA, seed: 3), b = randomTensor(c.shapeB, seed: 4)
        let ad = doubles(a), bd = doubles(b)
        let ref = Self.reference(ad, bd, c)
        let la = a.requiringGrad(), lb = b.requiringGrad()
        let out = la.matmul(lb, transposeSelf: c.tA, transposeOther: c.tB)
        assertClose(out, ref.values, shape: ref.shape, rtol: 1e-5)
        let g = randomTensor(ref.shape, seed: 5)
        let grads = Autodiff.gradients(of: out, withRespectTo: [la, lb], seed: g)
        // dA[b] = G·op(B)ᵀ (transposed back when tA), dB = Σ_batch op(A)ᵀ·G (transposed back when tB).
        let batch = Ref.broadcastShape(c.batchA, c.batchB)
        let gd = doubles(g)
        var dA = [Double](repeating: 0, count: ad.count), dB = [Double](repeating: 0, count: bd.count)
        for bi in 0..<Ref.count(batch) {
            let offA = c.batchA.isEmpty ? 0 : bi, offB = c.batchB.isEmpty ? 0 : bi
            var am = Array(ad[(offA * c.m * c.k)..<((offA + 1) * c.m * c.k)])
            var bm = Array(bd[(offB * c.k * c.n)..<((offB + 1) * c.k * c.n)])
            if c.tA { am = Ref.transpose(am, rows: c.k, cols: c.m) }
            if c.tB { bm = Ref.transpose(bm, rows: c.n, cols: c.k) }
            let gm = Array(gd[(bi * c.m * c.n)..<((bi + 1) * c.m * c.n)])
            var da = Ref.matmul(gm, Ref.transpose(bm, rows: c.k, cols: c.n), m: c.m, k: c.n, n: c.k)
            var db = Ref.matmul(Ref.transpose(am, rows: c.m, cols: c.k), gm, m: c.k, k: c.m, n: c.n)
            if c.tA { da = Ref.transpose(da, rows: c.m, cols: c.k) }
            if c.tB { db = Ref.transpose(db, rows: c.k, cols: c.n) }
            for i in 0..<da.count { dA[offA * c.m * c.k + i] += da[i] }
            for i in 0..<db.count { dB[offB * c.k * c.n + i] += db[i] }
        }
        assertClose(grads[0]!, dA, shape: c.shapeA, rtol: 1e-5, "dA")
        assertClose(grads[1]!, dB, shape: c.shapeB, rtol: 1e-5, "dB")
    }

    // MARK: - linear (x·Wᵀ + b)

    struct LinearCase: Sendable, CustomTestStringConvertible {
        let xShape: [Int], out: Int, bias: Bool
        var testDescription: String { "x \(xShape) → \(out)\(bias ? " + bias" : "")" }
    }

    static func linearReference(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> [Double] {
        let (outF, inF) = (w.shape[0], w.shape[1])
        let xd = doubles(x), wd = doubles(w), bd = b.map(doubles)
        let rows = x.elementCount / inF
        var out = [Double](repeating: 0, count: rows * outF)
        for r in 0..<rows {
            for o in 0..<outF {
                var acc = bd?[o] ?? 0
                for i in 0..<inF { acc += xd[r * inF + i] * wd[o * inF + i] }
                out[r * outF + o] = acc
            }
        }
        return out
    }

    @Test(arguments: [
        LinearCase(xShape: [3, 4], out: 5, bias: true),
        LinearCase(xShape: [2, 3, 4], out: 2, bias: true),
        LinearCase(xShape: [2, 3, 4], out: 3, bias: false),
        LinearCase(xShape: [1, 2, 2, 3], out: 4, bias: true),
    ])
    func linear(c: LinearCase) {
        let inF = c.xShape.last!
        let x = randomTensor(c.xShape, seed: 6), w = randomTensor([c.out, inF], seed: 7), b = randomTensor([c.out], seed: 8)
        let out = x.linear(weight: w, bias: c.bias ? b : nil)
        assertClose(out, Self.linearReference(x, w, c.bias ? b : nil), shape: Array(c.xShape.dropLast()) + [c.out])
        if c.bias {
            checkGradients(of: { $0[0].linear(weight: $0[1], bias: $0[2]) }, at: [x, w, b])
            // Constant weight and bias.
            checkGradients(of: { $0[0].linear(weight: w, bias: b) }, at: [x])
        } else {
            checkGradients(of: { $0[0].linear(weight: $0[1], bias: nil) }, at: [x, w])
        }
    }

    @Test func largeLinearMatchesReference() {
        let x = randomTensor([4, 16, 64], seed: 9), w = randomTensor([96, 64], seed: 10), b = randomTensor([96], seed: 11)
        let lx = x.requiringGrad(), lw = w.requiringGrad(), lb = b.requiringGrad()
        let out = lx.linear(weight: lw, bias: lb)
        assertClose(out, Self.linearReference(x, w, b), shape: [4, 16, 96], rtol: 1e-5)
        let g = randomTensor(out.shape, seed: 12)
        let fused = Autodiff.gradients(of: out, withRespectTo: [lx, lw, lb], seed: g)
        let composite = lx.matmul(lw, transposeOther: true) + lb
        let reference = Autodiff.gradients(of: composite, withRespectTo: [lx, lw, lb], seed: g)
        for i in 0..<3 { assertClose(fused[i]!, reference[i]!, rtol: 1e-5, "input \(i)") }
    }

    /// `linear` documents x as [..., in], which includes a single 1-D feature vector (as PyTorch's
    /// `F.linear`). Run in a child process: a precondition failure must not take the suite down.
    @Test func linearOfAVector() async {
        await #expect(processExitsWith: .success) {
            let x = Tensor([0.5, -1, 2]).requiringGrad()
            let w = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]).requiringGrad(), b = Tensor([0.25, -0.5]).requiringGrad()
            let out = x.linear(weight: w, bias: b)
            precondition(out.shape == [2] && out.scalars == [4.75, 8.5], "forward \(out)")
            let g = Autodiff.gradients(of: out.sum(), withRespectTo: [x, w, b])
            precondition(g[0]!.scalars == [5, 7, 9], "dx \(String(describing: g[0]))")
            precondition(g[1]!.scalars == [0.5, -1, 2, 0.5, -1, 2], "dw \(String(describing: g[1]))")
            precondition(g[2]!.scalars == [1, 1], "db \(String(describing: g[2]))")
        }
        await #expect(processExitsWith: .success) {
            let x = Tensor([0.5, -1, 2]).requiringGrad()
            let w = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]).requiringGrad()
            let out = x.linear(weight: w, bias: nil)
            precondition(out.shape == [2] && out.scalars == [4.5, 9], "forward \(out)")
            let g = Autodiff.gradients(of: out.sum(), withRespectTo: [x, w])
            precondition(g[0]!.scalars == [5, 7, 9] && g[1]!.scalars == [0.5, -1, 2, 0.5, -1, 2], "gradients \(g)")
        }
    }
}
