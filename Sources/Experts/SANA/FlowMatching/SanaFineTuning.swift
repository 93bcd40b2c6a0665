import UniRLTensor

/// One supervised flow-matching batch: clean latents and the conditioning they go with.
public struct FlowMatchingBatch {
    /// x_0, [B, C, H, W] (already multiplied by the autoencoder's scaling factor).
    public var latents: Tensor
    /// Caption features [B, L, D]; may be on the tape (a caption encoder trained jointly).
    public var encoderHiddenStates: Tensor
    /// [B, L], 1 keep / 0 padding.
    public var encoderAttentionMask: Tensor?
    /// Reference latents [B, C, H, W] for a DiT with the reference path (editing), or nil.
    public var referenceLatents: Tensor?

    public init(latents: Tensor, encoderHiddenStates: Tensor, encoderAttentionMask: Tensor? = nil, referenceLatents: Tensor? = nil) {
        self.latents = latents
        self.encoderHiddenStates = encoderHiddenStates
        self.encoderAttentionMask = encoderAttentionMask
        self.referenceLatents = referenceLatents
    }
}

/// Supervised fine-tuning of the SANA transformer by flow matching — the "cold start" that makes
/// the diffusion expert a usable policy before RL. Each step draws t = sigmoid(n), n ~ N(m, s²)
/// and ε, and minimises ``FlowMatchingLoss`` with AdamW, global-norm clipping and a learning-rate
/// schedule. Parameters beyond the transformer's (a caption encoder producing the features on
/// the tape) are trained along when passed in `extraParameters`.
///
/// ```swift
/// let tuning = SanaFineTuning(transformer: model, extraParameters: encoder.trainableParameters(), learningRate: 1e-3)
/// for _ in 0..<1000 { let loss = tuning.step(try makeBatch(&rng), using: &rng) }
/// ```
public final class SanaFineTuning {
    public let transformer: SanaTransformer
    public let optimizer: AdamW
    public var loss: FlowMatchingLoss
    public var schedule: LearningRateSchedule
    public let baseLearningRate: Float
    /// Global L2 gradient clip; 0 disables.
    public var maxGradNorm: Float
    private let parameters: [Parameter]
    public private(set) var stepCount = 0

    public init(transformer: SanaTransformer, extraParameters: [(name: String, parameter: Parameter)] = [],
                learningRate: Float = 1e-3, weightDecay: Float = 0, schedule: LearningRateSchedule = .constant,
                maxGradNorm: Float = 1, timesteps: LogitNormalTimesteps = LogitNormalTimesteps()) {
        self.transformer = transformer
        let named = transformer.trainableParameters().map { ("transformer." + $0.name, $0.parameter) }
            + extraParameters.map { ("extra." + $0.name, $0.parameter) }
        optimizer = AdamW(parameters: named, learningRate: learningRate, weightDecay: weightDecay)
        parameters = named.map(\.1)
        self.schedule = schedule
        baseLearningRate = learningRate
        self.maxGradNorm = maxGradNorm
        loss = FlowMatchingLoss(timesteps: timesteps)
    }

    /// One optimizer step on `batch`; returns the loss before the update. A non-finite loss or
    /// gradient skips the update.
    @discardableResult
    public func step(_ batch: FlowMatchingBatch, using rng: inout RandomState) -> Float {
        for p in parameters { p.zeroGrad() }
        defer { for p in parameters { p.zeroGrad() } }
        let value = loss(clean: batch.latents, using: &rng) { noised, levels in
            transformer(noised, encoderHiddenStates: batch.encoderHiddenStates, timestep: Tensor(levels.map { $0 * 1000 }),
                        encoderAttentionMask: batch.encoderAttentionMask, referenceHiddenStates: batch.referenceLatents)
        }
        let scalar = value.item
        guard scalar.isFinite else { return scalar }
        value.backward()
        let norm = maxGradNorm > 0 ? clipGradientNorm(parameters, maxNorm: maxGradNorm) : gradientNorm(parameters)
        guard norm.isFinite else { return scalar }
        optimizer.learningRate = schedule.rate(base: baseLearningRate, step: stepCount)
        optimizer.step()
        stepCount += 1
        return scalar
    }

    /// `steps` optimizer steps on batches from `makeBatch(step, &rng)`; `progress(step, loss)`
    /// after each. Returns the losses.
    @discardableResult
    public func train(steps: Int, using rng: inout RandomState,
                      makeBatch: (Int, inout RandomState) throws -> FlowMatchingBatch,
                      progress: (Int, Float) -> Void = { _, _ in }) rethrows -> [Float] {
        var losses: [Float] = []
        for k in 0..<steps {
            let batch = try makeBatch(k, &rng)
            let value = step(batch, using: &rng)
            losses.append(value)
            progress(k + 1, value)
        }
        return losses
    }
}
