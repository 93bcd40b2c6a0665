import UniRLCore
import UniRLTensor

/// What the unified model's image expert is conditioned on: the LM's input (the chat-formatted
/// prompt, followed by whatever the LM wrote, with the source image(s) for the vision tower), the
/// query set, and for editing the DiT's reference latent.
public struct UnifiedImageCondition: @unchecked Sendable {
    /// Prompt tokens (+ the LM's generated tokens) and the images their image-pad tokens stand for.
    public var prompt: LanguagePrompt
    /// `t2i` for generation, `i2i` for editing (the official choice).
    public var querySet: MetaQuerySet
    /// The reference latent [C, H, W] the DiT's reference path reads (already noised as
    /// 0.8·ref + 0.2·z, as the official sampler does), or nil.
    public var reference: Tensor?

    public init(prompt: LanguagePrompt, querySet: MetaQuerySet = .t2i, reference: Tensor? = nil) {
        self.prompt = prompt
        self.querySet = querySet
        self.reference = reference
    }
}

/// The unified model's diffusion expert (named `dm`): SANA's Flow-GRPO SDE sampler
/// (``SanaPolicy``) whose condition is *computed* from the LM — [prompt ; queries] through the LM,
/// the final-norm states at the queries through the connector — so that ``replay(_:given:)``
/// recomputes the condition on the tape and the DM's surrogate sends gradients into the
/// connector, the queries and (when it trains) the LM. Guidance uses the zero vector as the null
/// condition (the official `img_hidden_states_null`), double for generation and triple with a
/// reference latent.
///
/// The expert's ``module`` holds the connector (with the queries) and the DiT; the LM belongs to
/// the LM expert, which decides (frozen or not) whether the DM loss moves it.
///
/// ```swift
/// let dm = UnifiedImagePolicy(model: model, settings: SanaPolicySettings(steps: 10, guidanceScale: 3.5))
/// let rollouts = try dm.sample(conditions, using: &rng)
/// let replays = try dm.replay(rollouts, given: conditions)    // taped through connector, queries, LM
/// ```
public final class UnifiedImagePolicy: SDEPolicyExpert, SDESamplingConfigurable {
    public typealias Rollout = SanaPolicy.Rollout
    public let name: String
    public let model: UnifiedModel
    /// The SDE sampler over the model's DiT (its settings are this expert's).
    public let sampler: SanaPolicy
    public let module: any Module

    public init(model: UnifiedModel, settings: SanaPolicySettings = SanaPolicySettings(), latentSize: Int? = nil, name: String = "dm") {
        self.name = name
        self.model = model
        let n = model.connector.configuration.numQueries ?? 1
        let null = SanaCondition(embedding: .zeros([n, model.connector.configuration.outputSize]))
        sampler = SanaPolicy(transformer: model.transformer, settings: settings, unconditional: null, latentSize: latentSize, name: name)
        module = ModuleDictionary(["connector": model.connector, "dm": model.transformer])
    }

    public var settings: SanaPolicySettings {
        get { sampler.settings }
        set { sampler.settings = newValue }
    }

    /// The sampler's window of stochastic steps and initial-noise sharing (``SanaPolicy/samplingPlan``).
    public var samplingPlan: SDESamplingPlan {
        get { sampler.samplingPlan }
        set { sampler.samplingPlan = newValue }
    }

    /// SANA conditions for `conditions`: one LM + connector pass per distinct text-only prompt
    /// (a group shares its prompt), per query set; prompts with images each get their own row.
    public func sanaConditions(_ conditions: [UnifiedImageCondition]) throws -> [SanaCondition] {
        var rowOf: [Int] = [], unique: [UnifiedImageCondition] = [], seen: [String: Int] = [:]
        for c in conditions {
            let key = c.prompt.images.isEmpty ? c.querySet.rawValue + ":" + c.prompt.tokens.map(String.init).joined(separator: ",") : nil
            if let key, let i = seen[key] { rowOf.append(i); continue }
            if let key { seen[key] = unique.count }
            rowOf.append(unique.count)
            unique.append(c)
        }
        var embeddings = [Tensor?](repeating: nil, count: unique.count)
        for set in MetaQuerySet.allCases {
            let rows = unique.indices.filter { unique[$0].querySet == set }
            guard !rows.isEmpty else { continue }
            let condition = try model.condition(for: rows.map { unique[$0].prompt }, querySet: set)
            for (k, r) in rows.enumerated() { embeddings[r] = condition.slice(axis: 0, k..<(k + 1)).squeezed(0) }
        }
        return zip(conditions, rowOf).map { c, r in SanaCondition(embedding: embeddings[r]!, reference: c.reference) }
    }

    /// Runs the SDE sampler from fresh noise for every condition (no tape).
    public func sample(_ conditions: [UnifiedImageCondition], using rng: inout RandomState) throws -> [Rollout] {
        let sana = try withoutGrad { try sanaConditions(conditions) }
        return try sampler.sample(sana, using: &rng)
    }

    /// Recomputes the conditions and every trained step's log-probability, on the tape.
    public func replay(_ rollouts: [Rollout], given conditions: [UnifiedImageCondition]) throws -> [SDEReplay] {
        try sampler.replay(rollouts, given: sanaConditions(conditions))
    }

    /// Deterministic evaluation samples (Euler ODE, `steps` steps, the rollouts' guidance): x_N [n, C, H, W].
    public func generate(_ conditions: [UnifiedImageCondition], steps: Int, using rng: inout RandomState) throws -> Tensor {
        let sana = try withoutGrad { try sanaConditions(conditions) }
        return try withoutGrad { try sampler.generate(sana, steps: steps, using: &rng) }
    }
}
