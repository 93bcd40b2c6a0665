import Foundation
import UniRLTensor

/// Sums over the actions of one expert that the step's metrics are made of (clip fractions,
/// approximate KL, ratio range, entropy).
struct ExpertLossStatistics {
    var actions = 0, low = 0, high = 0, dual = 0, masked = 0
    var klSum = 0.0, approxKLSum = 0.0, ratioSum = 0.0
    var ratioMin = Double.infinity, ratioMax = -Double.infinity
    var entropySum = 0.0, entropyCount = 0

    /// Adds the sums of another micro-batch.
    mutating func add(_ other: ExpertLossStatistics) {
        actions += other.actions
        low += other.low
        high += other.high
        dual += other.dual
        masked += other.masked
        klSum += other.klSum
        approxKLSum += other.approxKLSum
        ratioSum += other.ratioSum
        ratioMin = min(ratioMin, other.ratioMin)
        ratioMax = max(ratioMax, other.ratioMax)
        entropySum += other.entropySum
        entropyCount += other.entropyCount
    }
}

// The joint surrogate of one expert over a micro-batch.
extension GRPOTrainer {
    /// One segment in the loss: its record, its replay on the tape and A_k for each of its actions
    /// (one repeated value unless `trainer.kl_in_reward` gives per-action advantages).
    typealias LossItem = (segment: TrajectorySegment, replay: ExpertReplay, advantages: [Float])

    /// λ_e·Σ w·ℓ_surrogate + β_e·Σ w·KL over the actions of one expert's segments in a micro-batch,
    /// and the statistics of those actions.
    func expertLoss(
        _ e: TrainableExpert, items: [LossItem],
        weights: Tensor
    ) throws -> (loss: Tensor, statistics: ExpertLossStatistics) {
        let s = e.settings
        let logProbs = Tensor.concatenate(items.map { $0.replay.logProbs.reshaped([$0.segment.actionCount]) }, axis: 0)
        let old = Tensor(items.flatMap(\.segment.oldLogProbs))
        let perActionAdvantage = items.flatMap(\.advantages)
        let surrogate = ClippedSurrogate(settings: s)
        let lengths = s.importanceSamplingLevel == .sequence ? items.map(\.segment.actionCount) : nil
        let (perAction, ratio) = surrogate.loss(
            logProbs: logProbs, oldLogProbs: old, advantages: Tensor(perActionAdvantage),
            segmentLengths: lengths)
        let entropyMask = try highEntropyMask(items, quantile: s.topEntropyQuantile, expert: e.name)
        let surrogateWeights = entropyMask.map { weights * Tensor($0) } ?? weights
        var loss = (perAction * surrogateWeights).sum() * s.lossWeight
        if s.entropyCoeff > 0 { loss = loss - (try entropyTerm(items, weights: weights, expert: e.name)) * s.entropyCoeff }

        var klValues: [Float] = []
        if s.beta > 0 {
            var kls: [Tensor] = []
            for item in items {
                switch item.replay {
                case .tokens(let r):
                    guard let ref = item.segment.referenceLogProbs else {
                        throw TrainerError.badReplay("no reference log-probs for '\(e.name)'")
                    }
                    kls.append(KLPenalty.k3(logProbs: r.logProbs.reshaped([item.segment.actionCount]), referenceLogProbs: Tensor(ref)))
                case .sde(let r):
                    guard let ref = item.segment.referenceMeans else { throw TrainerError.badReplay("no reference means for '\(e.name)'") }
                    kls.append(
                        KLPenalty.gaussian(
                            means: r.means, referenceMeans: ref, noiseScales: r.noiseScales,
                            stepSizes: r.stepSizes, variant: s.klVariant))
                }
            }
            let kl = Tensor.concatenate(kls, axis: 0)
            loss = loss + (kl * weights).sum() * s.beta
            klValues = kl.scalars
        }

        let ratios = ratio.scalars, lp = logProbs.scalars, oldValues = old.scalars
        let counts = surrogate.clipCounts(ratios: ratios, advantages: perActionAdvantage)
        var stats = ExpertLossStatistics()
        stats.actions += ratios.count
        stats.low += counts.low
        stats.high += counts.high
        stats.dual += surrogate.dualClipCount(ratios: ratios, advantages: perActionAdvantage)
        stats.masked += entropyMask.map { m in m.filter { $0 == 0 }.count } ?? 0
        stats.klSum += klValues.reduce(0.0) { $0 + Double($1) }
        for k in ratios.indices {
            let d = Double(lp[k] - oldValues[k])
            stats.approxKLSum += 0.5 * d * d
            stats.ratioSum += Double(ratios[k])
            stats.ratioMin = min(stats.ratioMin, Double(ratios[k]))
            stats.ratioMax = max(stats.ratioMax, Double(ratios[k]))
        }
        for item in items {
            if case .tokens(let r) = item.replay, let h = r.entropy {
                stats.entropySum += h.scalars.reduce(0.0) { $0 + Double($1) }
                stats.entropyCount += h.elementCount
            }
        }
        return (loss, stats)
    }
}

// Token selection and the entropy bonus.
extension GRPOTrainer {
    /// 1 for the actions kept by `top_entropy_quantile` ρ < 1, 0 for the others (TRL's
    /// `get_high_entropy_mask`): a token is kept when its entropy is ≥ the (1 − ρ) quantile, linearly
    /// interpolated as `torch.quantile`, of the entropies of this micro-batch's tokens. SDE actions
    /// are always kept. `nil` when ρ = 1.
    func highEntropyMask(
        _ items: [LossItem], quantile: Float,
        expert: String
    ) throws -> [Float]? {
        guard quantile < 1 else { return nil }
        var perItem: [[Float]?] = []
        for item in items {
            switch item.replay {
            case .tokens(let r):
                guard let h = r.entropy else {
                    throw TrainerError.badReplay("top_entropy_quantile needs token entropies, and '\(expert)' gives none")
                }
                perItem.append(h.scalars)
            case .sde: perItem.append(nil)
            }
        }
        return TokenSelection.highEntropyMask(entropies: perItem, actionCounts: items.map(\.segment.actionCount), quantile: quantile)
    }

    /// Σ w·H over the token actions, on the tape (the entropy bonus of `entropy_coeff`).
    func entropyTerm(
        _ items: [LossItem], weights: Tensor,
        expert: String
    ) throws -> Tensor {
        var parts: [Tensor] = []
        for item in items {
            switch item.replay {
            case .tokens(let r):
                guard let h = r.entropy, h.requiresGrad else {
                    throw TrainerError.badReplay("entropy_coeff needs token entropies on the tape, and '\(expert)' gives none")
                }
                parts.append(h.reshaped([item.segment.actionCount]))
            case .sde:
                // A Gaussian step's entropy depends only on σ_t, which is not learned: no bonus.
                parts.append(Tensor.zeros([item.segment.actionCount]))
            }
        }
        return (Tensor.concatenate(parts, axis: 0) * weights).sum()
    }
}
