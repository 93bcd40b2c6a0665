/// One entry of the define-by-run tape: the operation that produced a tensor and how to send
/// a gradient of its output back to its inputs.
///
/// A leaf node (created by ``Tensor/requiringGrad()``) has no inputs; gradients that reach it
/// are accumulated in ``grad`` by ``Tensor/backward(_:)``.
public final class GradNode: @unchecked Sendable {
    /// The nodes of the inputs that require a gradient (`nil` for inputs that do not).
    let inputs: [GradNode?]
    /// Maps the output's gradient to one gradient per input (`nil` where none is needed).
    let pullback: ((Tensor) -> [Tensor?])?
    /// The operation's name, for debugging.
    public let name: String
    /// Accumulated gradient of a leaf after ``Tensor/backward(_:)``.
    public internal(set) var grad: Tensor?

    init(name: String, inputs: [GradNode?], pullback: ((Tensor) -> [Tensor?])?) {
        self.name = name
        self.inputs = inputs
        self.pullback = pullback
    }

    public var isLeaf: Bool { pullback == nil }

    /// Forgets the accumulated gradient.
    public func zeroGrad() { grad = nil }
}

extension Tensor {
    /// The same values as a new leaf of the tape whose gradient ``backward(_:)`` accumulates.
    public func requiringGrad() -> Tensor {
        var t = Tensor(shape: shape, storage: storage)
        t.gradNode = GradNode(name: "leaf", inputs: [], pullback: nil)
        return t
    }

    /// The same values, cut off from the tape.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// The gradient accumulated in this leaf by ``backward(_:)``.
    public var grad: Tensor? { gradNode?.grad }

    /// Builds the result of an operation and, when recording and some input requires a
    /// gradient, records `pullback` on the tape.
    public static func record(_ name: String, result: Tensor, inputs: [Tensor],
                              pullback: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.gradNode != nil }) else { return result }
        var out = result
        out.gradNode = GradNode(name: name, inputs: inputs.map(\.gradNode), pullback: pullback)
        return out
    }
}
