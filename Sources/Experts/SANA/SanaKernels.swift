import CUniRLKernels
import UniRLTensor

/// Fused kernels for the SANA transformer's token-major hot path, each one pass forward and one
/// pass backward over [B, N, C] tokens (the engine's generic ops would take several passes and
/// two layout transposes). Each computes exactly the expression in its comment; the parity
/// fixtures check them against diffusers through the whole model.
enum SanaKernels {
    /// adaLN modulation y = x · (1 + scale) + shift, x [B, N, C], scale and shift [B, 1, C].
    static func modulate(_ x: Tensor, shift: Tensor, scale: Tensor) -> Tensor {
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(x.rank == 3 && shift.shape == [b, 1, c] && scale.shape == [b, 1, c],
                     "modulate: x \(x.shape), shift \(shift.shape), scale \(scale.shape)")
        let xp = x.storage.pointer, sp = scale.storage.pointer, hp = shift.storage.pointer
        let out = Tensor(shape: x.shape) { dst in
            let o = dst.baseAddress!
            Parallel.forEachRange(b * n, costPerItem: 2 * c) { rows in
                for row in rows {
                    let bi = row / n, s = sp + bi * c, h = hp + bi * c, src = xp + row * c, d = o + row * c
                    for j in 0..<c { d[j] = src[j] * (1 + s[j]) + h[j] }
                }
            }
        }
        return Tensor.record("sana_modulate", result: out, inputs: [x, shift, scale]) { g in
            let gp = g.storage.pointer, xp = x.storage.pointer, sp = scale.storage.pointer
            let dx = x.requiresGrad ? Tensor(shape: x.shape) { dst in
                let o = dst.baseAddress!
                Parallel.forEachRange(b * n, costPerItem: c) { rows in
                    for row in rows {
                        let s = sp + (row / n) * c, gr = gp + row * c, d = o + row * c
                        for j in 0..<c { d[j] = gr[j] * (1 + s[j]) }
                    }
                }
            } : nil
            // dshift = Σₙ g, dscale = Σₙ g·x, per sample.
            let sums = rowSums(b: b, n: n, c: c) { row, ds, dsc in
                let gr = gp + row * c, xr = xp + row * c
                for j in 0..<c { ds[j] += gr[j]; dsc[j] += gr[j] * xr[j] }
            }
            return [dx, shift.requiresGrad ? sums.first : nil, scale.requiresGrad ? sums.second : nil]
        }
    }

    /// Gated residual y = x + gate · update, x and update [B, N, C], gate [B, 1, C].
    static func gatedResidual(_ x: Tensor, gate: Tensor, update: Tensor) -> Tensor {
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(x.rank == 3 && update.shape == x.shape && gate.shape == [b, 1, c],
                     "gatedResidual: x \(x.shape), gate \(gate.shape), update \(update.shape)")
        let xp = x.storage.pointer, gp = gate.storage.pointer, up = update.storage.pointer
        let out = Tensor(shape: x.shape) { dst in
            let o = dst.baseAddress!
            Parallel.forEachRange(b * n, costPerItem: 2 * c) { rows in
                for row in rows {
                    let gt = gp + (row / n) * c, xr = xp + row * c, ur = up + row * c, d = o + row * c
                    for j in 0..<c { d[j] = xr[j] + gt[j] * ur[j] }
                }
            }
        }
        return Tensor.record("sana_gated_residual", result: out, inputs: [x, gate, update]) { g in
            let grp = g.storage.pointer, gp = gate.storage.pointer, up = update.storage.pointer
            let dUpdate = update.requiresGrad ? Tensor(shape: update.shape) { dst in
                let o = dst.baseAddress!
                Parallel.forEachRange(b * n, costPerItem: c) { rows in
                    for row in rows {
                        let gt = gp + (row / n) * c, gr = grp + row * c, d = o + row * c
                        for j in 0..<c { d[j] = gr[j] * gt[j] }
                    }
                }
            } : nil
            let dGate = gate.requiresGrad ? rowSums(b: b, n: n, c: c) { row, acc, _ in
                let gr = grp + row * c, ur = up + row * c
                for j in 0..<c { acc[j] += gr[j] * ur[j] }
            }.first : nil
            return [x.requiresGrad ? g : nil, dGate, dUpdate]
        }
    }

    /// The gated linear unit of the Mix-FFN on channels-last data: x [..., 2h] → [..., h],
    /// y = x[..., :h] · silu(x[..., h:]) (diffusers' `chunk(2)` then `h * silu(gate)`).
    static func gatedLinearUnit(_ x: Tensor) -> Tensor {
        let twice = x.shape.last!, h = twice / 2
        precondition(twice % 2 == 0, "gated linear unit needs an even last dimension, got \(x.shape)")
        let rows = x.elementCount / twice, xp = x.storage.pointer
        let out = Tensor(shape: Array(x.shape.dropLast()) + [h]) { dst in
            let o = dst.baseAddress!
            Parallel.forEachRange(rows, costPerItem: 8 * h) { range in
                unirl_glu(xp + range.lowerBound * twice, o + range.lowerBound * h, range.count, h, UNIRL_PATH_AUTO)
            }
        }
        return Tensor.record("sana_glu", result: out, inputs: [x]) { g in
            let gp = g.storage.pointer, xp = x.storage.pointer
            return [Tensor(shape: x.shape) { dst in
                let o = dst.baseAddress!
                Parallel.forEachRange(rows, costPerItem: 10 * h) { range in
                    unirl_glu_backward(xp + range.lowerBound * twice, gp + range.lowerBound * h, o + range.lowerBound * twice,
                                       range.count, h, UNIRL_PATH_AUTO)
                }
            }]
        }
    }

    /// A k×k depthwise convolution (stride 1, zero padding k/2, PyTorch's cross-correlation) of
    /// channels-last tokens x [B, H·W, C] of an H × W grid, weight [C, 1, k, k] and bias [C], as
    /// `nn.Conv2d(C, C, k, padding=k//2, groups=C)` computes it on the [B, C, H, W] layout.
    static func depthwiseConvolution(tokens x: Tensor, height: Int, width: Int, weight: Tensor, bias: Tensor?) -> Tensor {
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let k = weight.shape[2], pad = k / 2, taps = k * k
        precondition(x.rank == 3 && n == height * width && weight.shape == [c, 1, k, k] && k % 2 == 1 && k <= UNIRL_MAX_KERNEL,
                     "depthwise convolution: tokens \(x.shape) of \(height) × \(width), weight \(weight.shape)")
        if let bias { precondition(bias.shape == [c], "depthwise convolution bias \(bias.shape) for \(c) channels") }
        let wT = tapsFirst(weight)
        let xp = x.storage.pointer, wp = wT.storage.pointer, bp = bias?.storage.pointer
        let out = Tensor(shape: x.shape) { dst in
            let o = dst.baseAddress!
            Parallel.forEachRange(b * height, costPerItem: width * c * taps * 2) { rows in
                unirl_depthwise_conv_rows(xp, wp, bp, o, height, width, c, k, rows.lowerBound, rows.upperBound, UNIRL_PATH_AUTO)
            }
        }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return Tensor.record("sana_depthwise_conv_tokens", result: out, inputs: inputs) { g in
            // Pointers re-read here so that the closure keeps x and the transposed weight alive.
            let gp = g.storage.pointer, xp = x.storage.pointer, wp = wT.storage.pointer
            // dx[y', x'] = Σ_taps w[tap] · g[y' − ky + pad, x' − kx + pad]: the same convolution of g
            // with the taps reversed (a gather: no write races).
            let dx = x.requiresGrad ? Tensor(shape: x.shape) { dst in
                let flipped = UnsafeMutablePointer<Float>.allocate(capacity: taps * c)
                defer { flipped.deallocate() }
                for t in 0..<taps { (flipped + t * c).initialize(from: wp + (taps - 1 - t) * c, count: c) }
                let o = dst.baseAddress!
                Parallel.forEachRange(b * height, costPerItem: width * c * taps * 2) { rows in
                    unirl_depthwise_conv_rows(gp, flipped, nil, o, height, width, c, k, rows.lowerBound, rows.upperBound, UNIRL_PATH_AUTO)
                }
            } : nil
            // dW[tap] = Σ g · x shifted by the tap, db = Σ g: per-chunk partials, added in chunk order.
            var dw: Tensor?, db: Tensor?
            if weight.requiresGrad || bias?.requiresGrad == true {
                let rowsTotal = b * height, chunks = Swift.max(1, Swift.min(Parallel.threadCount, rowsTotal))
                let stride = (taps + 1) * c
                let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * stride)
                partial.initialize(repeating: 0, count: chunks * stride)
                defer { partial.deallocate() }
                Parallel.forEachRange(chunks, costPerItem: Swift.max(1, rowsTotal * width * c * taps * 2 / chunks)) { range in
                    for chunk in range {
                        let acc = partial + chunk * stride, biasAcc = acc + taps * c
                        for row in (rowsTotal * chunk / chunks)..<(rowsTotal * (chunk + 1) / chunks) {
                            let (bi, y) = (row / height, row % height)
                            for xc in 0..<width {
                                let gr = gp + (row * width + xc) * c
                                for j in 0..<c { biasAcc[j] += gr[j] }   // vectorises as is
                                for ky in 0..<k {
                                    let iy = y + ky - pad
                                    if iy < 0 || iy >= height { continue }
                                    for kx in 0..<k {
                                        let ix = xc + kx - pad
                                        if ix < 0 || ix >= width { continue }
                                        let src = xp + ((bi * height + iy) * width + ix) * c
                                        unirl_multiply_accumulate(acc + (ky * k + kx) * c, gr, src, c, UNIRL_PATH_AUTO)
                                    }
                                }
                            }
                        }
                    }
                }
                if weight.requiresGrad {
                    dw = Tensor(shape: weight.shape) { dst in
                        dst.initialize(repeating: 0)
                        for chunk in 0..<chunks {
                            let acc = partial + chunk * stride
                            for ch in 0..<c { for t in 0..<taps { dst[ch * taps + t] += acc[t * c + ch] } }
                        }
                    }
                }
                if let bias, bias.requiresGrad {
                    db = Tensor(shape: [c]) { dst in
                        dst.initialize(repeating: 0)
                        for chunk in 0..<chunks { let acc = partial + chunk * stride + taps * c; for j in 0..<c { dst[j] += acc[j] } }
                    }
                }
            }
            var grads: [Tensor?] = [dx, dw]
            if bias != nil { grads.append(db) }
            return grads
        }
    }

    /// glu(depthwise(silu(x))) of channels-last tokens x [B, H·W, 2h] → [B, H·W, h] in one pass and
    /// without a tape: what `gatedLinearUnit(depthwiseConvolution(tokens: x.silu(), …))` gives, for
    /// sampling, where the intermediates are not needed.
    static func siluDepthwiseGLU(tokens x: Tensor, height: Int, width: Int, weight: Tensor, bias: Tensor?) -> Tensor {
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let k = weight.shape[2], taps = k * k
        precondition(x.rank == 3 && n == height * width && weight.shape == [c, 1, k, k] && k % 2 == 1
                        && k <= UNIRL_MAX_KERNEL && c % 2 == 0,
                     "silu-depthwise-glu: tokens \(x.shape) of \(height) × \(width), weight \(weight.shape)")
        let wT = tapsFirst(weight)
        let xp = x.storage.pointer, wp = wT.storage.pointer, bp = bias?.storage.pointer
        let scratchCount = unirl_silu_depthwise_glu_scratch(width, c, k)
        return Tensor(shape: [b, n, c / 2]) { dst in
            let o = dst.baseAddress!
            Parallel.forEachRange(b * height, costPerItem: width * c * (taps * 2 + 30)) { rows in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                defer { scratch.deallocate() }
                unirl_silu_depthwise_glu_rows(xp, wp, bp, o, scratch, height, width, c, k, rows.lowerBound, rows.upperBound,
                                              UNIRL_PATH_AUTO)
            }
        }
    }

    /// A depthwise weight [C, 1, k, k] taps first with channels contiguous, as the C kernels read it:
    /// wT[t, ch] = w[ch, 0, t / k, t % k].
    private static func tapsFirst(_ weight: Tensor) -> Tensor {
        let c = weight.shape[0], taps = weight.shape[2] * weight.shape[3]
        return Tensor(shape: [taps, c]) { dst in
            let w = weight.storage.pointer
            for ch in 0..<c { for t in 0..<taps { dst[t * c + ch] = w[ch * taps + t] } }
        }
    }

    /// Per-sample sums over the N rows of [B, N, C] into two [B, 1, C] accumulators: `body(row,
    /// first, second)` adds row `row`'s contribution. Rows are cut into per-thread chunks whose
    /// partial sums are added in chunk order, so results do not depend on scheduling.
    private static func rowSums(b: Int, n: Int, c: Int,
                                _ body: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void)
        -> (first: Tensor, second: Tensor) {
        let rows = b * n, chunks = Swift.max(1, Swift.min(Parallel.threadCount, rows))
        let size = b * c
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * size)
        partial.initialize(repeating: 0, count: chunks * 2 * size)
        defer { partial.deallocate() }
        Parallel.forEachRange(chunks, costPerItem: Swift.max(1, rows * c * 2 / chunks)) { range in
            for chunk in range {
                let first = partial + chunk * 2 * size, second = first + size
                for row in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) {
                    let bi = row / n
                    body(row, first + bi * c, second + bi * c)
                }
            }
        }
        func total(_ offset: Int) -> Tensor {
            Tensor(shape: [b, 1, c]) { dst in
                dst.initialize(repeating: 0)
                for chunk in 0..<chunks { let p = partial + chunk * 2 * size + offset; for i in 0..<size { dst[i] += p[i] } }
            }
        }
        return (total(0), total(size))
    }
}
