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
    /// Set for a slice: backpropagation adds the output's gradient into this region of the
    /// input's gradient buffer instead of calling ``pullback`` (which would pad it to the full
    /// input), so many slices of one tensor cost time linear in the tensor's size.
    let sliceRegion: SliceRegion?

    init(name: String, inputs: [GradNode?], pullback: ((Tensor) -> [Tensor?])?, sliceRegion: SliceRegion? = nil) {
        self.name = name
        self.inputs = inputs
        self.pullback = pullback
        self.sliceRegion = sliceRegion
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

/// Where a slice's output sits inside its input: elements `range` of dimension `axis` of a
/// tensor of shape `inputShape`.
struct SliceRegion {
    let axis: Int
    let range: Range<Int>
    let inputShape: [Int]

    /// Adds `gradient` (shaped like the slice) into `buffer` (shaped like the input).
    func accumulate(_ gradient: Tensor, into buffer: UnsafeMutablePointer<Float>) {
        let outer = inputShape[..<axis].reduce(1, *), inner = inputShape[(axis + 1)...].reduce(1, *)
        let n = inputShape[axis], block = range.count * inner
        gradient.withUnsafeBufferPointer { src in
            for o in 0..<outer {
                let dst = buffer + (o * n + range.lowerBound) * inner, from = src.baseAddress! + o * block
                for i in 0..<block { dst[i] += from[i] }
            }
        }
    }
}
