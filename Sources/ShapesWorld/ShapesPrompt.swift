/// GenEval's six prompt categories; the raw values are GenEval's `tag`s.
public enum PromptCategory: String, CaseIterable, Codable, Sendable, Comparable {
    /// "a circle": one shape, any colour.
    case singleObject = "single_object"
    /// "a circle and a square": two different shapes, any colours.
    case twoObject = "two_object"
    /// "three circles", "three green circles": exactly that many.
    case counting
    /// "a red circle": one shape in one colour.
    case colors
    /// "a red circle to the left of a blue square": one object placed relative to another.
    case position
    /// "a red circle and a blue square": two shapes, each bound to its own colour.
    case colorAttribution = "color_attr"

    /// The position in `allCases` (GenEval's table order).
    public var index: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (a: PromptCategory, b: PromptCategory) -> Bool { a.index < b.index }
}

/// "This requirement's objects must lie `relation` the objects of include entry `target`":
/// GenEval's `"position": ["left of", 0]`.
public struct RelativePosition: Sendable, Hashable, Codable {
    public var relation: SpatialRelation
    /// The index, in the prompt's `include` list, of the requirement this one is placed against.
    public var target: Int

    public init(_ relation: SpatialRelation, of target: Int) {
        self.relation = relation
        self.target = target
    }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let word = try c.decode(String.self)
        guard let relation = SpatialRelation(rawValue: word) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription:
                "unknown relation '\(word)' (expected one of "
                    + "\(SpatialRelation.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))")
        }
        self.relation = relation
        self.target = try c.decode(Int.self)
        guard c.isAtEnd else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a position is [relation, target index]; found extra elements")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(relation.rawValue)
        try c.encode(target)
    }
}

/// One entry of a prompt's `include` or `exclude` list, as in GenEval's metadata:
/// `{"class": "circle", "count": 2, "color": "red", "position": ["left of", 0]}`.
///
/// In `include`, at least `count` objects of the shape (and colour, if given) must be present;
/// in `exclude`, fewer than `count` may be.
public struct ObjectRequirement: Sendable, Hashable, Codable {
    public var shape: ShapeKind
    public var count: Int
    public var color: PaletteColor?
    public var position: RelativePosition?

    public init(_ shape: ShapeKind, count: Int = 1, color: PaletteColor? = nil, position: RelativePosition? = nil) {
        self.shape = shape
        self.count = count
        self.color = color
        self.position = position
    }

    /// Whether an object of this shape and colour matches (colour is free when `color` is nil).
    public func matches(shape: ShapeKind, color: PaletteColor) -> Bool {
        shape == self.shape && (self.color == nil || self.color == color)
    }

    private enum CodingKeys: String, CodingKey {
        case shape = "class", count, color, position
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let shapeWord = try c.decode(String.self, forKey: .shape)
        guard let shape = ShapeKind(rawValue: shapeWord) else {
            throw DecodingError.dataCorruptedError(forKey: .shape, in: c, debugDescription:
                "unknown class '\(shapeWord)' (expected \(ShapeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.shape = shape
        self.count = try c.decode(Int.self, forKey: .count)
        if let colorWord = try c.decodeIfPresent(String.self, forKey: .color) {
            guard let color = PaletteColor(rawValue: colorWord) else {
                throw DecodingError.dataCorruptedError(forKey: .color, in: c, debugDescription:
                    "unknown color '\(colorWord)' (expected \(PaletteColor.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.color = color
        } else {
            self.color = nil
        }
        self.position = try c.decodeIfPresent(RelativePosition.self, forKey: .position)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shape.rawValue, forKey: .shape)
        try c.encode(count, forKey: .count)
        try c.encodeIfPresent(color?.rawValue, forKey: .color)
        try c.encodeIfPresent(position, forKey: .position)
    }

    /// "red circle", "circles", "3 green triangles".
    public var phrase: String {
        let noun = count == 1 ? shape.name : shape.plural
        let body = [color?.name, noun].compactMap { $0 }.joined(separator: " ")
        return count == 1 ? body : "\(count) \(body)"
    }
}

/// A text-to-image prompt of ShapesWorld with a machine-checkable specification.
///
/// The JSON form is one line of GenEval's metadata file, with GenEval's keys:
///
/// ```json
/// {"exclude":[{"class":"circle","count":4}],"include":[{"class":"circle","count":3}],"prompt":"three circles","tag":"counting"}
/// ```
///
/// `include` entries must be present, `exclude` entries must not (see ``ObjectRequirement``),
/// and a `position` names the include entry an object is placed against. ``ShapesEval`` scores an
/// image against it.
public struct ShapesPrompt: Sendable, Hashable, Codable {
    /// GenEval's `tag`.
    public var category: PromptCategory
    /// GenEval's `prompt`: the text a model is conditioned on.
    public var caption: String
    public var include: [ObjectRequirement]
    public var exclude: [ObjectRequirement]

    public init(category: PromptCategory, caption: String, include: [ObjectRequirement], exclude: [ObjectRequirement] = []) {
        self.category = category
        self.caption = caption
        self.include = include
        self.exclude = exclude
    }

    private enum CodingKeys: String, CodingKey {
        case category = "tag", caption = "prompt", include, exclude
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let tag = try c.decode(String.self, forKey: .category)
        guard let category = PromptCategory(rawValue: tag) else {
            throw DecodingError.dataCorruptedError(forKey: .category, in: c, debugDescription:
                "unknown tag '\(tag)' (expected \(PromptCategory.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.category = category
        self.caption = try c.decode(String.self, forKey: .caption)
        self.include = try c.decode([ObjectRequirement].self, forKey: .include)
        self.exclude = try c.decodeIfPresent([ObjectRequirement].self, forKey: .exclude) ?? []
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(category.rawValue, forKey: .category)
        try c.encode(caption, forKey: .caption)
        try c.encode(include, forKey: .include)
        if !exclude.isEmpty { try c.encode(exclude, forKey: .exclude) }
    }

    /// Why the specification cannot be satisfied or checked, or `nil` if it is sound: an empty
    /// `include`, counts outside 1…9, more required objects than grid cells, or a `position`
    /// that does not point at an earlier include entry.
    public var specificationError: String? {
        if include.isEmpty { return "'include' is empty" }
        let cells = GridCell.all.count
        for (i, r) in include.enumerated() {
            guard (1...cells).contains(r.count) else { return "include[\(i)] asks for \(r.count) objects; a scene holds 1 to \(cells)" }
            if let p = r.position, !(0..<i).contains(p.target) {
                return "include[\(i)] is placed against include[\(p.target)], which is not an earlier entry"
            }
        }
        for (i, r) in exclude.enumerated() {
            guard r.count >= 1 else { return "exclude[\(i)] has count \(r.count); it must be at least 1" }
            if r.position != nil { return "exclude[\(i)] has a position; only include entries can" }
        }
        let total = include.reduce(0) { $0 + $1.count }
        if total > cells { return "the prompt needs \(total) objects; a scene holds at most \(cells)" }
        return nil
    }
}
