import UniRLTensor

/// One supervised example: a token sequence, which of its tokens the loss covers (the
/// assistant's reply, typically), and the images its placeholders stand for.
public struct SupervisedExample: Sendable {
    public var tokens: [Int]
    /// 1 where token i is a training target (predicted from tokens before it), 0 elsewhere.
    public var lossMask: [Int]
    public var images: [ProcessedImage]

    public init(tokens: [Int], lossMask: [Int], images: [ProcessedImage] = []) {
        precondition(tokens.count == lossMask.count, "one loss-mask entry per token")
        self.tokens = tokens; self.lossMask = lossMask; self.images = images
    }
}

/// Supervised fine-tuning of a language model: mean next-token cross-entropy over the masked
/// (assistant) tokens of a batch, as trl's SFT with `assistant_only_loss`.
public struct SupervisedFineTuning<Model: CausalLanguageModel> {
    public let model: Model
    public var padID: Int

    public init(model: Model, padID: Int = 0) { self.model = model; self.padID = padID }

    /// The loss on the tape; nil when no example has a target token.
    public func loss(_ examples: [SupervisedExample]) throws -> Tensor? {
        let batch = TokenBatch(leftPadding: examples.map(\.tokens), padID: padID, images: examples.flatMap(\.images))
        let (b, t) = (batch.batch, batch.length)
        // Target of column j is token j + 1 when that token is masked in; −100 otherwise.
        var targets = [Int](repeating: -100, count: b * t)
        for (r, e) in examples.enumerated() {
            let offset = t - e.tokens.count
            for i in 1..<max(e.tokens.count, 1) where e.lossMask[i] != 0 { targets[r * t + offset + i - 1] = e.tokens[i] }
        }
        guard targets.contains(where: { $0 != -100 }) else { return nil }
        let logits = try model.logits(for: batch, positions: model.positionIDs(for: batch), cache: nil)
        return logits.reshaped([b * t, model.vocabularySize]).crossEntropy(targets: targets)
    }

    /// One optimizer step on a batch; returns the loss before the step.
    @discardableResult
    public func step(_ examples: [SupervisedExample], optimizer: any Optimizer) throws -> Float? {
        model.zeroGrad()
        guard let l = try loss(examples) else { return nil }
        l.backward()
        optimizer.step()
        return l.item
    }
}
