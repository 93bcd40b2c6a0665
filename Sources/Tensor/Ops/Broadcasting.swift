/// NumPy-style broadcasting of two shapes; `nil` when they are incompatible.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides that read `shape` as if it were broadcast to `target` (0 along broadcast dimensions).
@usableFromInline
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let strides = shape.contiguousStrides
    let offset = target.count - shape.count
    return (0..<target.count).map { i in
        i < offset || shape[i - offset] == 1 ? 0 : strides[i - offset]
    }
}

extension Tensor {
    /// Applies `f` elementwise to two tensors broadcast against each other.
    func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { zipMap(other, ClosureKernel2(body: $0)) }
    }

    /// Applies `f` to every element.
    func map(_ f: (Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { map(ClosureKernel1(body: $0)) }
    }

    /// Applies kernel `f` elementwise to two tensors broadcast against each other. Generic over
    /// the kernel type so that each op gets its own specialised, vectorisable loop (a closure
    /// parameter is called per element instead).
    func zipMap<K: ElementwiseKernel2>(_ other: Tensor, _ f: K) -> Tensor {
        guard let outShape = broadcastShape(shape, other.shape) else {
            preconditionFailure("shapes \(shape) and \(other.shape) cannot be broadcast together")
        }
        let a = storage.pointer, b = other.storage.pointer
        let n = outShape.elementCount
        let result = TensorStorage(uninitializedCount: n)
        let o = result.pointer
        if shape == other.shape {
            Parallel.forEachRange(n, costPerItem: 2) { r in for i in r { o[i] = f(a[i], b[i]) } }
        } else if other.elementCount == 1 && shape == outShape {
            let bv = b[0]
            Parallel.forEachRange(n, costPerItem: 2) { r in for i in r { o[i] = f(a[i], bv) } }
        } else if elementCount == 1 && other.shape == outShape {
            let av = a[0]
            Parallel.forEachRange(n, costPerItem: 2) { r in for i in r { o[i] = f(av, b[i]) } }
        } else {
            let sa = broadcastStrides(shape, to: outShape), sb = broadcastStrides(other.shape, to: outShape)
            let rank = outShape.count
            let inner = outShape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
            let rows = n / Swift.max(inner, 1)
            Parallel.forEachRange(rows, costPerItem: inner * 2) { r in
                for row in r {
                    // Offsets of this row's first element in a and b.
                    var rem = row, offA = 0, offB = 0
                    for d in stride(from: rank - 2, through: 0, by: -1) {
                        let idx = rem % outShape[d]
                        rem /= outShape[d]
                        offA += idx * sa[d]; offB += idx * sb[d]
                    }
                    let pa = a + offA, pb = b + offB, po = o + row * inner
                    if ia == 1 && ib == 1 {
                        for j in 0..<inner { po[j] = f(pa[j], pb[j]) }
                    } else if ia == 1 {
                        let bv = pb[0]; for j in 0..<inner { po[j] = f(pa[j], bv) }
                    } else if ib == 1 {
                        let av = pa[0]; for j in 0..<inner { po[j] = f(av, pb[j]) }
                    } else {
                        let v = f(pa[0], pb[0]); for j in 0..<inner { po[j] = v }
                    }
                }
            }
        }
        return Tensor(shape: outShape, storage: result)
    }

    /// Applies kernel `f` to every element.
    func map<K: ElementwiseKernel1>(_ f: K) -> Tensor {
        let a = storage.pointer
        let n = elementCount
        let result = TensorStorage(uninitializedCount: n)
        let o = result.pointer
        Parallel.forEachRange(n, costPerItem: 4) { r in for i in r { o[i] = f(a[i]) } }
        return Tensor(shape: shape, storage: result)
    }

    /// Sums a gradient of a broadcast result back down to `target` shape.
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let offset = rank - target.count
        precondition(offset >= 0, "cannot reduce shape \(shape) to \(target)")
        var axes: [Int] = Array(0..<offset)
        for i in 0..<target.count where target[i] == 1 && shape[i + offset] != 1 { axes.append(i + offset) }
        return sum(axes: axes, keepDims: true).reshaped(target)
    }
}

/// A function of one float, as a type, so generic loops specialise on it.
protocol ElementwiseKernel1 {
    func callAsFunction(_ x: Float) -> Float
}

/// A function of two floats, as a type, so generic loops specialise on it.
protocol ElementwiseKernel2 {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

struct ClosureKernel1: ElementwiseKernel1 {
    let body: (Float) -> Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { body(x) }
}

struct ClosureKernel2: ElementwiseKernel2 {
    let body: (Float, Float) -> Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { body(a, b) }
}
