// 2-D convolution (PyTorch `F.conv2d` semantics: cross-correlation, NCHW, weight
// [Cout, Cin/groups, kh, kw]) by im2col + GEMM per image, group and band of output rows, with a
// direct kernel for depthwise convolutions. Images and bands are split across cores; BLAS runs
// single-threaded inside.

/// How much memory a convolution's im2col may use.
public enum ConvolutionWorkspace {
    /// Floats of im2col matrix per worker (default 2²¹, 8 MiB): a convolution whose whole-image
    /// im2col is larger unfolds bands of output rows instead (a 128-channel 3×3 convolution at 1024²
    /// would otherwise build a 4.7 GB matrix). Bands depend only on the geometry and this budget, so
    /// results are the same from run to run; a different budget may change the last bits of a sum.
    /// Set it for a scope with `ConvolutionWorkspace.$im2colFloats.withValue(n) { … }`.
    @TaskLocal public static var im2colFloats = 1 << 21
}

/// Geometry of one convolution.
@usableFromInline
struct ConvGeometry: Sendable {
    let batch, inChannels, height, width: Int
    let outChannels, kernelH, kernelW, stride, padding, groups: Int
    var outH: Int { (height + 2 * padding - kernelH) / stride + 1 }
    var outW: Int { (width + 2 * padding - kernelW) / stride + 1 }
    var inPerGroup: Int { inChannels / groups }
    var outPerGroup: Int { outChannels / groups }
    /// Rows of the im2col matrix of one group.
    var colRows: Int { inPerGroup * kernelH * kernelW }
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }
    var isDepthwise: Bool { groups == inChannels && groups == outChannels }
    /// Output rows per im2col band: as many as fit `budget` floats (at least one).
    func bandRows(budget: Int) -> Int {
        if isPointwise || isDepthwise { return outH }
        return Swift.max(1, Swift.min(outH, budget / Swift.max(1, colRows * outW)))
    }
}

/// The output columns ox whose input column ox·stride − padding + kx lies inside 0..<width.
@inline(__always)
private func validColumns(_ g: ConvGeometry, kx: Int) -> Range<Int> {
    let lo = Swift.max(0, (g.padding - kx + g.stride - 1) / g.stride)
    let hi = Swift.min(g.outW, Swift.max(0, (g.width + g.padding - kx + g.stride - 1) / g.stride))
    return lo..<Swift.max(lo, hi)
}

/// Unfolds one group's input planes into [colRows, rows.count·outW] for the output rows `rows`.
private func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: ConvGeometry, rows: Range<Int>) {
    let ow = g.outW, span = rows.count * ow
    for c in 0..<g.inPerGroup {
        let plane = x + c * g.height * g.width
        for ky in 0..<g.kernelH {
            for kx in 0..<g.kernelW {
                let row = col + ((c * g.kernelH + ky) * g.kernelW + kx) * span
                let valid = validColumns(g, kx: kx)
                for oy in rows {
                    let iy = oy * g.stride - g.padding + ky
                    let dst = row + (oy - rows.lowerBound) * ow
                    if iy < 0 || iy >= g.height || valid.isEmpty { dst.update(repeating: 0, count: ow); continue }
                    if valid.lowerBound > 0 { dst.update(repeating: 0, count: valid.lowerBound) }
                    if valid.upperBound < ow { (dst + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound) }
                    let src = plane + iy * g.width + valid.lowerBound * g.stride - g.padding + kx
                    if g.stride == 1 {
                        (dst + valid.lowerBound).update(from: src, count: valid.count)
                    } else {
                        let d = dst + valid.lowerBound, step = g.stride
                        for i in 0..<valid.count { d[i] = src[i &* step] }
                    }
                }
            }
        }
    }
}

/// Adds the columns of the output rows `rows` back into one group's input-gradient planes (the
/// transpose of im2col).
private func col2im(_ col: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry, rows: Range<Int>) {
    let ow = g.outW, span = rows.count * ow
    for c in 0..<g.inPerGroup {
        let plane = dx + c * g.height * g.width
        for ky in 0..<g.kernelH {
            for kx in 0..<g.kernelW {
                let row = col + ((c * g.kernelH + ky) * g.kernelW + kx) * span
                let valid = validColumns(g, kx: kx)
                if valid.isEmpty { continue }
                for oy in rows {
                    let iy = oy * g.stride - g.padding + ky
                    if iy < 0 || iy >= g.height { continue }
                    let src = row + (oy - rows.lowerBound) * ow + valid.lowerBound
                    let dst = plane + iy * g.width + valid.lowerBound * g.stride - g.padding + kx
                    let step = g.stride
                    for i in 0..<valid.count { dst[i &* step] += src[i] }
                }
            }
        }
    }
}

/// Direct depthwise convolution of one image: out[c] = w[c] ⋆ x[c] (+ bias).
private func depthwiseForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
    let oh = g.outH, ow = g.outW, kk = g.kernelH * g.kernelW
    for c in 0..<g.inChannels {
        let plane = x + c * g.height * g.width, o = out + c * oh * ow, wc = w + c * kk
        o.update(repeating: 0, count: oh * ow)
        for ky in 0..<g.kernelH {
            for kx in 0..<g.kernelW {
                let wv = wc[ky * g.kernelW + kx]
                for oy in 0..<oh {
                    let iy = oy * g.stride - g.padding + ky
                    if iy < 0 || iy >= g.height { continue }
                    let src = plane + iy * g.width, dst = o + oy * ow
                    let valid = validColumns(g, kx: kx), oxLo = valid.lowerBound, oxHi = valid.upperBound
                    if oxLo >= oxHi { continue }
                    if g.stride == 1 {
                        // Unchecked pointer offsets keep this loop vectorisable.
                        let s = src + (oxLo - g.padding + kx), d = dst + oxLo
                        for ox in 0..<(oxHi - oxLo) { d[ox] += wv * s[ox] }
                    } else {
                        let s = src + (oxLo &* g.stride &- g.padding &+ kx), d = dst + oxLo, step = g.stride
                        for i in 0..<(oxHi - oxLo) { d[i] += wv * s[i &* step] }
                    }
                }
            }
        }
    }
}

/// Backward of the depthwise kernel for one image: accumulates dx (the forward's transpose, one
/// shifted-row pass per kernel tap) and dw (one dot product per tap).
private func depthwiseBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gout: UnsafePointer<Float>,
                               _ dx: UnsafeMutablePointer<Float>?, _ dw: UnsafeMutablePointer<Float>?, _ g: ConvGeometry) {
    let oh = g.outH, ow = g.outW, kk = g.kernelH * g.kernelW, plane = g.height * g.width
    for c in 0..<g.inChannels {
        let xc = x + c * plane, go = gout + c * oh * ow, wc = w + c * kk
        for ky in 0..<g.kernelH {
            for kx in 0..<g.kernelW {
                let wv = wc[ky * g.kernelW + kx]
                let valid = validColumns(g, kx: kx)
                if valid.isEmpty { continue }
                var acc: Float = 0
                for oy in 0..<oh {
                    let iy = oy * g.stride - g.padding + ky
                    if iy < 0 || iy >= g.height { continue }
                    let grow = go + oy * ow + valid.lowerBound
                    let offset = iy * g.width + valid.lowerBound * g.stride - g.padding + kx
                    let src = xc + offset
                    if g.stride == 1 {
                        for i in 0..<valid.count { acc += grow[i] * src[i] }
                        if let dx { let d = dx + c * plane + offset; for i in 0..<valid.count { d[i] += wv * grow[i] } }
                    } else {
                        let step = g.stride
                        for i in 0..<valid.count { acc += grow[i] * src[i &* step] }
                        if let dx { let d = dx + c * plane + offset; for i in 0..<valid.count { d[i &* step] += wv * grow[i] } }
                    }
                }
                if let dw { dw[c * kk + ky * g.kernelW + kx] += acc }
            }
        }
    }
}

extension Tensor {
    /// 2-D convolution of x [N, Cin, H, W] with weight [Cout, Cin/groups, kh, kw] and optional
    /// bias [Cout], symmetric zero padding, equal strides.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
        precondition(rank == 4 && weight.rank == 4, "conv2d needs x [N,C,H,W] and weight [Cout,Cin/g,kh,kw], got \(shape), \(weight.shape)")
        precondition(groups > 0 && shape[1] % groups == 0 && weight.shape[0] % groups == 0 && weight.shape[1] * groups == shape[1],
                     "conv2d: input channels \(shape[1]), weight \(weight.shape) and groups \(groups) disagree")
        if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d bias \(bias.shape) for \(weight.shape[0]) output channels") }
        let g = ConvGeometry(batch: shape[0], inChannels: shape[1], height: shape[2], width: shape[3],
                             outChannels: weight.shape[0], kernelH: weight.shape[2], kernelW: weight.shape[3],
                             stride: stride, padding: padding, groups: groups)
        precondition(g.outH > 0 && g.outW > 0, "conv2d output would be empty for input \(shape) and kernel \(weight.shape)")
        let x = self
        let inImage = g.inChannels * g.height * g.width, outPlane = g.outH * g.outW, outImage = g.outChannels * outPlane
        let xp = storage.pointer, wp = weight.storage.pointer, bp = bias?.storage.pointer
        let bandRows = g.bandRows(budget: ConvolutionWorkspace.im2colFloats)
        let bands = (g.outH + bandRows - 1) / bandRows, colCount = g.colRows * bandRows * g.outW
        let out = Tensor(shape: [g.batch, g.outChannels, g.outH, g.outW]) { dst in
            let o = dst.baseAddress!
            do {
                // One item per image and band of output rows.
                Parallel.forEachRange(g.batch * bands, costPerItem: Swift.max(1, outImage * g.colRows / bands)) { r in
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: g.isPointwise || g.isDepthwise ? 1 : colCount)
                    defer { col.deallocate() }
                    for item in r {
                        let n = item / bands, rows = (item % bands) * bandRows..<Swift.min(g.outH, (item % bands + 1) * bandRows)
                        let xi = xp + n * inImage, oi = o + n * outImage, span = rows.count * g.outW
                        if g.isDepthwise {
                            depthwiseForward(xi, wp, oi, g)
                        } else {
                            for gi in 0..<g.groups {
                                let xg = xi + gi * g.inPerGroup * g.height * g.width
                                let wg = wp + gi * g.outPerGroup * g.colRows, og = oi + gi * g.outPerGroup * outPlane
                                if g.isPointwise {
                                    sgemm(wg, transposeA: false, xg, transposeB: false, og, m: g.outPerGroup, n: outPlane, k: g.colRows)
                                } else if bands == 1 {
                                    im2col(xg, col, g, rows: rows)
                                    sgemm(wg, transposeA: false, col, transposeB: false, og, m: g.outPerGroup, n: outPlane, k: g.colRows)
                                } else {
                                    // The band's rows of each output channel: outPlane apart.
                                    im2col(xg, col, g, rows: rows)
                                    sgemmBlock(wg, g.colRows, false, col, span, false, og + rows.lowerBound * g.outW, outPlane,
                                               m: g.outPerGroup, n: span, k: g.colRows, accumulate: false, alpha: 1)
                                }
                            }
                        }
                        if let bp {
                            for c in 0..<g.outChannels {
                                let row = oi + c * outPlane + rows.lowerBound * g.outW, b = bp[c]
                                for j in 0..<span { row[j] += b }
                            }
                        }
                    }
                }
            }
        }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return Tensor.record("conv2d", result: out, inputs: inputs) { gradOut in
            let gp = gradOut.storage.pointer
            let needX = x.requiresGrad, needW = weight.requiresGrad
            let dx = needX ? Tensor.zeros(x.shape) : nil
            let dxp = dx?.storage.pointer
            let chunks = Swift.min(Parallel.threadCount, g.batch)
            let wCount = weight.elementCount
            // Per-chunk weight-gradient partials, summed in chunk order.
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * wCount)
            partial.initialize(repeating: 0, count: chunks * wCount)
            defer { partial.deallocate() }
            do {
                Parallel.forEachRange(chunks, costPerItem: Swift.max(1, g.batch * outImage * g.colRows * 2 / chunks)) { cr in
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: g.isDepthwise ? 1 : colCount)
                    defer { col.deallocate() }
                    for c in cr {
                        let dw = partial + c * wCount
                        for n in (g.batch * c / chunks)..<(g.batch * (c + 1) / chunks) {
                            let xi = xp + n * inImage, gi0 = gp + n * outImage
                            if g.isDepthwise {
                                depthwiseBackward(xi, wp, gi0, dxp.map { $0 + n * inImage }, needW ? dw : nil, g)
                                continue
                            }
                            for gi in 0..<g.groups {
                                let xg = xi + gi * g.inPerGroup * g.height * g.width
                                let gg = gi0 + gi * g.outPerGroup * outPlane
                                let wg = wp + gi * g.outPerGroup * g.colRows, dwg = dw + gi * g.outPerGroup * g.colRows
                                let dxg = dxp.map { $0 + n * inImage + gi * g.inPerGroup * g.height * g.width }
                                if g.isPointwise {
                                    // dW_g += G_g · xᵀ, dx_g += W_gᵀ · G_g
                                    if needW {
                                        sgemm(gg, transposeA: false, xg, transposeB: true, dwg,
                                              m: g.outPerGroup, n: g.colRows, k: outPlane, accumulate: true)
                                    }
                                    if let dxg {
                                        sgemm(wg, transposeA: true, gg, transposeB: false, dxg,
                                              m: g.colRows, n: outPlane, k: g.outPerGroup, accumulate: true)
                                    }
                                    continue
                                }
                                for band in 0..<bands {
                                    let rows = band * bandRows..<Swift.min(g.outH, (band + 1) * bandRows)
                                    let span = rows.count * g.outW, gb = gg + rows.lowerBound * g.outW
                                    if needW {
                                        // dW_g += G_g · colsᵀ over this band's columns.
                                        im2col(xg, col, g, rows: rows)
                                        if bands == 1 {
                                            sgemm(gg, transposeA: false, col, transposeB: true, dwg,
                                                  m: g.outPerGroup, n: g.colRows, k: outPlane, accumulate: true)
                                        } else {
                                            sgemmBlock(gb, outPlane, false, col, span, true, dwg, g.colRows,
                                                       m: g.outPerGroup, n: g.colRows, k: span, accumulate: true, alpha: 1)
                                        }
                                    }
                                    if let dxg {
                                        // cols = W_gᵀ · G_g, folded back into dx.
                                        if bands == 1 {
                                            sgemm(wg, transposeA: true, gg, transposeB: false, col,
                                                  m: g.colRows, n: outPlane, k: g.outPerGroup)
                                        } else {
                                            sgemmBlock(wg, g.colRows, true, gb, outPlane, false, col, span,
                                                       m: g.colRows, n: span, k: g.outPerGroup, accumulate: false, alpha: 1)
                                        }
                                        col2im(col, dxg, g, rows: rows)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            var grads: [Tensor?] = [dx, nil]
            if needW {
                grads[1] = Tensor(shape: weight.shape) { d in
                    d.initialize(repeating: 0)
                    for c in 0..<chunks { let p = partial + c * wCount; for i in 0..<wCount { d[i] += p[i] } }
                }
            }
            if let bias {
                grads.append(bias.requiresGrad ? gradOut.sum(axes: [0, 2, 3]) : nil)
            }
            return grads
        }
    }
}
