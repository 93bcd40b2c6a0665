import UniRLTensor

/// One image as the Qwen2.5-VL vision tower takes it: flattened patches in the processor's order
/// (transformers' `pixel_values`, patches × C·temporal·patch·patch) and its grid (`image_grid_thw`).
public struct ProcessedImage: Sendable {
    /// [t·h·w, C·temporalPatch·patch·patch].
    public var pixelValues: Tensor
    /// Temporal, height and width patch counts.
    public var grid: (t: Int, h: Int, w: Int)

    public init(pixelValues: Tensor, grid: (t: Int, h: Int, w: Int)) {
        precondition(pixelValues.rank == 2 && pixelValues.shape[0] == grid.t * grid.h * grid.w,
                     "pixel values \(pixelValues.shape) do not hold \(grid.t)×\(grid.h)×\(grid.w) patches")
        self.pixelValues = pixelValues
        self.grid = grid
    }

    /// Placeholder tokens this image takes in the text: t·h·w / merge².
    public func tokenCount(spatialMerge m: Int) -> Int { grid.t * grid.h * grid.w / (m * m) }
}

extension ProcessedImage {
    /// Splits transformers' batched `pixel_values` [Σ t·h·w, values] into images by their
    /// `image_grid_thw` rows, flattened as [t0, h0, w0, t1, h1, w1, …].
    public static func split(pixelValues: Tensor, grids: [Int]) -> [ProcessedImage] {
        precondition(grids.count % 3 == 0, "image_grid_thw must hold three numbers per image")
        var images: [ProcessedImage] = [], offset = 0
        for i in stride(from: 0, to: grids.count, by: 3) {
            let n = grids[i] * grids[i + 1] * grids[i + 2]
            images.append(ProcessedImage(pixelValues: pixelValues.slice(axis: 0, offset..<(offset + n)),
                                         grid: (grids[i], grids[i + 1], grids[i + 2])))
            offset += n
        }
        return images
    }
}
