import ArgumentParser
import Foundation
import UniRLCore
import UniRLExperts
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// `unirl pretrain cot`: the chain-of-thought SFT cold start (``ChainOfThoughtPretraining``);
/// writes the bundle folder (lm/, connector/, dm/ in F16), a sample grid, the held-out numbers
/// and the losses.
struct PretrainCoT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cot",
        abstract: "Chain-of-thought cold start of the tiny unified model: LM SFT on reasoning replies, then alignment on them.",
        discussion: """
        Starts from the bundled tiny unified model (Sources/Scenarios/Resources/tiny-unified). Phase 1 fine-tunes the LM \
        on training-side indirect prompts (reply: <think>reasoning</think><answer>resolved caption</answer>) mixed with \
        text tasks; phase 2 trains t2i queries + connector + DiT by flow matching on renders of the resolved scenes, \
        conditioned on prompt + reference reply (LM and DC-AE frozen). Writes <output>/lm, <output>/connector, \
        <output>/dm (F16; the DC-AE stays the tiny unified model's), samples.png, eval.json and pretrain_cot.json. \
        The shipped Sources/Scenarios/Resources/tiny-unified-cot is this command's output with the defaults.
        """)

    @Option(help: "LM phase steps.") var lmSteps = ChainOfThoughtPretrainingSettings().lmSteps
    @Option(help: "Alignment phase steps.") var alignmentSteps = ChainOfThoughtPretrainingSettings().alignmentSteps
    @Option(help: "Seed of every draw.") var seed: UInt64 = 0
    @Option(help: "Held-out indirect prompts scored after training (0: none).") var evalPrompts = ChainOfThoughtSettings().testPrompts
    @Option(help: "Output folder.") var output = "runs/pretrain-cot"

    func run() throws {
        var settings = ChainOfThoughtPretrainingSettings()
        settings.lmSteps = lmSteps
        settings.alignmentSteps = alignmentSteps
        settings.seed = seed
        let folder = URL(fileURLWithPath: output)
        guard let lmFolder = TinyLM.bundledDirectory else { throw TinyLMError.notBundled }
        let pretraining = ChainOfThoughtPretraining(settings: settings)
        let (generator, lm) = try pretraining.initialModel()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let start = Date()
        print("Phase 1: the LM learns reasoning replies (\(lmSteps) steps of \(settings.lmBatchSize))…")
        let lmBar = ProgressBar(total: lmSteps, keys: ["loss"])
        let lmLosses = try pretraining.trainLanguage(lm) { lmBar.update(step: $0.step, metrics: ["loss": Double($0.loss)]) }
        lmBar.finish()
        let lmSeconds = Date().timeIntervalSince(start)
        print("Phase 2: queries + connector + DiT on prompt + reply (\(alignmentSteps) steps of \(settings.alignmentBatchSize))…")
        let alignBar = ProgressBar(total: alignmentSteps, keys: ["loss"])
        let alignLosses = try pretraining.trainAlignment(generator) { alignBar.update(step: $0.step, metrics: ["loss": Double($0.loss)]) }
        alignBar.finish()
        let seconds = Date().timeIntervalSince(start)
        func mean(_ xs: ArraySlice<Float>) -> Float { xs.reduce(0, +) / Float(Swift.max(xs.count, 1)) }
        print(String(format: "LM loss (mean of 20 steps) %.4f → %.4f; flow-matching loss %.4f → %.4f; training took %.1f min "
                     + "(LM %.1f min)", mean(lmLosses.prefix(20)), mean(lmLosses.suffix(20)), mean(alignLosses.prefix(20)),
                     mean(alignLosses.suffix(20)), seconds / 60, lmSeconds / 60))
        try ChainOfThoughtModel.save(generator, lm: lm, lmFolder: lmFolder, to: folder)
        var record: [String: Any] = [
            "lm_losses": lmLosses.map(Double.init), "alignment_losses": alignLosses.map(Double.init), "training_seconds": seconds,
            "lm_seconds": lmSeconds, "seed": Int(seed), "lm_steps": lmSteps, "alignment_steps": alignmentSteps,
        ]
        if evalPrompts > 0 {
            var s = ChainOfThoughtSettings()
            s.testPrompts = evalPrompts
            s.model = folder.path
            let scenario = ChainOfThoughtScenario(generator: try s.loadModel(), settings: s)
            let prompts = try scenario.prompts(.test)
            let bar = ProgressBar(total: 2 * prompts.count, keys: [])
            let with = try scenario.evaluate(prompts, reasoning: true, seed: ChainOfThoughtPack().evaluationSeed) { bar.update(step: $0) }
            let without = try scenario.evaluate(prompts, reasoning: false, seed: ChainOfThoughtPack().evaluationSeed) {
                bar.update(step: prompts.count + $0)
            }
            bar.finish()
            let text = try scenario.textAccuracy(count: s.textEvalPrompts)
            try ImageGrid.tile(Array(with.images.prefix(24)), columns: 8).upscaled(by: 3)
                .writePNG(to: folder.appendingPathComponent("samples.png"))
            let encoder = JSONEncoder()
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            try encoder.encode(["with_reasoning": with, "without_reasoning": without]).write(to: folder.appendingPathComponent("eval.json"))
            print(with.report.table())
            print(String(format: "held-out strict ShapesEval %.1f%% with reasoning, %.1f%% without; answers %.1f%%, format %.1f%%, "
                         + "arithmetic %.1f%%, text tasks %.1f%%", 100 * with.report.overall, 100 * without.report.overall,
                         100 * with.answerAccuracy, 100 * with.formatRate, 100 * with.arithmeticAccuracy,
                         100 * (text.accuracy["text"] ?? .nan)))
            record["eval_overall"] = with.report.overall
            record["eval_overall_no_reasoning"] = without.report.overall
            record["answer_accuracy"] = with.answerAccuracy
            record["arithmetic_accuracy"] = with.arithmeticAccuracy
            record["text_accuracy"] = text.accuracy["text"] ?? 0
        }
        try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            .write(to: folder.appendingPathComponent("pretrain_cot.json"))
        print("Wrote \(folder.path): lm/, connector/, dm/, samples.png, eval.json, pretrain_cot.json")
    }
}
