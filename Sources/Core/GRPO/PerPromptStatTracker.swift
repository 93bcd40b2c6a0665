/// Running reward statistics per prompt (DDPO's per-prompt stat tracker,
/// kvablack/ddpo-pytorch `ddpo_pytorch/stat_tracking.py`).
///
/// Each prompt keeps its last `bufferSize` rewards. A batch's rewards for a prompt are pushed
/// first; then, while the prompt has fewer than `minimumCount` rewards, the batch's mean and
/// (population) standard deviation are used, afterwards the prompt's own:
///
///     A = (r − mean) / (std + 1e-4)
///
/// The buffers are part of a checkpoint, so a resumed run continues with the same statistics.
public struct PerPromptStatTracker: Codable, Sendable, Equatable {
    public var bufferSize: Int
    public var minimumCount: Int
    /// Recent rewards per prompt key, oldest first.
    public private(set) var buffers: [String: [Float]] = [:]

    public init(bufferSize: Int = 32, minimumCount: Int = 16) {
        precondition(bufferSize > 0, "bufferSize must be positive")
        self.bufferSize = bufferSize
        self.minimumCount = minimumCount
    }

    /// Pushes `rewards` (by prompt key) and returns each sample's (mean, std) baseline.
    public mutating func update(keys: [String], rewards: [Float]) -> [(mean: Float, std: Float)] {
        precondition(keys.count == rewards.count, "one key per reward")
        let (batchMean, batchStd) = populationMeanStd(rewards)
        var order: [String] = []
        var seen = Set<String>()
        for k in keys where seen.insert(k).inserted { order.append(k) }
        var stats: [String: (Float, Float)] = [:]
        for key in order {
            var buffer = buffers[key] ?? []
            for (k, r) in zip(keys, rewards) where k == key { buffer.append(r) }
            if buffer.count > bufferSize { buffer.removeFirst(buffer.count - bufferSize) }
            buffers[key] = buffer
            stats[key] = buffer.count < minimumCount ? (batchMean, batchStd) : populationMeanStd(buffer)
        }
        return keys.map { k in let s = stats[k]!; return (mean: s.0, std: s.1) }
    }

    /// Forgets every prompt.
    public mutating func reset() { buffers = [:] }
}

/// Mean and population (1/n) standard deviation, accumulated in double precision.
func populationMeanStd(_ xs: [Float]) -> (Float, Float) {
    guard !xs.isEmpty else { return (0, 0) }
    let n = Double(xs.count)
    let mean = xs.reduce(0.0) { $0 + Double($1) } / n
    let ss = xs.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
    return (Float(mean), Float((ss / n).squareRoot()))
}

/// Mean and sample (1/(n − 1)) standard deviation, as `torch.std`, in double precision.
func sampleMeanStd(_ xs: [Float]) -> (Float, Float) {
    guard !xs.isEmpty else { return (0, 0) }
    let n = Double(xs.count)
    let mean = xs.reduce(0.0) { $0 + Double($1) } / n
    guard xs.count > 1 else { return (Float(mean), 0) }
    let ss = xs.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
    return (Float(mean), Float((ss / (n - 1)).squareRoot()))
}
