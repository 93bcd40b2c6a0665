import Foundation
@testable import UniRLTensor

/// Index arithmetic for naive float64 reference implementations written with loops.
enum Ref {
    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = running; running *= shape[i] }
        return s
    }

    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// The multi-index of flat position `flat` in `shape`.
    static func index(_ flat: Int, _ shape: [Int]) -> [Int] {
        var idx = [Int](repeating: 0, count: shape.count)
        var rem = flat
        for d in stride(from: shape.count - 1, through: 0, by: -1) { idx[d] = rem % shape[d]; rem /= shape[d] }
        return idx
    }

    /// The flat position of `idx` in `shape`.
    static func flat(_ idx: [Int], _ shape: [Int]) -> Int {
        var f = 0
        for d in 0..<shape.count { f = f * shape[d] + idx[d] }
        return f
    }

    /// NumPy broadcasting of two shapes, written independently of the engine's.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = Swift.max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a, pb = [Int](repeating: 1, count: rank - b.count) + b
        return zip(pa, pb).map { x, y in
            precondition(x == y || x == 1 || y == 1, "incompatible shapes \(a) \(b)")
            return Swift.max(x, y)
        }
    }

    /// The element of `values` (shape `shape`) that broadcasting maps to output index `idx`.
    static func broadcastValue(_ values: [Double], _ shape: [Int], at idx: [Int]) -> Double {
        let offset = idx.count - shape.count
        var f = 0
        for d in 0..<shape.count { f = f * shape[d] + (shape[d] == 1 ? 0 : idx[d + offset]) }
        return values[f]
    }

    /// Plain matrix product of row-major [m, k] and [k, n].
    static func matmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for p in 0..<k { let av = a[i * k + p]; if av == 0 { continue }; for j in 0..<n { c[i * n + j] += av * b[p * n + j] } }
        }
        return c
    }

    /// Transpose of a row-major [r, c] matrix.
    static func transpose(_ a: [Double], rows: Int, cols: Int) -> [Double] {
        var t = [Double](repeating: 0, count: a.count)
        for i in 0..<rows { for j in 0..<cols { t[j * rows + i] = a[i * cols + j] } }
        return t
    }
}
