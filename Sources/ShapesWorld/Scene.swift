import UniRLTensor

/// A cell of the 3 × 3 grid that ShapesWorld objects are placed on (column 0 is the left,
/// row 0 the top). One object per cell, so objects never overlap.
public struct GridCell: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// Cells per side of the grid.
    public static let gridSize = 3

    public var column: Int
    public var row: Int

    public init(column: Int, row: Int) {
        self.column = column
        self.row = row
    }

    /// All nine cells, row by row from the top left.
    public static let all: [GridCell] = (0..<gridSize).flatMap { r in (0..<gridSize).map { c in GridCell(column: c, row: r) } }

    /// Whether the cell lies on the grid.
    public var isValid: Bool { (0..<Self.gridSize).contains(column) && (0..<Self.gridSize).contains(row) }

    /// The cell's name in instructions and answers: "top left", "top centre", …, "centre", …,
    /// "bottom right".
    public var name: String {
        let rows = ["top", "middle", "bottom"], columns = ["left", "centre", "right"]
        guard isValid else { return "(\(column), \(row))" }
        if row == 1 && column == 1 { return "centre" }
        return "\(rows[row]) \(columns[column])"
    }

    /// The cell with this ``name``, or `nil`.
    public init?(name: String) {
        guard let cell = Self.all.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = cell
    }

    public var description: String { name }

    public static func < (a: GridCell, b: GridCell) -> Bool { (a.row, a.column) < (b.row, b.column) }
}

/// An axis-aligned box, `minX ≤ x ≤ maxX`, `minY ≤ y ≤ maxY`, y growing downwards.
public struct BoundingBox: Sendable, Hashable, Codable {
    public var minX: Double
    public var minY: Double
    public var maxX: Double
    public var maxY: Double

    public init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
        self.minX = minX
        self.minY = minY
        self.maxX = maxX
        self.maxY = maxY
    }

    public var width: Double { maxX - minX }
    public var height: Double { maxY - minY }
    public var area: Double { max(0, width) * max(0, height) }
    public var centerX: Double { (minX + maxX) / 2 }
    public var centerY: Double { (minY + maxY) / 2 }

    /// Intersection over union with `other` (0 when either box is empty).
    public func intersectionOverUnion(_ other: BoundingBox) -> Double {
        let w = min(maxX, other.maxX) - max(minX, other.minX)
        let h = min(maxY, other.maxY) - max(minY, other.minY)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }

    /// The box scaled by `factor` about the origin (e.g. from unit coordinates to pixels).
    public func scaled(by factor: Double) -> BoundingBox {
        BoundingBox(minX: minX * factor, minY: minY * factor, maxX: maxX * factor, maxY: maxY * factor)
    }
}

/// One filled shape of a scene.
///
/// Geometry is in *unit image coordinates*: the image spans [0, 1] × [0, 1] with y growing
/// downwards, so the same scene renders at 32 or 64 pixels. Every shape fills a `size × size`
/// box centred on `(centerX, centerY)`: a circle of diameter `size`, a square of side `size`,
/// or an upright isosceles triangle with its apex at the top centre of the box and its base
/// along the bottom edge.
public struct SceneObject: Sendable, Hashable, Codable {
    public var shape: ShapeKind
    public var color: PaletteColor
    public var cell: GridCell
    public var centerX: Double
    public var centerY: Double
    /// The side of the object's box, as a fraction of the image side.
    public var size: Double

    public init(shape: ShapeKind, color: PaletteColor, cell: GridCell, centerX: Double, centerY: Double, size: Double) {
        self.shape = shape
        self.color = color
        self.cell = cell
        self.centerX = centerX
        self.centerY = centerY
        self.size = size
    }

    /// An object placed in `cell` with a random size and a random offset inside the cell (see
    /// ``Scene/sizeRange`` and ``Scene/cellMargin``).
    public init(shape: ShapeKind, color: PaletteColor, cell: GridCell, using rng: inout RandomState) {
        let cellSide = 1.0 / Double(GridCell.gridSize)
        let sizeInCells = Scene.sizeRange.lowerBound
            + Double(rng.nextUniform()) * (Scene.sizeRange.upperBound - Scene.sizeRange.lowerBound)
        let freedom = max(0, 1 - 2 * Scene.cellMargin - sizeInCells)  // in cell units
        let offsetX = (Double(rng.nextUniform()) - 0.5) * freedom
        let offsetY = (Double(rng.nextUniform()) - 0.5) * freedom
        self.init(shape: shape, color: color, cell: cell,
                  centerX: (Double(cell.column) + 0.5 + offsetX) * cellSide,
                  centerY: (Double(cell.row) + 0.5 + offsetY) * cellSide,
                  size: sizeInCells * cellSide)
    }

    /// The object's box in unit image coordinates.
    public var unitBoundingBox: BoundingBox {
        BoundingBox(minX: centerX - size / 2, minY: centerY - size / 2, maxX: centerX + size / 2, maxY: centerY + size / 2)
    }

    /// The object's box in the pixel coordinates of a `side × side` render.
    public func boundingBox(imageSize side: Int) -> BoundingBox { unitBoundingBox.scaled(by: Double(side)) }

    /// The same object moved to `newCell`, keeping its size and its offset inside the cell.
    public func moved(to newCell: GridCell) -> SceneObject {
        let cellSide = 1.0 / Double(GridCell.gridSize)
        var copy = self
        copy.cell = newCell
        copy.centerX += Double(newCell.column - cell.column) * cellSide
        copy.centerY += Double(newCell.row - cell.row) * cellSide
        return copy
    }

    /// "red circle".
    public var phrase: String { "\(color.name) \(shape.name)" }
}

/// A ShapesWorld scene: up to nine objects on a 3 × 3 grid, at most one per cell.
///
/// A scene is its own ground truth: the objects with their shapes, colours, cells and boxes.
/// Scenes are resolution-free; ``SceneRenderer`` draws them at any size.
public struct Scene: Sendable, Hashable, Codable {
    /// An object's side, in cells.
    public static let sizeRange: ClosedRange<Double> = 0.55...0.8
    /// The least distance between an object and its cell's border, in cells; two objects are
    /// therefore at least `2 × cellMargin` cells apart (2.1 pixels at 32 × 32).
    public static let cellMargin = 0.1
    /// The number of objects a random scene holds, following the design: one to four.
    public static let defaultObjectCount: ClosedRange<Int> = 1...4

    public var objects: [SceneObject]

    public init(objects: [SceneObject] = []) { self.objects = objects }

    /// A random scene of `objectCount` objects with random shapes, colours and distinct cells.
    public static func random(objectCount: ClosedRange<Int> = defaultObjectCount, using rng: inout RandomState) -> Scene {
        let n = min(GridCell.all.count, max(0, objectCount.lowerBound + rng.index(objectCount.count)))
        let cells = rng.sample(GridCell.all, count: n)
        return Scene(objects: cells.map { cell in
            SceneObject(shape: rng.element(of: ShapeKind.allCases), color: rng.element(of: PaletteColor.allCases),
                        cell: cell, using: &rng)
        })
    }

    /// The object in `cell`, if any.
    public func object(in cell: GridCell) -> SceneObject? { objects.first { $0.cell == cell } }

    /// Cells that hold no object, in grid order.
    public var emptyCells: [GridCell] { GridCell.all.filter { object(in: $0) == nil } }

    /// Objects with this shape and, if given, this colour.
    public func objects(shape: ShapeKind? = nil, color: PaletteColor? = nil) -> [SceneObject] {
        objects.filter { (shape == nil || $0.shape == shape) && (color == nil || $0.color == color) }
    }

    /// Why the scene breaks the layout rules (objects off the grid, sharing a cell, leaving their
    /// cell's margin, or of a size outside ``sizeRange``), or `nil` if it is valid.
    public var layoutViolation: String? {
        let cellSide = 1.0 / Double(GridCell.gridSize)
        var seen = Set<GridCell>()
        for (i, o) in objects.enumerated() {
            guard o.cell.isValid else { return "object \(i) is in \(o.cell), off the grid" }
            guard seen.insert(o.cell).inserted else { return "object \(i) shares the \(o.cell.name) cell" }
            let sizeInCells = o.size / cellSide
            guard sizeInCells >= Self.sizeRange.lowerBound - 1e-9, sizeInCells <= Self.sizeRange.upperBound + 1e-9 else {
                return "object \(i) is \(sizeInCells) cells wide, outside \(Self.sizeRange)"
            }
            let box = o.unitBoundingBox.scaled(by: Double(GridCell.gridSize))
            let margin = Self.cellMargin - 1e-9
            guard box.minX >= Double(o.cell.column) + margin, box.maxX <= Double(o.cell.column + 1) - margin,
                  box.minY >= Double(o.cell.row) + margin, box.maxY <= Double(o.cell.row + 1) - margin else {
                return "object \(i) leaves the margin of the \(o.cell.name) cell"
            }
        }
        return nil
    }
}

extension RandomState {
    /// A uniform index in `0..<count` (`count > 0`).
    mutating func index(_ count: Int) -> Int {
        precondition(count > 0, "cannot draw from an empty range")
        return Int(next() % UInt64(count))
    }

    /// A uniform element of a non-empty array.
    mutating func element<T>(of array: [T]) -> T { array[index(array.count)] }

    /// `count` distinct elements in random order (a partial Fisher–Yates shuffle).
    mutating func sample<T>(_ array: [T], count: Int) -> [T] {
        var pool = array
        let n = min(count, pool.count)
        for i in 0..<n { pool.swapAt(i, i + index(pool.count - i)) }
        return Array(pool.prefix(n))
    }

    /// `true` with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(nextUniform()) < p }
}
