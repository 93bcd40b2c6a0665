import CUniRLKernels

// RMSNorm, LayerNorm and GroupNorm as fused kernels with fused derivatives.
// All three normalize "rows" of length n: y = x̂·w + b with x̂ = (x − μ)·r (μ = 0 for RMSNorm).

/// Per-row statistics saved by the forward pass for the backward pass.
private struct RowStatistics {
    var mean: [Float]
    var inverseStd: [Float]
}

/// Walks a row as runs of `channelSpan` positions sharing one affine channel (GroupNorm), or, when
/// every position has its own channel (`channelSpan == 1`: LayerNorm, RMSNorm), runs `perElement`
/// once so that its loop vectorizes.
@inline(__always)
private func forEachChannelRun(n: Int, channelSpan: Int, base: Int, _ run: (Int, Range<Int>) -> Void,
                               perElement: () -> Void) {
    if channelSpan == 1 { perElement(); return }
    for c in 0..<(n / channelSpan) { run(base + c, (c * channelSpan)..<((c + 1) * channelSpan)) }
}

/// Normalizes `rows` rows of length `n`; `channelOf(j)` maps a row position to its affine index.
private func normalizeRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                           centered: Bool, eps: Float, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                           rowGroup: Int, channelSpan: Int) -> RowStatistics {
    var mean = [Float](repeating: 0, count: rows), inv = [Float](repeating: 0, count: rows)
    mean.withUnsafeMutableBufferPointer { mb in
        inv.withUnsafeMutableBufferPointer { ib in
            let mp = mb.baseAddress!, ip = ib.baseAddress!
            Parallel.forEachRange(rows, costPerItem: n * 4) { r in
                for row in r {
                    let s = x + row * n, o = y + row * n
                    let mu: Float = centered ? unirl_sum(s, n, UNIRL_PATH_AUTO) / Float(n) : 0
                    let ss = unirl_sum_squared_deviations(s, n, mu, UNIRL_PATH_AUTO)
                    let rstd = 1 / (ss / Float(n) + eps).squareRoot()
                    mp[row] = mu; ip[row] = rstd
                    // Affine index of position j: (row % rowGroup) · (n / channelSpan) + j / channelSpan.
                    let base = (row % rowGroup) * (n / channelSpan)
                    forEachChannelRun(n: n, channelSpan: channelSpan, base: base) { ch, range in
                        let w = weight?[ch] ?? 1, b = bias?[ch] ?? 0
                        for j in range { o[j] = (s[j] - mu) * rstd * w + b }
                    } perElement: {
                        unirl_normalize(s, o, n, mu, rstd, weight.map { $0 + base }, bias.map { $0 + base }, UNIRL_PATH_AUTO)
                    }
                }
            }
        }
    }
    return RowStatistics(mean: mean, inverseStd: inv)
}

/// Backward of ``normalizeRows``: returns dx and accumulates dw, db.
private func normalizeRowsBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, stats: RowStatistics,
                                   rows: Int, n: Int, centered: Bool, weight: UnsafePointer<Float>?,
                                   rowGroup: Int, channelSpan: Int, channels: Int) -> (dx: TensorStorage, dw: [Float], db: [Float]) {
    let dx = TensorStorage(uninitializedCount: rows * n)
    let chunks = Swift.min(Parallel.threadCount, Swift.max(rows, 1))
    // Per-chunk partial sums for dw/db, added in chunk order for reproducibility.
    let partialW = UnsafeMutablePointer<Float>.allocate(capacity: chunks * channels)
    let partialB = UnsafeMutablePointer<Float>.allocate(capacity: chunks * channels)
    partialW.initialize(repeating: 0, count: chunks * channels)
    partialB.initialize(repeating: 0, count: chunks * channels)
    defer { partialW.deallocate(); partialB.deallocate() }
    let dxp = dx.pointer
    stats.mean.withUnsafeBufferPointer { meanB in
        stats.inverseStd.withUnsafeBufferPointer { invB in
            Parallel.forEachRange(chunks, costPerItem: Swift.max(1, rows * n * 6 / chunks)) { cr in
                for c in cr {
                    let lo = rows * c / chunks, hi = rows * (c + 1) / chunks
                    let pw = partialW + c * channels, pb = partialB + c * channels
                    for row in lo..<hi {
                        let s = x + row * n, go = g + row * n, o = dxp + row * n
                        let mu = meanB[row], rstd = invB[row]
                        let base = (row % rowGroup) * (n / channelSpan)
                        if channelSpan == 1 {
                            unirl_normalize_backward(s, go, o, n, mu, rstd, weight.map { $0 + base }, centered ? 1 : 0,
                                                     pw + base, pb + base, UNIRL_PATH_AUTO)
                            continue
                        }
                        var sumDy: Float = 0, sumDyXhat: Float = 0
                        for ch in 0..<(n / channelSpan) {
                            let range = (ch * channelSpan)..<((ch + 1) * channelSpan), w = weight?[base + ch] ?? 1
                            var gx: Float = 0, gs: Float = 0
                            for j in range { let xhat = (s[j] - mu) * rstd; gx += go[j] * xhat; gs += go[j] }
                            sumDy += gs * w; sumDyXhat += gx * w
                            pw[base + ch] += gx; pb[base + ch] += gs
                        }
                        let meanDy = centered ? sumDy / Float(n) : 0, meanDyXhat = sumDyXhat / Float(n)
                        for ch in 0..<(n / channelSpan) {
                            let w = weight?[base + ch] ?? 1
                            for j in (ch * channelSpan)..<((ch + 1) * channelSpan) {
                                o[j] = rstd * (go[j] * w - meanDy - (s[j] - mu) * rstd * meanDyXhat)
                            }
                        }
                    }
                }
            }
        }
    }
    var dw = [Float](repeating: 0, count: channels), db = [Float](repeating: 0, count: channels)
    for c in 0..<chunks { for i in 0..<channels { dw[i] += partialW[c * channels + i]; db[i] += partialB[c * channels + i] } }
    return (dx, dw, db)
}

extension Tensor {
    private func normalized(rows: Int, n: Int, centered: Bool, eps: Float, weight: Tensor?, bias: Tensor?,
                            rowGroup: Int, channelSpan: Int, channels: Int, name: String) -> Tensor {
        let x = self
        var stats = RowStatistics(mean: [], inverseStd: [])
        let out = Tensor(shape: shape) { dst in
            stats = normalizeRows(x.storage.pointer, dst.baseAddress!, rows: rows, n: n, centered: centered, eps: eps,
                                  weight: weight?.storage.pointer, bias: bias?.storage.pointer,
                                  rowGroup: rowGroup, channelSpan: channelSpan)
        }
        let saved = stats
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record(name, result: out, inputs: inputs) { g in
            let (dx, dw, db) = normalizeRowsBackward(x.storage.pointer, g.storage.pointer, stats: saved, rows: rows, n: n,
                                                     centered: centered, weight: weight?.storage.pointer,
                                                     rowGroup: rowGroup, channelSpan: channelSpan, channels: channels)
            var grads: [Tensor?] = [Tensor(shape: x.shape, storage: dx)]
            if let weight { grads.append(Tensor(shape: weight.shape, scalars: dw)) }
            if let bias { grads.append(Tensor(shape: bias.shape, scalars: db)) }
            return grads
        }
    }

    /// RMSNorm over the last axis: x / √(mean(x²) + ε) · w (as Qwen2's `Qwen2RMSNorm`).
    public func rmsNorm(weight: Tensor?, eps: Float) -> Tensor {
        let n = shape.last ?? 1
        if let weight { precondition(weight.shape == [n], "RMSNorm weight \(weight.shape) for last dimension \(n)") }
        return normalized(rows: elementCount / Swift.max(n, 1), n: n, centered: false, eps: eps, weight: weight, bias: nil,
                          rowGroup: 1, channelSpan: 1, channels: n, name: "rms_norm")
    }

    /// LayerNorm over the last axis: (x − μ)/√(σ² + ε) · w + b with the biased variance.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let n = shape.last ?? 1
        for t in [weight, bias].compactMap({ $0 }) { precondition(t.shape == [n], "LayerNorm affine \(t.shape) for last dimension \(n)") }
        return normalized(rows: elementCount / Swift.max(n, 1), n: n, centered: true, eps: eps, weight: weight, bias: bias,
                          rowGroup: 1, channelSpan: 1, channels: n, name: "layer_norm")
    }

    /// GroupNorm of [N, C, …] over groups of C/`groups` channels and all spatial positions,
    /// with a per-channel affine transform.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        precondition(rank >= 2, "GroupNorm needs [N, C, …], got \(shape)")
        let c = shape[1], spatial = shape[2...].reduce(1, *)
        precondition(c % groups == 0, "GroupNorm: \(c) channels do not split into \(groups) groups")
        for t in [weight, bias].compactMap({ $0 }) { precondition(t.shape == [c], "GroupNorm affine \(t.shape) for \(c) channels") }
        let n = (c / groups) * spatial
        return normalized(rows: shape[0] * groups, n: n, centered: true, eps: eps, weight: weight, bias: bias,
                          rowGroup: groups, channelSpan: spatial, channels: c, name: "group_norm")
    }
}
