import UniRLTensor

/// Draws a ``Scene`` as an RGB image: filled, anti-aliased shapes on the light background.
///
/// Each pixel's coverage α by a shape is the fraction of an `n × n` grid of sample points
/// inside it (supersampling), and the pixel is `background + α·(colour − background)`, rounded.
/// Objects never overlap, so no pixel blends two shapes. Rendering is a pure function of the
/// scene: the same scene always gives the same bytes.
///
/// ```swift
/// let image = SceneRenderer(size: 64).render(scene)
/// ```
public struct SceneRenderer: Sendable {
    /// The image side in pixels: 32 by default, 64 as the larger option (any side ≥ 8 works).
    public var size: Int
    /// Sample points per pixel side (4 → 16 samples per pixel).
    public var samplesPerAxis: Int

    public init(size: Int = 32, samplesPerAxis: Int = 4) {
        precondition(size >= 8, "ShapesWorld images are at least 8 pixels wide, got \(size)")
        precondition(samplesPerAxis >= 1, "at least one sample per pixel")
        self.size = size
        self.samplesPerAxis = samplesPerAxis
    }

    /// The scene drawn on the background.
    public func render(_ scene: Scene) -> RGBImage {
        var image = RGBImage(width: size, height: size, fill: Palette.background.tuple)
        for object in scene.objects { draw(object, into: &image) }
        return image
    }

    /// The coverage of each pixel by `object`, row-major `size × size`, in [0, 1].
    public func coverage(of object: SceneObject) -> [Float] {
        var out = [Float](repeating: 0, count: size * size)
        forEachCoveredPixel(of: object) { x, y, alpha in out[y * size + x] = alpha }
        return out
    }

    private func draw(_ object: SceneObject, into image: inout RGBImage) {
        let bg = Palette.background, c = object.color.rgb
        forEachCoveredPixel(of: object) { x, y, alpha in
            func blend(_ b: UInt8, _ f: UInt8) -> UInt8 {
                UInt8((Float(b) + alpha * (Float(f) - Float(b))).rounded())
            }
            image[x, y] = (blend(bg.r, c.r), blend(bg.g, c.g), blend(bg.b, c.b))
        }
    }

    /// Calls `body(x, y, α)` for every pixel with α > 0.
    private func forEachCoveredPixel(of object: SceneObject, _ body: (Int, Int, Float) -> Void) {
        let side = Double(size)
        let box = object.boundingBox(imageSize: size)
        let cx = object.centerX * side, cy = object.centerY * side, half = object.size * side / 2
        let inside: (Double, Double) -> Bool
        switch object.shape {
        case .circle:
            inside = { x, y in (x - cx) * (x - cx) + (y - cy) * (y - cy) <= half * half }
        case .square:
            inside = { x, y in abs(x - cx) <= half && abs(y - cy) <= half }
        case .triangle:
            // Apex (cx, cy − half), base from (cx − half, cy + half) to (cx + half, cy + half):
            // at height y the half-width grows linearly from 0 to `half`.
            inside = { x, y in
                let t = (y - (cy - half)) / (2 * half)
                return t >= 0 && t <= 1 && abs(x - cx) <= t * half
            }
        }
        let n = samplesPerAxis
        let step = 1.0 / Double(n)
        let perPixel = Float(n * n)
        let x0 = max(0, Int(box.minX.rounded(.down))), x1 = min(size - 1, Int(box.maxX.rounded(.up)))
        let y0 = max(0, Int(box.minY.rounded(.down))), y1 = min(size - 1, Int(box.maxY.rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                var hits = 0
                for sy in 0..<n {
                    let py = Double(y) + (Double(sy) + 0.5) * step
                    for sx in 0..<n where inside(Double(x) + (Double(sx) + 0.5) * step, py) { hits += 1 }
                }
                if hits > 0 { body(x, y, Float(hits) / perPixel) }
            }
        }
    }
}
