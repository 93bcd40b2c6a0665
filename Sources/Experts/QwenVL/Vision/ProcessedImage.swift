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
