import Foundation

// Rotary position embedding (RoFormer), in the "rotate half" convention of transformers'
// `apply_rotary_pos_emb` (models/qwen2/modeling_qwen2.py): y = x·cos + rotate_half(x)·sin,
// rotate_half(x) = [−x₂, x₁] for the two halves of the last dimension.

extension Tensor {
    /// Applies rotary embedding to x [..., T, D] with cos/sin tables broadcastable to x
    /// (typically [T, D] or [B, 1, T, D]). Only the first `cos.shape.last` features are rotated.
    /// One fused kernel each way; gradients reach the tables too when they require them.
    public func applyingRotaryEmbedding(cos: Tensor, sin: Tensor) -> Tensor {
        let d = cos.shape.last ?? 0, full = shape.last ?? 0
        precondition(cos.shape == sin.shape, "cos \(cos.shape) and sin \(sin.shape) differ")
        precondition(d % 2 == 0 && d <= full, "rotary dimension \(d) must be even and ≤ \(full)")
        let tableShape = Array(cos.shape.dropLast())
        let rowShape = Array(shape.dropLast())
        precondition(broadcastShape(rowShape, tableShape) == rowShape, "rotary tables \(cos.shape) do not broadcast to \(shape)")
        // Offset (in rows) of each x row's table row.
        let strides = broadcastStrides(tableShape, to: rowShape)
        let rows = rowShape.elementCount
        let tableRow: [Int] = (0..<rows).map { r in
            var rem = r, off = 0
            for axis in stride(from: rowShape.count - 1, through: 0, by: -1) {
                off += (rem % rowShape[axis]) * strides[axis]; rem /= rowShape[axis]
            }
            return off
        }
        let h = d / 2
        let cp = cos.storage.pointer, sp = sin.storage.pointer
        // sign = −1 for the rotated half's first part: y = x·cos + [−x₂, x₁]·sin, and its
        // transpose for the backward pass: dx = g·cos + [g₂·sin₂, −g₁·sin₁].
        func rotate(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, transpose: Bool) {
            Parallel.forEachRange(rows, costPerItem: full * 4) { r in
                for row in r {
                    let x = src + row * full, y = dst + row * full
                    let c = cp + tableRow[row] * d, s = sp + tableRow[row] * d
                    // Second halves through offset pointers: no checked index arithmetic in the loops.
                    let x2 = x + h, y2 = y + h, c2 = c + h, s2 = s + h
                    if transpose {
                        for j in 0..<h { y[j] = x[j] * c[j] + x2[j] * s2[j] }
                        for j in 0..<h { y2[j] = x2[j] * c2[j] - x[j] * s[j] }
                    } else {
                        for j in 0..<h { y[j] = x[j] * c[j] - x2[j] * s[j] }
                        for j in 0..<h { y2[j] = x2[j] * c2[j] + x[j] * s2[j] }
                    }
                    for j in d..<full { y[j] = x[j] }
                }
            }
        }
        let out = Tensor(shape: shape) { rotate(storage.pointer, $0.baseAddress!, transpose: false) }
        let x = self
        return Tensor.record("rotary", result: out, inputs: [x, cos, sin]) { g in
            // The tables must outlive the tape entry that reads them through raw pointers.
            withExtendedLifetime((cos, sin)) {
                let dx = x.requiresGrad ? Tensor(shape: g.shape) { rotate(g.storage.pointer, $0.baseAddress!, transpose: true) } : nil
                guard cos.requiresGrad || sin.requiresGrad else { return [dx, nil, nil] }
                // y = x·cos + rotate_half(x)·sin over the rotated features.
                let gd = d < full ? g.slice(axis: -1, 0..<d) : g, xd = d < full ? x.slice(axis: -1, 0..<d) : x
                return [dx, cos.requiresGrad ? (gd * xd).sumToShape(cos.shape) : nil,
                        sin.requiresGrad ? (gd * xd.rotatedHalf()).sumToShape(sin.shape) : nil]
            }
        }
    }

    /// [−x₂, x₁] for the halves x₁, x₂ of the last dimension.
    public func rotatedHalf() -> Tensor {
        let d = shape.last ?? 0
        let h = d / 2
        let rows = elementCount / Swift.max(d, 1)
        let src = storage.pointer
        let out = Tensor(shape: shape) { dst in
            let o = dst.baseAddress!
            for r in 0..<rows {
                let s = src + r * d, t = o + r * d
                for j in 0..<h { t[j] = -s[j + h]; t[j + h] = s[j] }
            }
        }
        // The transpose of rotate_half maps [a, b] to [b, −a].
        return Tensor.record("rotate_half", result: out, inputs: [self]) { g in
            [(-g.rotatedHalf())]
        }
    }
}

/// Cos/sin tables for rotary embedding.
public enum RotaryEmbedding {
    /// Inverse frequencies 1/θ^(2i/d), i = 0..<d/2.
    public static func inverseFrequencies(dimension d: Int, theta: Float) -> [Float] {
        (0..<(d / 2)).map { i in 1 / Float(Foundation.pow(Double(theta), Double(2 * i) / Double(d))) }
    }

    /// Tables of shape [positions.count, d] for 1-D integer positions (each frequency is
    /// repeated for both halves, `emb = cat(freqs, freqs)`).
    public static func tables(positions: [Int], dimension d: Int, theta: Float) -> (cos: Tensor, sin: Tensor) {
        let inv = inverseFrequencies(dimension: d, theta: theta)
        return tables(angles: positions.map { p in inv.map { Float(p) * $0 } }, dimension: d)
    }

    /// Multi-section ("M-RoPE", Qwen2-VL) tables: `positions` holds one position list per section
    /// stream (temporal, height, width), each of length T; frequency i takes its angle from the
    /// stream whose section contains i, sections given as counts of frequencies (e.g. [16, 24, 24]).
    /// Follows transformers' `apply_multimodal_rotary_pos_emb` (models/qwen2_5_vl/modeling_qwen2_5_vl.py).
    public static func multiSectionTables(positions: [[Int]], sections: [Int], dimension d: Int,
                                          theta: Float) -> (cos: Tensor, sin: Tensor) {
        precondition(sections.reduce(0, +) == d / 2, "rotary sections \(sections) must add up to \(d / 2)")
        precondition(positions.count == sections.count, "\(positions.count) position streams for \(sections.count) sections")
        let inv = inverseFrequencies(dimension: d, theta: theta)
        var streamOf = [Int]()
        for (s, count) in sections.enumerated() { streamOf += [Int](repeating: s, count: count) }
        let t = positions[0].count
        let angles = (0..<t).map { i in (0..<(d / 2)).map { f in Float(positions[streamOf[f]][i]) * inv[f] } }
        return tables(angles: angles, dimension: d)
    }

    /// cos/sin of `[angles, angles]` per row: tables [angles.count, d] from d/2 angles per position.
    public static func tables(angles: [[Float]], dimension d: Int) -> (cos: Tensor, sin: Tensor) {
        let t = angles.count, h = d / 2
        let c = Tensor(shape: [t, d]) { p in
            for i in 0..<t { for j in 0..<h { let v = Foundation.cos(angles[i][j]); p[i * d + j] = v; p[i * d + j + h] = v } }
        }
        let s = Tensor(shape: [t, d]) { p in
            for i in 0..<t { for j in 0..<h { let v = Foundation.sin(angles[i][j]); p[i * d + j] = v; p[i * d + j + h] = v } }
        }
        return (c, s)
    }
}
