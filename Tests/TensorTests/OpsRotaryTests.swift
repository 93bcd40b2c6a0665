import Foundation
import Testing
@testable import UniRLTensor

/// Rotary position embedding: tables against the direct formula, application forward and backward.
@Suite struct OpsRotaryTests {
    /// angle(p, i) = p / θ^(2i/d).
    static func angle(_ p: Int, _ i: Int, d: Int, theta: Double) -> Double {
        Double(p) / Foundation.pow(theta, Double(2 * i) / Double(d))
    }

    @Test func inverseFrequencies() {
        let inv = RotaryEmbedding.inverseFrequencies(dimension: 8, theta: 10_000)
        #expect(inv.count == 4)
        for (i, f) in inv.enumerated() {
            let expected = 1 / Foundation.pow(10_000.0, Double(2 * i) / 8)
            #expect(Swift.abs(Double(f) - expected) <= 1e-6 * expected, "frequency \(i): \(f) vs \(expected)")
        }
    }

    @Test func tablesMatchDirectFormula() {
        let positions = [0, 1, 5, 7, 100]
        let (d, theta) = (8, 10_000.0)
        let (cos, sin) = RotaryEmbedding.tables(positions: positions, dimension: d, theta: Float(theta))
        var expectedCos: [Double] = [], expectedSin: [Double] = []
        for p in positions {
            for j in 0..<d {
                let a = Self.angle(p, j % (d / 2), d: d, theta: theta)
                expectedCos.append(Foundation.cos(a)); expectedSin.append(Foundation.sin(a))
            }
        }
        // Angles are formed in Float (p · inv_freq), as in the reference implementation.
        assertClose(cos, expectedCos, shape: [5, 8], rtol: 0, atol: 2e-5)
        assertClose(sin, expectedSin, shape: [5, 8], rtol: 0, atol: 2e-5)
    }

    @Test func multiSectionTablesMatchDirectFormula() {
        // Three streams (temporal, height, width), sections of 1, 2 and 1 frequencies (d = 8).
        let positions = [[0, 1, 2], [3, 4, 5], [6, 7, 9]]
        let sections = [1, 2, 1]
        let (d, theta) = (8, 100.0)
        let (cos, sin) = RotaryEmbedding.multiSectionTables(positions: positions, sections: sections, dimension: d, theta: Float(theta))
        let streamOfFrequency = [0, 1, 1, 2]
        var expectedCos: [Double] = [], expectedSin: [Double] = []
        for t in 0..<3 {
            for j in 0..<d {
                let f = j % (d / 2)
                let a = Self.angle(positions[streamOfFrequency[f]][t], f, d: d, theta: theta)
                expectedCos.append(Foundation.cos(a)); expectedSin.append(Foundation.sin(a))
            }
        }
        assertClose(cos, expectedCos, shape: [3, 8], rtol: 0, atol: 2e-6)
        assertClose(sin, expectedSin, shape: [3, 8], rtol: 0, atol: 2e-6)
        // With identical streams it reduces to the 1-D tables.
        let same = RotaryEmbedding.multiSectionTables(positions: [[0, 1, 2], [0, 1, 2], [0, 1, 2]], sections: sections,
                                                      dimension: d, theta: 100)
        let plain = RotaryEmbedding.tables(positions: [0, 1, 2], dimension: d, theta: 100)
        assertClose(same.cos, plain.cos, rtol: 0, atol: 0)
        assertClose(same.sin, plain.sin, rtol: 0, atol: 0)
    }

    /// y = x·cos + rotate_half(x)·sin on the first `rot` features, identity on the rest.
    static func reference(_ x: [Double], xShape: [Int], cos: [Double], sin: [Double], tableShape: [Int]) -> [Double] {
        let dim = xShape.last!, rot = tableShape.last!, h = rot / 2
        var out = x
        for f in stride(from: 0, to: x.count, by: dim) {
            let idx = Ref.index(f, xShape)
            for j in 0..<rot {
                var ti = idx; ti[ti.count - 1] = j
                let c = Ref.broadcastValue(cos, tableShape, at: ti), s = Ref.broadcastValue(sin, tableShape, at: ti)
                let rotated = j < h ? -x[f + j + h] : x[f + j - h]
                out[f + j] = x[f + j] * c + rotated * s
            }
        }
        return out
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let xShape: [Int], tableShape: [Int], name: String
        var testDescription: String { "\(name): x \(xShape) tables \(tableShape)" }
    }

    @Test(arguments: [
        Case(xShape: [2, 2, 3, 8], tableShape: [3, 8], name: "full"),
        Case(xShape: [1, 2, 3, 8], tableShape: [3, 4], name: "partial"),
        Case(xShape: [2, 2, 3, 4], tableShape: [2, 1, 3, 4], name: "per-batch tables"),
        Case(xShape: [2, 3, 6], tableShape: [3, 2], name: "partial, rank 3"),
    ])
    func applyingRotaryEmbedding(c: Case) {
        let x = randomTensor(c.xShape, seed: 1)
        // Tables from genuine angles.
        let angles = randomTensor(c.tableShape, seed: 2, low: -3, high: 3)
        let half = c.tableShape.last! / 2
        let last = c.tableShape.last!, raw = angles.scalars
        let a = (0..<raw.count).map { i in raw[i - i % last + (i % last) % half] }  // [θ, θ] per row
        let cos = Tensor(shape: c.tableShape, scalars: a.map { Foundation.cos($0) })
        let sin = Tensor(shape: c.tableShape, scalars: a.map { Foundation.sin($0) })
        let expected = Self.reference(doubles(x), xShape: c.xShape, cos: doubles(cos), sin: doubles(sin), tableShape: c.tableShape)
        let out = x.applyingRotaryEmbedding(cos: cos, sin: sin)
        assertClose(out, expected, shape: c.xShape)
        checkGradients(of: { $0[0].applyingRotaryEmbedding(cos: cos, sin: sin) }, at: [x])
        // The tables are ordinary operands too.
        checkGradients(of: { $0[0].applyingRotaryEmbedding(cos: $0[1], sin: $0[2]) }, at: [x, cos, sin])
        checkGradients(of: { x.applyingRotaryEmbedding(cos: cos, sin: $0[0]) }, at: [sin])
        if c.name == "full" {
            // A rotation of each (j, j + d/2) pair keeps the norm.
            let norms = (x.square().sum(axis: -1) - out.square().sum(axis: -1)).abs().max().item
            #expect(norms < 1e-5)
        }
    }

    @Test func rotatedHalf() {
        let x = randomTensor([2, 3, 6], seed: 3)
        let xd = doubles(x)
        let expected = (0..<36).map { i -> Double in
            let j = i % 6
            return j < 3 ? -xd[i + 3] : xd[i - 3]
        }
        assertClose(x.rotatedHalf(), expected, shape: [2, 3, 6], rtol: 0, atol: 0)
        assertClose(x.rotatedHalf().rotatedHalf(), doubles(-x), shape: [2, 3, 6], rtol: 0, atol: 0)
        checkGradients(of: { $0[0].rotatedHalf() }, at: [x])
    }

    @Test func positionZeroIsIdentityAndTablesApplyEndToEnd() {
        let (cos, sin) = RotaryEmbedding.tables(positions: [0, 3, 4], dimension: 4, theta: 10_000)
        let x = randomTensor([1, 2, 3, 6], seed: 4)
        let y = x.applyingRotaryEmbedding(cos: cos, sin: sin)
        assertClose(y.slice(axis: 2, 0..<1), x.slice(axis: 2, 0..<1), rtol: 0, atol: 0)
        assertClose(y.slice(axis: -1, 4..<6), x.slice(axis: -1, 4..<6), rtol: 0, atol: 0)
        let expected = Self.reference(doubles(x), xShape: [1, 2, 3, 6], cos: doubles(cos), sin: doubles(sin), tableShape: [3, 4])
        assertClose(y, expected, shape: [1, 2, 3, 6])
        checkGradients(of: { $0[0].applyingRotaryEmbedding(cos: cos, sin: sin) }, at: [x])
    }
}
