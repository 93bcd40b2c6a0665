import UniRLCore
import UniRLTensor

/// One answer of the toy token task: the prompt and the emitted tokens.
public struct ToyTokenSample: Sendable, Equatable {
    public var prompt: Int
    public var tokens: [Int]
    public init(prompt: Int, tokens: [Int]) { self.prompt = prompt; self.tokens = tokens }
}

/// The toy token task: prompt p asks for the sequence target(p)_k = (p + 2k) mod V. The optimal
/// policy emits it exactly and earns ``TargetSequenceReward`` 1.
public enum ToyTokenTask {
    public static func target(prompt: Int, length: Int, vocabularySize: Int) -> [Int] {
        (0..<length).map { (prompt + 2 * $0) % vocabularySize }
    }
}

/// The fraction of positions where the sample matches the task's target (optimum 1).
public struct TargetSequenceReward: RewardFunction {
    public let name = "match"
    public let vocabularySize: Int
    public init(vocabularySize: Int) { self.vocabularySize = vocabularySize }

    public func scores(for batch: [ToyTokenSample]) async throws -> [Float?] {
        batch.map { s in
            let target = ToyTokenTask.target(prompt: s.prompt, length: s.tokens.count, vocabularySize: vocabularySize)
            return Float(zip(s.tokens, target).filter { $0 == $1 }.count) / Float(max(s.tokens.count, 1))
        }
    }
}

/// A one-expert scenario: prompts are integers, a ``ToyTokenPolicy`` answers with tokens, and a
/// reward (by default ``TargetSequenceReward``) scores them.
public final class ToyTokenScenario: Scenario {
    public let policy: ToyTokenPolicy
    public let reward: any RewardFunction<ToyTokenSample>
    public let experts: [AnyPolicyExpert]

    public init(policy: ToyTokenPolicy, reward: (any RewardFunction<ToyTokenSample>)? = nil) {
        self.policy = policy
        self.reward = reward ?? TargetSequenceReward(vocabularySize: policy.vocabularySize)
        self.experts = [AnyPolicyExpert(policy)]
    }

    public func prompts(_ split: DatasetSplit) throws -> [Int] { Array(0..<policy.promptCount) }

    public func rollout(_ prompts: [Int], group: Int, using rng: inout RandomState) throws -> [Trajectory<ToyTokenSample>] {
        let conditions = prompts.flatMap { Array(repeating: $0, count: group) }
        let rollouts = try policy.sample(conditions, using: &rng)
        return rollouts.enumerated().map { i, r in
            Trajectory(promptIndex: i / group, output: ToyTokenSample(prompt: conditions[i], tokens: r.tokens),
                       segments: [TrajectorySegment(expert: policy, rollout: r, condition: conditions[i])])
        }
    }
}
