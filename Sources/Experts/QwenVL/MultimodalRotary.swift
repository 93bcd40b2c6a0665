import UniRLTensor

/// Rotary tables of the Qwen decoders for given ``PositionIDs``.
enum MultimodalRotary {
    /// cos/sin [B, 1, T, D] (or [T, D] when every row has the same positions). With `sections`
    /// (Qwen2.5-VL's `mrope_section`, counts of frequencies for temporal/height/width), frequency i
    /// takes its angle from the stream whose section holds it, as transformers'
    /// `Qwen2_5_VLRotaryEmbedding.recomposition_frequencies` (models/qwen2_5_vl/modeling_qwen2_5_vl.py);
    /// without, stream 0 drives every frequency (Qwen2's 1-D rotary).
    static func tables(_ p: PositionIDs, headDim: Int, theta: Float, sections: [Int]?) -> (cos: Tensor, sin: Tensor) {
        let t = p.length
        func row(_ b: Int) -> (cos: Tensor, sin: Tensor) {
            let r = (b * t)..<((b + 1) * t)
            if let sections {
                return RotaryEmbedding.multiSectionTables(positions: p.streams.map { Array($0[r]) }, sections: sections,
                                                          dimension: headDim, theta: theta)
            }
            return RotaryEmbedding.tables(positions: Array(p.streams[0][r]), dimension: headDim, theta: theta)
        }
        let sameRows = (1..<p.batch).allSatisfy { b in p.streams.allSatisfy { Array($0[(b * t)..<((b + 1) * t)]) == Array($0[0..<t]) } }
        if sameRows { return row(0) }
        let rows = (0..<p.batch).map(row)
        return (Tensor.stack(rows.map(\.cos)).unsqueezed(1), Tensor.stack(rows.map(\.sin)).unsqueezed(1))
    }
}
