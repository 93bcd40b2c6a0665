// Reductions over axes: sum, mean, max, variance, log-sum-exp.

extension Tensor {
    /// Views the tensor as [outer, n, inner] around `axis`.
    @usableFromInline
    func splitAround(_ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Sum over one axis, keeping it as size 1.
    func sumKeepingAxis(_ ax: Int) -> Tensor {
        let (outer, n, inner) = splitAround(ax)
        var outShape = shape; outShape[ax] = 1
        let src = storage.pointer
        let out = Tensor(shape: outShape) { dst in
            let d = dst.baseAddress!
            Parallel.forEachRange(outer, costPerItem: n * inner) { r in
                for o in r {
                    let row = d + o * inner
                    row.update(repeating: 0, count: inner)
                    for k in 0..<n {
                        let s = src + (o * n + k) * inner
                        for i in 0..<inner { row[i] += s[i] }
                    }
                }
            }
        }
        let original = shape
        return Tensor.record("sum", result: out, inputs: [self]) { g in [g.broadcast(to: original)] }
    }

    /// The sum over `axes` (all axes when `nil`).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let list = Set((axes ?? Array(0..<rank)).map { normalizeAxis($0, rank: rank) }).sorted()
        if rank == 0 { return self }
        if list.count == rank {
            return reshaped([1, elementCount]).sumKeepingAxis(1).reshaped(keepDims ? [Int](repeating: 1, count: rank) : [])
        }
        var r = self
        for ax in list { r = r.sumKeepingAxis(ax) }
        if keepDims { return r }
        return r.reshaped(shape.enumerated().filter { !list.contains($0.offset) }.map(\.element))
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// The mean over `axes` (all axes when `nil`).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let list = Set((axes ?? Array(0..<rank)).map { normalizeAxis($0, rank: rank) })
        let count = list.map { shape[$0] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(count, 1)))
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// The variance over `axes`; `unbiased` divides by n − 1 (PyTorch's default) instead of n.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, unbiased: Bool = true) -> Tensor {
        let list = Set((axes ?? Array(0..<rank)).map { normalizeAxis($0, rank: rank) })
        let count = list.map { shape[$0] }.reduce(1, *)
        let centered = self - mean(axes: axes, keepDims: true)
        let ss = centered.square().sum(axes: axes, keepDims: keepDims)
        return ss * (1 / Float(Swift.max(unbiased ? count - 1 : count, 1)))
    }

    /// The maximum over one axis and where it was found (the first maximum on ties).
    /// The gradient flows only to that position.
    public func max(axis: Int, keepDims: Bool = false) -> (values: Tensor, indices: [Int]) {
        let ax = normalizeAxis(axis, rank: rank)
        let (outer, n, inner) = splitAround(ax)
        precondition(n > 0, "max over an empty axis")
        var indices = [Int](repeating: 0, count: outer * inner)
        var outShape = shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        let src = storage.pointer
        let out = Tensor(shape: outShape) { dst in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = src[o * n * inner + i], bestK = 0
                    for k in 1..<Swift.max(n, 1) {
                        let v = src[(o * n + k) * inner + i]
                        if v > best || (best.isNaN == false && v.isNaN) { best = v; bestK = k }
                    }
                    dst[o * inner + i] = best
                    indices[o * inner + i] = bestK
                }
            }
        }
        let original = shape
        let idx = indices
        let result = Tensor.record("max", result: out, inputs: [self]) { g in
            let dx = Tensor.zeros(original)
            let d = dx.storage.pointer, gp = g.storage.pointer
            for o in 0..<outer { for i in 0..<inner { d[(o * n + idx[o * inner + i]) * inner + i] = gp[o * inner + i] } }
            return [dx]
        }
        return (result, indices)
    }

    /// The largest element.
    public func max() -> Tensor { reshaped([elementCount]).max(axis: 0).values }

    /// log Σ exp over one axis, computed stably.
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor {
        let m = withoutGrad { max(axis: axis, keepDims: true).values }
        let r = (self - m).exp().sum(axis: axis, keepDims: true).log() + m
        return keepDims ? r : r.squeezed(axis)
    }
}
