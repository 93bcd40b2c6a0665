/// Where every patch of a batch of images sits for Qwen2.5-VL's vision tower: its 2-D rotary
/// position, the window permutation, and the attention spans (per frame for full-attention blocks,
/// per window for the others). Follows transformers' `get_vision_position_ids`,
/// `get_vision_window_index` and `get_vision_cu_seqlens` (transformers/vision_utils.py).
struct VisionWindowLayout {
    /// (row, column) of each patch in the processor's order (merge blocks of m×m patches, row-major
    /// blocks), frames repeated.
    var positions: [(h: Int, w: Int)]
    /// The permutation of merge units (m² consecutive patches) that makes windows contiguous.
    var windowIndex: [Int]
    /// Cumulative window boundaries in patches (after the permutation), without empty windows.
    var windowBoundaries: [Int]
    /// Cumulative frame boundaries in patches.
    var frameBoundaries: [Int]

    init(grids: [(t: Int, h: Int, w: Int)], spatialMerge m: Int, windowSize: Int, patchSize: Int) {
        positions = []
        for g in grids {
            var frame: [(h: Int, w: Int)] = []
            frame.reserveCapacity(g.h * g.w)
            for bh in 0..<(g.h / m) { for bw in 0..<(g.w / m) { for ih in 0..<m { for iw in 0..<m {
                frame.append((bh * m + ih, bw * m + iw))
            } } } }
            for _ in 0..<g.t { positions += frame }
        }
        let unit = m * m
        let mergedWindow = windowSize / m / patchSize
        windowIndex = []
        windowBoundaries = [0]
        var offset = 0
        for g in grids {
            let lh = g.h / m, lw = g.w / m
            // transformers pads by a whole window when the grid divides evenly; such windows are
            // empty and disappear, as here.
            let nh = (lh + mergedWindow - lh % mergedWindow) / mergedWindow
            let nw = (lw + mergedWindow - lw % mergedWindow) / mergedWindow
            for t in 0..<g.t {
                for wh in 0..<nh {
                    for ww in 0..<nw {
                        var count = 0
                        for r in (wh * mergedWindow)..<min((wh + 1) * mergedWindow, lh) {
                            for c in (ww * mergedWindow)..<min((ww + 1) * mergedWindow, lw) {
                                windowIndex.append(offset + (t * lh + r) * lw + c)
                                count += 1
                            }
                        }
                        if count > 0 { windowBoundaries.append(windowBoundaries.last! + count * unit) }
                    }
                }
            }
            offset += g.t * lh * lw
        }
        frameBoundaries = [0]
        for g in grids { for _ in 0..<g.t { frameBoundaries.append(frameBoundaries.last! + g.h * g.w) } }
    }

    /// The inverse permutation of `windowIndex` (transformers' `argsort(window_index)`).
    var reverseIndex: [Int] {
        var r = [Int](repeating: 0, count: windowIndex.count)
        for (j, unit) in windowIndex.enumerated() { r[unit] = j }
        return r
    }

    /// Patch-level permutation: unit u's m² patches follow each other.
    func patchPermutation(unit: Int) -> [Int] { windowIndex.flatMap { u in (u * unit)..<((u + 1) * unit) } }
}
