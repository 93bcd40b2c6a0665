import UniRLTensor

/// The backward pass of a token replay that hands each of G trajectories its own slice of one
/// batched log-prob tensor (what `DiscretePolicyExpert.replay` implementations do): the time
/// must grow linearly with G. Before slices accumulated in place, each slice's gradient was
/// padded to the whole tensor: quadratic in G (BENCHMARKS.md has both measurements).
enum SliceBackwardBench {
    static func rows(groupSizes: [Int] = [1_000, 5_000, 20_000], tokens: Int = 6) -> [BenchmarkRow] {
        var rng = RandomState(seed: 0)
        return groupSizes.map { g in
            let logProbs = Tensor.randomNormal([g * tokens], using: &rng).requiringGrad()
            let ms = medianMilliseconds(warmup: 1, repeats: 5) {
                let perTrajectory = (0..<g).map { logProbs.slice(axis: 0, ($0 * tokens)..<(($0 + 1) * tokens)).mean() }
                Tensor.stack(perTrajectory).sum().backward()
            }
            return BenchmarkRow(name: "slice_backward", pass: "forward_backward", shape: "G=\(g) × \(tokens) tokens", ms: ms)
        }
    }
}
