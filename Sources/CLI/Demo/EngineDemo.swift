import Foundation
import UniRLCore
import UniRLTensor

/// `unirl demo --engine`: a short, real training run of the engine — a tiny transformer learns
/// to reverse digit sequences, with a progress bar and the loss falling (seconds on two cores).
struct EngineDemo {
    var steps = 300
    var batchSize = 32
    var length = 6
    var learningRate: Float = 3e-3
    var seed: UInt64 = 0

    func run() throws {
        let task = SequenceReversalTask(length: length)
        var rng = RandomState(seed: seed)
        let model = TinyCausalLM(vocabulary: task.vocabularySize, hidden: 64, layers: 2, heads: 4, rng: &rng)
        let optimizer = AdamW(parameters: model.trainableParameters(), learningRate: learningRate, weightDecay: 0.01)
        let schedule = LearningRateSchedule.cosine(warmupSteps: steps / 10, totalSteps: steps, minimumRatio: 0.1)
        print("Reversing \(length)-digit sequences with a \(model.parameterCount())-parameter transformer, \(steps) steps of \(batchSize).")
        let progress = ProgressBar(total: steps, keys: ["loss"])
        var firstLoss: Float?
        var lastLoss: Float = 0
        for step in 0..<steps {
            let (tokens, targets) = task.batch(batchSize, using: &rng)
            model.zeroGrad()
            let loss = model(tokens, batch: batchSize).crossEntropy(targets: targets)
            loss.backward()
            clipGradientNorm(model.trainableParameters().map(\.parameter), maxNorm: 1)
            optimizer.learningRate = schedule.rate(base: learningRate, step: step)
            optimizer.step()
            lastLoss = loss.item
            if firstLoss == nil { firstLoss = lastLoss }
            progress.update(step: step + 1, metrics: ["loss": Double(lastLoss)])
            // Without a terminal the bar is silent: log ten lines instead.
            if !progress.isEnabled && ((step + 1) % Swift.max(steps / 10, 1) == 0 || step + 1 == steps) {
                print(progress.line(step: step + 1, metrics: ["loss": Double(lastLoss)]))
            }
        }
        progress.finish()
        var evalRNG = RandomState(seed: seed &+ 1)
        let (tokens, targets) = task.batch(256, using: &evalRNG)
        let logits = withoutGrad { model(tokens, batch: 256) }
        let v = task.vocabularySize
        var correct = 0, scored = 0
        logits.withUnsafeBufferPointer { p in
            for (i, t) in targets.enumerated() where t >= 0 {
                let row = p[(i * v)..<((i + 1) * v)]
                scored += 1
                if row.indices.max(by: { row[$0] < row[$1] })! - i * v == t { correct += 1 }
            }
        }
        print(String(format: "loss %.4f → %.4f; held-out token accuracy %.1f%% (chance %.1f%%)",
                     firstLoss ?? 0, lastLoss, 100 * Double(correct) / Double(scored), 100.0 / Double(task.digits)))
    }
}
