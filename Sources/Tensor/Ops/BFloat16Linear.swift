import CBLAS

extension Tensor {
    /// y = x·Ŵᵀ + b for a frozen bfloat16 weight Ŵ [out, in], accumulated in `Float`.
    ///
    /// The weight is widened to `Float` one tile at a time (exact) and multiplied with `sgemm`, so
    /// the result is the `Float` product with the rounded weight: against the unrounded weight w,
    /// |y − y₃₂| ≤ 2⁻⁸·(|x|·|w|ᵀ) elementwise, plus `Float` accumulation error. No tile holds more
    /// than ``bfloat16TileFloats`` floats per thread, so the weight is never widened whole.
    /// Differentiable in `x` (∂x = g·Ŵ) and `bias`; the weight has no gradient.
    public func linear(bfloat16 weight: BFloat16Matrix, bias: Tensor?) -> Tensor {
        if rank == 1 { return reshaped([1, shape[0]]).linear(bfloat16: weight, bias: bias).reshaped([weight.rows]) }
        let (outF, inF) = (weight.rows, weight.columns)
        precondition(shape.last == inF, "linear: x \(shape), bfloat16 weight \(weight.shape)")
        if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) for \(outF) outputs") }
        let rows = elementCount / Swift.max(inF, 1)
        let xp = storage.pointer, bp = bias?.storage.pointer
        let out = Tensor(shape: Array(shape.dropLast()) + [outF]) { c in
            let o = c.baseAddress!
            // Output features in tiles, one tile per task: each widens its rows of Ŵ and runs C[:, tile] = x·tileᵀ (+ b).
            let tile = Swift.max(1, Swift.min(outF, Self.bfloat16TileFloats / Swift.max(inF, 1)))
            let tiles = (outF + tile - 1) / tile
            Parallel.forEachRange(tiles, costPerItem: rows * tile * inF) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tile * inF)
                defer { scratch.deallocate() }
                for t in range {
                    let n0 = t * tile, n = Swift.min(tile, outF - n0)
                    weight.decode(rows: n0..<(n0 + n), columns: 0..<inF, into: scratch)
                    if let bp { for r in 0..<rows { (o + r * outF + n0).update(from: bp + n0, count: n) } }
                    sgemmBlock(xp, inF, false, scratch, inF, true, o + n0, outF, m: rows, n: n, k: inF, accumulate: bp != nil, alpha: 1)
                }
            }
        }
        let x = self
        let inputs = bias.map { [x, $0] } ?? [x]
        return Tensor.record("linear_bf16", result: out, inputs: inputs) { g in
            let gx = x.requiresGrad ? g.matmul(bfloat16: weight) : nil
            guard let bias else { return [gx] }
            return [gx, bias.requiresGrad ? g.reshaped([rows, outF]).sum(axis: 0) : nil]
        }
    }

    /// g·Ŵ for g […, out] and a bfloat16 Ŵ [out, in] (the input gradient of
    /// ``linear(bfloat16:bias:)``), in `Float`: input features are split across threads, and
    /// each widens its columns of Ŵ tile by tile.
    func matmul(bfloat16 weight: BFloat16Matrix) -> Tensor {
        let (outF, inF) = (weight.rows, weight.columns)
        precondition(shape.last == outF, "g \(shape) · bfloat16 weight \(weight.shape)")
        let rows = elementCount / Swift.max(outF, 1)
        let gp = storage.pointer
        return Tensor(shape: Array(shape.dropLast()) + [inF]) { c in
            let o = c.baseAddress!
            if outF == 0 { o.update(repeating: 0, count: rows * inF); return }
            Parallel.forEachRange(inF, costPerItem: rows * outF) { cols in
                let tile = Swift.max(1, Swift.min(outF, Self.bfloat16TileFloats / Swift.max(cols.count, 1)))
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tile * cols.count)
                defer { scratch.deallocate() }
                for n0 in stride(from: 0, to: outF, by: tile) {
                    let n = Swift.min(tile, outF - n0)
                    weight.decode(rows: n0..<(n0 + n), columns: cols, into: scratch)
                    sgemmBlock(
                        gp + n0, outF, false, scratch, cols.count, false, o + cols.lowerBound, inF,
                        m: rows, n: cols.count, k: n, accumulate: n0 > 0, alpha: 1)
                }
            }
        }
    }

    /// The most weight elements one thread widens at a time (1 MiB of `Float`).
    static let bfloat16TileFloats = 1 << 18
}
