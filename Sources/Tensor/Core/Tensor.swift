import Foundation

/// An n-dimensional array of `Float` in row-major (C) order, optionally recorded on the
/// autodiff tape.
///
/// Tensors are values: every operation returns a new tensor and never changes its inputs.
/// When gradient recording is on (the default, see ``GradMode``) and an input requires a
/// gradient, the result remembers how to send gradients back to its inputs.
///
/// ```swift
/// let w = Tensor.randomNormal([4, 3], std: 0.1, using: &rng).requiringGrad()
/// let loss = (x.matmul(w)).square().mean()
/// let grads = Autodiff.gradients(of: loss, withRespectTo: [w])
/// ```
public struct Tensor: @unchecked Sendable {
    /// The size of each dimension; `[]` is a scalar.
    public let shape: [Int]
    /// The element buffer, `shape.product` floats long.
    public let storage: TensorStorage
    /// The tape node that produced this tensor, or `nil` when it carries no gradient.
    public internal(set) var gradNode: GradNode?

    /// Wraps existing storage. The storage must hold exactly `shape.product` elements.
    public init(shape: [Int], storage: TensorStorage) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(storage.count == shape.elementCount,
                     "storage holds \(storage.count) elements, shape \(shape) needs \(shape.elementCount)")
        self.shape = shape
        self.storage = storage
        self.gradNode = nil
    }

    /// Creates a tensor from row-major values.
    public init(shape: [Int], scalars: [Float]) {
        precondition(scalars.count == shape.elementCount,
                     "\(scalars.count) values cannot fill shape \(shape)")
        let storage = TensorStorage(uninitializedCount: scalars.count)
        scalars.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.initialize(from: base, count: src.count) }
        }
        self.init(shape: shape, storage: storage)
    }

    /// A scalar (rank-0) tensor.
    public init(_ value: Float) { self.init(shape: [], scalars: [value]) }

    /// A 1-D tensor.
    public init(_ values: [Float]) { self.init(shape: [values.count], scalars: values) }

    /// Creates a tensor by filling fresh storage.
    @inlinable
    public init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let storage = TensorStorage(uninitializedCount: shape.elementCount)
        fill(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
        self.init(shape: shape, storage: storage)
    }

    public var rank: Int { shape.count }
    public var elementCount: Int { storage.count }

    /// The elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: storage.count)) }

    /// The single element of a tensor with one element.
    public var item: Float {
        precondition(elementCount == 1, "item needs exactly one element, shape is \(shape)")
        return storage.pointer[0]
    }

    /// Reads the buffer without copying.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The size of dimension `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[normalizeAxis(axis, rank: rank)] }

    /// Whether gradients flow back through this tensor.
    public var requiresGrad: Bool { gradNode != nil }
}

extension Array where Element == Int {
    /// The number of elements a tensor of this shape holds.
    @inlinable public var elementCount: Int { reduce(1, *) }

    /// Row-major strides of a tensor of this shape.
    @inlinable public var contiguousStrides: [Int] {
        var strides = [Int](repeating: 1, count: count)
        var running = 1
        for i in stride(from: count - 1, through: 0, by: -1) {
            strides[i] = running
            running *= self[i]
        }
        return strides
    }
}

/// Maps a possibly negative axis into `0..<rank`.
@inlinable
public func normalizeAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < Swift.max(rank, 1), "axis \(axis) out of range for rank \(rank)")
    return a
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(16).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor\(shape)[\(shown)\(elementCount > 16 ? ", …" : "")]"
    }
}
