import Foundation
import UniRLTensor

// The data-parallel hooks of a step (``DataParallel`` describes the layout). Without
// `dataParallel` every hook does what one process always did.
extension GRPOTrainer {
    /// Whether this process writes the run's files (metrics, checkpoints): rank 0, or the only process.
    public var isWriter: Bool { dataParallel?.collective.isWriter ?? true }

    /// Rolls out this rank's share of `prompts`: all of them in one call without data
    /// parallelism; with it, the groups of ``DataParallel/share(of:rank:size:)``, each with a
    /// generator forked (on every rank alike) from the sampling generator, so that the samples do
    /// not depend on the number of ranks. The trajectories' prompt indices are positions in `prompts`.
    func rolloutShare(_ prompts: [S.Prompt]) throws -> [Trajectory<S.Output>] {
        let group = configuration.trainer.groupSize
        guard let dp = dataParallel else {
            return try withoutGrad { try scenario.rollout(prompts, group: group, using: &samplingRNG) }
        }
        let c = dp.collective
        guard prompts.count >= c.size else { throw DataParallelError.fewerPromptsThanRanks(prompts: prompts.count, ranks: c.size) }
        var generators = prompts.indices.map { _ in samplingRNG.fork() }
        var out: [Trajectory<S.Output>] = []
        for j in DataParallel.share(of: prompts.count, rank: c.rank, size: c.size) {
            var part = try withoutGrad { try scenario.rollout([prompts[j]], group: group, using: &generators[j]) }
            for k in part.indices {
                guard part[k].promptIndex == 0 else {
                    throw TrainerError.badRollout("trajectory \(k) answers prompt \(part[k].promptIndex) of 1")
                }
                part[k].promptIndex = j
            }
            out += part
        }
        return out
    }

    /// The whole batch's rewards and groups, gathered from every rank (in rank order), and the
    /// positions of this rank's samples in it. Without data parallelism, the input.
    func gatherRewards(_ evaluation: RewardEvaluation, groups: [Int]) throws -> (RewardEvaluation, [Int], Range<Int>) {
        guard let dp = dataParallel else { return (evaluation, groups, groups.indices) }
        func code(_ r: SampleReward) -> [Double] {
            switch r {
            case .score(let v): [0, Double(v)]
            case .notApplicable: [1, 0]
            case .failed: [2, 0]
            }
        }
        func decode(_ c: Double, _ v: Double) -> SampleReward { c == 0 ? .score(Float(v)) : c == 1 ? .notApplicable : .failed }
        let components = evaluation.components
        var mine: [Double] = [Double(groups.count), Double(components.count)]
        for i in groups.indices {
            mine += [Double(groups[i])] + code(evaluation.totals[i])
            for c in components { mine += c.scores[i].map { [0, Double($0)] } ?? [1, 0] }
        }
        let all = try dp.collective.allGather(mine)
        // A rank whose reward timed out has no components: then none are used for this step.
        let sameComponents = all.allSatisfy { Int($0[1]) == components.count }
        var totals: [SampleReward] = [], globalGroups: [Int] = []
        var scores = [[Float?]](repeating: [], count: sameComponents ? components.count : 0)
        var local = 0..<0
        for (r, values) in all.enumerated() {
            let count = Int(values[0]), width = 3 + 2 * Int(values[1])
            if r == dp.collective.rank { local = totals.count..<(totals.count + count) }
            for i in 0..<count {
                let row = values[(2 + i * width)..<(2 + (i + 1) * width)].map { $0 }
                globalGroups.append(Int(row[0]))
                totals.append(decode(row[1], row[2]))
                for k in scores.indices { scores[k].append(row[3 + 2 * k] == 0 ? Float(row[4 + 2 * k]) : nil) }
            }
        }
        var warnings = evaluation.warnings
        if !sameComponents { warnings.append("the ranks' rewards gave different components; the step uses the totals only") }
        let gathered = RewardEvaluation(
            totals: totals, components: zip(components, scores).map { RewardComponent(name: $0.name, scores: $1) },
            warnings: warnings)
        return (gathered, globalGroups, local)
    }

    /// The experts that act on some rank (on this one alone without data parallelism): every rank
    /// must take part in the same optimizer steps.
    func activeEverywhere(_ active: [TrainableExpert], included: Int) throws -> (active: [TrainableExpert], included: Int) {
        guard let dp = dataParallel else { return (active, included) }
        let names = Set(active.map(\.name))
        var flags = trainable.map { names.contains($0.name) ? 1.0 : 0 } + [Double(included)]
        try dp.collective.allReduceSum(&flags)
        return (trainable.indices.filter { flags[$0] > 0 }.map { trainable[$0] }, Int(flags[trainable.count]))
    }

    /// The longest segment per expert over every rank.
    func longestEverywhere(_ longest: [String: Int]) throws -> [String: Int] {
        guard let dp = dataParallel else { return longest }
        let all = try dp.collective.allGather(trainable.map { Double(longest[$0.name] ?? 0) })
        var out: [String: Int] = [:]
        for (k, e) in trainable.enumerated() {
            let m = all.map { Int($0[k]) }.max() ?? 0
            if m > 0 { out[e.name] = m }
        }
        return out
    }

    /// The loss normalisers of one optimizer step over the global minibatch: trajectories and
    /// actions per expert, the actions of each micro-batch slot (`bnpo`; slot m is the union of
    /// the ranks' m-th micro-batches) and the number of slots. nil without data parallelism.
    func globalNormalisers(
        _ minibatch: [[Int]], trajectories: [Trajectory<S.Output>], segments: [String: Int], actions: [String: Int]
    ) throws -> (segments: [String: Int], actions: [String: Int], microActions: [String: [Int]], microBatches: Int)? {
        guard let dp = dataParallel else { return nil }
        let slots = configuration.trainer.gradientAccumulation
        var v: [Double] = [Double(minibatch.count)]
        for e in trainable {
            v += [Double(segments[e.name] ?? 0), Double(actions[e.name] ?? 0)]
            for m in 0..<slots {
                let n = m < minibatch.count
                    ? minibatch[m].reduce(0) { sum, i in
                        sum + trajectories[i].segments.filter { $0.expert == e.name && takesPart($0) }.reduce(0) { $0 + $1.actionCount }
                    } : 0
                v.append(Double(n))
            }
        }
        // The slot count is a maximum, not a sum: gathered separately.
        let counts = try dp.collective.allGather([v[0]])
        try dp.collective.allReduceSum(&v)
        var seg: [String: Int] = [:], act: [String: Int] = [:], micro: [String: [Int]] = [:]
        for (k, e) in trainable.enumerated() {
            let base = 1 + k * (2 + slots)
            if v[base] > 0 { seg[e.name] = Int(v[base]) }
            if v[base + 1] > 0 { act[e.name] = Int(v[base + 1]) }
            micro[e.name] = (0..<slots).map { Int(v[base + 2 + $0]) }
        }
        return (seg, act, micro, Int(counts.map { $0[0] }.max() ?? 1))
    }

    /// Sums the loss and the gradients over the ranks (the loss first, so that every rank skips a
    /// non-finite update alike). Without data parallelism, the input.
    func sumOverRanks(loss: Double, finite: Bool, parameters: [Parameter]) throws -> (loss: Double, finite: Bool) {
        guard let dp = dataParallel else { return (loss, finite) }
        var v = [finite ? loss : 0, finite ? 0 : 1]
        try dp.collective.allReduceSum(&v)
        guard v[1] == 0, v[0].isFinite else { return (v[1] == 0 ? v[0] : .nan, false) }
        try dp.sumGradients(parameters)
        return (v[0], true)
    }

    /// A hash of everything the ranks must agree on: weights, optimizer states, EMA and reference.
    public func replicaHash() -> UInt64 {
        var tensors: [Tensor] = []
        for e in trainable {
            for (_, p) in e.parameters {
                tensors.append(p.value)
                if let m = emaValues[ObjectIdentifier(p)] { tensors.append(m) }
                if let r = referenceValues[ObjectIdentifier(p)] { tensors.append(r) }
            }
            let state = e.optimizer.state()
            for k in state.buffers.keys.sorted() { tensors.append(state.buffers[k]!) }
        }
        return DataParallel.hash(tensors)
    }

    /// Compares the replicas when `force` or every `weightCheckInterval` steps.
    func checkReplicasIfDue(force: Bool = false) throws {
        guard let dp = dataParallel, dp.collective.size > 1 else { return }
        guard force || (dp.weightCheckInterval > 0 && step % dp.weightCheckInterval == 0) else { return }
        try dp.checkReplicasAgree(hash: replicaHash(), step: step)
    }
}

extension GroupAdvantageResult {
    /// The samples at `positions` (the batch-level counts stay those of the whole batch).
    func restricted(to positions: Range<Int>) -> GroupAdvantageResult {
        var r = self
        r.advantages = Array(advantages[positions])
        r.included = Array(included[positions])
        r.groupStd = Array(groupStd[positions])
        return r
    }
}
