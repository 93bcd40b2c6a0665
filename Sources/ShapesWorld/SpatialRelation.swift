/// Where one object lies relative to another, with GenEval's names (`"left of"`, `"right of"`,
/// `"above"`, `"below"`), which are also the words of ShapesWorld's prompt files.
public enum SpatialRelation: String, CaseIterable, Codable, Sendable {
    case leftOf = "left of"
    case rightOf = "right of"
    case above
    case below

    /// The relation seen from the other object ("left of" ↔ "right of").
    public var inverse: SpatialRelation {
        switch self {
        case .leftOf: .rightOf
        case .rightOf: .leftOf
        case .above: .below
        case .below: .above
        }
    }

    /// The one-word answer to "where is A relative to B?": "left", "right", "above", "below".
    public var answerWord: String {
        switch self {
        case .leftOf: "left"
        case .rightOf: "right"
        case .above: "above"
        case .below: "below"
        }
    }

    /// GenEval's `POSITION_THRESHOLD`: the part of the two boxes' summed size that a centre
    /// offset must exceed before it counts.
    public static let positionThreshold = 0.1

    /// The relations that hold for box `a` relative to box `b`, by GenEval's rule
    /// (`relative_position` in `evaluation/evaluate_images.py`):
    ///
    /// offset = centre(a) − centre(b); each component is shrunk towards 0 by
    /// 0.1·(size(a) + size(b)) along its axis, then divided by ‖offset‖; a relation holds when
    /// its component passes ±0.5 (a cone of ±60° around the axis). Diagonal neighbours can
    /// therefore be both "left of" and "above"; boxes whose centres nearly coincide have none.
    /// The rule is scale-free: boxes in pixels or in unit coordinates give the same answer.
    public static func relations(of a: BoundingBox, relativeTo b: BoundingBox) -> Set<SpatialRelation> {
        let ox = a.centerX - b.centerX, oy = a.centerY - b.centerY
        let rx = max(abs(ox) - positionThreshold * (a.width + b.width), 0) * (ox < 0 ? -1 : 1)
        let ry = max(abs(oy) - positionThreshold * (a.height + b.height), 0) * (oy < 0 ? -1 : 1)
        if abs(rx) < 1e-3 && abs(ry) < 1e-3 { return [] }
        let norm = (ox * ox + oy * oy).squareRoot()
        let dx = rx / norm, dy = ry / norm
        var out = Set<SpatialRelation>()
        if dx < -0.5 { out.insert(.leftOf) }
        if dx > 0.5 { out.insert(.rightOf) }
        if dy < -0.5 { out.insert(.above) }
        if dy > 0.5 { out.insert(.below) }
        return out
    }
}
