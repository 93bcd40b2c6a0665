import Foundation
import UniRLCore
import UniRLShapesWorld
import UniRLTensor

/// An image-quality score for ShapesWorld images: how well the pixels fit the world's flat colours.
/// A render is the light background and the palette's colours (with blended edges), so an image
/// whose pixels sit near those colours is clean, and muddy or noisy pixels lower the score:
///
///     q = mean over pixels of exp(−d² / (2·s²)),  d = the RGB distance to the nearest of the background
///                                                     and the palette colours, s = `scale` (default 32)
///
/// q ∈ (0, 1]; 1 for an image of palette colours only. It says nothing about *what* is drawn, only
/// how cleanly (the `cycle-edit` scenario's R_quality).
public struct PaletteFitReward: RewardFunction {
    public let name: String
    /// s, in 0…255 units.
    public var scale: Float

    public init(scale: Float = 32, name: String = "palette_fit") {
        self.scale = scale
        self.name = name
    }

    public func scores(for batch: [RGBImage]) async throws -> [Float?] {
        batch.map { score($0) }
    }

    /// q of one image.
    public func score(_ image: RGBImage) -> Float {
        let colours = ([Palette.background] + Palette.colors.map(\.rgb)).map { (Float($0.r), Float($0.g), Float($0.b)) }
        let pixels = image.pixels, n = image.width * image.height
        guard n > 0 else { return 0 }
        let denominator = 2 * scale * scale
        var total: Float = 0
        for i in 0..<n {
            let (r, g, b) = (Float(pixels[3 * i]), Float(pixels[3 * i + 1]), Float(pixels[3 * i + 2]))
            var nearest = Float.infinity
            for c in colours {
                let d = (r - c.0) * (r - c.0) + (g - c.1) * (g - c.1) + (b - c.2) * (b - c.2)
                nearest = min(nearest, d)
            }
            total += Float(exp(Double(-nearest / denominator)))
        }
        return total / Float(n)
    }
}
