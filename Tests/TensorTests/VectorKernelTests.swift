import CUniRLKernels
import Foundation
import Testing
@testable import UniRLTensor

/// The C vector kernels (Sources/CKernels): the run-time-selected path (AVX2 + FMA where the CPU has
/// them) and the portable path against float64 references, on lengths that exercise every tail.
@Suite struct VectorKernelTests {
    static let paths = [UNIRL_PATH_AUTO, UNIRL_PATH_PORTABLE]

    static func inputs(_ n: Int, seed: UInt64 = 7, scale: Float = 6) -> [Float] {
        var rng = RandomState(seed: seed)
        return (0..<n).map { _ in (rng.nextUniform() * 2 - 1) * scale }
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    /// Worst |ours − exact| / max(1, |exact|).
    static func worst(_ ours: [Float], _ exact: [Double]) -> Double {
        zip(ours, exact).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
    }

    @Test func reportsThePath() {
        // Not an assertion on the machine, a record of which path the other tests exercised.
        print("vector kernels: \(unirl_kernels_vectorized() == 1 ? "AVX2 + FMA" : "portable C")")
    }

    @Test(arguments: [1, 7, 8, 9, 31, 1000])
    func siluAndItsDerivativeMatchFloat64(n: Int) {
        var x = Self.inputs(n)
        if n >= 9 { x[0] = -100; x[1] = -87.4; x[2] = 0; x[3] = 88.4; x[4] = 100; x[5] = -1e-30; x[6] = 30 }
        let g = Self.inputs(n, seed: 8, scale: 2)
        for path in Self.paths {
            var y = [Float](repeating: .nan, count: n), dx = [Float](repeating: .nan, count: n)
            unirl_silu(x, &y, n, path)
            unirl_silu_backward(x, g, &dx, n, path)
            let exactY = x.map { Double($0) * Self.sigmoid(Double($0)) }
            let exactDx = zip(x, g).map { x, g in
                let s = Self.sigmoid(Double(x))
                return Double(g) * s * (1 + Double(x) * (1 - s))
            }
            #expect(Self.worst(y, exactY) < 1e-6, "silu path \(path.rawValue): \(Self.worst(y, exactY))")
            #expect(Self.worst(dx, exactDx) < 1e-6, "silu backward path \(path.rawValue): \(Self.worst(dx, exactDx))")
        }
        var nan: [Float] = [.nan], out: [Float] = [0]
        unirl_silu(nan, &out, 1, UNIRL_PATH_AUTO)
        #expect(out[0].isNaN)
        nan = [Float](repeating: .nan, count: 8); out = [Float](repeating: 0, count: 8)
        unirl_silu(nan, &out, 8, UNIRL_PATH_AUTO)
        #expect(out.allSatisfy { $0.isNaN }, "NaN must stay NaN on the vector path")
    }

    @Test(arguments: [(rows: 3, h: 5), (rows: 2, h: 40)])
    func gatedLinearUnitMatchesFloat64(rows: Int, h: Int) {
        let x = Self.inputs(rows * 2 * h), g = Self.inputs(rows * h, seed: 9, scale: 1)
        for path in Self.paths {
            var y = [Float](repeating: .nan, count: rows * h), dx = [Float](repeating: .nan, count: rows * 2 * h)
            unirl_glu(x, &y, rows, h, path)
            unirl_glu_backward(x, g, &dx, rows, h, path)
            var exactY = [Double](), exactDx = [Double](repeating: 0, count: rows * 2 * h)
            for r in 0..<rows {
                for j in 0..<h {
                    let a = Double(x[r * 2 * h + j]), gate = Double(x[r * 2 * h + h + j]), gr = Double(g[r * h + j])
                    let s = Self.sigmoid(gate)
                    exactY.append(a * gate * s)
                    exactDx[r * 2 * h + j] = gr * gate * s
                    exactDx[r * 2 * h + h + j] = gr * a * s * (1 + gate * (1 - s))
                }
            }
            #expect(Self.worst(y, exactY) < 1e-6)
            #expect(Self.worst(dx, exactDx) < 1e-6)
        }
    }

    @Test(arguments: [0, 5, 16, 17, 130])
    func sumsAndNormalizationMatchFloat64(n: Int) {
        let x = Self.inputs(n, scale: 3), w = Self.inputs(n, seed: 3, scale: 1), b = Self.inputs(n, seed: 4, scale: 1)
        let exactSum = x.reduce(0.0) { $0 + Double($1) }
        let mu = Float(exactSum / Double(max(n, 1)))
        let exactSquares = x.reduce(0.0) { $0 + (Double($1) - Double(mu)) * (Double($1) - Double(mu)) }
        var sums: [Float] = []
        for path in Self.paths {
            let sum = unirl_sum(x, n, path)
            sums.append(sum)
            #expect(abs(Double(sum) - exactSum) <= 1e-5 * max(1, abs(exactSum)))
            #expect(abs(Double(unirl_sum_squared_deviations(x, n, mu, path)) - exactSquares) <= 1e-5 * max(1, exactSquares))
            for (weight, bias) in [(nil, nil), (w, nil), (w, b), (nil, b)] as [([Float]?, [Float]?)] {
                var o = [Float](repeating: .nan, count: n)
                let rstd: Float = 0.7
                weight.withOptionalPointer { wp in bias.withOptionalPointer { bp in unirl_normalize(x, &o, n, mu, rstd, wp, bp, path) } }
                let exact = (0..<n).map { j in
                    (Double(x[j]) - Double(mu)) * Double(rstd) * Double(weight?[j] ?? 1) + Double(bias?[j] ?? 0)
                }
                #expect(Self.worst(o, exact) < 1e-6)
            }
        }
        // Plain sums add the same partials in the same order on both paths.
        #expect(sums[0] == sums[1])
    }

    @Test(arguments: [5, 32, 130])
    func normalizationBackwardMatchesFloat64(n: Int) {
        let x = Self.inputs(n, scale: 3), g = Self.inputs(n, seed: 5, scale: 1), w = Self.inputs(n, seed: 6, scale: 1)
        let (mu, rstd): (Float, Float) = (0.3, 0.8)
        for path in Self.paths {
            for weight in [nil, w] as [[Float]?] {
                for centered in [true, false] {
                    let xhat = x.map { (Double($0) - Double(mu)) * Double(rstd) }
                    let dy = (0..<n).map { Double(g[$0]) * Double(weight?[$0] ?? 1) }
                    let meanDy = centered ? dy.reduce(0, +) / Double(n) : 0
                    let meanDyXhat = zip(dy, xhat).map(*).reduce(0, +) / Double(n)
                    let exact = (0..<n).map { Double(rstd) * (dy[$0] - meanDy - xhat[$0] * meanDyXhat) }
                    var dx = [Float](repeating: .nan, count: n), dw = [Float](repeating: 1, count: n), db = [Float](repeating: 2, count: n)
                    weight.withOptionalPointer { wp in
                        unirl_normalize_backward(x, g, &dx, n, mu, rstd, wp, centered ? 1 : 0, &dw, &db, path)
                    }
                    #expect(Self.worst(dx, exact) < 1e-5, "path \(path.rawValue) n \(n)")
                    #expect(Self.worst(dw, (0..<n).map { 1 + Double(g[$0]) * xhat[$0] }) < 1e-6)
                    #expect(Self.worst(db, (0..<n).map { 2 + Double(g[$0]) }) < 1e-6)
                }
            }
        }
    }

    @Test(arguments: [(c: 37, k: 3, bias: true), (c: 64, k: 3, bias: false), (c: 8, k: 5, bias: true), (c: 3, k: 1, bias: false)])
    func depthwiseConvolutionRowsMatchANaiveLoop(c: Int, k: Int, bias: Bool) {
        let (batch, height, width, pad) = (2, 5, 4, k / 2)
        let x = Self.inputs(batch * height * width * c, scale: 1), w = Self.inputs(k * k * c, seed: 5, scale: 1)
        let biasValues: [Float]? = bias ? Self.inputs(c, seed: 6, scale: 1) : nil
        var exact = [Double](repeating: 0, count: x.count)
        for bi in 0..<batch {
            for y in 0..<height {
                for xc in 0..<width {
                    for ch in 0..<c {
                        var acc = Double(biasValues?[ch] ?? 0)
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let (iy, ix) = (y + ky - pad, xc + kx - pad)
                                guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                acc += Double(w[(ky * k + kx) * c + ch]) * Double(x[((bi * height + iy) * width + ix) * c + ch])
                            }
                        }
                        exact[((bi * height + y) * width + xc) * c + ch] = acc
                    }
                }
            }
        }
        for path in Self.paths {
            var out = [Float](repeating: .nan, count: x.count)
            // Two calls over disjoint row ranges, as the parallel split makes them.
            biasValues.withOptionalPointer { bp in
                unirl_depthwise_conv_rows(x, w, bp, &out, height, width, c, k, 0, 3, path)
                unirl_depthwise_conv_rows(x, w, bp, &out, height, width, c, k, 3, batch * height, path)
            }
            #expect(Self.worst(out, exact) < 1e-5, "path \(path.rawValue), c \(c), k \(k)")
        }
    }

    @Test(arguments: [(c: 74, k: 3), (c: 10, k: 3), (c: 66, k: 5)])
    func fusedSiluDepthwiseGLUEqualsTheComposition(c: Int, k: Int) {
        let (batch, height, width) = (2, 5, 4)
        let rows = batch * height, h = c / 2
        let x = Self.inputs(rows * width * c, scale: 3)
        let w = Self.inputs(k * k * c, seed: 5, scale: 1), bias = Self.inputs(c, seed: 6, scale: 1)
        for path in Self.paths {
            var activated = [Float](repeating: 0, count: x.count), mixed = [Float](repeating: 0, count: x.count)
            var expected = [Float](repeating: 0, count: rows * width * h)
            unirl_silu(x, &activated, x.count, path)
            unirl_depthwise_conv_rows(activated, w, bias, &mixed, height, width, c, k, 0, rows, path)
            unirl_glu(mixed, &expected, rows * width, h, path)
            var fused = [Float](repeating: .nan, count: expected.count)
            var scratch = [Float](repeating: 0, count: unirl_silu_depthwise_glu_scratch(width, c, k))
            // Uneven row ranges that cut an image in two, as the parallel split may.
            unirl_silu_depthwise_glu_rows(x, w, bias, &fused, &scratch, height, width, c, k, 0, 3, path)
            unirl_silu_depthwise_glu_rows(x, w, bias, &fused, &scratch, height, width, c, k, 3, 7, path)
            unirl_silu_depthwise_glu_rows(x, w, nil, &fused, &scratch, height, width, c, k, 7, rows, path)
            var withoutBias = [Float](repeating: 0, count: expected.count)
            unirl_depthwise_conv_rows(activated, w, nil, &mixed, height, width, c, k, 7, rows, path)
            unirl_glu(mixed, &withoutBias, rows * width, h, path)
            let cut = 7 * width * h
            let worst = zip(fused, Array(expected[..<cut]) + Array(withoutBias[cut...])).map { abs($0 - $1) }.max() ?? .nan
            #expect(worst == 0, "fused vs composed, path \(path.rawValue): \(worst)")
        }
    }

    @Test func multiplyAccumulateHandlesTails() {
        for n in [0, 3, 8, 19] {
            let a = Self.inputs(n), b = Self.inputs(n, seed: 2)
            for path in Self.paths {
                var d = Self.inputs(n, seed: 3)
                let exact = (0..<n).map { Double(d[$0]) + Double(a[$0]) * Double(b[$0]) }
                unirl_multiply_accumulate(&d, a, b, n, path)
                #expect(Self.worst(d, exact) < 1e-6)
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with the array's base address, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}
