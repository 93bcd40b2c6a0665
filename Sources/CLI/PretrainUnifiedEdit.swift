import ArgumentParser
import Foundation
import UniRLCore
import UniRLExperts
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// What `unirl pretrain unified` trains.
enum UnifiedStage: String, ExpressibleByArgument, CaseIterable { case t2i, edit }

// `unirl pretrain unified --stage edit`: the edit cold start (``UnifiedEditPretraining``).
extension PretrainUnified {
    func runEditStage() throws {
        var settings = UnifiedEditPretrainingSettings()
        settings.steps = steps
        settings.batchSize = batchSize
        settings.learningRate = learningRate
        settings.seed = seed
        let folder = URL(fileURLWithPath: output)
        let pretraining = UnifiedEditPretraining(settings: settings)
        let generator = try pretraining.initialModel(base: base.map { URL(fileURLWithPath: $0) })
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        print("Edit cold start of the tiny unified model (\(steps) steps of \(batchSize) editing pairs; LM and DC-AE frozen)…")
        let start = Date()
        let bar = ProgressBar(total: steps, keys: ["loss"])
        let losses = try pretraining.train(generator) { bar.update(step: $0.step, metrics: ["loss": Double($0.loss)]) }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        let head = losses.prefix(50), tail = losses.suffix(50)
        print(String(format: "flow-matching loss (mean of 50 steps) %.4f → %.4f; training took %.1f min",
                     head.reduce(0, +) / Float(Swift.max(head.count, 1)), tail.reduce(0, +) / Float(Swift.max(tail.count, 1)),
                     seconds / 60))
        try UnifiedEditModel.save(generator, to: folder)
        var record: [String: Any] = ["losses": losses.map(Double.init), "training_seconds": seconds, "steps": steps,
                                     "batch_size": batchSize, "seed": seed]
        if evalEdits > 0 {
            var s = CycleEditSettings()
            s.testEdits = evalEdits
            let examples = s.edits(.test)
            // An edit folder as --base (connector/ and dm/ only) takes the LM and DC-AE of the bundled model, as training did.
            let withLM = base.map { URL(fileURLWithPath: $0) }.flatMap {
                FileManager.default.fileExists(atPath: $0.appendingPathComponent("lm/config.json").path) ? $0 : nil
            }
            let loaded = try UnifiedEditModel.load(from: folder, base: withLM)
            let evaluation = CycleEditEvaluation()
            let evalBar = ProgressBar(total: 2 * examples.count, keys: [])
            let (edited, reconstructed) = try evaluation.draw(loaded, examples: examples,
                                                              settings: s.generationSettings(seed: CycleEditPack().evaluationSeed)) {
                evalBar.update(step: $0)
            }
            evalBar.finish()
            let success = zip(examples, edited).filter { evaluation.matches($1, scene: $0.sample.target) }.count
            let cycle = zip(examples, reconstructed).filter { evaluation.matches($1, scene: $0.sample.source) }.count
            try CycleEditEvaluation.grid(examples: examples, edited: edited, reconstructed: reconstructed)
                .writePNG(to: folder.appendingPathComponent("edits.png"))
            record["eval_edits"] = examples.count
            record["edit_success"] = Double(success) / Double(examples.count)
            record["cycle_success"] = Double(cycle) / Double(examples.count)
            print(String(format: "held-out exact edit success %.1f %%, cycle success %.1f %% (%d quadruples)",
                         100 * Double(success) / Double(examples.count), 100 * Double(cycle) / Double(examples.count), examples.count))
        }
        try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            .write(to: folder.appendingPathComponent("pretrain_unified_edit.json"))
        print("Wrote \(folder.path): connector/, dm/, edits.png, pretrain_unified_edit.json")
    }
}
