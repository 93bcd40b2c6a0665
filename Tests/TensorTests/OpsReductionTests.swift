import Foundation
import Testing
@testable import UniRLTensor

/// sum, mean, variance, max and log-sum-exp over axes.
@Suite struct OpsReductionTests {
    struct AxesCase: Sendable, CustomTestStringConvertible {
        let shape: [Int], axes: [Int]?, keepDims: Bool
        var testDescription: String { "\(shape) axes \(axes.map { "\($0)" } ?? "all") keepDims \(keepDims)" }
    }

    static let axesCases: [AxesCase] = [
        AxesCase(shape: [2, 3, 4], axes: nil, keepDims: false),
        AxesCase(shape: [2, 3, 4], axes: nil, keepDims: true),
        AxesCase(shape: [2, 3, 4], axes: [0], keepDims: false),
        AxesCase(shape: [2, 3, 4], axes: [1], keepDims: true),
        AxesCase(shape: [2, 3, 4], axes: [2], keepDims: false),
        AxesCase(shape: [2, 3, 4], axes: [-1], keepDims: true),
        AxesCase(shape: [2, 3, 4], axes: [0, 2], keepDims: false),
        AxesCase(shape: [2, 3, 4], axes: [2, 0], keepDims: true),
        AxesCase(shape: [2, 3, 4], axes: [1, -1], keepDims: false),
        AxesCase(shape: [2, 3, 4], axes: [0, 1, 2], keepDims: false),
        AxesCase(shape: [5], axes: [0], keepDims: true),
        AxesCase(shape: [3, 1, 2], axes: [1], keepDims: false),
    ]

    /// Groups the elements of a tensor of `shape` by their position after reducing `axes`.
    static func reduce(_ values: [Double], shape: [Int], axes: [Int]?, keepDims: Bool,
                       _ f: ([Double]) -> Double) -> (shape: [Int], values: [Double]) {
        let list = Set((axes ?? Array(0..<shape.count)).map { $0 < 0 ? $0 + shape.count : $0 })
        let kept = shape.enumerated().map { list.contains($0.offset) ? 1 : $0.element }
        var groups = [[Double]](repeating: [], count: Ref.count(kept))
        for i in 0..<values.count {
            var idx = Ref.index(i, shape)
            for a in list { idx[a] = 0 }
            groups[Ref.flat(idx, kept)].append(values[i])
        }
        let outShape = keepDims ? kept : shape.enumerated().filter { !list.contains($0.offset) }.map(\.element)
        return (outShape, groups.map(f))
    }

    static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
    static func variance(_ v: [Double], unbiased: Bool) -> Double {
        let m = mean(v)
        return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(unbiased ? v.count - 1 : v.count)
    }

    @Test(arguments: axesCases)
    func sum(c: AxesCase) {
        let x = randomTensor(c.shape, seed: 1)
        let ref = Self.reduce(doubles(x), shape: c.shape, axes: c.axes, keepDims: c.keepDims) { $0.reduce(0, +) }
        assertClose(x.sum(axes: c.axes, keepDims: c.keepDims), ref.values, shape: ref.shape)
        checkGradients(of: { $0[0].sum(axes: c.axes, keepDims: c.keepDims) }, at: [x])
    }

    @Test(arguments: axesCases)
    func mean(c: AxesCase) {
        let x = randomTensor(c.shape, seed: 2)
        let ref = Self.reduce(doubles(x), shape: c.shape, axes: c.axes, keepDims: c.keepDims, Self.mean)
        assertClose(x.mean(axes: c.axes, keepDims: c.keepDims), ref.values, shape: ref.shape)
        checkGradients(of: { $0[0].mean(axes: c.axes, keepDims: c.keepDims) }, at: [x])
    }

    @Test(arguments: axesCases.filter { c in
        (c.axes ?? Array(0..<c.shape.count)).map { c.shape[$0 < 0 ? $0 + c.shape.count : $0] }.reduce(1, *) > 1
    }, [true, false])
    func variance(c: AxesCase, unbiased: Bool) {
        let x = randomTensor(c.shape, seed: 3)
        let ref = Self.reduce(doubles(x), shape: c.shape, axes: c.axes, keepDims: c.keepDims) { Self.variance($0, unbiased: unbiased) }
        assertClose(x.variance(axes: c.axes, keepDims: c.keepDims, unbiased: unbiased), ref.values, shape: ref.shape)
        checkGradients(of: { $0[0].variance(axes: c.axes, keepDims: c.keepDims, unbiased: unbiased) }, at: [x])
    }

    @Test func sumAndMeanConvenienceForms() {
        let x = randomTensor([2, 3], seed: 4)
        assertClose(x.sum(axis: 1), x.sum(axes: [1]), rtol: 0, atol: 0)
        assertClose(x.mean(axis: 0, keepDims: true), x.mean(axes: [0], keepDims: true), rtol: 0, atol: 0)
        let s = Tensor(2.5)
        #expect(s.sum().shape == [] && s.sum().item == 2.5)
        #expect(x.sum(axes: []).shape == [2, 3])
    }

    /// A tensor whose elements are a shuffled 0.1-spaced grid: unique maxima, far from ties.
    static func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RandomState(seed: seed)
        let n = Ref.count(shape)
        let values = (0..<n).map { Float($0) * 0.1 - Float(n) * 0.05 }.shuffled(using: &rng)
        return Tensor(shape: shape, scalars: values)
    }

    @Test(arguments: [0, 1, 2, -1], [false, true])
    func maxAlongAxis(axis: Int, keepDims: Bool) {
        let shape = [3, 4, 2]
        let x = Self.distinct(shape, seed: 5)
        let xd = doubles(x)
        let ax = axis < 0 ? axis + 3 : axis
        let ref = Self.reduce(xd, shape: shape, axes: [axis], keepDims: keepDims) { $0.max()! }
        let (values, indices) = x.max(axis: axis, keepDims: keepDims)
        assertClose(values, ref.values, shape: ref.shape, rtol: 0, atol: 0)
        // indices[j] is the position along the axis of the maximum for output element j.
        var kept = shape; kept[ax] = 1
        for j in 0..<indices.count {
            var idx = Ref.index(j, kept)
            idx[ax] = indices[j]
            #expect(xd[Ref.flat(idx, shape)] == ref.values[j], "index \(indices[j]) for output \(j)")
        }
        checkGradients(of: { $0[0].max(axis: axis, keepDims: keepDims).values }, at: [x])
    }

    @Test func maxFirstIndexOnTiesAndGlobalMax() {
        let x = Tensor(shape: [2, 3], scalars: [1, 3, 3, 2, 2, 0])
        let (values, indices) = x.max(axis: 1)
        #expect(values.scalars == [3, 2])
        #expect(indices == [1, 0])
        let y = Self.distinct([3, 4], seed: 6)
        #expect(Double(y.max().item) == doubles(y).max()!)
        #expect(y.max().shape == [])
        checkGradients(of: { $0[0].max() }, at: [y])
    }

    @Test(arguments: [0, 1, -1], [false, true])
    func logSumExp(axis: Int, keepDims: Bool) {
        let x = randomTensor([2, 3, 4], seed: 7, low: -2, high: 2)
        let ref = Self.reduce(doubles(x), shape: [2, 3, 4], axes: [axis], keepDims: keepDims) { v in
            Foundation.log(v.map { Foundation.exp($0) }.reduce(0, +))
        }
        assertClose(x.logSumExp(axis: axis, keepDims: keepDims), ref.values, shape: ref.shape)
        checkGradients(of: { $0[0].logSumExp(axis: axis, keepDims: keepDims) }, at: [x])
    }

    @Test func logSumExpIsStableForLargeInputs() {
        let x = Tensor(shape: [2, 3], scalars: [100, 101, 99, -200, -201, -199])
        let tail = Foundation.log(1 + Foundation.exp(-1.0) + Foundation.exp(-2.0))
        assertClose(x.logSumExp(axis: 1), [101 + tail, -199 + tail], shape: [2], rtol: 1e-6)
        checkGradients(of: { $0[0].logSumExp(axis: 1) }, at: [x], epsilon: 1e-2)
    }
}
