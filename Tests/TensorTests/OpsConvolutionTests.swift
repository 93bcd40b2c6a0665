import Foundation
import Testing
@testable import UniRLTensor

/// conv2d against a direct float64 loop: strides, padding, groups, depthwise, pointwise, bias.
@Suite struct OpsConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let n, cin, h, w, cout, kh, kw, stride, padding, groups: Int
        let bias: Bool
        let name: String
        var xShape: [Int] { [n, cin, h, w] }
        var wShape: [Int] { [cout, cin / groups, kh, kw] }
        var outH: Int { (h + 2 * padding - kh) / stride + 1 }
        var outW: Int { (w + 2 * padding - kw) / stride + 1 }
        var testDescription: String {
            "\(name): x\(xShape) w\(wShape) stride \(stride) pad \(padding) groups \(groups)\(bias ? " bias" : "")"
        }
    }

    /// out[n, o, y, x] = b[o] + Σ_{c in group, ky, kx} w[o, c, ky, kx] · xpad[n, g·Cin/g + c, y·s − p + ky, x·s − p + kx].
    static func reference(_ x: [Double], _ w: [Double], _ b: [Double]?, _ c: Case) -> [Double] {
        let (oh, ow) = (c.outH, c.outW)
        let inPer = c.cin / c.groups, outPer = c.cout / c.groups
        var out = [Double](repeating: 0, count: c.n * c.cout * oh * ow)
        for n in 0..<c.n {
            for o in 0..<c.cout {
                let g = o / outPer
                for y in 0..<oh {
                    for xo in 0..<ow {
                        var acc = b?[o] ?? 0
                        for ci in 0..<inPer {
                            let channel = g * inPer + ci
                            for ky in 0..<c.kh {
                                let iy = y * c.stride - c.padding + ky
                                if iy < 0 || iy >= c.h { continue }
                                for kx in 0..<c.kw {
                                    let ix = xo * c.stride - c.padding + kx
                                    if ix < 0 || ix >= c.w { continue }
                                    acc += w[((o * inPer + ci) * c.kh + ky) * c.kw + kx] * x[((n * c.cin + channel) * c.h + iy) * c.w + ix]
                                }
                            }
                        }
                        out[((n * c.cout + o) * oh + y) * ow + xo] = acc
                    }
                }
            }
        }
        return out
    }

    static let cases: [Case] = [
        Case(n: 2, cin: 3, h: 5, w: 4, cout: 4, kh: 3, kw: 3, stride: 1, padding: 0, groups: 1, bias: true, name: "basic"),
        Case(n: 2, cin: 3, h: 6, w: 5, cout: 2, kh: 3, kw: 3, stride: 2, padding: 1, groups: 1, bias: true, name: "stride 2 pad 1"),
        Case(n: 1, cin: 2, h: 5, w: 4, cout: 3, kh: 3, kw: 3, stride: 1, padding: 1, groups: 1, bias: false, name: "pad 1 no bias"),
        Case(n: 1, cin: 2, h: 4, w: 5, cout: 3, kh: 3, kw: 3, stride: 2, padding: 0, groups: 1, bias: true, name: "stride 2 pad 0"),
        Case(n: 2, cin: 4, h: 4, w: 5, cout: 6, kh: 3, kw: 3, stride: 1, padding: 1, groups: 2, bias: true, name: "groups 2"),
        Case(n: 1, cin: 4, h: 6, w: 5, cout: 4, kh: 3, kw: 3, stride: 2, padding: 0, groups: 2, bias: false, name: "groups 2 stride 2"),
        Case(n: 2, cin: 3, h: 5, w: 4, cout: 3, kh: 3, kw: 3, stride: 1, padding: 1, groups: 3, bias: true, name: "depthwise"),
        Case(n: 1, cin: 3, h: 7, w: 6, cout: 3, kh: 3, kw: 3, stride: 2, padding: 0, groups: 3, bias: false, name: "depthwise stride 2"),
        Case(n: 1, cin: 2, h: 5, w: 6, cout: 2, kh: 2, kw: 3, stride: 2, padding: 1, groups: 2, bias: true,
             name: "depthwise 2×3 stride 2 pad 1"),
        Case(n: 1, cin: 2, h: 3, w: 4, cout: 2, kh: 3, kw: 3, stride: 1, padding: 2, groups: 2, bias: false, name: "depthwise pad 2"),
        Case(n: 1, cin: 2, h: 4, w: 4, cout: 4, kh: 3, kw: 3, stride: 1, padding: 1, groups: 2, bias: true, name: "channel multiplier 2"),
        Case(n: 2, cin: 4, h: 3, w: 5, cout: 3, kh: 1, kw: 1, stride: 1, padding: 0, groups: 1, bias: true, name: "pointwise 1×1"),
        Case(n: 1, cin: 4, h: 3, w: 3, cout: 6, kh: 1, kw: 1, stride: 1, padding: 0, groups: 2, bias: false, name: "pointwise grouped"),
        Case(n: 1, cin: 3, h: 5, w: 5, cout: 2, kh: 1, kw: 1, stride: 2, padding: 0, groups: 1, bias: true, name: "1×1 stride 2"),
        Case(n: 1, cin: 2, h: 4, w: 6, cout: 3, kh: 2, kw: 3, stride: 1, padding: 1, groups: 1, bias: false, name: "2×3 kernel"),
        Case(n: 3, cin: 2, h: 4, w: 3, cout: 2, kh: 3, kw: 3, stride: 1, padding: 1, groups: 1, bias: true, name: "batch 3"),
        Case(n: 1, cin: 1, h: 3, w: 3, cout: 1, kh: 3, kw: 3, stride: 1, padding: 2, groups: 1, bias: false, name: "pad 2"),
    ]

    @Test(arguments: cases)
    func conv2d(c: Case) {
        let x = randomTensor(c.xShape, seed: 1), w = randomTensor(c.wShape, seed: 2), b = randomTensor([c.cout], seed: 3)
        let expected = Self.reference(doubles(x), doubles(w), c.bias ? doubles(b) : nil, c)
        let out = x.conv2d(weight: w, bias: c.bias ? b : nil, stride: c.stride, padding: c.padding, groups: c.groups)
        assertClose(out, expected, shape: [c.n, c.cout, c.outH, c.outW])
        if c.bias {
            checkGradients(of: { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: c.stride, padding: c.padding, groups: c.groups) },
                           at: [x, w, b])
        } else {
            checkGradients(of: { $0[0].conv2d(weight: $0[1], stride: c.stride, padding: c.padding, groups: c.groups) }, at: [x, w])
        }
    }

    @Test func convGradientsForSomeInputsOnly() {
        let c = Self.cases[1]
        let x = randomTensor(c.xShape, seed: 4), w = randomTensor(c.wShape, seed: 5), b = randomTensor([c.cout], seed: 6)
        // Only the weight: input and bias are constants.
        checkGradients(of: { x.conv2d(weight: $0[0], bias: b, stride: c.stride, padding: c.padding) }, at: [w])
        // Only the input.
        checkGradients(of: { $0[0].conv2d(weight: w, bias: b, stride: c.stride, padding: c.padding) }, at: [x])
        // Depthwise, input only.
        let d = Self.cases[6]
        let wd = randomTensor(d.wShape, seed: 7)
        checkGradients(of: { $0[0].conv2d(weight: wd, padding: 1, groups: 3) }, at: [randomTensor(d.xShape, seed: 8)])
    }

    /// Batches big enough for the forward and backward to be split across threads; gradients
    /// against float64 formulas dx = Σ w ⋆ g, dw = Σ g ⋆ x, db = Σ g.
    static let largeCases: [Case] = [
        Case(n: 4, cin: 8, h: 16, w: 16, cout: 8, kh: 3, kw: 3, stride: 1, padding: 1, groups: 1, bias: true, name: "large"),
        Case(n: 4, cin: 16, h: 32, w: 32, cout: 16, kh: 3, kw: 3, stride: 2, padding: 1, groups: 16, bias: true, name: "large depthwise"),
        Case(n: 5, cin: 16, h: 12, w: 12, cout: 32, kh: 1, kw: 1, stride: 1, padding: 0, groups: 1, bias: false, name: "large pointwise"),
        Case(n: 1, cin: 8, h: 20, w: 12, cout: 6, kh: 3, kw: 3, stride: 2, padding: 1, groups: 2, bias: true, name: "large one image"),
    ]

    @Test(arguments: largeCases)
    func largeConvolutions(c: Case) {
        let x = randomTensor(c.xShape, seed: 9), w = randomTensor(c.wShape, seed: 10), b = randomTensor([c.cout], seed: 11)
        let xd = doubles(x), wdd = doubles(w)
        let lx = x.requiringGrad(), lw = w.requiringGrad(), lb = b.requiringGrad()
        let out = lx.conv2d(weight: lw, bias: c.bias ? lb : nil, stride: c.stride, padding: c.padding, groups: c.groups)
        assertClose(out, Self.reference(xd, wdd, c.bias ? doubles(b) : nil, c), shape: [c.n, c.cout, c.outH, c.outW])
        let g = randomTensor(out.shape, seed: 12)
        let gd = doubles(g)
        let grads = Autodiff.gradients(of: out, withRespectTo: [lx, lw, lb], seed: g)
        var dx = [Double](repeating: 0, count: xd.count), dw = [Double](repeating: 0, count: wdd.count)
        var db = [Double](repeating: 0, count: c.cout)
        let (oh, ow) = (c.outH, c.outW), inPer = c.cin / c.groups, outPer = c.cout / c.groups
        for n in 0..<c.n {
            for o in 0..<c.cout {
                let grp = o / outPer
                for y in 0..<oh {
                    for xo in 0..<ow {
                        let gv = gd[((n * c.cout + o) * oh + y) * ow + xo]
                        db[o] += gv
                        for ci in 0..<inPer {
                            for ky in 0..<c.kh {
                                let iy = y * c.stride - c.padding + ky
                                if iy < 0 || iy >= c.h { continue }
                                for kx in 0..<c.kw {
                                    let ix = xo * c.stride - c.padding + kx
                                    if ix < 0 || ix >= c.w { continue }
                                    let wi = ((o * inPer + ci) * c.kh + ky) * c.kw + kx
                                    let xi = ((n * c.cin + grp * inPer + ci) * c.h + iy) * c.w + ix
                                    dw[wi] += gv * xd[xi]
                                    dx[xi] += gv * wdd[wi]
                                }
                            }
                        }
                    }
                }
            }
        }
        assertClose(grads[0]!, dx, shape: c.xShape, rtol: 1e-5, "dx")
        assertClose(grads[1]!, dw, shape: c.wShape, rtol: 1e-5, "dw")
        if c.bias { assertClose(grads[2]!, db, shape: [c.cout], rtol: 1e-5, "db") } else { #expect(grads[2] == nil) }
    }

    /// With an im2col budget below one image's matrix, the convolution unfolds bands of output rows
    /// (one row each at budget 1; two rows of "large" at 2,500 floats): forward against the float64
    /// loop and gradients against finite differences and the float64 formulas, as unbanded.
    @Test(arguments: [1, 2_500])
    func bandedIm2col(budget: Int) {
        ConvolutionWorkspace.$im2colFloats.withValue(budget) {
            for c in Self.cases where !(c.kh == 1 && c.kw == 1) && !(c.groups == c.cin && c.groups == c.cout) { conv2d(c: c) }
            for c in Self.largeCases { largeConvolutions(c: c) }
        }
    }

    /// Banding changes the working memory, not the numbers beyond float rounding.
    @Test func bandedMatchesWholeImage() {
        let c = Self.largeCases[0]
        let x = randomTensor(c.xShape, seed: 13), w = randomTensor(c.wShape, seed: 14)
        let whole = x.conv2d(weight: w, padding: 1)
        let banded = ConvolutionWorkspace.$im2colFloats.withValue(1) { x.conv2d(weight: w, padding: 1) }
        #expect(zip(whole.scalars, banded.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
    }
}
