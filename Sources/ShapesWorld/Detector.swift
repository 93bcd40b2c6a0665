import Foundation
import UniRLTensor

/// An object found in an image by ``ShapeDetector``.
public struct DetectedObject: Sendable, Hashable, Codable {
    public var shape: ShapeKind
    public var color: PaletteColor
    /// The shape's box in pixels, estimated from its moments (see ``ShapeDetector``).
    public var box: BoundingBox
    /// The centre of mass, in pixels.
    public var centroidX: Double
    public var centroidY: Double
    /// The summed coverage, in pixels.
    public var area: Double
    /// The downward skew of the shape's mass, `−κ₀₃ / A^{3/2}`, scaled so that an upright
    /// triangle scores 1 and shapes symmetric top to bottom (circles, squares) 0.
    public var triangularity: Double
    /// The four-fold part of the fourth cumulants, `−(κ₄₀ + κ₀₄ − 6κ₂₂) / A²`, scaled so that a
    /// square scores 1 and a circle (round, with no four-fold part) 0.
    public var squareness: Double

    public init(shape: ShapeKind, color: PaletteColor, box: BoundingBox, centroidX: Double, centroidY: Double,
                area: Double, triangularity: Double, squareness: Double) {
        self.shape = shape
        self.color = color
        self.box = box
        self.centroidX = centroidX
        self.centroidY = centroidY
        self.area = area
        self.triangularity = triangularity
        self.squareness = squareness
    }

    /// A ground-truth object as a detection, with its box in the pixels of a `side × side`
    /// render (or in unit coordinates for `side` 1).
    public init(groundTruth o: SceneObject, imageSize side: Int = 1) {
        let box = o.boundingBox(imageSize: side)
        let fill: Double, cy: Double
        switch o.shape {
        case .circle: (fill, cy) = (Double.pi / 4, box.centerY)
        case .square: (fill, cy) = (1, box.centerY)
        case .triangle: (fill, cy) = (0.5, box.minY + 2 * box.height / 3)
        }
        self.init(shape: o.shape, color: o.color, box: box, centroidX: box.centerX, centroidY: cy, area: fill * box.area,
                  triangularity: o.shape == .triangle ? 1 : 0, squareness: o.shape == .square ? 1 : 0)
    }

    /// The grid cell holding the centre of the box in a `width × height` image.
    public func cell(imageWidth: Int, imageHeight: Int) -> GridCell {
        let n = GridCell.gridSize
        func index(_ v: Double, _ side: Int) -> Int { min(n - 1, max(0, Int(v / Double(side) * Double(n)))) }
        return GridCell(column: index(box.centerX, imageWidth), row: index(box.centerY, imageHeight))
    }

    /// "red circle".
    public var phrase: String { "\(color.name) \(shape.name)" }
}

/// Turns a ShapesWorld image into objects: palette classification, connected components, and
/// shape from the geometry of each component's coverage.
///
/// 1. **Pixels.** With `d = pixel − background` and `v_k = colour_k − background`, each palette
///    colour explains the pixel as a blend with coverage `α_k = clamp(d·v_k / v_k·v_k, 0, 1)` and
///    residual `‖d − α_k v_k‖`; the colour with the least residual wins, and the pixel is
///    foreground when its `α ≥ foregroundThreshold`. Anti-aliased edges are blends, so they
///    classify by coverage rather than by raw distance.
/// 2. **Components.** 8-connected foreground components; those smaller than `minimumCoreArea`
///    (scaled with the image area) are noise. Objects never touch, so one component is one
///    object. Its colour is the palette colour that best explains its mean `d`.
/// 3. **Coverage.** Each pixel goes to its nearest core; a component then takes the rings of
///    pixels 1, 2, … (up to `haloRadius`) pixels from its core for as long as a ring's mean
///    coverage exceeds both `haloStopCoverage` and three standard errors of the image's noise
///    (measured on the background), so blurred edges are gathered and noise is not. Coverage
///    `α` is measured along the component's colour, unclamped (within [−½, 1½]) so that noise
///    averages out instead of adding mass.
/// 4. **Shape.** From the central moments `μ_pq` of the coverage (area A): a triangle's mass
///    sits low, so its third vertical cumulant `κ₀₃ = μ₀₃` is negative; a square has corners,
///    so the four-fold part of its fourth cumulants `κ₄₀ + κ₀₄ − 6κ₂₂` (`κ₄₀ = μ₄₀ − 3μ₂₀²`,
///    `κ₂₂ = μ₂₂ − μ₂₀μ₀₂ − 2μ₁₁²`) is negative, where a circle's is 0. Normalised by A they are
///    scale-free, and as cumulants above the second they are unchanged by a Gaussian blur, which
///    only adds to the variances. ``DetectedObject/triangularity`` and
///    ``DetectedObject/squareness`` scale them to 1 for the ideal shapes; a triangle has
///    triangularity ≥ `triangleThreshold`, otherwise squareness ≥ `squareThreshold` makes a
///    square and anything less a circle. (Fill ratios of the bounding box — square 1, circle
///    π/4, triangle ½ — separate clean renders as well but drift under blur.)
/// 5. **Box.** Centred on the centre of mass, sized from the area (also blur-free): side √A for a
///    square, diameter 2√(A/π) for a circle, base = height = √(2A) for a triangle, whose centre
///    of mass lies two thirds of the way down.
///
/// ```swift
/// let objects = ShapeDetector().detect(image)   // [DetectedObject]
/// ```
public struct ShapeDetector: Sendable {
    /// The least best-colour coverage of a foreground pixel.
    public var foregroundThreshold: Float = 0.5
    /// The least number of foreground pixels of an object in a 32 × 32 image (scaled by area).
    public var minimumCoreArea: Double = 4
    /// The widest halo, in pixels of a 32 × 32 image (scaled by side), whose coverage joins a
    /// component.
    public var haloRadius: Double = 4
    /// A halo stops growing at the first ring whose mean coverage is below this.
    public var haloStopCoverage: Double = 0.01
    /// Triangularity at or above which a shape is a triangle.
    public var triangleThreshold: Double = 0.5
    /// Squareness at or above which a non-triangle is a square.
    public var squareThreshold: Double = 0.5

    public init() {}

    /// The objects in `image`, ordered by the grid cell of their centre (rows from the top),
    /// then left to right.
    public func detect(_ image: RGBImage) -> [DetectedObject] {
        let w = image.width, h = image.height, n = w * h
        guard n > 0 else { return [] }
        let scale = Double(min(w, h)) / 32
        let bg = Palette.background
        let colors = Palette.colors
        let directions = colors.map { c in (Float(c.rgb.r) - Float(bg.r), Float(c.rgb.g) - Float(bg.g), Float(c.rgb.b) - Float(bg.b)) }
        let inverseNorms = directions.map { 1 / ($0.0 * $0.0 + $0.1 * $0.1 + $0.2 * $0.2) }

        // 1. Per-pixel difference from the background and foreground mask.
        var diff = [Float](repeating: 0, count: 3 * n)
        var foreground = [Bool](repeating: false, count: n)
        image.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let dr = Float(p[3 * i]) - Float(bg.r), dg = Float(p[3 * i + 1]) - Float(bg.g), db = Float(p[3 * i + 2]) - Float(bg.b)
                diff[3 * i] = dr; diff[3 * i + 1] = dg; diff[3 * i + 2] = db
                var bestResidual = Float.infinity, bestAlpha: Float = 0
                for k in 0..<directions.count {
                    let v = directions[k]
                    let a = min(max((dr * v.0 + dg * v.1 + db * v.2) * inverseNorms[k], 0), 1)
                    let er = dr - a * v.0, eg = dg - a * v.1, eb = db - a * v.2
                    let residual = er * er + eg * eg + eb * eb
                    if residual < bestResidual { bestResidual = residual; bestAlpha = a }
                }
                foreground[i] = bestAlpha >= foregroundThreshold
            }
        }

        // 2. Connected components (8-neighbourhood) of the foreground.
        var label = [Int](repeating: -1, count: n)
        var cores: [[Int]] = []
        var stack: [Int] = []
        for start in 0..<n where foreground[start] && label[start] < 0 {
            let id = cores.count
            var members: [Int] = []
            label[start] = id
            stack.append(start)
            while let i = stack.popLast() {
                members.append(i)
                let x = i % w, y = i / w
                for ny in max(0, y - 1)...min(h - 1, y + 1) {
                    for nx in max(0, x - 1)...min(w - 1, x + 1) {
                        let j = ny * w + nx
                        if foreground[j] && label[j] < 0 { label[j] = id; stack.append(j) }
                    }
                }
            }
            cores.append(members)
        }
        let minimumCore = Int((minimumCoreArea * scale * scale).rounded())
        var kept: [Int] = []
        for (id, members) in cores.enumerated() {
            if members.count >= max(1, minimumCore) { kept.append(id) } else { for i in members { label[i] = -1 } }
        }
        guard !kept.isEmpty else { return [] }

        // Colour of each kept component: the palette colour that best explains its mean difference.
        var colorOf = [Int](repeating: 0, count: cores.count)
        for id in kept {
            var mean: (Float, Float, Float) = (0, 0, 0)
            for i in cores[id] { mean.0 += diff[3 * i]; mean.1 += diff[3 * i + 1]; mean.2 += diff[3 * i + 2] }
            let count = Float(cores[id].count)
            mean = (mean.0 / count, mean.1 / count, mean.2 / count)
            var bestResidual = Float.infinity
            for k in 0..<directions.count {
                let v = directions[k]
                let a = max((mean.0 * v.0 + mean.1 * v.1 + mean.2 * v.2) * inverseNorms[k], 0)
                let er = mean.0 - a * v.0, eg = mean.1 - a * v.1, eb = mean.2 - a * v.2
                let residual = er * er + eg * eg + eb * eb
                if residual < bestResidual { bestResidual = residual; colorOf[id] = k }
            }
        }
        /// Coverage of pixel `i` along the colour of component `id`, unclamped within [−½, 1½].
        func coverage(_ i: Int, _ id: Int) -> Double {
            let v = directions[colorOf[id]]
            let dot = diff[3 * i] * v.0 + diff[3 * i + 1] * v.1 + diff[3 * i + 2] * v.2
            return Double(min(max(dot * inverseNorms[colorOf[id]], -0.5), 1.5))
        }

        // 3. Halo: rings of growing (chamfer-Euclidean) distance around each core, each pixel
        // going to its nearest core; a component takes rings while they hold more coverage than
        // noise would give. Round rings keep truncation from favouring any direction.
        let maximumRadius = max(1, Int((haloRadius * scale).rounded()))
        let noise = Double(backgroundNoise(diff: diff, foreground: foreground, width: w, height: h))
        let (distance, nearest) = distanceToCores(label: label, width: w, height: h)
        var rings = [[[Int]]](repeating: [], count: cores.count)
        for id in kept { rings[id] = [[Int]](repeating: [], count: maximumRadius) }
        for i in 0..<n where label[i] < 0 && nearest[i] >= 0 {
            let r = Int(distance[i].rounded(.up)) - 1
            if r < maximumRadius { rings[nearest[i]][r].append(i) }
        }
        var regions = [[Int]](repeating: [], count: cores.count)
        for id in kept {
            regions[id] = cores[id]
            for ring in rings[id] {
                let mass = ring.reduce(0.0) { $0 + coverage($1, id) }
                // The mean coverage of pure noise has standard deviation σ / (‖v‖ √N).
                let noiseFloor = 3 * noise * Double(inverseNorms[colorOf[id]]).squareRoot() / Double(max(1, ring.count)).squareRoot()
                if ring.isEmpty || mass / Double(ring.count) < max(haloStopCoverage, noiseFloor) { break }
                regions[id] += ring
            }
        }

        // 4–5. Coverage, features, shape and box per component.
        var objects: [DetectedObject] = []
        for id in kept {
            if let object = measure(region: regions[id], width: w, color: colors[colorOf[id]], coverage: { coverage($0, id) }) {
                objects.append(object)
            }
        }
        return objects.sorted {
            let a = $0.cell(imageWidth: w, imageHeight: h), b = $1.cell(imageWidth: w, imageHeight: h)
            return a != b ? a < b : $0.centroidX < $1.centroidX
        }
    }

    /// For every pixel, the distance to the nearest labelled pixel (a two-pass chamfer transform
    /// with steps 1 and √2) and that pixel's label (−1 where no label exists).
    private func distanceToCores(label: [Int], width w: Int, height h: Int) -> (distance: [Double], nearest: [Int]) {
        var distance = label.map { $0 >= 0 ? 0.0 : Double.infinity }
        var nearest = label
        let diagonal = 2.0.squareRoot()
        func relax(_ i: Int, from j: Int, step: Double) {
            if distance[j] + step < distance[i] { distance[i] = distance[j] + step; nearest[i] = nearest[j] }
        }
        for y in 0..<h {
            for x in 0..<w {
                let i = y * w + x
                if x > 0 { relax(i, from: i - 1, step: 1) }
                if y > 0 {
                    relax(i, from: i - w, step: 1)
                    if x > 0 { relax(i, from: i - w - 1, step: diagonal) }
                    if x < w - 1 { relax(i, from: i - w + 1, step: diagonal) }
                }
            }
        }
        for y in stride(from: h - 1, through: 0, by: -1) {
            for x in stride(from: w - 1, through: 0, by: -1) {
                let i = y * w + x
                if x < w - 1 { relax(i, from: i + 1, step: 1) }
                if y < h - 1 {
                    relax(i, from: i + w, step: 1)
                    if x < w - 1 { relax(i, from: i + w + 1, step: diagonal) }
                    if x > 0 { relax(i, from: i + w - 1, step: diagonal) }
                }
            }
        }
        return (distance, nearest)
    }

    /// The standard deviation of the pixel values, per channel, over the background at least
    /// two pixels from any foreground (0 when too little background is left to tell).
    private func backgroundNoise(diff: [Float], foreground: [Bool], width w: Int, height h: Int) -> Float {
        var sum: Float = 0, sumSquares: Float = 0, count = 0
        for y in 0..<h {
            for x in 0..<w {
                var far = true
                for ny in max(0, y - 2)...min(h - 1, y + 2) where far {
                    for nx in max(0, x - 2)...min(w - 1, x + 2) where foreground[ny * w + nx] { far = false; break }
                }
                guard far else { continue }
                let i = y * w + x
                for c in 0..<3 { sum += diff[3 * i + c]; sumSquares += diff[3 * i + c] * diff[3 * i + c] }
                count += 3
            }
        }
        guard count >= 30 else { return 0 }
        let mean = sum / Float(count)
        return max(0, sumSquares / Float(count) - mean * mean).squareRoot()
    }

    /// Moments, features, shape and box of one component's coverage.
    private func measure(region: [Int], width w: Int, color: PaletteColor, coverage: (Int) -> Double) -> DetectedObject? {
        var area = 0.0, sx = 0.0, sy = 0.0
        var alphas = [Double](repeating: 0, count: region.count)
        for (k, i) in region.enumerated() {
            let a = coverage(i)
            alphas[k] = a
            area += a
            sx += a * (Double(i % w) + 0.5)
            sy += a * (Double(i / w) + 0.5)
        }
        guard area > 0 else { return nil }
        let cx = sx / area, cy = sy / area
        var m20 = 0.0, m02 = 0.0, m11 = 0.0, m03 = 0.0, m40 = 0.0, m04 = 0.0, m22 = 0.0
        for (k, i) in region.enumerated() {
            let a = alphas[k]
            let dx = Double(i % w) + 0.5 - cx, dy = Double(i / w) + 0.5 - cy
            let dx2 = dx * dx, dy2 = dy * dy
            m20 += a * dx2; m02 += a * dy2; m11 += a * dx * dy
            m03 += a * dy2 * dy
            m40 += a * dx2 * dx2; m04 += a * dy2 * dy2; m22 += a * dx2 * dy2
        }
        m20 /= area; m02 /= area; m11 /= area; m03 /= area; m40 /= area; m04 /= area; m22 /= area
        // Cumulants of order 3 and 4 are unchanged by a symmetric (e.g. Gaussian) blur.
        let k40 = m40 - 3 * m20 * m20, k04 = m04 - 3 * m02 * m02, k22 = m22 - m20 * m02 - 2 * m11 * m11
        let triangularity = -m03 / pow(area, 1.5) / Self.triangleThirdCumulant
        let squareness = -(k40 + k04 - 6 * k22) / (area * area) / Self.squareFourFoldCumulant

        let shape: ShapeKind = triangularity >= triangleThreshold ? .triangle : squareness >= squareThreshold ? .square : .circle
        // Sizes from the area, which blur does not change either.
        let side: Double
        switch shape {
        case .square: side = area.squareRoot()
        case .circle: side = 2 * (area / Double.pi).squareRoot()
        case .triangle: side = (2 * area).squareRoot()
        }
        let top = shape == .triangle ? cy - 2 * side / 3 : cy - side / 2
        let box = BoundingBox(minX: cx - side / 2, minY: top, maxX: cx + side / 2, maxY: top + side)
        return DetectedObject(shape: shape, color: color, box: box, centroidX: cx, centroidY: cy, area: area,
                              triangularity: triangularity, squareness: squareness)
    }

    /// `−κ₀₃ / A^{3/2}` of the upright triangle whose base equals its height: `2√2 / 135`.
    static let triangleThirdCumulant = 2 * 2.0.squareRoot() / 135
    /// `−(κ₄₀ + κ₀₄ − 6κ₂₂) / A²` of an axis-aligned square: `1/60`.
    static let squareFourFoldCumulant = 1.0 / 60
}
