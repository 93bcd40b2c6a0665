import Foundation
import Testing
@testable import UniRLTensor

/// Reshaping, permutation, slicing, joining, padding, broadcasting and gathers.
@Suite struct OpsShapeTests {
    /// out[idx] = x[src(idx)] for a permutation `order` (result dim i is input dim order[i]).
    static func permuteReference(_ x: Tensor, _ order: [Int]) -> (shape: [Int], values: [Double]) {
        let xd = doubles(x), outShape = order.map { x.shape[$0] }
        let values = (0..<x.elementCount).map { i -> Double in
            let o = Ref.index(i, outShape)
            var src = [Int](repeating: 0, count: x.rank)
            for (d, od) in order.enumerated() { src[od] = o[d] }
            return xd[Ref.flat(src, x.shape)]
        }
        return (outShape, values)
    }

    @Test func reshapedAndViews() {
        let x = randomTensor([2, 3, 4], seed: 1)
        let r = x.reshaped([4, -1])
        assertClose(r, doubles(x), shape: [4, 6], rtol: 0, atol: 0)
        #expect(x.reshaped([2, 3, 4]).storage === x.storage)
        checkGradients(of: { $0[0].reshaped([4, -1]) * $0[0].reshaped([6, 4]).transposed() }, at: [x])
        #expect(x.unsqueezed(1).shape == [2, 1, 3, 4])
        #expect(x.unsqueezed(-1).shape == [2, 3, 4, 1])
        #expect(x.unsqueezed(1).squeezed(1).shape == [2, 3, 4])
        #expect(x.flattened().shape == [24])
        #expect(x.flattened(from: 1).shape == [2, 12])
        #expect(x.flattened(from: 0, to: 1).shape == [6, 4])
        checkGradients(of: { $0[0].unsqueezed(0).flattened(from: 1, to: 2).squeezed(0).exp() }, at: [x])
    }

    @Test(arguments: [[2, 0, 1], [1, 0, 2], [0, 2, 1], [2, 1, 0]])
    func permutedRank3(order: [Int]) {
        let x = randomTensor([2, 3, 4], seed: 2)
        let (shape, values) = Self.permuteReference(x, order)
        assertClose(x.permuted(order), values, shape: shape, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].permuted(order) }, at: [x])
    }

    @Test func permutedRank4AndTransposed() {
        let x = randomTensor([2, 3, 2, 2], seed: 3)
        let order = [3, 1, 0, 2]
        let (shape, values) = Self.permuteReference(x, order)
        assertClose(x.permuted(order), values, shape: shape, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].permuted(order) }, at: [x])
        #expect(x.permuted([0, 1, 2, 3]).storage === x.storage)

        let y = randomTensor([2, 3, 4], seed: 4)
        let t = Self.permuteReference(y, [0, 2, 1])
        assertClose(y.transposed(), t.values, shape: t.shape, rtol: 0, atol: 0)
        let t2 = Self.permuteReference(y, [2, 1, 0])
        assertClose(y.transposed(0, 2), t2.values, shape: t2.shape, rtol: 0, atol: 0)
        assertClose(y.transposed(-1, 0), t2.values, shape: t2.shape, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].transposed() }, at: [y])
        checkGradients(of: { $0[0].transposed(0, 2) }, at: [y])
    }

    /// Tensors large enough that the strided copy splits its rows over the workers, so a range
    /// starts mid-tensor (its multi-index found by division, then advanced row by row): the head
    /// split/merge of attention, a permutation moving the last axis, and a broadcast with zero strides.
    @Test func permutedAndBroadcastAcrossWorkerRanges() {
        let x = randomTensor([4, 6, 48, 64], seed: 5)
        for order in [[0, 2, 1, 3], [2, 0, 3, 1], [3, 2, 1, 0]] {
            let (shape, values) = Self.permuteReference(x, order)
            assertClose(x.permuted(order), values, shape: shape, rtol: 0, atol: 0)
        }
        let from = [1, 6, 1, 64], to = [4, 6, 48, 64]
        let b = randomTensor(from, seed: 6)
        let bd = doubles(b)
        let expected = (0..<Ref.count(to)).map { Ref.broadcastValue(bd, from, at: Ref.index($0, to)) }
        assertClose(b.broadcast(to: to), expected, shape: to, rtol: 0, atol: 0)
    }

    struct SliceCase: Sendable, CustomTestStringConvertible {
        let shape: [Int], axis: Int, lo: Int, hi: Int
        var testDescription: String { "\(shape) axis \(axis) \(lo)..<\(hi)" }
    }

    @Test(arguments: [
        SliceCase(shape: [4, 3], axis: 0, lo: 1, hi: 3),
        SliceCase(shape: [2, 5, 3], axis: 1, lo: 1, hi: 4),
        SliceCase(shape: [3, 6], axis: -1, lo: 2, hi: 5),
        SliceCase(shape: [2, 3, 4], axis: 2, lo: 0, hi: 1),
        SliceCase(shape: [2, 3], axis: 1, lo: 0, hi: 3),
    ])
    func slice(c: SliceCase) {
        let x = randomTensor(c.shape, seed: 5)
        let ax = c.axis < 0 ? c.axis + c.shape.count : c.axis
        var outShape = c.shape; outShape[ax] = c.hi - c.lo
        let xd = doubles(x)
        let expected = (0..<Ref.count(outShape)).map { i -> Double in
            var idx = Ref.index(i, outShape); idx[ax] += c.lo
            return xd[Ref.flat(idx, c.shape)]
        }
        assertClose(x.slice(axis: c.axis, c.lo..<c.hi), expected, shape: outShape, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].slice(axis: c.axis, c.lo..<c.hi) }, at: [x])
    }

    @Test func splitAndChunked() {
        let x = randomTensor([2, 6, 2], seed: 6)
        let parts = x.split(axis: 1, sizes: [1, 3, 2])
        #expect(parts.map(\.shape) == [[2, 1, 2], [2, 3, 2], [2, 2, 2]])
        var start = 0
        for p in parts {
            assertClose(p, x.slice(axis: 1, start..<(start + p.shape[1])), rtol: 0, atol: 0)
            start += p.shape[1]
        }
        checkGradients(of: { xs in
            Tensor.concatenate(
                xs[0].split(axis: 1, sizes: [1, 3, 2]).enumerated().map { ($0.element * Float($0.offset + 1)).reshaped([-1]) }, axis: 0)
        }, at: [x])
        // Only one piece used: the others get zero gradient.
        checkGradients(of: { $0[0].split(axis: 1, sizes: [1, 3, 2])[1] }, at: [x])

        let y = randomTensor([2, 6], seed: 7)
        let chunks = y.chunked(3, axis: -1)
        #expect(chunks.map(\.shape) == [[2, 2], [2, 2], [2, 2]])
        let yd = doubles(y)
        for (c, t) in chunks.enumerated() {
            assertClose(t, [yd[2 * c], yd[2 * c + 1], yd[6 + 2 * c], yd[6 + 2 * c + 1]], shape: [2, 2], rtol: 0, atol: 0)
        }
        checkGradients(of: { xs in let c = xs[0].chunked(3, axis: -1); return c[0] * c[2] - c[1] }, at: [y])
    }

    @Test func concatenate() {
        let a = randomTensor([2, 1, 2], seed: 8), b = randomTensor([2, 3, 2], seed: 9), c = randomTensor([2, 2, 2], seed: 10)
        let out = Tensor.concatenate([a, b, c], axis: 1)
        let ad = doubles(a), bd = doubles(b), cd = doubles(c)
        let expected = (0..<24).map { i -> Double in
            let idx = Ref.index(i, [2, 6, 2])
            switch idx[1] {
            case 0: return ad[Ref.flat([idx[0], 0, idx[2]], [2, 1, 2])]
            case 1...3: return bd[Ref.flat([idx[0], idx[1] - 1, idx[2]], [2, 3, 2])]
            default: return cd[Ref.flat([idx[0], idx[1] - 4, idx[2]], [2, 2, 2])]
            }
        }
        assertClose(out, expected, shape: [2, 6, 2], rtol: 0, atol: 0)
        checkGradients(of: { Tensor.concatenate($0, axis: 1) }, at: [a, b, c])

        let p = randomTensor([1, 3], seed: 11), q = randomTensor([2, 3], seed: 12)
        assertClose(Tensor.concatenate([p, q], axis: 0), doubles(p) + doubles(q), shape: [3, 3], rtol: 0, atol: 0)
        checkGradients(of: { Tensor.concatenate($0, axis: 0) }, at: [p, q])
        let r = randomTensor([3, 2], seed: 13)
        checkGradients(of: { Tensor.concatenate([$0[0], $0[1]], axis: -1) }, at: [r, q.transposed()])
        // A constant input among differentiable ones.
        checkGradients(of: { Tensor.concatenate([$0[0], c, $0[1]], axis: 1) }, at: [a, b])
    }

    @Test(arguments: [0, 1, 2, -1])
    func stack(axis: Int) {
        let ts = (0..<3).map { randomTensor([2, 3], seed: 20 + UInt64($0)) }
        let out = Tensor.stack(ts, axis: axis)
        let ax = axis < 0 ? axis + 3 : axis
        var outShape = [2, 3]; outShape.insert(3, at: ax)
        let ds = ts.map(doubles)
        let expected = (0..<18).map { i -> Double in
            var idx = Ref.index(i, outShape)
            let which = idx.remove(at: ax)
            return ds[which][Ref.flat(idx, [2, 3])]
        }
        assertClose(out, expected, shape: outShape, rtol: 0, atol: 0)
        checkGradients(of: { Tensor.stack($0, axis: axis) }, at: ts)
    }

    @Test func padded() {
        let x = randomTensor([2, 3], seed: 30)
        let out = x.padded([(1, 0), (2, 1)], value: 0.5)
        let xd = doubles(x)
        let expected = (0..<18).map { i -> Double in
            let idx = Ref.index(i, [3, 6])
            let r = idx[0] - 1, c = idx[1] - 2
            return r >= 0 && r < 2 && c >= 0 && c < 3 ? xd[r * 3 + c] : 0.5
        }
        assertClose(out, expected, shape: [3, 6], rtol: 0, atol: 0)
        checkGradients(of: { $0[0].padded([(1, 0), (2, 1)], value: 0.5) }, at: [x])

        let y = randomTensor([2, 2, 2], seed: 31)
        let py = y.padded([(0, 1), (1, 1), (0, 0)])
        #expect(py.shape == [3, 4, 2])
        let yd = doubles(y)
        let expectedY = (0..<24).map { i -> Double in
            let idx = Ref.index(i, [3, 4, 2])
            return idx[0] < 2 && idx[1] >= 1 && idx[1] <= 2 ? yd[Ref.flat([idx[0], idx[1] - 1, idx[2]], [2, 2, 2])] : 0
        }
        assertClose(py, expectedY, shape: [3, 4, 2], rtol: 0, atol: 0)
        checkGradients(of: { $0[0].padded([(0, 1), (1, 1), (0, 0)]) }, at: [y])
    }

    struct BroadcastCase: Sendable, CustomTestStringConvertible {
        let from: [Int], to: [Int]
        var testDescription: String { "\(from)→\(to)" }
    }

    @Test(arguments: [
        BroadcastCase(from: [3], to: [2, 3]),
        BroadcastCase(from: [2, 1, 3], to: [2, 4, 3]),
        BroadcastCase(from: [1], to: [2, 2]),
        BroadcastCase(from: [], to: [2, 3]),
        BroadcastCase(from: [3, 1], to: [2, 3, 4]),
        BroadcastCase(from: [1, 3, 1], to: [2, 3, 2]),
    ])
    func broadcastTo(c: BroadcastCase) {
        let x = randomTensor(c.from, seed: 40)
        let xd = doubles(x)
        let expected = (0..<Ref.count(c.to)).map { Ref.broadcastValue(xd, c.from, at: Ref.index($0, c.to)) }
        assertClose(x.broadcast(to: c.to), expected, shape: c.to, rtol: 0, atol: 0)
        checkGradients(of: { $0[0].broadcast(to: c.to) }, at: [x])
    }

    @Test func indexSelectWithRepeatedIndices() {
        let x = randomTensor([4, 3], seed: 50)
        let idx = [2, 0, 2, 3, 2]
        let xd = doubles(x)
        assertClose(x.indexSelect(axis: 0, idx), idx.flatMap { r in (0..<3).map { xd[r * 3 + $0] } }, shape: [5, 3], rtol: 0, atol: 0)
        checkGradients(of: { $0[0].indexSelect(axis: 0, idx) }, at: [x])

        let y = randomTensor([2, 4, 3], seed: 51)
        let idy = [3, 3, 0]
        let yd = doubles(y)
        let expected = (0..<18).map { i -> Double in
            let j = Ref.index(i, [2, 3, 3])
            return yd[Ref.flat([j[0], idy[j[1]], j[2]], [2, 4, 3])]
        }
        assertClose(y.indexSelect(axis: 1, idy), expected, shape: [2, 3, 3], rtol: 0, atol: 0)
        checkGradients(of: { $0[0].indexSelect(axis: 1, idy) }, at: [y])
        checkGradients(of: { $0[0].indexSelect(axis: -1, [1, 1, 2, 1]) }, at: [y])

        // The accumulated gradient of a row picked k times is k (for a ones seed).
        let leaf = x.requiringGrad()
        let g = Autodiff.gradients(of: leaf.indexSelect(axis: 0, idx).sum(), withRespectTo: [leaf])[0]!
        assertClose(g, [1, 1, 1, 0, 0, 0, 3, 3, 3, 1, 1, 1], shape: [4, 3], rtol: 0, atol: 0)
    }

    @Test func embedding() {
        let table = randomTensor([5, 3], seed: 60)
        let ids = [1, 4, 1, 0, 1, 2]
        let out = Tensor.embedding(table, ids: ids, idsShape: [2, 3])
        let td = doubles(table)
        assertClose(out, ids.flatMap { r in (0..<3).map { td[r * 3 + $0] } }, shape: [2, 3, 3], rtol: 0, atol: 0)
        checkGradients(of: { Tensor.embedding($0[0], ids: ids, idsShape: [2, 3]) }, at: [table])
    }

    @Test func gatheringAlongLastAxis() {
        let x = randomTensor([2, 3, 4], seed: 70)
        let idx = [3, 0, 0, 2, 1, 3]
        let xd = doubles(x)
        assertClose(x.gathering(alongLastAxis: idx), (0..<6).map { xd[$0 * 4 + idx[$0]] }, shape: [2, 3], rtol: 0, atol: 0)
        checkGradients(of: { $0[0].gathering(alongLastAxis: idx) }, at: [x])
    }

    @Test func crossEntropyWithIgnoredRows() {
        let logits = randomTensor([4, 5], seed: 80, low: -2, high: 2)
        let targets = [1, -100, 4, 0]
        let ld = doubles(logits)
        var total = 0.0, kept = 0.0
        for (r, t) in targets.enumerated() where t != -100 {
            let row = Array(ld[(r * 5)..<(r * 5 + 5)])
            let m = row.max()!
            let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            total += lse - row[t]; kept += 1
        }
        assertClose(logits.crossEntropy(targets: targets), [total / kept], shape: [], rtol: 1e-5)
        checkGradients(of: { $0[0].crossEntropy(targets: targets) }, at: [logits])
        checkGradients(of: { $0[0].reshaped([2, 2, 5]).crossEntropy(targets: targets) }, at: [logits])
    }
}
