/// An 8-bit RGB colour.
public struct RGBColor: Sendable, Hashable, Codable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// The colour as the tuple `RGBImage` subscripts take.
    public var tuple: (r: UInt8, g: UInt8, b: UInt8) { (r, g, b) }
}

/// The six colours every ShapesWorld object is painted in.
///
/// They are chosen far apart in RGB and far from the light ``Palette/background``, so that a
/// detector can tell them apart from the mean colour of a shape even under blur and noise.
/// The raw values are the names used in captions and prompt files (GenEval's `color` field).
public enum PaletteColor: String, CaseIterable, Codable, Sendable, Comparable {
    case red, green, blue, yellow, purple, orange

    /// The colour's pixel value.
    public var rgb: RGBColor {
        switch self {
        case .red: RGBColor(220, 40, 40)
        case .green: RGBColor(50, 165, 70)
        case .blue: RGBColor(45, 95, 215)
        case .yellow: RGBColor(235, 205, 25)
        case .purple: RGBColor(135, 60, 175)
        case .orange: RGBColor(245, 140, 20)
        }
    }

    /// The word used in captions ("red").
    public var name: String { rawValue }

    /// Things that have this colour, for riddles such as "coloured like grass".
    public var things: [String] {
        switch self {
        case .red: ["a ripe tomato", "a fire truck", "a strawberry", "a cherry"]
        case .green: ["grass", "a fresh leaf", "a lime", "a frog"]
        case .blue: ["the clear sky", "the deep sea", "a blueberry", "a sapphire"]
        case .yellow: ["a banana", "a lemon", "the sun", "a canary"]
        case .purple: ["a plum", "an eggplant", "lavender", "a violet"]
        case .orange: ["a pumpkin", "a carrot", "a tangerine", "a goldfish"]
        }
    }

    /// The colour a riddle's thing refers to ("grass" → green), or `nil` if it is not a known thing.
    public static func named(byThing thing: String) -> PaletteColor? {
        let key = thing.lowercased()
        return allCases.first { $0.things.contains(key) }
    }

    /// The colour's position in ``Palette/colors``.
    public var index: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (a: PaletteColor, b: PaletteColor) -> Bool { a.index < b.index }
}

/// The colours of a ShapesWorld image: a light background and the six ``PaletteColor``s.
public enum Palette {
    /// The light grey-white every scene is drawn on.
    public static let background = RGBColor(240, 240, 240)

    /// The object colours, in a fixed order.
    public static let colors: [PaletteColor] = PaletteColor.allCases
}

/// The three shapes of ShapesWorld. The raw values are the caption words and GenEval's `class`.
public enum ShapeKind: String, CaseIterable, Codable, Sendable, Comparable {
    case circle, square, triangle

    /// The singular caption word ("circle").
    public var name: String { rawValue }

    /// The plural caption word ("circles").
    public var plural: String { rawValue + "s" }

    /// Things with this shape, for riddles such as "shaped like a wheel".
    public var things: [String] {
        switch self {
        case .circle: ["a wheel", "a coin", "a full moon", "a plate"]
        case .square: ["a chessboard tile", "a postage stamp", "a window pane", "a sticky note"]
        case .triangle: ["a slice of pizza", "a pyramid", "a yield sign", "a sail"]
        }
    }

    /// The shape a riddle's thing refers to ("a wheel" → circle), or `nil` if it is not a known thing.
    public static func named(byThing thing: String) -> ShapeKind? {
        let key = thing.lowercased()
        return allCases.first { $0.things.contains(key) }
    }

    /// The shape's position in `allCases`.
    public var index: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (a: ShapeKind, b: ShapeKind) -> Bool { a.index < b.index }
}
