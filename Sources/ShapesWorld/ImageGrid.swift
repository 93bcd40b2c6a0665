import UniRLTensor

/// Tiles images into one contact sheet, row by row, with a border between tiles.
public enum ImageGrid {
    /// The images in a grid of `columns` (default: the square root, rounded up), every tile the
    /// size of the largest image, separated and framed by `gap` pixels of `border` colour.
    public static func tile(_ images: [RGBImage], columns: Int? = nil, gap: Int = 2,
                            border: RGBColor = RGBColor(160, 160, 160)) -> RGBImage {
        guard !images.isEmpty else { return RGBImage(width: 0, height: 0, pixels: []) }
        let cols = max(1, min(images.count, columns ?? Int(Double(images.count).squareRoot().rounded(.up))))
        let rows = (images.count + cols - 1) / cols
        let tileW = images.map(\.width).max() ?? 0, tileH = images.map(\.height).max() ?? 0
        let width = cols * tileW + (cols + 1) * gap, height = rows * tileH + (rows + 1) * gap
        var out = RGBImage(width: width, height: height, fill: border.tuple)
        for (k, image) in images.enumerated() {
            let x0 = gap + (k % cols) * (tileW + gap), y0 = gap + (k / cols) * (tileH + gap)
            for y in 0..<image.height {
                for x in 0..<image.width { out[x0 + x, y0 + y] = image[x, y] }
            }
        }
        return out
    }
}
