import CBLAS

// Matrix products through cblas_sgemm. Transposes are passed to BLAS as flags, never copied.

/// C[m×n] (+)= alpha · op(A) · op(B), row-major, where op transposes when asked.
///
/// OpenBLAS itself runs single-threaded (see ``Parallel``); products large enough to pay for it
/// are split into row (or column) blocks computed on all cores. Each element of C is computed by
/// one call in a fixed order, so results do not depend on scheduling. Inside
/// ``Parallel/forEachRange(_:costPerItem:_:)`` workers it runs serially.
@inlinable
public func sgemm(_ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
                  _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, accumulate: Bool = false, alpha: Float = 1) {
    guard m > 0, n > 0 else { return }
    if k == 0 { if !accumulate { c.update(repeating: 0, count: m * n) }; return }
    let lda = transposeA ? m : k, ldb = transposeB ? k : n
    let threads = Parallel.threadCount
    let work = m * n * k
    guard threads > 1, work >= 1 << 18, !Parallel.isInsideParallelRegion else {
        sgemmBlock(a, lda, transposeA, b, ldb, transposeB, c, n, m: m, n: n, k: k, accumulate: accumulate, alpha: alpha)
        return
    }
    if m >= n || m >= 4 * threads {
        // Row blocks of C: rows of op(A).
        Parallel.forEachRange(m, costPerItem: n * k) { r in
            let aBlock = transposeA ? a + r.lowerBound : a + r.lowerBound * lda
            sgemmBlock(aBlock, lda, transposeA, b, ldb, transposeB, c + r.lowerBound * n, n,
                       m: r.count, n: n, k: k, accumulate: accumulate, alpha: alpha)
        }
    } else {
        // Column blocks of C: columns of op(B).
        Parallel.forEachRange(n, costPerItem: m * k) { r in
            let bBlock = transposeB ? b + r.lowerBound * ldb : b + r.lowerBound
            sgemmBlock(a, lda, transposeA, bBlock, ldb, transposeB, c + r.lowerBound, n,
                       m: m, n: r.count, k: k, accumulate: accumulate, alpha: alpha)
        }
    }
}

/// One single-threaded `cblas_sgemm` call with explicit leading dimensions.
@inlinable
func sgemmBlock(_ a: UnsafePointer<Float>, _ lda: Int, _ transposeA: Bool, _ b: UnsafePointer<Float>, _ ldb: Int,
                _ transposeB: Bool, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, m: Int, n: Int, k: Int,
                accumulate: Bool, alpha: Float) {
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
}

extension Tensor {
    /// Matrix product over the last two dimensions, broadcasting leading (batch) dimensions.
    ///
    /// `self` is […, M, K] (or […, K, M] with `transposeSelf`), `other` is […, K, N] (or […, N, K]
    /// with `transposeOther`). A 2-D `other` is shared by every batch entry, which turns
    /// `x · Wᵀ` for a linear layer into one large GEMM.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank ≥ 2, got \(shape) and \(other.shape)")
        let m = transposeSelf ? shape[rank - 1] : shape[rank - 2]
        let k = transposeSelf ? shape[rank - 2] : shape[rank - 1]
        let kb = transposeOther ? other.shape[other.rank - 1] : other.shape[other.rank - 2]
        let n = transposeOther ? other.shape[other.rank - 2] : other.shape[other.rank - 1]
        precondition(k == kb,
                     "matmul inner sizes differ: \(shape)\(transposeSelf ? "ᵀ" : "") · \(other.shape)\(transposeOther ? "ᵀ" : "")")
        let batchA = Array(shape.dropLast(2)), batchB = Array(other.shape.dropLast(2))
        guard let batch = broadcastShape(batchA, batchB) else {
            preconditionFailure("matmul batch shapes \(batchA) and \(batchB) cannot be broadcast")
        }
        let outShape = batch + [m, n]
        let pa = storage.pointer, pb = other.storage.pointer
        let out: Tensor
        if other.rank == 2 && !transposeSelf {
            // One GEMM: rows of all batch entries stacked.
            let rows = batchA.elementCount * m
            out = Tensor(shape: outShape) { c in
                sgemm(pa, transposeA: false, pb, transposeB: transposeOther, c.baseAddress!, m: rows, n: n, k: k)
            }
        } else {
            let count = batch.elementCount
            let sa = broadcastStrides(batchA, to: batch), sb = broadcastStrides(batchB, to: batch)
            out = Tensor(shape: outShape) { c in
                for i in 0..<count {
                    var rem = i, offA = 0, offB = 0
                    for d in stride(from: batch.count - 1, through: 0, by: -1) {
                        let idx = rem % batch[d]; rem /= batch[d]
                        offA += idx * sa[d]; offB += idx * sb[d]
                    }
                    sgemm(pa + offA * m * k, transposeA: transposeSelf, pb + offB * k * n, transposeB: transposeOther,
                          c.baseAddress! + i * m * n, m: m, n: n, k: k)
                }
            }
        }
        let a = self
        return Tensor.record("matmul", result: out, inputs: [a, other]) { g in
            // C = op(A)·op(B): dop(A) = G·op(B)ᵀ, dop(B) = op(A)ᵀ·G, then undo op.
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.requiresGrad {
                ga = transposeSelf ? other.matmul(g, transposeSelf: transposeOther, transposeOther: true)
                                   : g.matmul(other, transposeOther: !transposeOther)
                ga = ga!.sumToShape(a.shape)
            }
            if other.requiresGrad {
                if other.rank == 2 && !transposeSelf {
                    // Fold all batch rows into one GEMM.
                    let g2 = g.reshaped([-1, n]), a2 = a.reshaped([-1, k])
                    gb = transposeOther ? g2.matmul(a2, transposeSelf: true) : a2.matmul(g2, transposeSelf: true)
                } else {
                    gb = transposeOther ? g.matmul(a, transposeSelf: true, transposeOther: transposeSelf)
                                        : a.matmul(g, transposeSelf: !transposeSelf)
                    gb = gb!.sumToShape(other.shape)
                }
            }
            return [ga, gb]
        }
    }
}

extension Tensor {
    /// x·Wᵀ + b for x [..., in], W [out, in], b [out]: one GEMM that accumulates onto rows
    /// pre-filled with the bias (PyTorch's `F.linear`).
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        if rank == 1 { return reshaped([1, shape[0]]).linear(weight: weight, bias: bias).reshaped([weight.shape[0]]) }
        guard let bias else { return matmul(weight, transposeOther: true) }
        let (outF, inF) = (weight.shape[0], weight.shape[1])
        precondition(shape.last == inF && bias.shape == [outF], "linear: x \(shape), weight \(weight.shape), bias \(bias.shape)")
        let rows = elementCount / Swift.max(inF, 1)
        let xp = storage.pointer, wp = weight.storage.pointer, bp = bias.storage.pointer
        let out = Tensor(shape: Array(shape.dropLast()) + [outF]) { c in
            let o = c.baseAddress!
            // Bias rows first (in parallel: on the main thread alone this pass was ~3% of a SANA forward), then C += x·Wᵀ.
            Parallel.forEachRange(rows, costPerItem: outF) { range in
                for r in range { (o + r * outF).initialize(from: bp, count: outF) }
            }
            sgemm(xp, transposeA: false, wp, transposeB: true, o, m: rows, n: outF, k: inF, accumulate: true)
        }
        let x = self
        return Tensor.record("linear", result: out, inputs: [x, weight, bias]) { g in
            let g2 = g.reshaped([rows, outF])
            return [x.requiresGrad ? g.matmul(weight) : nil,
                    weight.requiresGrad ? g2.matmul(x.reshaped([rows, inF]), transposeSelf: true) : nil,
                    bias.requiresGrad ? g2.sum(axis: 0) : nil]
        }
    }
}
