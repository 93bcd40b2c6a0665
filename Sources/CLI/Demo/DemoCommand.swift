import ArgumentParser
import Foundation
import UniRLCore
import UniRLScenarios
import UniRLTensor

/// `unirl demo`: the main job in a few minutes — a short `t2i` run (GRPO on the bundled tiny
/// unified model with the ShapesEval reward), then the held-out ShapesEval table before and after
/// and where the grids and curves are. `--engine` runs the old engine demo instead (a tiny
/// transformer learns to reverse digit sequences in seconds).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "A short t2i GRPO run on the bundled tiny unified model, with the held-out ShapesEval table before and after.",
        discussion: """
            Equivalent to `unirl train --scenario t2i` with run.steps=--steps, experts.dm.learning_rate=--learning-rate, \
            scenario.test_prompts=--eval-prompts and run.output_dir=--output (run.overwrite=true). --engine instead trains \
            a tiny transformer to reverse digit sequences (a few seconds of the tensor engine).
            """)

    @Option(help: "GRPO steps (8 prompts × 8 samples each, the t2i defaults otherwise).")
    var steps = TextToImagePack.demoSteps
    @Option(help: "Learning rate of connector, queries and DiT (the t2i default is 3e-4).")
    var learningRate = TextToImagePack.demoLearningRate
    @Option(help: "Held-out evaluation prompts (evenly spaced among the 600 bundled ones; 600: all).")
    var evalPrompts = TextToImagePack.demoEvaluationPrompts
    @Option(help: "Steps between held-out evaluations during training (eval_curve.png); 0: start and end only.") var evalEvery = 0
    @Option(help: "Output folder.") var output = "runs/demo"
    @Option(help: "Seed of the run.") var seed = 0
    @Flag(help: "Run the engine demo instead (a tiny transformer learns to reverse digit sequences).") var engine = false

    func run() async throws {
        if engine {
            try EngineDemo().run()
            return
        }
        print("UniRL demo: GRPO on the bundled tiny unified model (tiny Qwen2.5-VL LM → meta-queries → connector → tiny SANA),")
        print("LM frozen; connector, queries and DiT learn ShapesWorld prompts from the ShapesEval reward.")
        if evalPrompts < 600 {
            print(
                "The held-out table uses \(evalPrompts) of the 600 evaluation prompts (evenly spaced) to fit the demo's time; "
                    + "the README's numbers use all 600 (`unirl train --scenario t2i`).")
        }
        let pack = try ScenarioRegistry.shared.pack(named: "t2i")
        let summary = try await pack.run(
            configFile: nil,
            overrides: [
                "run.steps=\(steps)", "run.seed=\(seed)", "experts.dm.learning_rate=\(learningRate)", "run.output_dir=\(output)",
                "run.overwrite=true",
                "scenario.test_prompts=\(evalPrompts)", "scenario.eval_every=\(evalEvery)",
            ])
        let subset = summary.evalPrompts < 600 ? " of the 600, evenly spaced" : ""
        print("\nHeld-out ShapesEval (strict GenEval rules, \(summary.evalPrompts) prompts\(subset), one image each, same noise):")
        print("| category | before | after |")
        print("|---|---:|---:|")
        for category in ["single_object", "two_object", "counting", "colors", "position", "color_attr"] {
            guard let b = summary.extra["\(category)_start"], let a = summary.extra["\(category)_end"] else { continue }
            print(String(format: "| %@ | %.1f%% | %.1f%% |", category, 100 * b, 100 * a))
        }
        print(String(format: "| **overall** | **%.1f%%** | **%.1f%%** |", 100 * summary.before, 100 * summary.after))
        print(
            String(
                format: "\n%d GRPO steps, %.1f min in all. In %@: samples_start.png, samples_end.png (same prompts and seeds), "
                    + "reward_curve.png, eval_start.json, eval_end.json, metrics.jsonl, summary.json"
                    + (evalEvery > 0 ? ", eval_curve.png" : ""),
                summary.steps, summary.seconds / 60, output))
    }
}
