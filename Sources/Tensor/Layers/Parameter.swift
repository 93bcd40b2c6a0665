/// A trainable tensor of a ``Module``.
///
/// `value` is a leaf of the autodiff tape while the parameter is trainable, so using it in a
/// forward pass and calling ``Tensor/backward(_:)`` on a loss fills ``grad``. Optimizers replace
/// the value with ``assign(_:)``; they never write into storage that someone else may hold.
public final class Parameter: @unchecked Sendable {
    public private(set) var value: Tensor
    /// Whether the optimizer updates this parameter and gradients are recorded for it.
    public var isTrainable: Bool {
        didSet { if isTrainable != oldValue { value = isTrainable ? value.detached().requiringGrad() : value.detached() } }
    }

    public init(_ value: Tensor, trainable: Bool = true) {
        self.isTrainable = trainable
        self.value = trainable ? value.detached().requiringGrad() : value.detached()
    }

    public var shape: [Int] { value.shape }

    /// The gradient accumulated since the last ``zeroGrad()``.
    public var grad: Tensor? { value.grad }

    /// Replaces the value, keeping the shape; the accumulated gradient is dropped.
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == value.shape, "assigning shape \(newValue.shape) to a parameter of shape \(value.shape)")
        value = isTrainable ? newValue.detached().requiringGrad() : newValue.detached()
    }

    public func zeroGrad() { value.gradNode?.zeroGrad() }

    /// Adds `g` to the accumulated gradient (for gradients computed outside the tape).
    public func accumulateGrad(_ g: Tensor) {
        precondition(g.shape == value.shape, "gradient shape \(g.shape) differs from parameter shape \(value.shape)")
        guard let node = value.gradNode else { return }
        node.grad = withoutGrad { node.grad.map { $0 + g } ?? g.detached() }
    }
}
