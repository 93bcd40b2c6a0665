import UniRLCore
import UniRLShapesWorld
import UniRLTensor

/// A generated image together with the prompt it was generated for.
public struct PromptedImage: Sendable {
    public var prompt: ShapesPrompt
    public var image: RGBImage
    public init(prompt: ShapesPrompt, image: RGBImage) {
        self.prompt = prompt
        self.image = image
    }
}

/// ShapesEval — the GenEval of ShapesWorld — as a reward: 1 when the detector finds what the
/// prompt asks for, else 0; or, with `partialCredit`, the share of the prompt's requirements met
/// (a denser signal for RL).
public struct ShapesEvalReward: RewardFunction {
    public let name: String
    public var partialCredit: Bool
    public var evaluator: ShapesEval

    public init(partialCredit: Bool = false, evaluator: ShapesEval = ShapesEval()) {
        self.partialCredit = partialCredit
        self.evaluator = evaluator
        self.name = partialCredit ? "shapes_eval_partial" : "shapes_eval"
    }

    public func scores(for batch: [PromptedImage]) async throws -> [Float?] {
        evaluator.evaluations(prompts: batch.map(\.prompt), images: batch.map(\.image)).map {
            Float(partialCredit ? $0.partialScore : ($0.correct ? 1 : 0))
        }
    }
}
