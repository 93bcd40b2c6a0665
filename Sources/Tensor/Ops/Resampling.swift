// Pixel (un)shuffle and nearest-neighbour upsampling, as PyTorch's `F.pixel_shuffle`,
// `F.pixel_unshuffle` and `F.interpolate(mode="nearest")` with integer factors.

extension Tensor {
    /// [N, C·r², H, W] → [N, C, H·r, W·r]: out[n, c, h·r+i, w·r+j] = x[n, c·r²+i·r+j, h, w].
    public func pixelShuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && shape[1] % (r * r) == 0, "pixel_shuffle(\(r)) needs [N, C·\(r * r), H, W], got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1] / (r * r), shape[2], shape[3])
        return reshaped([n, c, r, r, h, w]).permuted([0, 1, 4, 2, 5, 3]).reshaped([n, c, h * r, w * r])
    }

    /// [N, C, H·r, W·r] → [N, C·r², H, W], the inverse of ``pixelShuffle(_:)``.
    public func pixelUnshuffle(_ r: Int) -> Tensor {
        precondition(rank == 4 && shape[2] % r == 0 && shape[3] % r == 0, "pixel_unshuffle(\(r)) needs H and W divisible by \(r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2] / r, shape[3] / r)
        return reshaped([n, c, h, r, w, r]).permuted([0, 1, 3, 5, 2, 4]).reshaped([n, c * r * r, h, w])
    }

    /// Nearest-neighbour upsampling of [N, C, H, W] by an integer factor.
    public func upsampledNearest(_ factor: Int) -> Tensor {
        precondition(rank == 4 && factor >= 1, "nearest upsampling needs [N, C, H, W] and a factor ≥ 1, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        return reshaped([n, c, h, 1, w, 1]).broadcast(to: [n, c, h, factor, w, factor]).reshaped([n, c, h * factor, w * factor])
    }
}
