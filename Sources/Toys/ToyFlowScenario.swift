import UniRLCore
import UniRLTensor

/// A 2-D point produced by the toy flow model.
public struct ToyPoint: Sendable, Equatable {
    public var x: Float
    public var y: Float
    public init(x: Float, y: Float) { self.x = x; self.y = y }
}

/// 1 for points within `radius` of `center`, else 0.
public struct RegionReward: RewardFunction {
    public let name = "in_region"
    public var center: ToyPoint
    public var radius: Float
    public init(center: ToyPoint, radius: Float) { self.center = center; self.radius = radius }

    public func scores(for batch: [ToyPoint]) async throws -> [Float?] {
        batch.map { p in
            let dx = p.x - center.x, dy = p.y - center.y
            return dx * dx + dy * dy <= radius * radius ? 1 : 0
        }
    }
}

/// The data the toy flow model is pre-trained on: four Gaussian blobs (std 0.3) centred at
/// (±1.5, ±1.5), chosen uniformly.
public enum ToyFlowData {
    public static let centers: [ToyPoint] = [ToyPoint(x: 1.5, y: 1.5), ToyPoint(x: -1.5, y: 1.5),
                                             ToyPoint(x: -1.5, y: -1.5), ToyPoint(x: 1.5, y: -1.5)]

    public static func fourBlobs(_ rng: inout RandomState) -> (Float, Float) {
        let c = centers[Int(rng.next() % 4)]
        return (c.x + 0.3 * rng.nextNormal(), c.y + 0.3 * rng.nextNormal())
    }
}

/// A one-expert continuous scenario: a single (empty) prompt; a ``ToyFlowPolicy`` draws points
/// through its SDE sampler; by default ``RegionReward`` rewards landing near the first blob.
public final class ToyFlowScenario: Scenario {
    public let policy: ToyFlowPolicy
    public let reward: any RewardFunction<ToyPoint>
    public let experts: [AnyPolicyExpert]

    public init(policy: ToyFlowPolicy, reward: (any RewardFunction<ToyPoint>)? = nil) {
        self.policy = policy
        self.reward = reward ?? RegionReward(center: ToyFlowData.centers[0], radius: 1.0)
        self.experts = [AnyPolicyExpert(policy)]
    }

    public func prompts(_ split: DatasetSplit) throws -> [Int] { [0] }

    public func rollout(_ prompts: [Int], group: Int, using rng: inout RandomState) throws -> [Trajectory<ToyPoint>] {
        let n = prompts.count * group
        let rollouts = try policy.sample([Void](repeating: (), count: n), using: &rng)
        return rollouts.enumerated().map { i, r in
            let p = r.point
            return Trajectory(promptIndex: i / group, output: ToyPoint(x: p.x, y: p.y),
                              segments: [TrajectorySegment(expert: policy, rollout: r, condition: ())])
        }
    }
}
