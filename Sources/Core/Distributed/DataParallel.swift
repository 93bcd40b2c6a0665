import Foundation
import UniRLTensor

/// How a ``GRPOTrainer`` shares its work with the other ranks of a ``Collective``.
///
/// Layout of a step (the same for any number of ranks, so that a run resumed with another
/// number of ranks continues as it would have):
///
/// 1. every rank draws the same `prompts_per_step` prompts and forks one rollout generator per
///    prompt from the shared sampling generator;
/// 2. rank r rolls out and scores the complete groups `P·r/N ..< P·(r+1)/N` (a group never
///    straddles ranks), each group with its own generator;
/// 3. the rewards (a few numbers per sample) are gathered, so that every rank computes the
///    advantages, the per-prompt tracker and the reward metrics of the whole batch exactly as one
///    process would;
/// 4. each optimizer step's loss normalisers (trajectories, actions, longest segment, the
///    micro-batch's actions) count the global minibatch, so the sum over ranks of the local
///    gradients is the gradient of the global loss: the gradients are summed with all-reduce in
///    buckets of ``bucketElements`` floats (each rank's loss already carries the 1/global-count
///    factor, so the sum is the global-batch mean);
/// 5. every ``weightCheckInterval`` steps the ranks compare a hash of their weights and optimizer
///    state; a difference stops the run with ``DataParallelError/replicasDiverged(step:hashes:)``.
public struct DataParallel {
    public let collective: any Collective
    /// Compare the replicas' weights every this many steps (and after a resume); 0 never.
    public var weightCheckInterval: Int
    /// The largest all-reduce, in floats (4 Mi floats = 16 MiB by default).
    public var bucketElements: Int
    /// Seconds spent summing gradients since the last ``GradientClock/take()`` (the step's
    /// `time/allreduce` metric).
    public let gradientClock = GradientClock()

    public init(collective: any Collective, weightCheckInterval: Int = 10, bucketElements: Int = 1 << 22) {
        self.collective = collective
        self.weightCheckInterval = weightCheckInterval
        self.bucketElements = max(1, bucketElements)
    }

    /// The prompt positions rank `rank` of `size` rolls out, of a step of `count` prompts.
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        (count * rank / size)..<(count * (rank + 1) / size)
    }

    /// Sums every parameter's gradient over the ranks, in buckets of at most `bucketElements`
    /// floats. A parameter without a gradient on this rank contributes zeros; one without a
    /// gradient on every rank keeps none (so that its optimizer does not step).
    public func sumGradients(_ parameters: [Parameter]) throws {
        let started = Date()
        defer { gradientClock.seconds += Date().timeIntervalSince(started) }
        var present = parameters.map { $0.grad == nil ? 0.0 : 1.0 }
        try collective.allReduceSum(&present)
        let reduced = parameters.indices.filter { present[$0] > 0 }
        var start = 0
        while start < reduced.count {
            // One bucket: consecutive parameters up to bucketElements floats (a larger parameter
            // alone is sent in slices of bucketElements).
            var end = start
            var elements = 0
            while end < reduced.count
                && (end == start || elements + parameters[reduced[end]].value.elementCount <= bucketElements)
            {
                elements += parameters[reduced[end]].value.elementCount
                end += 1
            }
            var bucket = [Float](repeating: 0, count: elements)
            var offset = 0
            for i in reduced[start..<end] {
                let p = parameters[i]
                if let g = p.grad {
                    g.withUnsafeBufferPointer { src in
                        for k in 0..<src.count { bucket[offset + k] = src[k] }
                    }
                }
                offset += p.value.elementCount
            }
            try bucket.withUnsafeMutableBufferPointer { all in
                var from = 0
                while from < all.count {
                    let to = min(all.count, from + bucketElements)
                    try collective.allReduceSum(UnsafeMutableBufferPointer(rebasing: all[from..<to]))
                    from = to
                }
            }
            offset = 0
            for i in reduced[start..<end] {
                let p = parameters[i]
                let n = p.value.elementCount
                let g = Tensor(shape: p.shape, scalars: Array(bucket[offset..<(offset + n)]))
                p.zeroGrad()
                p.accumulateGrad(g)
                offset += n
            }
            start = end
        }
    }

    /// Stops with ``DataParallelError/replicasDiverged(step:hashes:)`` unless every rank holds the
    /// same `hash`.
    public func checkReplicasAgree(hash: UInt64, step: Int) throws {
        let all = try collective.allGather([Double(hash >> 32), Double(hash & 0xFFFF_FFFF)])
        let hashes = all.map { UInt64($0[0]) << 32 | UInt64($0[1]) }
        guard Set(hashes).count == 1 else { throw DataParallelError.replicasDiverged(step: step, hashes: hashes) }
    }

    /// FNV-1a over the bit patterns of `tensors`, in order.
    public static func hash(_ tensors: [Tensor]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in tensors {
            t.withUnsafeBufferPointer { b in
                for x in b {
                    h = (h ^ UInt64(x.bitPattern)) &* 0x100_0000_01b3
                }
            }
            h = (h ^ UInt64(t.elementCount)) &* 0x100_0000_01b3
        }
        return h
    }
}

/// Accumulated all-reduce time (one per ``DataParallel``; the trainer reads and resets it each step).
public final class GradientClock {
    var seconds = 0.0
    /// The seconds accumulated so far; resets to 0.
    public func take() -> Double {
        defer { seconds = 0 }
        return seconds
    }
}

/// Why data-parallel training stopped.
public enum DataParallelError: Error, CustomStringConvertible, Equatable {
    /// The ranks' weights or optimizer states differ: a bug or a faulty machine; continuing
    /// would train N different models.
    case replicasDiverged(step: Int, hashes: [UInt64])
    /// Fewer prompts per step than ranks: some rank would have no group.
    case fewerPromptsThanRanks(prompts: Int, ranks: Int)

    public var description: String {
        switch self {
        case .replicasDiverged(let step, let hashes):
            "the ranks' weights differ at step \(step) (hash per rank: "
                + hashes.enumerated().map { "\($0.offset): \(String($0.element, radix: 16))" }.joined(separator: ", ")
                + "); the run is stopped"
        case .fewerPromptsThanRanks(let p, let n):
            "trainer.prompts_per_step = \(p) is less than the \(n) ranks: every rank needs at least one complete group"
        }
    }
}
