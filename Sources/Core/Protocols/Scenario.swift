import UniRLTensor

/// Which part of a scenario's prompts to use.
public enum DatasetSplit: String, Codable, Sendable {
    case train, test
}

/// Where prompts come from, how one prompt's group of trajectories is rolled out through the
/// experts, and which reward scores them.
///
/// ```swift
/// final class MyScenario: Scenario {
///     let experts: [AnyPolicyExpert]            // the experts that act, by name
///     var reward: any RewardFunction<Answer> { ... }
///     func prompts(_ split: DatasetSplit) throws -> [Question] { ... }
///     func rollout(_ prompts: [Question], group: Int, using rng: inout RandomState) throws -> [Trajectory<Answer>] {
///         // sample G answers per prompt with an expert; wrap each rollout in a TrajectorySegment
///     }
/// }
/// ```
public protocol Scenario: AnyObject {
    associatedtype Prompt
    /// What the reward scores (put the prompt in it when the reward needs it).
    associatedtype Output

    /// The experts that can act, each under a distinct name.
    var experts: [AnyPolicyExpert] { get }
    /// The reward that scores outputs (a ``WeightedRewards`` to combine several).
    var reward: any RewardFunction<Output> { get }
    /// All prompts of a split; the trainer draws `prompts_per_step` of them each step.
    func prompts(_ split: DatasetSplit) throws -> [Prompt]
    /// Samples `group` trajectories for every prompt, tagging each with its prompt's index.
    func rollout(_ prompts: [Prompt], group: Int, using rng: inout RandomState) throws -> [Trajectory<Output>]
    /// Replays the segments of `trajectories` whose expert is in `experts` (others get `nil`),
    /// returning log-probs on the tape. The default replays each expert's segments in one batch
    /// through that expert; a scenario whose experts feed each other (LM hidden states → DM
    /// condition) overrides it to let gradients flow end to end.
    func replay(_ trajectories: [Trajectory<Output>], experts: Set<String>) throws -> [[ExpertReplay?]]
    /// A stable key naming a prompt, for the per-prompt statistics tracker.
    func promptKey(_ prompt: Prompt) -> String
}

extension Scenario {
    public func promptKey(_ prompt: Prompt) -> String { String(describing: prompt) }

    public func replay(_ trajectories: [Trajectory<Output>], experts names: Set<String>) throws -> [[ExpertReplay?]] {
        try replayThroughExperts(trajectories, experts: names)
    }

    /// The default replay: gathers every expert's segments and replays them in one batch.
    public func replayThroughExperts(_ trajectories: [Trajectory<Output>], experts names: Set<String>) throws -> [[ExpertReplay?]] {
        var out: [[ExpertReplay?]] = trajectories.map { [ExpertReplay?](repeating: nil, count: $0.segments.count) }
        for expert in experts where names.contains(expert.name) {
            var locations: [(Int, Int)] = [], segments: [TrajectorySegment] = []
            for (i, t) in trajectories.enumerated() {
                for (j, s) in t.segments.enumerated() where s.expert == expert.name {
                    locations.append((i, j)); segments.append(s)
                }
            }
            if segments.isEmpty { continue }
            let replays = try expert.replay(segments)
            for ((i, j), r) in zip(locations, replays) { out[i][j] = r }
        }
        for t in trajectories {
            for s in t.segments where names.contains(s.expert) && !experts.contains(where: { $0.name == s.expert }) {
                throw ReplayError.unknownExpert(s.expert)
            }
        }
        return out
    }
}
