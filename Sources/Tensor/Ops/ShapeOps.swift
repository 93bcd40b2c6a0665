// Reshaping, transposition, slicing, joining and padding. All results are contiguous copies.

extension Tensor {
    /// The same elements with a new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && elementCount % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[inferred] = elementCount / known
        }
        precondition(target.elementCount == elementCount, "cannot reshape \(shape) (\(elementCount) elements) to \(newShape)")
        if target == shape { return self }
        let original = shape
        let out = Tensor(shape: target, storage: storage)
        return Tensor.record("reshape", result: out, inputs: [self]) { g in [g.reshaped(original)] }
    }

    /// Inserts a dimension of size 1 at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        var s = shape; s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes the dimension of size 1 at `axis`.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        precondition(shape[a] == 1, "cannot squeeze axis \(axis) of size \(shape[a])")
        var s = shape; s.remove(at: a)
        return reshaped(s)
    }

    /// Collapses dimensions `start...end` into one.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        let s = normalizeAxis(start, rank: rank), e = normalizeAxis(end, rank: rank)
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Reorders dimensions: result dimension `i` is input dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "invalid permutation \(order) for rank \(rank)")
        if order == Array(0..<rank) { return self }
        let inStrides = shape.contiguousStrides
        let outShape = order.map { shape[$0] }
        let srcStrides = order.map { inStrides[$0] }
        let out = Tensor(shape: outShape) { dst in
            stridedCopy(from: storage.pointer, shape: outShape, strides: srcStrides, to: dst.baseAddress!)
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.record("permute", result: out, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two dimensions (the last two by default).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizeAxis(a, rank: rank), normalizeAxis(b, rank: rank))
        return permuted(order)
    }

    /// Elements `range` of dimension `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax],
                     "slice \(range) out of bounds for axis \(axis) of size \(shape[ax])")
        if range.count == shape[ax] { return self }
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *), n = shape[ax]
        var outShape = shape; outShape[ax] = range.count
        let src = storage.pointer
        let out = Tensor(shape: outShape) { dst in
            let block = range.count * inner
            for o in 0..<outer {
                (dst.baseAddress! + o * block).update(from: src + (o * n + range.lowerBound) * inner, count: block)
            }
        }
        guard GradMode.isEnabled, let input = gradNode else { return out }
        // Backpropagation adds the gradient into this region of the input's gradient in place
        // (GradNode.sliceRegion); the pullback below is the same rule written out in full.
        let original = shape
        var result = out
        result.gradNode = GradNode(name: "slice", inputs: [input], pullback: { g in
            var pads = [(before: Int, after: Int)](repeating: (0, 0), count: original.count)
            pads[ax] = (range.lowerBound, original[ax] - range.upperBound)
            return [g.padded(pads)]
        }, sliceRegion: SliceRegion(axis: ax, range: range, inputShape: original))
        return result
    }

    /// Splits dimension `axis` into pieces of the given sizes.
    public func split(axis: Int, sizes: [Int]) -> [Tensor] {
        let ax = normalizeAxis(axis, rank: rank)
        precondition(sizes.reduce(0, +) == shape[ax], "split sizes \(sizes) do not add up to \(shape[ax])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(axis: ax, start..<(start + size))
        }
    }

    /// Splits dimension `axis` into `count` equal pieces.
    public func chunked(_ count: Int, axis: Int) -> [Tensor] {
        let n = size(axis)
        precondition(n % count == 0, "cannot split size \(n) into \(count) equal chunks")
        return split(axis: axis, sizes: [Int](repeating: n / count, count: count))
    }

    /// Joins tensors along an existing dimension.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate needs at least one tensor")
        let first = tensors[0]
        let ax = normalizeAxis(axis, rank: first.rank)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == first.shape[$0] },
                         "cannot concatenate shapes \(tensors.map(\.shape)) along axis \(axis)")
        }
        if tensors.count == 1 { return first }
        let outer = first.shape[..<ax].reduce(1, *), inner = first.shape[(ax + 1)...].reduce(1, *)
        let sizes = tensors.map { $0.shape[ax] }
        var outShape = first.shape; outShape[ax] = sizes.reduce(0, +)
        let total = outShape[ax]
        let out = Tensor(shape: outShape) { dst in
            var offset = 0
            for (t, n) in zip(tensors, sizes) {
                let src = t.storage.pointer
                for o in 0..<outer {
                    (dst.baseAddress! + (o * total + offset) * inner).update(from: src + o * n * inner, count: n * inner)
                }
                offset += n
            }
        }
        return record("concatenate", result: out, inputs: tensors) { g in
            g.split(axis: ax, sizes: sizes).enumerated().map { tensors[$0.offset].requiresGrad ? $0.element : nil }
        }
    }

    /// Joins tensors of one shape along a new dimension.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack needs at least one tensor")
        let a = axis < 0 ? axis + tensors[0].rank + 1 : axis
        return concatenate(tensors.map { $0.unsqueezed(a) }, axis: a)
    }

    /// Pads every dimension with `(before, after)` elements of `value`.
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        precondition(padding.count == rank, "padding has \(padding.count) entries for rank \(rank)")
        precondition(padding.allSatisfy { $0.before >= 0 && $0.after >= 0 }, "negative padding")
        let outShape = zip(shape, padding).map { $0 + $1.before + $1.after }
        let out = Tensor.full(outShape, value)
        if elementCount > 0 {
            let outStrides = outShape.contiguousStrides
            let offset = zip(padding, outStrides).map { $0.before * $1 }.reduce(0, +)
            // Copy the input into the interior: walk input rows, write with the output's strides.
            stridedScatter(from: storage.pointer, shape: shape, dstStrides: outStrides, to: out.storage.pointer + offset)
        }
        let original = shape
        return Tensor.record("pad", result: out, inputs: [self]) { g in
            var r = g
            for d in 0..<original.count { r = r.slice(axis: d, padding[d].before..<(padding[d].before + original[d])) }
            return [r]
        }
    }

    /// Repeats size-1 dimensions to reach `target` (NumPy broadcasting rules).
    public func broadcast(to target: [Int]) -> Tensor {
        precondition(broadcastShape(shape, target) == target, "cannot broadcast \(shape) to \(target)")
        if shape == target { return self }
        let strides = broadcastStrides(shape, to: target)
        let out = Tensor(shape: target) { dst in
            stridedCopy(from: storage.pointer, shape: target, strides: strides, to: dst.baseAddress!)
        }
        let original = shape
        return Tensor.record("broadcast", result: out, inputs: [self]) { g in [g.sumToShape(original)] }
    }

    /// Picks entries `indices` along `axis` (PyTorch `index_select`); indices may repeat.
    public func indexSelect(axis: Int, _ indices: [Int]) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        let n = shape[ax]
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "index out of range 0..<\(n) on axis \(axis)")
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        var outShape = shape; outShape[ax] = indices.count
        let src = storage.pointer
        let out = Tensor(shape: outShape) { dst in
            for o in 0..<outer {
                for (k, idx) in indices.enumerated() {
                    (dst.baseAddress! + (o * indices.count + k) * inner).update(from: src + (o * n + idx) * inner, count: inner)
                }
            }
        }
        let original = shape
        return Tensor.record("index_select", result: out, inputs: [self]) { g in
            let gp = g.storage.pointer
            let dx = Tensor.zeros(original)
            let d = dx.storage.pointer
            for o in 0..<outer {
                for (k, idx) in indices.enumerated() {
                    let s = gp + (o * indices.count + k) * inner, t = d + (o * n + idx) * inner
                    for j in 0..<inner { t[j] += s[j] }
                }
            }
            return [dx]
        }
    }
}

/// Copies a strided view of `src` (shape `shape`, element strides `strides`) into contiguous `dst`.
@usableFromInline
func stridedCopy(from src: UnsafePointer<Float>, shape: [Int], strides: [Int], to dst: UnsafeMutablePointer<Float>) {
    let rank = shape.count
    if rank == 0 { dst[0] = src[0]; return }
    let inner = shape[rank - 1], innerStride = strides[rank - 1]
    let rows = shape.elementCount / Swift.max(inner, 1)
    guard inner > 0 else { return }
    Parallel.forEachRange(rows, costPerItem: inner) { r in
        guard !r.isEmpty else { return }
        // The row's multi-index is found by division once per range, then advanced like an odometer:
        // per-row divisions cost more than copying a head's 32-64 floats (attention head split/merge).
        withUnsafeTemporaryAllocation(of: Int.self, capacity: Swift.max(rank - 1, 1)) { index in
            var rem = r.lowerBound, off = 0
            for d in stride(from: rank - 2, through: 0, by: -1) {
                index[d] = rem % shape[d]
                off += index[d] * strides[d]
                rem /= shape[d]
            }
            for row in r {
                let s = src + off, o = dst + row * inner
                if innerStride == 1 { o.update(from: s, count: inner) } else {
                    for j in 0..<inner { o[j] = s[j * innerStride] }
                }
                var d = rank - 2
                while d >= 0 {
                    index[d] += 1
                    off += strides[d]
                    if index[d] < shape[d] { break }
                    off -= index[d] * strides[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }
}

/// Writes contiguous `src` of `shape` into `dst` laid out with `dstStrides`.
func stridedScatter(from src: UnsafePointer<Float>, shape: [Int], dstStrides: [Int], to dst: UnsafeMutablePointer<Float>) {
    let rank = shape.count
    if rank == 0 { dst[0] = src[0]; return }
    let inner = shape[rank - 1], innerStride = dstStrides[rank - 1]
    let rows = shape.elementCount / Swift.max(inner, 1)
    guard inner > 0 else { return }
    for row in 0..<rows {
        var rem = row, off = 0
        for d in stride(from: rank - 2, through: 0, by: -1) {
            off += (rem % shape[d]) * dstStrides[d]
            rem /= shape[d]
        }
        let s = src + row * inner, o = dst + off
        for j in 0..<inner { o[j * innerStride] = s[j] }
    }
}
