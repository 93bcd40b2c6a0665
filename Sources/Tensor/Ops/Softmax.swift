import CUniRLKernels
import Foundation

// Softmax and log-softmax over one axis, fused with their derivatives.

extension Tensor {
    /// Views the tensor as rows of the last axis, moving `axis` there first if needed.
    private func alongLastAxis(_ axis: Int, _ f: (Tensor) -> Tensor) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        if ax == rank - 1 { return f(self) }
        return f(transposed(ax, -1)).transposed(ax, -1)
    }

    /// exp(x) / Σ exp(x) along `axis`.
    public func softmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { x in
            let n = x.shape.last ?? 1, rows = x.elementCount / Swift.max(n, 1)
            let src = x.storage.pointer
            let out = Tensor(shape: x.shape) { dst in
                let d = dst.baseAddress!
                Parallel.forEachRange(rows, costPerItem: n * 8) { r in
                    for row in r { softmaxRow(src + row * n, d + row * n, n) }
                }
            }
            return Tensor.record("softmax", result: out, inputs: [x]) { g in
                // dx = y · (g − Σ g·y)
                let gp = g.storage.pointer, yp = out.storage.pointer
                return [Tensor(shape: x.shape) { dst in
                    let d = dst.baseAddress!
                    Parallel.forEachRange(rows, costPerItem: n * 4) { r in
                        for row in r {
                            let go = gp + row * n, yo = yp + row * n, o = d + row * n
                            var dot: Float = 0
                            for j in 0..<n { dot += go[j] * yo[j] }
                            for j in 0..<n { o[j] = yo[j] * (go[j] - dot) }
                        }
                    }
                }]
            }
        }
    }

    /// x − log Σ exp(x) along `axis`.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { x in
            let n = x.shape.last ?? 1, rows = x.elementCount / Swift.max(n, 1)
            let src = x.storage.pointer
            let out = Tensor(shape: x.shape) { dst in
                let d = dst.baseAddress!
                Parallel.forEachRange(rows, costPerItem: n * 8) { r in
                    for row in r {
                        let s = src + row * n, o = d + row * n
                        let m = rowMaximum(s, n)
                        // exp into the output row first (a vectorisable loop), then sum it.
                        for j in 0..<n { o[j] = FastMath.exp(s[j] - m) }
                        let total = unirl_sum(o, n, UNIRL_PATH_AUTO)
                        let lse = m + Foundation.log(total)
                        for j in 0..<n { o[j] = s[j] - lse }
                    }
                }
            }
            return Tensor.record("log_softmax", result: out, inputs: [x]) { g in
                // dx = g − softmax · Σ g
                let gp = g.storage.pointer, yp = out.storage.pointer
                return [Tensor(shape: x.shape) { dst in
                    let d = dst.baseAddress!
                    Parallel.forEachRange(rows, costPerItem: n * 8) { r in
                        for row in r {
                            let go = gp + row * n, yo = yp + row * n, o = d + row * n
                            let total = unirl_sum(go, n, UNIRL_PATH_AUTO)
                            for j in 0..<n { o[j] = go[j] - FastMath.exp(yo[j]) * total }
                        }
                    }
                }]
            }
        }
    }
}

/// Numerically stable softmax of one row; a row that is entirely −∞ becomes all zeros.
@usableFromInline
func softmaxRow(_ s: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = rowMaximum(s, n)
    if m == -.infinity { o.update(repeating: 0, count: n); return }
    for j in 0..<n { o[j] = FastMath.exp(s[j] - m) }
    let total = unirl_sum(o, n, UNIRL_PATH_AUTO)
    let inv = 1 / total
    for j in 0..<n { o[j] *= inv }
}

/// The largest of n floats (−∞ for none), in 16 independent lanes: a running `max` over one
/// register is a chain of dependent instructions, and max is exact in any order.
@usableFromInline
func rowMaximum(_ s: UnsafePointer<Float>, _ n: Int) -> Float {
    var lanes = SIMD16<Float>(repeating: -.infinity)
    var j = 0
    while j + 16 <= n {
        lanes = pointwiseMax(lanes, UnsafeRawPointer(s + j).loadUnaligned(as: SIMD16<Float>.self))
        j += 16
    }
    var m = lanes.max()
    while j < n {
        m = Swift.max(m, s[j])
        j += 1
    }
    return m
}
