import Foundation
import UniRLTensor

// The policy update of one step: old and reference log-probs, minibatches, optimizer steps.
extension GRPOTrainer {
    // MARK: - Update

    func update(
        _ trajectories: inout [Trajectory<S.Output>], advantages adv: GroupAdvantageResult,
        outcomes: [Float?] = [], metrics: inout [String: Double], warnings: inout [String]
    ) throws {
        let t = configuration.trainer
        let acting = Set(trajectories.flatMap { $0.segments.map(\.expert) })
        var active = trainable.filter { acting.contains($0.name) }
        for e in trainable {
            e.optimizer.learningRate = e.schedule.rate(base: e.settings.learningRate, step: step)
            metrics[metricName("learning_rate", e.name)] = Double(e.optimizer.learningRate)
        }
        let included = trajectories.indices.filter { adv.included[$0] }
        metrics["updates/count"] = 0
        metrics["updates/skipped"] = 0
        // With data parallelism: decided over every rank, which all take part in every optimizer step.
        let (activeAnywhere, includedAnywhere) = try activeEverywhere(active, included: included.count)
        active = activeAnywhere
        guard !active.isEmpty, includedAnywhere > 0 else { return }
        let minibatchCount = dataParallel == nil ? nil : min(t.minibatches, includedAnywhere)

        // The longest segment per expert, for dr_grpo's L when max_length is 0.
        var longest: [String: Int] = [:]
        for i in included { for s in trajectories[i].segments { longest[s.expert] = max(longest[s.expert] ?? 0, s.actionCount) } }
        longest = try longestEverywhere(longest)

        let firstEpoch = partition(epochOrder(included), minibatches: minibatchCount)
        let clock = Date()
        try prepareOldAndReference(&trajectories, microBatches: firstEpoch.flatMap { $0 }, active: active, metrics: &metrics)
        let actionAdvantages = try klInRewardAdvantages(
            trajectories, advantages: adv, outcomes: outcomes, active: active, metrics: &metrics)
        metrics["time/old_and_reference"] = Date().timeIntervalSince(clock)

        var stats = [String: ExpertLossStatistics]()
        var losses: [Double] = [], norms: [Double] = []
        var phases = PhaseTimes()
        var skipped = 0
        for epoch in 0..<t.innerEpochs {
            let parts = epoch == 0 ? firstEpoch : partition(epochOrder(included), minibatches: minibatchCount)
            for minibatch in parts {
                let outcome = try optimizerStep(
                    minibatch, trajectories: trajectories, advantages: adv.advantages,
                    actionAdvantages: actionAdvantages, active: active, longest: longest, stats: &stats)
                losses.append(outcome.loss)
                phases.add(outcome.times)
                if outcome.gradNorm.isFinite { norms.append(Double(outcome.gradNorm)) }
                if let w = outcome.warning { warnings.append(w); skipped += 1 }
            }
        }
        metrics["time/replay"] = phases.replay
        metrics["time/loss"] = phases.loss
        metrics["time/backward"] = phases.backward
        metrics["time/optimizer"] = phases.optimizer
        metrics["updates/count"] = Double(losses.count - skipped)
        metrics["updates/skipped"] = Double(skipped)
        metrics["loss"] = losses.reduce(0, +) / Double(max(losses.count, 1))
        if !norms.isEmpty { metrics["grad_norm"] = norms.reduce(0, +) / Double(norms.count) }
        for e in active {
            guard let s = stats[e.name], s.actions > 0 else { continue }
            let n = Double(s.actions)
            metrics[metricName("clip_ratio/low_mean", e.name)] = Double(s.low) / n
            metrics[metricName("clip_ratio/high_mean", e.name)] = Double(s.high) / n
            metrics[metricName("clip_ratio/region_mean", e.name)] = Double(s.low + s.high) / n
            if e.settings.clipRatioC > 0 { metrics[metricName("clip_ratio/dual_mean", e.name)] = Double(s.dual) / n }
            if e.settings.topEntropyQuantile < 1 { metrics[metricName("entropy_mask/masked_frac", e.name)] = Double(s.masked) / n }
            metrics[metricName("approx_kl", e.name)] = s.approxKLSum / n
            metrics[metricName("ratio/mean", e.name)] = s.ratioSum / n
            metrics[metricName("ratio/min", e.name)] = s.ratioMin
            metrics[metricName("ratio/max", e.name)] = s.ratioMax
            if e.settings.beta > 0 { metrics[metricName("kl", e.name)] = s.klSum / n }
            if s.entropyCount > 0 { metrics[metricName("entropy", e.name)] = s.entropySum / Double(s.entropyCount) }
        }
    }

    /// The order of the trajectories for one inner epoch: shuffled when split into minibatches.
    func epochOrder(_ included: [Int]) -> [Int] {
        var order = included
        if configuration.trainer.minibatches > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(trainingRNG.next() % UInt64(i + 1)))
            }
        }
        return order
    }

    /// Splits an epoch into minibatches of micro-batches (contiguous, sizes differing by ≤ 1).
    /// `minibatches` fixes the number of minibatches, some possibly empty (data parallelism: every
    /// rank takes the same number of optimizer steps).
    func partition(_ order: [Int], minibatches: Int? = nil) -> [[[Int]]] {
        func chunks(_ xs: [Int], _ k: Int, keepEmpty: Bool = false) -> [[Int]] {
            let k = keepEmpty ? max(1, k) : max(1, min(k, xs.count))
            return (0..<k).map { j in Array(xs[(xs.count * j / k)..<(xs.count * (j + 1) / k)]) }.filter { keepEmpty || !$0.isEmpty }
        }
        let parts = minibatches.map { chunks(order, $0, keepEmpty: true) } ?? chunks(order, configuration.trainer.minibatches)
        return parts.map { chunks($0, configuration.trainer.gradientAccumulation) }
    }

    /// Fills in log π_old (recomputed with the first epoch's batching, so that ρ = 1 exactly at
    /// the first update) and the reference's log-probs or step means, without a tape.
    func prepareOldAndReference(
        _ trajectories: inout [Trajectory<S.Output>], microBatches: [[Int]],
        active: [TrainableExpert], metrics: inout [String: Double]
    ) throws {
        let names = Set(active.map(\.name))
        // The reference is replayed for the loss's KL (β > 0) and for the KL in the reward.
        let klInReward = configuration.trainer.klInReward
        let referenceNames = Set(active.filter { $0.settings.beta > 0 || klInReward }.map(\.name))
        let recompute = configuration.trainer.recomputeOldLogProbs
        var mismatch: [String: Float] = [:]
        try withoutGrad {
            for micro in microBatches {
                if recompute {
                    let replays = try replay(micro.map { trajectories[$0] }, experts: names)
                    for (k, i) in micro.enumerated() {
                        for (j, r) in replays[k].enumerated() {
                            guard let r else { continue }
                            let seg = trajectories[i].segments[j]
                            let lp = r.logProbs.scalars
                            let worst = zip(lp, seg.samplingLogProbs).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                            mismatch[seg.expert] = max(mismatch[seg.expert] ?? 0, worst)
                            trajectories[i].segments[j].oldLogProbs = lp
                        }
                    }
                }
                if !referenceNames.isEmpty {
                    let replays = try withReferenceWeights { try replay(micro.map { trajectories[$0] }, experts: referenceNames) }
                    for (k, i) in micro.enumerated() {
                        for (j, r) in replays[k].enumerated() {
                            switch r {
                            case .tokens(let tr)?: trajectories[i].segments[j].referenceLogProbs = tr.logProbs.scalars
                            case .sde(let sr)?:
                                trajectories[i].segments[j].referenceMeans = sr.means.detached()
                                trajectories[i].segments[j].referenceLogProbs = sr.logProbs.scalars
                            case nil: break
                            }
                        }
                    }
                }
            }
        }
        for (name, m) in mismatch { metrics[metricName("logprob_mismatch/max", name)] = Double(m) }
    }

    /// Runs `body` with every trainable parameter set to its reference value.
    func withReferenceWeights<R>(_ body: () throws -> R) rethrows -> R {
        var saved: [(Parameter, Tensor)] = []
        for e in trainable {
            for (_, p) in e.parameters {
                guard let ref = referenceValues[ObjectIdentifier(p)] else { continue }
                saved.append((p, p.value.detached()))
                p.assign(ref)
            }
        }
        defer { for (p, v) in saved { p.assign(v) } }
        return try body()
    }

    /// The scenario's replay, checked for shape.
    func replay(_ trajectories: [Trajectory<S.Output>], experts: Set<String>) throws -> [[ExpertReplay?]] {
        let out = try scenario.replay(trajectories, experts: experts)
        guard out.count == trajectories.count else {
            throw TrainerError.badReplay("\(out.count) replays for \(trajectories.count) trajectories")
        }
        for (tr, r) in zip(trajectories, out) {
            guard r.count == tr.segments.count else { throw TrainerError.badReplay("\(r.count) replays for \(tr.segments.count) segments") }
            for (s, x) in zip(tr.segments, r) {
                guard experts.contains(s.expert) else { continue }
                guard let x else { throw TrainerError.badReplay("no replay for a segment of '\(s.expert)'") }
                guard x.logProbs.elementCount == s.actionCount else {
                    throw TrainerError.badReplay("'\(s.expert)' replayed \(x.logProbs.elementCount) actions of \(s.actionCount)")
                }
            }
        }
        return out
    }

    /// Whether a segment enters the loss: not when it is a truncated completion and
    /// `mask_truncated_completions` is on.
    func takesPart(_ segment: TrajectorySegment) -> Bool {
        !(configuration.trainer.maskTruncatedCompletions && segment.isTruncated)
    }

    /// Seconds spent in each phase of the optimizer steps (`time/replay|loss|backward|optimizer`).
    struct PhaseTimes {
        var replay = 0.0, loss = 0.0, backward = 0.0, optimizer = 0.0
        mutating func add(_ o: PhaseTimes) {
            replay += o.replay
            loss += o.loss
            backward += o.backward
            optimizer += o.optimizer
        }
    }

    struct StepOutcome {
        var loss: Double
        var gradNorm: Float
        var warning: String?
        var times = PhaseTimes()
    }

    /// One optimizer step over a minibatch: replay with gradients, loss, backward per micro-batch,
    /// clip, step, with the non-finite guards. `actionAdvantages` (per trajectory, segment and action)
    /// replaces the per-trajectory `advantages` when given (`trainer.kl_in_reward`).
    func optimizerStep(
        _ minibatch: [[Int]], trajectories: [Trajectory<S.Output>], advantages: [Float],
        actionAdvantages: [[[Float]]]? = nil, active: [TrainableExpert], longest: [String: Int],
        stats: inout [String: ExpertLossStatistics]
    ) throws -> StepOutcome {
        let aggregation = configuration.trainer.lossAggregation
        let allParameters = trainable.flatMap { $0.parameters.map(\.parameter) }
        for p in allParameters { p.zeroGrad() }
        defer { for p in allParameters { p.zeroGrad() } }

        // Normalisers over the whole minibatch, so that accumulation does not change the gradient.
        var segmentCount: [String: Int] = [:], actionCount: [String: Int] = [:]
        for i in minibatch.flatMap({ $0 }) {
            for s in trajectories[i].segments where takesPart(s) {
                segmentCount[s.expert, default: 0] += 1
                actionCount[s.expert, default: 0] += s.actionCount
            }
        }
        let global = try globalNormalisers(minibatch, trajectories: trajectories, segments: segmentCount, actions: actionCount)
        if let global { (segmentCount, actionCount) = (global.segments, global.actions) }
        let names = Set(active.map(\.name))
        var lossValue = 0.0
        var finite = true
        var times = PhaseTimes()
        var clock = Date()
        /// Adds the seconds since the last call to `phase`.
        func lap(_ phase: WritableKeyPath<PhaseTimes, Double>) {
            let now = Date()
            times[keyPath: phase] += now.timeIntervalSince(clock)
            clock = now
        }
        for (m, micro) in minibatch.enumerated() {
            let batch = micro.map { trajectories[$0] }
            clock = Date()
            let replays = try replay(batch, experts: names)
            lap(\.replay)
            var total: Tensor?
            for e in active {
                var items: [LossItem] = []
                for (k, i) in micro.enumerated() {
                    for (j, s) in batch[k].segments.enumerated() where s.expert == e.name && takesPart(s) {
                        let a = actionAdvantages?[i][j] ?? [Float](repeating: advantages[i], count: s.actionCount)
                        items.append((s, replays[k][j]!, a))
                    }
                }
                guard !items.isEmpty else { continue }
                let maxLength = e.settings.maxLength > 0 ? e.settings.maxLength : (longest[e.name] ?? 1)
                let weights = aggregation.weights(
                    actionCounts: items.map(\.segment.actionCount),
                    trajectories: segmentCount[e.name] ?? 1,
                    actions: actionCount[e.name] ?? 1, maxLength: maxLength,
                    microBatchActions: global?.microActions[e.name]?[m] ?? items.reduce(0) { $0 + $1.segment.actionCount },
                    microBatches: global?.microBatches ?? minibatch.count,
                    globalActions: globalActionCount?(e.name, actionCount[e.name] ?? 1))
                let (term, termStats) = try expertLoss(e, items: items, weights: Tensor(weights))
                stats[e.name, default: ExpertLossStatistics()].add(termStats)
                total = total.map { $0 + term } ?? term
            }
            guard let total else { continue }
            let v = total.item
            lossValue += Double(v)
            lap(\.loss)
            guard v.isFinite else { finite = false; break }
            if total.requiresGrad { total.backward() }
            lap(\.backward)
        }
        (lossValue, finite) = try sumOverRanks(loss: lossValue, finite: finite, parameters: allParameters)
        clock = Date()

        let maxNorm = configuration.trainer.maxGradNorm
        let norm = maxNorm > 0 ? clipGradientNorm(allParameters, maxNorm: maxNorm) : gradientNorm(allParameters)
        guard finite, norm.isFinite else {
            let what = finite ? "gradient norm is \(norm)" : "loss is \(lossValue)"
            lap(\.optimizer)
            return StepOutcome(loss: lossValue, gradNorm: norm, warning: "the \(what); the update is skipped", times: times)
        }
        let stepping = trainable.filter { e in e.parameters.contains { $0.parameter.grad != nil } }
        let savedValues = stepping.flatMap { e in e.parameters.map { ($0.parameter, $0.parameter.value.detached()) } }
        let savedStates = stepping.map { $0.optimizer.state() }
        for e in stepping { e.optimizer.step() }
        let bad = stepping.flatMap { e in
            e.parameters.filter { !$0.parameter.value.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) } }.map { "\(e.name).\($0.name)" }
        }
        if let first = bad.first {
            for (p, v) in savedValues { p.assign(v) }
            for (e, s) in zip(stepping, savedStates) { try e.optimizer.load(s) }
            lap(\.optimizer)
            return StepOutcome(
                loss: lossValue, gradNorm: norm,
                warning: "the update would put NaN or infinity into '\(first)'; it is undone", times: times)
        }
        lap(\.optimizer)
        return StepOutcome(loss: lossValue, gradNorm: norm, warning: nil, times: times)
    }
}
