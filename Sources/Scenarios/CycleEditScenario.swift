import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// One cycle of an edit: the quadruple, the policy's edit of its source, and the reconstruction
/// the policy drew from that edit with the reverse instruction.
public struct CycleEditOutput: Sendable {
    public var example: EditExample
    public var edited: RGBImage
    public var reconstruction: RGBImage

    public init(example: EditExample, edited: RGBImage, reconstruction: RGBImage) {
        self.example = example
        self.edited = edited
        self.reconstruction = reconstruction
    }
}

/// Cycle-Edit RL (UniRL-Zero) on ShapesWorld's editing quadruples with the tiny unified model, as
/// the official `I2IGRPOTrainer` does it (G-U-N/UniRL unirl/trainer/grpo_blip3o_trainer.py):
///
/// 1. **Edit.** The source image goes into the LM's prompt through the vision tower, the i2i
///    queries follow the instruction, and the DiT reads the source's latent through its reference
///    path (0.8·E(source) + 0.2·z); the DM draws G edits by Flow-GRPO's SDE sampler with triple
///    guidance — the first segment of each trajectory.
/// 2. **Cycle.** Each edit is decoded, encoded again (the vision tower and the DC-AE see the
///    edited *image*) and edited with the reverse instruction: one reconstruction per edit, the
///    second SDE segment of the same trajectory.
/// 3. **Reward.** R = λ1·R_edit + λ2·R_cycle + λ3·R_quality: R_edit the CLIP direction of
///    source → edit against source caption → target caption, R_cycle the CLIP-I of the
///    reconstruction with the source (both on ShapesCLIP), R_quality ``PaletteFitReward`` of the
///    edit; the official weights are 4 and 1 with no quality term.
/// 4. **Loss.** One advantage per trajectory serves both segments. Both are segments of the one
///    expert `dm` (connector + queries + DiT), so the trainer replays them together and sums
///    their clipped surrogates and KL terms. With the default `grpo` aggregation it averages
///    over the 2G segments, ½(PG₁ + PG₂) + ½β(KL₁ + KL₂); the pack's `experts.dm.loss_weight=2` and
///    doubled β make this exactly the official PG₁ + PG₂ + β(KL₁ + KL₂).
///
/// The LM and the DC-AE are frozen.
///
/// ```swift
/// let scenario = try CycleEditScenario(generator: UnifiedEditModel.load(), settings: CycleEditSettings())
/// try await GRPOTrainer(scenario: scenario, configuration: config).train()
/// ```
public final class CycleEditScenario: Scenario {
    public typealias Prompt = EditExample
    public typealias Output = CycleEditOutput

    public let generator: UnifiedImageGenerator
    public let policy: UnifiedImagePolicy
    public let reward: any RewardFunction<CycleEditOutput>
    public let experts: [AnyPolicyExpert]
    public let settings: CycleEditSettings
    private let trainEdits: [EditExample]
    private let testEdits: [EditExample]

    public var model: UnifiedModel { generator.model }

    /// `clip` scores the edit and cycle terms (default: the bundled ShapesCLIP).
    public init(generator: UnifiedImageGenerator, settings: CycleEditSettings = CycleEditSettings(), clip: CLIPEmbedder? = nil) throws {
        guard generator.model.transformer.hasReferencePath, generator.model.connector.queryParameter(.i2i) != nil else {
            throw UnifiedModelError.invalidRequest("cycle-edit needs a model with i2i queries and the DiT's reference path")
        }
        self.generator = generator
        self.settings = settings
        generator.model.lm.freeze()
        generator.model.autoencoder?.freeze()
        policy = UnifiedImagePolicy(model: generator.model, settings: settings.policySettings)
        experts = [AnyPolicyExpert(policy)]
        reward = try Self.reward(settings: settings, clip: clip ?? ShapesCLIP.load())
        trainEdits = settings.edits(.train)
        testEdits = settings.edits(.test)
    }

    /// λ1·CLIP direction(source → edit) + λ2·CLIP-I(reconstruction, source) + λ3·palette fit(edit)
    /// + λ4·exact(edit), with the components named `edit_direction`, `cycle_clip_i`, `edit_palette_fit`
    /// and `edit_exact` in the metrics, and the diagnostics of ``CycleEditReward``.
    public static func reward(settings: CycleEditSettings, clip: CLIPEmbedder) -> CycleEditReward {
        let direction = CLIPDirection(clip: clip), similarity = CLIPImageSimilarity(clip: clip), quality = PaletteFitReward()
        let edit = FunctionReward<CycleEditOutput>(name: "edit_direction") { batch in
            try await direction.scores(for: batch.map {
                ImageEdit(source: $0.example.source, edited: $0.edited, sourceCaption: $0.example.sourceCaption,
                          targetCaption: $0.example.targetCaption)
            })
        }
        let cycle = FunctionReward<CycleEditOutput>(name: "cycle_clip_i") { batch in
            try await similarity.scores(for: batch.map { ImagePair(image: $0.reconstruction, reference: $0.example.source) })
        }
        let clean = FunctionReward<CycleEditOutput>(name: "edit_palette_fit") { batch in
            try await quality.scores(for: batch.map(\.edited))
        }
        let exact = FunctionReward<CycleEditOutput>(name: "edit_exact") { batch in
            let detector = CycleEditEvaluation()
            return batch.map { detector.matches($0.edited, scene: $0.example.sample.target) ? 1 : 0 }
        }
        return CycleEditReward(weighted: WeightedRewards(
            name: "cycle_edit",
            [(edit, settings.lambdaEdit), (cycle, settings.lambdaCycle), (clean, settings.lambdaQuality), (exact, settings.lambdaExact)]))
    }

    public func prompts(_ split: DatasetSplit) throws -> [EditExample] { split == .train ? trainEdits : testEdits }

    public func promptKey(_ prompt: EditExample) -> String { prompt.sourceCaption + " | " + prompt.sample.instruction }

    /// The edit conditions of `sources` under `instructions`: the chat prompt with the image,
    /// the i2i queries, and the reference latent noised once per row as the official sampler does.
    func editConditions(instructions: [String], sources: [RGBImage], using rng: inout RandomState) throws -> [UnifiedImageCondition] {
        let latents = try model.encode(sources)
        return try zip(instructions, sources).enumerated().map { i, pair in
            let reference = latents.slice(axis: 0, i..<(i + 1)).squeezed(0)
            return UnifiedImageCondition(
                prompt: try generator.editPrompt(instruction: pair.0, source: pair.1), querySet: .i2i,
                reference: reference * 0.8 + Tensor.randomNormal(reference.shape, using: &rng) * 0.2)
        }
    }

    /// G edits per quadruple, then one reconstruction per edit. The generator draws the edits'
    /// reference noise, their sampler noise, then the same for the reconstructions.
    public func rollout(_ prompts: [EditExample], group: Int, using rng: inout RandomState) throws
        -> [Trajectory<CycleEditOutput>]
    {
        let rows = prompts.indices.flatMap { [Int](repeating: $0, count: group) }
        guard !rows.isEmpty else { return [] }
        let forward = try editConditions(instructions: rows.map { prompts[$0].sample.instruction },
                                         sources: rows.map { prompts[$0].source }, using: &rng)
        let edits = try policy.sample(forward, using: &rng)
        let edited = try model.decode(Tensor.stack(edits.map(\.sample), axis: 0))
        let backward = try editConditions(instructions: rows.map { prompts[$0].sample.reverseInstruction }, sources: edited, using: &rng)
        let cycles = try policy.sample(backward, using: &rng)
        let reconstructed = try model.decode(Tensor.stack(cycles.map(\.sample), axis: 0))
        return rows.indices.map { i in
            Trajectory(
                promptIndex: rows[i],
                output: CycleEditOutput(example: prompts[rows[i]], edited: edited[i], reconstruction: reconstructed[i]),
                segments: [TrajectorySegment(expert: policy, rollout: edits[i], condition: forward[i]),
                           TrajectorySegment(expert: policy, rollout: cycles[i], condition: backward[i])])
        }
    }
}

/// The Cycle-Edit reward (``CycleEditScenario/reward(settings:clip:)``) with two diagnostics that
/// say whether it tracks the held-out metric on the training side: `reward_when_exact` and
/// `reward_when_not_exact`, the total of the edits ShapesEval's detector reads as exactly the
/// target scene and of the others (each logged as `rewards/<name>/mean` over the samples it covers).
public struct CycleEditReward: RewardFunction {
    public let name = "cycle_edit"
    public let weighted: WeightedRewards<CycleEditOutput>

    public init(weighted: WeightedRewards<CycleEditOutput>) {
        self.weighted = weighted
    }

    public func scores(for batch: [CycleEditOutput]) async throws -> [Float?] {
        await evaluate(batch).totals.map(\.value)
    }

    public func evaluate(_ batch: [CycleEditOutput]) async -> RewardEvaluation {
        var evaluation = await weighted.evaluate(batch)
        guard let exact = evaluation.components.first(where: { $0.name == "edit_exact" }) else { return evaluation }
        let totals = evaluation.totals.map(\.value)
        evaluation.components.append(RewardComponent(
            name: "reward_when_exact", scores: zip(totals, exact.scores).map { $1 == 1 ? $0 : nil }))
        evaluation.components.append(RewardComponent(
            name: "reward_when_not_exact", scores: zip(totals, exact.scores).map { $1 == 0 ? $0 : nil }))
        return evaluation
    }
}
