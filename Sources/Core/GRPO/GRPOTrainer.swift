import Foundation
import Logging
import UniRLTensor

/// What one GRPO step did: its metrics (the names are listed on ``GRPOTrainer``) and the
/// warnings it logged.
public struct StepReport: Sendable {
    /// The number of completed steps after this one (1 for the first).
    public var step: Int
    public var metrics: [String: Double]
    public var warnings: [String]
}

public enum TrainerError: Error, CustomStringConvertible {
    case noPrompts
    case duplicateExpert(String)
    case badRollout(String)
    case badReplay(String)

    public var description: String {
        switch self {
        case .noPrompts: "the scenario has no training prompts"
        case .duplicateExpert(let n): "two experts are named '\(n)'"
        case .badRollout(let s): "invalid rollout: \(s)"
        case .badReplay(let s): "invalid replay: \(s)"
        }
    }
}

/// Group Relative Policy Optimization over any ``Scenario`` and its experts.
///
/// One step draws `prompts_per_step` prompts, rolls out `group_size` trajectories per prompt,
/// scores them, turns rewards into group-relative advantages (``GroupAdvantage``) and then, for
/// `inner_epochs` passes over the batch split into `minibatches` optimizer steps of
/// `gradient_accumulation` micro-batches each, minimises the joint surrogate
///
///     L = Σ_e [ λ_e · Agg_e(−min(ρA, clip(ρ, 1−ε_low,e, 1+ε_high,e)·A)) + β_e · Agg_e(KL_e) ]
///
/// over the trainable experts e (``ClippedSurrogate``, ``KLPenalty``, ``LossAggregation``). With
/// `grpo` aggregation this is the paper's −(1/G) Σ_i [λ_LM·mean_tokens(…) + λ_DM·mean_steps(…)]
/// + β_LM·KL_LM + β_DM·KL_DM. Frozen experts act but contribute no term.
///
/// Robustness: a sample whose reward throws or is NaN/±∞ is dropped from its group with a
/// warning; a group with fewer than two scored samples contributes nothing; an update whose loss
/// or gradient is not finite is skipped with a warning, and an optimizer step that would put a
/// non-finite value into a weight is undone; checkpoints refuse non-finite tensors.
///
/// Metrics per step: `reward`, `reward_std`, `rewards/<name>/mean|std`, `frac_reward_zero_std`,
/// `advantages/mean|std|min|max|clipped_frac`, `samples/failed|unscored`, `groups/dropped`;
/// per expert (prefixed `<expert>/` when the scenario has several experts): `kl` (β > 0),
/// `approx_kl` (½·mean (log π_θ − log π_old)²), `ratio/mean|min|max`,
/// `clip_ratio/low_mean|high_mean|region_mean`, `entropy`, `completions/mean_length`,
/// `completions/clipped_ratio`, `learning_rate`, `logprob_mismatch/max`; and `loss`, `grad_norm`
/// (before clipping), `updates/count|skipped`, `time/rollout|reward|update|step` (seconds).
///
/// ```swift
/// let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
/// try await trainer.train()            // metrics, progress bar, checkpoints, resume
/// ```
public final class GRPOTrainer<S: Scenario> {
    public let scenario: S
    public let configuration: GRPOConfiguration
    public var logger: Logger
    /// GRPO steps completed.
    public private(set) var step = 0
    /// The generator of prompt draws and rollouts.
    public private(set) var samplingRNG: RandomState
    /// The generator of minibatch shuffles.
    public private(set) var trainingRNG: RandomState
    /// Running per-prompt reward statistics (used by `per_prompt_tracker` scaling).
    public private(set) var tracker: PerPromptStatTracker

    private let trainPrompts: [S.Prompt]
    private var trainable: [TrainableExpert] = []
    /// The frozen reference's value of every trainable parameter (when some β > 0).
    private var referenceValues: [ObjectIdentifier: Tensor] = [:]

    final class TrainableExpert {
        let expert: AnyPolicyExpert
        let settings: ExpertSettings
        let parameters: [(name: String, parameter: Parameter)]
        let optimizer: any Optimizer
        let schedule: LearningRateSchedule
        var name: String { expert.name }

        init(expert: AnyPolicyExpert, settings: ExpertSettings, parameters: [(name: String, parameter: Parameter)],
             optimizer: any Optimizer, schedule: LearningRateSchedule) {
            self.expert = expert
            self.settings = settings
            self.parameters = parameters
            self.optimizer = optimizer
            self.schedule = schedule
        }
    }

    /// Sets up optimizers (one per trainable expert), freezes experts marked `frozen`, and
    /// snapshots the reference weights when some expert has β > 0.
    public init(scenario: S, configuration: GRPOConfiguration, logger: Logger = Logger(label: "unirl.grpo")) throws {
        try configuration.validate()
        self.scenario = scenario
        self.configuration = configuration
        self.logger = logger
        var root = RandomState(seed: UInt64(configuration.run.seed))
        samplingRNG = root.fork()
        trainingRNG = root.fork()
        tracker = PerPromptStatTracker(bufferSize: configuration.trainer.trackerBufferSize,
                                       minimumCount: configuration.trainer.trackerMinCount)
        trainPrompts = try scenario.prompts(.train)
        guard !trainPrompts.isEmpty else { throw TrainerError.noPrompts }

        var names = Set<String>()
        for e in scenario.experts where !names.insert(e.name).inserted { throw TrainerError.duplicateExpert(e.name) }
        for name in configuration.experts.keys.sorted() where !names.contains(name) && name != "lm" && name != "dm" {
            logger.warning("the configuration has settings for expert '\(name)', which the scenario does not have")
        }
        let t = configuration.trainer
        var claimed = Set<ObjectIdentifier>()
        for e in scenario.experts {
            let s = configuration.settings(for: e.name)
            if s.frozen { e.module.freeze(); continue }
            let params = e.module.trainableParameters().filter { claimed.insert(ObjectIdentifier($0.parameter)).inserted }
            guard !params.isEmpty else { continue }
            let optimizer: any Optimizer = switch t.optimizer {
            case .adamw: AdamW(parameters: params, learningRate: s.learningRate, beta1: t.adamBeta1, beta2: t.adamBeta2,
                               epsilon: t.adamEpsilon, weightDecay: t.weightDecay)
            case .sgd: SGD(parameters: params, learningRate: s.learningRate, momentum: t.momentum, weightDecay: t.weightDecay)
            }
            trainable.append(TrainableExpert(expert: e, settings: s, parameters: params, optimizer: optimizer,
                                             schedule: s.schedule(totalSteps: configuration.run.steps)))
        }
        if trainable.contains(where: { $0.settings.beta > 0 }) {
            for e in trainable { for (_, p) in e.parameters { referenceValues[ObjectIdentifier(p)] = p.value.detached() } }
        }
    }

    /// The names of the experts whose weights this trainer updates.
    public var trainableExperts: [String] { trainable.map(\.name) }

    // MARK: - One step

    /// Samples, scores and updates once.
    @discardableResult
    public func trainStep() async throws -> StepReport {
        let stepStart = Date()
        let t = configuration.trainer
        var metrics: [String: Double] = [:]
        var warnings: [String] = []

        let prompts = drawPrompts(t.promptsPerStep).map { trainPrompts[$0] }
        var clock = Date()
        var trajectories = try withoutGrad { try scenario.rollout(prompts, group: t.groupSize, using: &samplingRNG) }
        try check(trajectories, promptCount: prompts.count)
        metrics["time/rollout"] = Date().timeIntervalSince(clock)

        clock = Date()
        var evaluation = await scenario.reward.evaluate(trajectories.map(\.output))
        if evaluation.totals.count != trajectories.count {
            warnings.append("the reward returned \(evaluation.totals.count) results for \(trajectories.count) samples; the step makes no update")
            evaluation.totals = Array(repeating: .failed, count: trajectories.count)
        }
        warnings += evaluation.warnings
        metrics["time/reward"] = Date().timeIntervalSince(clock)

        let keys = trajectories.map { scenario.promptKey(prompts[$0.promptIndex]) }
        let advantages = GroupAdvantage.compute(
            rewards: evaluation.totals, groups: trajectories.map(\.promptIndex), scaling: t.advantageScaling,
            clip: t.advantageClip, dropZeroStdGroups: t.dropZeroStdGroups, tracker: &tracker, promptKeys: keys)
        recordRewardMetrics(evaluation, trajectories: trajectories, advantages: advantages, into: &metrics)
        recordCompletionMetrics(trajectories, into: &metrics)

        clock = Date()
        try update(&trajectories, advantages: advantages, metrics: &metrics, warnings: &warnings)
        metrics["time/update"] = Date().timeIntervalSince(clock)
        metrics["time/step"] = Date().timeIntervalSince(stepStart)

        step += 1
        for w in warnings { logger.warning("step \(step): \(w)") }
        return StepReport(step: step, metrics: metrics, warnings: warnings)
    }

    /// Draws prompt indices: without replacement when the split is large enough.
    private func drawPrompts(_ count: Int) -> [Int] {
        let n = trainPrompts.count
        guard count <= n else { return (0..<count).map { _ in Int(samplingRNG.next() % UInt64(n)) } }
        var idx = Array(0..<n)
        for i in 0..<count { idx.swapAt(i, i + Int(samplingRNG.next() % UInt64(n - i))) }
        return Array(idx.prefix(count))
    }

    private func check(_ trajectories: [Trajectory<S.Output>], promptCount: Int) throws {
        let known = Set(scenario.experts.map(\.name))
        for (i, tr) in trajectories.enumerated() {
            guard tr.promptIndex >= 0 && tr.promptIndex < promptCount else {
                throw TrainerError.badRollout("trajectory \(i) answers prompt \(tr.promptIndex) of \(promptCount)")
            }
            for s in tr.segments where !known.contains(s.expert) {
                throw TrainerError.badRollout("trajectory \(i) has a segment of unknown expert '\(s.expert)'")
            }
        }
    }

    // MARK: - Update

    /// Per-expert accumulators for the step's metrics.
    private struct ExpertStats {
        var actions = 0, low = 0, high = 0
        var klSum = 0.0, approxKLSum = 0.0, ratioSum = 0.0
        var ratioMin = Double.infinity, ratioMax = -Double.infinity
        var entropySum = 0.0, entropyCount = 0
    }

    private func update(_ trajectories: inout [Trajectory<S.Output>], advantages adv: GroupAdvantageResult,
                        metrics: inout [String: Double], warnings: inout [String]) throws {
        let t = configuration.trainer
        let acting = Set(trajectories.flatMap { $0.segments.map(\.expert) })
        let active = trainable.filter { acting.contains($0.name) }
        for e in trainable {
            e.optimizer.learningRate = e.schedule.rate(base: e.settings.learningRate, step: step)
            metrics[metricName("learning_rate", e.name)] = Double(e.optimizer.learningRate)
        }
        let included = trajectories.indices.filter { adv.included[$0] }
        metrics["updates/count"] = 0
        metrics["updates/skipped"] = 0
        guard !active.isEmpty, !included.isEmpty else { return }

        // The longest segment per expert, for dr_grpo's L when max_length is 0.
        var longest: [String: Int] = [:]
        for i in included { for s in trajectories[i].segments { longest[s.expert] = max(longest[s.expert] ?? 0, s.actionCount) } }

        let firstEpoch = partition(epochOrder(included))
        try prepareOldAndReference(&trajectories, microBatches: firstEpoch.flatMap { $0 }, active: active, metrics: &metrics)

        var stats = [String: ExpertStats]()
        var losses: [Double] = [], norms: [Double] = []
        var skipped = 0
        for epoch in 0..<t.innerEpochs {
            let parts = epoch == 0 ? firstEpoch : partition(epochOrder(included))
            for minibatch in parts {
                let outcome = try optimizerStep(minibatch, trajectories: trajectories, advantages: adv.advantages,
                                                active: active, longest: longest, stats: &stats)
                losses.append(outcome.loss)
                if outcome.gradNorm.isFinite { norms.append(Double(outcome.gradNorm)) }
                if let w = outcome.warning { warnings.append(w); skipped += 1 }
            }
        }
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
            metrics[metricName("approx_kl", e.name)] = s.approxKLSum / n
            metrics[metricName("ratio/mean", e.name)] = s.ratioSum / n
            metrics[metricName("ratio/min", e.name)] = s.ratioMin
            metrics[metricName("ratio/max", e.name)] = s.ratioMax
            if e.settings.beta > 0 { metrics[metricName("kl", e.name)] = s.klSum / n }
            if s.entropyCount > 0 { metrics[metricName("entropy", e.name)] = s.entropySum / Double(s.entropyCount) }
        }
    }

    /// The order of the trajectories for one inner epoch: shuffled when split into minibatches.
    private func epochOrder(_ included: [Int]) -> [Int] {
        var order = included
        if configuration.trainer.minibatches > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(trainingRNG.next() % UInt64(i + 1)))
            }
        }
        return order
    }

    /// Splits an epoch into minibatches of micro-batches (contiguous, sizes differing by ≤ 1).
    private func partition(_ order: [Int]) -> [[[Int]]] {
        func chunks(_ xs: [Int], _ k: Int) -> [[Int]] {
            let k = max(1, min(k, xs.count))
            return (0..<k).map { j in Array(xs[(xs.count * j / k)..<(xs.count * (j + 1) / k)]) }.filter { !$0.isEmpty }
        }
        return chunks(order, configuration.trainer.minibatches).map { chunks($0, configuration.trainer.gradientAccumulation) }
    }

    /// Fills in log π_old (recomputed with the first epoch's batching, so that ρ = 1 exactly at
    /// the first update) and the reference's log-probs or step means, without a tape.
    private func prepareOldAndReference(_ trajectories: inout [Trajectory<S.Output>], microBatches: [[Int]],
                                        active: [TrainableExpert], metrics: inout [String: Double]) throws {
        let names = Set(active.map(\.name))
        let referenceNames = Set(active.filter { $0.settings.beta > 0 }.map(\.name))
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
                            case .sde(let sr)?: trajectories[i].segments[j].referenceMeans = sr.means.detached()
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
    private func withReferenceWeights<R>(_ body: () throws -> R) rethrows -> R {
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
    private func replay(_ trajectories: [Trajectory<S.Output>], experts: Set<String>) throws -> [[ExpertReplay?]] {
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

    private struct StepOutcome {
        var loss: Double
        var gradNorm: Float
        var warning: String?
    }

    /// One optimizer step over a minibatch: replay with gradients, loss, backward per micro-batch,
    /// clip, step, with the non-finite guards.
    private func optimizerStep(_ minibatch: [[Int]], trajectories: [Trajectory<S.Output>], advantages: [Float],
                               active: [TrainableExpert], longest: [String: Int],
                               stats: inout [String: ExpertStats]) throws -> StepOutcome {
        let aggregation = configuration.trainer.lossAggregation
        let allParameters = trainable.flatMap { $0.parameters.map(\.parameter) }
        for p in allParameters { p.zeroGrad() }
        defer { for p in allParameters { p.zeroGrad() } }

        // Normalisers over the whole minibatch, so that accumulation does not change the gradient.
        var segmentCount: [String: Int] = [:], actionCount: [String: Int] = [:]
        for i in minibatch.flatMap({ $0 }) {
            for s in trajectories[i].segments {
                segmentCount[s.expert, default: 0] += 1
                actionCount[s.expert, default: 0] += s.actionCount
            }
        }
        let names = Set(active.map(\.name))
        var lossValue = 0.0
        var finite = true
        for micro in minibatch {
            let batch = micro.map { trajectories[$0] }
            let replays = try replay(batch, experts: names)
            var total: Tensor?
            for e in active {
                var items: [(segment: TrajectorySegment, replay: ExpertReplay, advantage: Float)] = []
                for (k, i) in micro.enumerated() {
                    for (j, s) in batch[k].segments.enumerated() where s.expert == e.name {
                        items.append((s, replays[k][j]!, advantages[i]))
                    }
                }
                guard !items.isEmpty else { continue }
                let maxLength = e.settings.maxLength > 0 ? e.settings.maxLength : (longest[e.name] ?? 1)
                let weights = aggregation.weights(actionCounts: items.map(\.segment.actionCount),
                                                  trajectories: segmentCount[e.name] ?? 1,
                                                  actions: actionCount[e.name] ?? 1, maxLength: maxLength)
                let term = try expertLoss(e, items: items, weights: Tensor(weights), stats: &stats[e.name, default: ExpertStats()])
                total = total.map { $0 + term } ?? term
            }
            guard let total else { continue }
            let v = total.item
            lossValue += Double(v)
            guard v.isFinite else { finite = false; break }
            if total.requiresGrad { total.backward() }
        }

        let maxNorm = configuration.trainer.maxGradNorm
        let norm = maxNorm > 0 ? clipGradientNorm(allParameters, maxNorm: maxNorm) : gradientNorm(allParameters)
        guard finite, norm.isFinite else {
            let what = finite ? "gradient norm is \(norm)" : "loss is \(lossValue)"
            return StepOutcome(loss: lossValue, gradNorm: norm, warning: "the \(what); the update is skipped")
        }
        let stepping = trainable.filter { e in e.parameters.contains { $0.parameter.grad != nil } }
        let savedValues = stepping.flatMap { e in e.parameters.map { ($0.parameter, $0.parameter.value.detached()) } }
        let savedStates = stepping.map { $0.optimizer.state() }
        for e in stepping { e.optimizer.step() }
        let bad = stepping.flatMap { e in e.parameters.filter { !$0.parameter.value.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) } }.map { "\(e.name).\($0.name)" } }
        if let first = bad.first {
            for (p, v) in savedValues { p.assign(v) }
            for (e, s) in zip(stepping, savedStates) { try e.optimizer.load(s) }
            return StepOutcome(loss: lossValue, gradNorm: norm,
                               warning: "the update would put NaN or infinity into '\(first)'; it is undone")
        }
        return StepOutcome(loss: lossValue, gradNorm: norm, warning: nil)
    }

    /// λ_e·Σ w·ℓ_surrogate + β_e·Σ w·KL over the actions of one expert's segments in a micro-batch.
    private func expertLoss(_ e: TrainableExpert, items: [(segment: TrajectorySegment, replay: ExpertReplay, advantage: Float)],
                            weights: Tensor, stats: inout ExpertStats) throws -> Tensor {
        let s = e.settings
        let logProbs = Tensor.concatenate(items.map { $0.replay.logProbs.reshaped([$0.segment.actionCount]) }, axis: 0)
        let old = Tensor(items.flatMap(\.segment.oldLogProbs))
        let perActionAdvantage = items.flatMap { [Float](repeating: $0.advantage, count: $0.segment.actionCount) }
        let surrogate = ClippedSurrogate(epsilonLow: s.clipLow, epsilonHigh: s.clipHigh)
        let (perAction, ratio) = surrogate.loss(logProbs: logProbs, oldLogProbs: old, advantages: Tensor(perActionAdvantage))
        var loss = (perAction * weights).sum() * s.lossWeight

        var klValues: [Float] = []
        if s.beta > 0 {
            var kls: [Tensor] = []
            for item in items {
                switch item.replay {
                case .tokens(let r):
                    guard let ref = item.segment.referenceLogProbs else { throw TrainerError.badReplay("no reference log-probs for '\(e.name)'") }
                    kls.append(KLPenalty.k3(logProbs: r.logProbs.reshaped([item.segment.actionCount]), referenceLogProbs: Tensor(ref)))
                case .sde(let r):
                    guard let ref = item.segment.referenceMeans else { throw TrainerError.badReplay("no reference means for '\(e.name)'") }
                    kls.append(KLPenalty.gaussian(means: r.means, referenceMeans: ref, noiseScales: r.noiseScales,
                                                  stepSizes: r.stepSizes, variant: s.klVariant))
                }
            }
            let kl = Tensor.concatenate(kls, axis: 0)
            loss = loss + (kl * weights).sum() * s.beta
            klValues = kl.scalars
        }

        let ratios = ratio.scalars, lp = logProbs.scalars, oldValues = old.scalars
        let counts = surrogate.clipCounts(ratios: ratios, advantages: perActionAdvantage)
        stats.actions += ratios.count
        stats.low += counts.low
        stats.high += counts.high
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
        return loss
    }

    // MARK: - Metrics

    /// `name` for a scenario with one expert, `<expert>/name` when several act.
    private func metricName(_ name: String, _ expert: String) -> String {
        scenario.experts.count > 1 ? "\(expert)/\(name)" : name
    }

    private func recordRewardMetrics(_ evaluation: RewardEvaluation, trajectories: [Trajectory<S.Output>],
                                     advantages adv: GroupAdvantageResult, into metrics: inout [String: Double]) {
        let scores = evaluation.totals.compactMap(\.value)
        if !scores.isEmpty { metrics["reward"] = scores.reduce(0.0) { $0 + Double($1) } / Double(scores.count) }
        var groups: [Int: [Float]] = [:]
        for (tr, r) in zip(trajectories, evaluation.totals) { if let v = r.value { groups[tr.promptIndex, default: []].append(v) } }
        let stds = groups.keys.sorted().compactMap { k -> Double? in
            groups[k]!.count >= 2 ? Double(sampleMeanStd(groups[k]!).1) : nil
        }
        if !stds.isEmpty { metrics["reward_std"] = stds.reduce(0, +) / Double(stds.count) }
        let scoredGroups = adv.groupCount - adv.droppedGroupCount
        metrics["frac_reward_zero_std"] = scoredGroups > 0 ? Double(adv.zeroStdGroupCount) / Double(scoredGroups) : 0
        for c in evaluation.components {
            let v = c.scores.compactMap { $0 }
            guard !v.isEmpty else { continue }
            let (m, s) = sampleMeanStd(v)
            metrics["rewards/\(c.name)/mean"] = Double(m)
            metrics["rewards/\(c.name)/std"] = Double(s)
        }
        let a = trajectories.indices.filter { adv.included[$0] }.map { adv.advantages[$0] }
        if !a.isEmpty {
            let (m, s) = populationMeanStd(a)
            metrics["advantages/mean"] = Double(m)
            metrics["advantages/std"] = Double(s)
            metrics["advantages/min"] = Double(a.min()!)
            metrics["advantages/max"] = Double(a.max()!)
            metrics["advantages/clipped_frac"] = Double(adv.clippedCount) / Double(a.count)
        }
        metrics["samples/failed"] = Double(evaluation.totals.filter { $0 == .failed }.count)
        metrics["samples/unscored"] = Double(evaluation.totals.filter { $0 == .notApplicable }.count)
        metrics["groups/dropped"] = Double(adv.droppedGroupCount)
    }

    private func recordCompletionMetrics(_ trajectories: [Trajectory<S.Output>], into metrics: inout [String: Double]) {
        var lengths: [String: [Int]] = [:], truncated: [String: Int] = [:]
        for tr in trajectories {
            for s in tr.segments where s.kind == .discrete {
                lengths[s.expert, default: []].append(s.actionCount)
                if s.isTruncated { truncated[s.expert, default: 0] += 1 }
            }
        }
        for (name, l) in lengths {
            metrics[metricName("completions/mean_length", name)] = Double(l.reduce(0, +)) / Double(l.count)
            metrics[metricName("completions/clipped_ratio", name)] = Double(truncated[name] ?? 0) / Double(l.count)
        }
    }

    // MARK: - Evaluation

    /// The mean reward of `samplesPerPrompt` rollouts for every prompt of `split`, without an
    /// update and without touching the training generators.
    public func evaluate(split: DatasetSplit = .test, samplesPerPrompt: Int = 1, seed: UInt64 = 0) async throws -> Double {
        var prompts = try scenario.prompts(split)
        if prompts.isEmpty { prompts = trainPrompts }
        var rng = RandomState(seed: seed)
        let trajectories = try withoutGrad { try scenario.rollout(prompts, group: samplesPerPrompt, using: &rng) }
        let e = await scenario.reward.evaluate(trajectories.map(\.output))
        let v = e.totals.compactMap(\.value)
        return v.isEmpty ? .nan : v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
    }

    // MARK: - Checkpoints

    /// Everything needed to continue this run exactly.
    public func checkpoint() -> Checkpoint {
        var weights: [String: Tensor] = [:], reference: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        var steps: [String: Int] = [:]
        for e in trainable {
            for (n, p) in e.parameters {
                weights["\(e.name).\(n)"] = p.value.detached()
                if let r = referenceValues[ObjectIdentifier(p)] { reference["\(e.name).\(n)"] = r }
            }
            let state = e.optimizer.state()
            for (k, v) in state.buffers { optimizer["\(e.name).\(k)"] = v }
            steps[e.name] = state.stepCount
        }
        let state = TrainerState(step: step, samplingRNG: samplingRNG, trainingRNG: trainingRNG,
                                 tracker: tracker, optimizerSteps: steps)
        return Checkpoint(weights: weights, reference: reference, optimizer: optimizer, state: state, configuration: configuration)
    }

    /// Writes ``checkpoint()`` atomically to `directory`.
    public func saveCheckpoint(to directory: URL) throws {
        try checkpoint().write(to: directory)
    }

    /// Continues from a checkpoint: weights, reference, optimizer state, step, generators and
    /// per-prompt statistics.
    public func restore(_ checkpoint: Checkpoint) throws {
        for e in trainable {
            for (n, p) in e.parameters {
                let key = "\(e.name).\(n)"
                guard let w = checkpoint.weights[key] else { throw CheckpointError.missingTensor(key) }
                guard w.shape == p.shape else { throw CheckpointError.shapeMismatch(name: key, expected: p.shape, found: w.shape) }
                if referenceValues[ObjectIdentifier(p)] != nil {
                    guard let r = checkpoint.reference[key] else { throw CheckpointError.missingTensor("reference " + key) }
                    guard r.shape == p.shape else { throw CheckpointError.shapeMismatch(name: "reference " + key, expected: p.shape, found: r.shape) }
                    referenceValues[ObjectIdentifier(p)] = r
                }
            }
        }
        for e in trainable {
            for (n, p) in e.parameters { p.assign(checkpoint.weights["\(e.name).\(n)"]!) }
            let prefix = e.name + "."
            var buffers: [String: Tensor] = [:]
            for (k, v) in checkpoint.optimizer where k.hasPrefix(prefix) { buffers[String(k.dropFirst(prefix.count))] = v }
            try e.optimizer.load(OptimizerState(stepCount: checkpoint.state.optimizerSteps[e.name] ?? 0, buffers: buffers))
        }
        step = checkpoint.state.step
        samplingRNG = checkpoint.state.samplingRNG
        trainingRNG = checkpoint.state.trainingRNG
        tracker = checkpoint.state.tracker
    }

    /// Reads and restores the checkpoint in `directory`.
    public func resume(from directory: URL) throws {
        try restore(Checkpoint.read(from: directory))
        logger.info("resumed from \(directory.path) at step \(step)")
    }

    // MARK: - The run

    /// Trains until `run.steps` steps are done (or, to stop early, until `stopAfter` steps):
    /// resumes as `run.resume_from` says, logs metrics (JSONL, TensorBoard, progress bar) into
    /// `run.output_dir`, and writes a checkpoint every `run.checkpoint_every` steps and after the
    /// last into `<output_dir>/checkpoints/step-NNNNNN`.
    public func train(stopAfter: Int? = nil, metrics: MetricsLogger? = nil) async throws {
        let run = configuration.run
        let output = URL(fileURLWithPath: run.outputDir)
        let checkpoints = output.appendingPathComponent("checkpoints")
        if step == 0 && !run.resumeFrom.isEmpty {
            if run.resumeFrom == "latest" {
                if let latest = Checkpoint.latest(in: checkpoints) { try resume(from: latest) } else {
                    logger.info("no checkpoint in \(checkpoints.path); starting fresh")
                }
            } else {
                try resume(from: URL(fileURLWithPath: run.resumeFrom))
            }
        }
        let sink = try metrics ?? MetricsLogger(run: run, directory: output, logger: logger)
        defer { if metrics == nil { sink.close() } }
        let last = min(run.steps, stopAfter ?? run.steps)
        while step < last {
            let report = try await trainStep()
            sink.log(step: report.step, metrics: report.metrics)
            if run.checkpointEvery > 0 && (step % run.checkpointEvery == 0 || step == last) {
                try saveCheckpoint(to: checkpoints.appendingPathComponent(Checkpoint.directoryName(step: step)))
                Checkpoint.prune(in: checkpoints, keep: run.keepCheckpoints)
            }
        }
    }
}
