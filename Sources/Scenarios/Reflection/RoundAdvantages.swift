/// Per-round advantages of a multi-round rollout, as R3 computes them (sen-ye/R3
/// `train/train_utils.py`, `compute_advantages_for_multi_round_rollout`, with its defaults):
///
///     round 0:      A_i,0 = r_i,0 − mean_j r_j,0                              (no std)
///     round k ≥ 1:  d_i,k = r_i,k − r_i,k−1;   A_i,k = d_i,k − mean_j d_j,k     (the improvement, then minus its group mean)
///
/// over the samples i of one group (one prompt). The first round is credited for how good its
/// image is; every later round only for how much it improved on the round before, relative to the
/// group, so a round that repeats a good image earns nothing and one that spoils it is penalised.
///
/// A sample that stopped early (its judge said the image was right) keeps its last reward in the
/// rounds after, i.e. it improves by 0 there.
///
/// ```swift
/// RoundAdvantages.compute([[1, 1], [0, 1], [0, 0]])   // [[2/3, −1/3], [−1/3, 2/3], [−1/3, −1/3]]
/// ```
public enum RoundAdvantages {
    /// `rewards[i][k]`: sample i of the group, round k (every row as long as the longest; a
    /// shorter row is extended with its last reward). Returns the advantages in the same shape.
    public static func compute(_ rewards: [[Float]]) -> [[Float]] {
        guard !rewards.isEmpty else { return [] }
        let rounds = rewards.map(\.count).max() ?? 0
        let filled = rewards.map { row in
            row.isEmpty ? [Float](repeating: 0, count: rounds) : row + [Float](repeating: row.last!, count: rounds - row.count)
        }
        var out = filled.map { [Float](repeating: 0, count: $0.count) }
        let n = Float(filled.count)
        for k in 0..<rounds {
            let values = filled.map { k == 0 ? $0[0] : $0[k] - $0[k - 1] }
            let mean = values.reduce(0, +) / n
            for i in filled.indices { out[i][k] = values[i] - mean }
        }
        return out
    }
}
