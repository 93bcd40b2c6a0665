/// Which token actions enter the policy loss: the high-entropy "forking" tokens of
/// `top_entropy_quantile` (Wang et al., "Beyond the 80/20 rule"; huggingface/trl
/// `trl/trainer/grpo_trainer.py`, `get_high_entropy_mask`).
public enum TokenSelection {
    /// 1 for the actions kept, 0 for the others: a token is kept when its entropy is ≥ the
    /// (1 − `quantile`) quantile of all the given token entropies. One entry per segment: its
    /// per-action entropies, or `nil` for an SDE segment (kept whole). `nil` when `quantile` = 1.
    public static func highEntropyMask(entropies: [[Float]?], actionCounts: [Int], quantile: Float) -> [Float]? {
        let all = entropies.compactMap { $0 }.flatMap { $0 }
        guard quantile < 1, !all.isEmpty else { return nil }
        let threshold = Self.quantile(all, 1 - quantile)
        return zip(entropies, actionCounts).flatMap { h, n in
            h.map { $0.map { $0 >= threshold ? Float(1) : 0 } } ?? [Float](repeating: 1, count: n)
        }
    }

    /// `torch.quantile` with linear interpolation.
    public static func quantile(_ values: [Float], _ q: Float) -> Float {
        let sorted = values.sorted()
        let position = Double(q) * Double(sorted.count - 1)
        let lo = Int(position.rounded(.down)), hi = Int(position.rounded(.up))
        return sorted[lo] + Float(position - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}
