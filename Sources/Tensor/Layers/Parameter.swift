/// A trainable tensor of a ``Module``.
///
/// `value` is a leaf of the autodiff tape while the parameter is trainable, so using it in a
/// forward pass and calling ``Tensor/backward(_:)`` on a loss fills ``grad``. Optimizers replace
/// the value with ``assign(_:)``; they never write into storage that someone else may hold.
///
/// A frozen weight may be held as bfloat16 instead (``bfloat16``, e.g. memory-mapped from a
/// checkpoint): layers with a bfloat16 path (``Linear``, ``Embedding``) use it directly, and
/// ``value`` widens it to `Float` on each access. Such a parameter cannot be trained: only
/// trained parameters need `Float` master weights.
public final class Parameter: @unchecked Sendable {
    private var stored: Tensor
    /// The weight in bfloat16 when the parameter was built that way; then it is never trainable.
    public let bfloat16: BFloat16Matrix?

    /// The value (for a ``bfloat16`` parameter, widened to `Float` on each access).
    public var value: Tensor { bfloat16?.decoded() ?? stored }

    /// Whether the optimizer updates this parameter and gradients are recorded for it.
    /// Setting it on a ``bfloat16`` parameter is a programming error (load it in `Float` to train it).
    public var isTrainable: Bool {
        didSet {
            precondition(
                !isTrainable || bfloat16 == nil,
                "a bfloat16 weight is frozen and cannot be trained; load it with Float32 weights to train it")
            if isTrainable != oldValue { stored = isTrainable ? stored.detached().requiringGrad() : stored.detached() }
        }
    }

    public init(_ value: Tensor, trainable: Bool = true) {
        self.isTrainable = trainable
        self.bfloat16 = nil
        self.stored = trainable ? value.detached().requiringGrad() : value.detached()
    }

    /// A frozen parameter held as bfloat16.
    public init(bfloat16 matrix: BFloat16Matrix) {
        self.isTrainable = false
        self.bfloat16 = matrix
        self.stored = Tensor(shape: [0], scalars: [])
    }

    public var shape: [Int] { bfloat16?.shape ?? stored.shape }

    /// The gradient accumulated since the last ``zeroGrad()``.
    public var grad: Tensor? { stored.grad }

    /// Replaces the value, keeping the shape; the accumulated gradient is dropped.
    public func assign(_ newValue: Tensor) {
        precondition(bfloat16 == nil, "a bfloat16 weight is frozen and cannot be assigned")
        precondition(newValue.shape == stored.shape, "assigning shape \(newValue.shape) to a parameter of shape \(stored.shape)")
        stored = isTrainable ? newValue.detached().requiringGrad() : newValue.detached()
    }

    public func zeroGrad() { stored.gradNode?.zeroGrad() }

    /// Adds `g` to the accumulated gradient (for gradients computed outside the tape).
    public func accumulateGrad(_ g: Tensor) {
        precondition(g.shape == shape, "gradient shape \(g.shape) differs from parameter shape \(shape)")
        guard let node = stored.gradNode else { return }
        node.grad = withoutGrad { node.grad.map { $0 + g } ?? g.detached() }
    }
}
