// Pixel (un)shuffle and nearest-neighbour upsampling, as PyTorch's `F.pixel_shuffle`,
// `F.pixel_unshuffle` and `F.interpolate(mode="nearest")` with integer factors. Direct kernels:
// each is the other's backward, and upsampling's backward sums each block.

/// Moves values between [N, C·r², H, W] (`packed`) and [N, C, H·r, W·r] (`spread`):
/// spread[n, c, h·r+i, w·r+j] = packed[n, c·r²+i·r+j, h, w].
private func shuffle(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, c: Int, h: Int, w: Int,
                     r: Int, toSpread: Bool) {
    let planes = n * c
    Parallel.forEachRange(planes, costPerItem: h * w * r * r) { range in
        for plane in range {
            let packed = plane * r * r * h * w, spread = plane * h * r * w * r
            for i in 0..<r {
                for j in 0..<r {
                    let p = packed + (i * r + j) * h * w
                    for y in 0..<h {
                        let pRow = p + y * w, sRow = spread + (y * r + i) * w * r + j
                        if toSpread {
                            let d = dst + sRow, s = src + pRow
                            for x in 0..<w { d[x &* r] = s[x] }
                        } else {
                            let d = dst + pRow, s = src + sRow
                            for x in 0..<w { d[x] = s[x &* r] }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// [N, C·r², H, W] → [N, C, H·r, W·r]: out[n, c, h·r+i, w·r+j] = x[n, c·r²+i·r+j, h, w].
    public func pixelShuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && shape[1] % (r * r) == 0, "pixel_shuffle(\(r)) needs [N, C·\(r * r), H, W], got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1] / (r * r), shape[2], shape[3])
        let out = Tensor(shape: [n, c, h * r, w * r]) {
            shuffle(storage.pointer, $0.baseAddress!, n: n, c: c, h: h, w: w, r: r, toSpread: true)
        }
        return Tensor.record("pixel_shuffle", result: out, inputs: [self]) { g in [g.pixelUnshuffle(r)] }
    }

    /// [N, C, H·r, W·r] → [N, C·r², H, W], the inverse of ``pixelShuffle(_:)``.
    public func pixelUnshuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && shape[2] % r == 0 && shape[3] % r == 0,
                     "pixel_unshuffle(\(r)) needs H and W divisible by \(r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2] / r, shape[3] / r)
        let out = Tensor(shape: [n, c * r * r, h, w]) {
            shuffle(storage.pointer, $0.baseAddress!, n: n, c: c, h: h, w: w, r: r, toSpread: false)
        }
        return Tensor.record("pixel_unshuffle", result: out, inputs: [self]) { g in [g.pixelShuffle(r)] }
    }

    /// Nearest-neighbour upsampling of [N, C, H, W] by an integer factor.
    public func upsampledNearest(_ factor: Int) -> Tensor {
        precondition(rank == 4 && factor >= 1, "nearest upsampling needs [N, C, H, W] and a factor ≥ 1, got \(shape)")
        let (planes, h, w, f) = (shape[0] * shape[1], shape[2], shape[3], factor)
        let src = storage.pointer
        let out = Tensor(shape: [shape[0], shape[1], h * f, w * f]) { dst in
            let o = dst.baseAddress!
            Parallel.forEachRange(planes, costPerItem: h * w * f * f) { range in
                for plane in range {
                    for y in 0..<(h * f) {
                        let s = src + plane * h * w + (y / f) * w, d = o + plane * h * f * w * f + y * w * f
                        for x in 0..<w { let v = s[x], dx = d + x &* f; for j in 0..<f { dx[j] = v } }
                    }
                }
            }
        }
        let original = shape
        return Tensor.record("upsample_nearest", result: out, inputs: [self]) { g in
            let gp = g.storage.pointer
            return [Tensor(shape: original) { dst in
                let o = dst.baseAddress!
                o.update(repeating: 0, count: planes * h * w)
                Parallel.forEachRange(planes, costPerItem: h * w * f * f) { range in
                    for plane in range {
                        for y in 0..<(h * f) {
                            let s = gp + plane * h * f * w * f + y * w * f, d = o + plane * h * w + (y / f) * w
                            for x in 0..<w { var acc: Float = 0; let sx = s + x &* f; for j in 0..<f { acc += sx[j] }; d[x] += acc }
                        }
                    }
                }
            }]
        }
    }
}
