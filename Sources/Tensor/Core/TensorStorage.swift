/// A fixed-size, heap-allocated buffer of `Float` that backs one or more ``Tensor`` values.
///
/// Storage is written only while the tensor that owns it is being built (or by an optimizer
/// that holds the only reference); after that it is read-only, which is what makes sharing
/// it across threads safe.
public final class TensorStorage: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates uninitialised storage for `count` floats.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count")
        self.count = count
        if count >= StoragePool.minimumCount, let recycled = StoragePool.shared.take(count: count) {
            self.pointer = recycled
        } else {
            self.pointer = .allocate(capacity: Swift.max(count, 1))
        }
    }

    /// Allocates storage filled with `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    deinit {
        if count >= StoragePool.minimumCount && StoragePool.shared.give(pointer, count: count) { return }
        pointer.deallocate()
    }

}
