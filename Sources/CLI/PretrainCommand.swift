import ArgumentParser
import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// `unirl pretrain …`: the cold-start training of the bundled tiny models.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain", abstract: "Pretrain the bundled tiny models on ShapesWorld.",
        subcommands: [PretrainSana.self, PretrainLM.self, PretrainClip.self, PretrainUnified.self, PretrainCoT.self])
}

/// `unirl pretrain sana`: the tiny DC-AE, then the tiny SANA transformer and caption encoder
/// (``TinySanaPretraining``); writes the model folder, sample grids and the losses.
struct PretrainSana: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sana",
        abstract: "Train the tiny DC-AE (f4, 8×8 latents) and the tiny SANA + caption encoder on ShapesWorld captions.",
        discussion: """
            Writes <output>/transformer, <output>/vae, <output>/caption_encoder (F16 safetensors, diffusers \
            layout), reconstructions.png (renders above their reconstructions), samples.png (captions of the \
            evaluation set, Euler ODE with guidance) and losses.json. The shipped model is this command's \
            output with the defaults, copied to Sources/Scenarios/Resources/tiny-sana.
            """)

    @Option(help: "Autoencoder optimizer steps.") var autoencoderSteps = TinySanaPretrainingSettings().autoencoderSteps
    @Option(help: "Transformer optimizer steps.") var transformerSteps = TinySanaPretrainingSettings().transformerSteps
    @Option(help: "Batch size of both phases.") var batchSize = TinySanaPretrainingSettings().transformerBatchSize
    @Option(help: "Seed of every draw.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "runs/pretrain-sana"
    @Option(help: "Guidance scale of the sample grid.") var guidanceScale: Float = 3
    @Option(help: "Euler steps of the sample grid.") var sampleSteps = 20
    @Option(help: "Skip training: write the grids of the model folder at this path.") var from: String?

    func run() throws {
        if let from {
            let models = try TinySana.load(from: URL(fileURLWithPath: from))
            try writeGrids(models, to: URL(fileURLWithPath: output))
            return
        }
        var settings = TinySanaPretrainingSettings()
        settings.autoencoderSteps = autoencoderSteps
        settings.transformerSteps = transformerSteps
        settings.autoencoderBatchSize = batchSize
        settings.transformerBatchSize = batchSize
        settings.seed = seed
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)

        var bar: ProgressBar?, phase = "", losses: [String: [Float]] = [:], started: [String: Date] = [:]
        let start = Date()
        let models = try TinySanaPretraining(settings: settings).run { p in
            if p.phase != phase {
                bar?.finish()
                phase = p.phase
                started[phase] = Date()
                print("Pretraining the \(phase) (\(p.total) steps of \(batchSize))…")
                bar = ProgressBar(total: p.total, keys: ["loss"])
            }
            losses[p.phase, default: []].append(p.loss)
            bar?.update(step: p.step, metrics: ["loss": Double(p.loss)])
        }
        bar?.finish()
        let seconds = Date().timeIntervalSince(start)
        for name in ["autoencoder", "transformer"] {
            guard let l = losses[name], !l.isEmpty else { continue }
            let head = l.prefix(50), tail = l.suffix(50)
            print(
                String(
                    format: "%@ loss (mean of 50 steps) %.4f → %.4f", name,
                    head.reduce(0, +) / Float(head.count), tail.reduce(0, +) / Float(tail.count)))
        }
        print(
            String(
                format: "latent scaling factor %.4f; pretraining took %.1f min", models.autoencoder.configuration.scalingFactor,
                seconds / 60))

        try models.save(to: folder)
        let saved = try TinySana.load(from: folder)  // the F16 weights, as shipped
        try writeGrids(saved, to: folder)
        let record: [String: Any] = [
            "seconds": seconds, "losses": losses.mapValues { $0.map(Double.init) },
            "scaling_factor": saved.autoencoder.configuration.scalingFactor,
        ]
        try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]).write(to: folder.appendingPathComponent("losses.json"))
        print("Wrote \(folder.path): transformer/, vae/, caption_encoder/, reconstructions.png, samples.png, losses.json")
    }

    /// reconstructions.png and samples.png (3× size) in `folder` (``TinySana/writeGrids(to:guidanceScale:sampleSteps:)``).
    func writeGrids(_ models: TinySana, to folder: URL) throws {
        let captions = try models.writeGrids(to: folder, guidanceScale: guidanceScale, sampleSteps: sampleSteps)
        for (i, c) in captions.enumerated() { print(String(format: "  sample %2d: %@", i, c)) }
    }
}

/// `unirl pretrain lm`: the tiny LM's tokenizer and supervised cold start (``TinyLMPretraining``);
/// writes the model folder, the losses and the held-out accuracies.
struct PretrainLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Train the tiny LM's BPE tokenizer and the tiny Qwen2.5-VL LM on ShapesWorld text, VQA and text tasks.",
        discussion: """
            --stage lm (the default) trains the tokenizer and the whole model; --stage vision starts from the \
            model folder --base (the bundled LM by default) and trains only the vision tower and patch merger on \
            ShapesWorld VQA with the decoder and embeddings frozen (LLaVA's first stage), at the processor's \
            min_pixels 84² (9 image tokens per 32 × 32 render); --stage text continues the whole model of --base \
            (the bundled LM by default; tokenizer unchanged) on text tasks worked step by step (column addition \
            and subtraction with carries and borrows, multiplication as running sums; three quarters with operands \
            up to 99) with replay of VQA, captions and indirect prompts: 1,000 steps of 32 at 1e-3 (the shipped \
            Sources/Scenarios/Resources/tiny-lm-text, the `text` scenario's cold start). Writes <output>/lm (transformers layout: \
            config.json, model.safetensors in F16, tokenizer.json, tokenizer_config.json, preprocessor_config.json, \
            generation_config.json) and <output>/pretrain_lm.json (losses, seconds, held-out greedy accuracy per \
            kind). The shipped model is `--stage lm` then `--stage vision --base <output>/lm` with the defaults, \
            copied to Sources/Scenarios/Resources/tiny-unified/lm. With --from, only evaluates.
            """)

    enum Stage: String, ExpressibleByArgument, CaseIterable { case lm, vision, text }

    @Option(help: "What to train: lm (tokenizer and whole model), vision (vision tower only) or text (worked text tasks), from --base.")
    var stage = Stage.lm
    @Option(help: "Optimizer steps (default 700 for lm, 300 for vision, 1000 for text).") var steps: Int?
    @Option(help: "Batch size.") var batchSize = TinyLMPretrainingSettings().batchSize
    @Option(help: "Peak learning rate (default 3e-3; 1e-3 for text).") var learningRate: Float?
    @Option(help: "--stage text: the share of text tasks with operands up to 99 (default 0.75).")
    var extendedTextShare: Double?
    @Option(help: "Held-out prompts per evaluated kind.") var evaluationCount = TinyLMPretrainingSettings().evaluationCount
    @Option(help: "Seed of every training draw.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "runs/pretrain-lm"
    @Option(help: "--stage vision or text: the model folder to start from (default: the bundled LM).") var base: String?
    @Option(help: "Skip training: evaluate the model folder at this path.") var from: String?
    @Option(help: "Also write what the model computes on 2 held-out prompts per kind to this JSON file.")
    var probe: String?

    func validate() throws {
        if let share = extendedTextShare, !(0...1).contains(share) {
            throw ValidationError("--extended-text-share must be in [0, 1], got \(share)")
        }
    }

    func run() throws {
        var settings = stage == .text ? TinyLMPretrainingSettings.textStage : TinyLMPretrainingSettings()
        settings.steps = steps ?? settings.steps
        settings.batchSize = batchSize
        settings.learningRate = learningRate ?? settings.learningRate
        settings.extendedTextShare = extendedTextShare ?? settings.extendedTextShare
        settings.evaluationCount = evaluationCount
        settings.seed = seed
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pretraining = TinyLMPretraining(settings: settings)
        var record: [String: Any] = [:]
        let start = Date()
        let lm: TinyLM
        if let from {
            lm = try TinyLM.load(from: URL(fileURLWithPath: from))
        } else if stage == .vision {
            lm = try trainVision(folder: folder, record: &record)
        } else if stage == .text {
            lm = try trainText(settings: settings, folder: folder, record: &record)
        } else {
            print("Training the tokenizer and the tiny LM (\(settings.steps) steps of \(batchSize))…")
            let bar = ProgressBar(total: settings.steps, keys: ["loss"])
            let (fresh, tokenizer, losses) = try pretraining.run { step, _, loss in
                bar.update(step: step, metrics: ["loss": Double(loss)])
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            print(
                String(
                    format: "vocabulary %d tokens (%d merges); %d parameters; loss (mean of 50 steps) %@; training took %.1f min",
                    tokenizer.vocabularySize, tokenizer.merges.count, fresh.model.parameterCount(), Self.lossSummary(losses),
                    seconds / 60))
            try fresh.save(to: folder.appendingPathComponent("lm"), trained: tokenizer)
            lm = try TinyLM.load(from: folder.appendingPathComponent("lm"))  // the F16 weights, as shipped
            record["losses"] = losses.map(Double.init)
            record["training_seconds"] = seconds
        }
        let heldOut = pretraining.heldOutTasks()
        if let probe {
            let chosen = TinyLMTask.Kind.allCases.flatMap { k in heldOut.filter { $0.kind == k }.prefix(2) }
            try JSONSerialization.data(withJSONObject: try TinyLMPretraining.probe(lm, tasks: chosen))
                .write(to: URL(fileURLWithPath: probe))
        }
        // Worked completions run to ~70 tokens (9×9 as nine running sums).
        let evaluation = try TinyLMPretraining.evaluate(lm, tasks: heldOut, maxNewTokens: 96)
        let seconds = Date().timeIntervalSince(start)
        print("Held-out greedy accuracy (evaluation seed \(settings.evaluationSeed)):")
        for kind in evaluation.accuracy.keys.sorted() {
            print(
                String(
                    format: "  %-9@ %5.1f%% of %d (format followed %.1f%%)", kind, 100 * (evaluation.accuracy[kind] ?? 0),
                    evaluation.count[kind] ?? 0, 100 * (evaluation.formatRate[kind] ?? 0)))
            for sub in evaluation.bySubkind.keys.sorted() where sub.hasPrefix(kind + "/") {
                print(String(format: "      %-22@ %5.1f%%", sub, 100 * (evaluation.bySubkind[sub] ?? 0)))
            }
        }
        record["seconds"] = seconds
        record["stage"] = from == nil ? stage.rawValue : "evaluation"
        record["evaluation"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(evaluation))
        try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted])
            .write(to: folder.appendingPathComponent("pretrain_lm.json"))
        print(String(format: "Took %.1f min in all; wrote %@", seconds / 60, folder.path))
    }

    /// `--stage vision`: trains the vision tower of --base, checks that the text path is
    /// bit-identical (parameters and a text-only prompt's hidden states) and saves.
    func trainVision(folder: URL, record: inout [String: Any]) throws -> TinyLM {
        guard let baseFolder = base.map({ URL(fileURLWithPath: $0) }) ?? TinyLM.bundledDirectory else {
            throw TinyLMError.notBundled
        }
        var settings = TinyLMVisionStageSettings()
        settings.steps = steps ?? settings.steps
        settings.batchSize = batchSize
        settings.learningRate = learningRate ?? settings.learningRate
        settings.seed = seed
        let start = Date()
        let before = try TinyLM.load(from: baseFolder), working = try TinyLM.load(from: baseFolder)
        let probeText = "What is 7 + 5?"
        let hiddenBefore = try TinyLMVisionStage.textHiddenStates(before, prompt: probeText)
        print("Training the vision tower of \(baseFolder.path) (\(settings.steps) steps of \(batchSize), decoder frozen)…")
        let bar = ProgressBar(total: settings.steps, keys: ["loss"])
        let (trained, losses) = try TinyLMVisionStage(settings: settings).train(working) { step, _, loss in
            bar.update(step: step, metrics: ["loss": Double(loss)])
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        print(
            String(
                format: "%d of %d parameters trained; loss (mean of 50 steps) %@; training took %.1f min",
                trained.model.visual.parameterCount(), trained.model.parameterCount(), Self.lossSummary(losses), seconds / 60))
        let lmFolder = folder.appendingPathComponent("lm")
        try trained.save(to: lmFolder, tokenizerFrom: baseFolder)
        let saved = try TinyLM.load(from: lmFolder)  // the F16 weights, as shipped
        let changed = TinyLMVisionStage.changedTextParameters(before, saved)
        let hiddenSame = try TinyLMVisionStage.textHiddenStates(saved, prompt: probeText) == hiddenBefore
        print(
            "text path bit-identical to the base: parameters \(changed.isEmpty ? "yes" : "NO (\(changed))"), "
                + "hidden states of \"\(probeText)\" \(hiddenSame ? "yes" : "NO")")
        record["losses"] = losses.map(Double.init)
        record["training_seconds"] = seconds
        record["text_path_identical"] = changed.isEmpty && hiddenSame
        return saved
    }

    /// `--stage text`: continues --base on worked text tasks with replay (``TinyLMPretrainingSettings/textStage``) and saves.
    func trainText(settings: TinyLMPretrainingSettings, folder: URL, record: inout [String: Any]) throws -> TinyLM {
        guard let baseFolder = base.map({ URL(fileURLWithPath: $0) }) ?? TinyLM.bundledDirectory else {
            throw TinyLMError.notBundled
        }
        let start = Date()
        let lm = try TinyLM.load(from: baseFolder)
        print("Training \(baseFolder.path) on worked text tasks with replay (\(settings.steps) steps of \(settings.batchSize))…")
        let bar = ProgressBar(total: settings.steps, keys: ["loss"])
        var rng = RandomState(seed: settings.seed)
        let losses = try TinyLMPretraining(settings: settings).train(lm, using: &rng) { step, _, loss in
            bar.update(step: step, metrics: ["loss": Double(loss)])
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "loss (mean of 50 steps) %@; training took %.1f min", Self.lossSummary(losses), seconds / 60))
        let lmFolder = folder.appendingPathComponent("lm")
        try lm.save(to: lmFolder, tokenizerFrom: baseFolder)
        record["losses"] = losses.map(Double.init)
        record["training_seconds"] = seconds
        return try TinyLM.load(from: lmFolder)  // the F16 weights, as shipped
    }

    static func lossSummary(_ losses: [Float]) -> String {
        let head = losses.prefix(50), tail = losses.suffix(50)
        return String(
            format: "%.4f → %.4f", head.reduce(0, +) / Float(Swift.max(head.count, 1)),
            tail.reduce(0, +) / Float(Swift.max(tail.count, 1)))
    }
}

/// `unirl pretrain unified`: the alignment SFT of the tiny unified model (``UnifiedPretraining``);
/// writes the model folder, a sample grid, the held-out ShapesEval table and the losses.
struct PretrainUnified: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unified",
        abstract: "Align the tiny unified model: t2i queries + connector + DiT on ShapesWorld captions, LM and DC-AE frozen.",
        discussion: """
        Starts from the bundled tiny LM (Sources/Scenarios/Resources/tiny-unified/lm) and the bundled tiny SANA's \
        transformer and DC-AE (Sources/Scenarios/Resources/tiny-sana). Writes <output>/lm (copied), <output>/connector, \
        <output>/dm, <output>/vae (F16), samples.png (evaluation prompts, Euler ODE with guidance), eval.json (strict \
        ShapesEval on --eval-prompts evenly spaced evaluation prompts) and pretrain_unified.json (losses, seconds). \
        The shipped connector/, dm/ and vae/ are this command's output with the defaults. \
        --stage edit: the edit cold start (i2i queries + connector + DiT with its reference path on ShapesWorld \
        editing quadruples, LM and DC-AE frozen); writes <output>/connector and <output>/dm (F16; the shipped \
        Sources/Scenarios/Resources/tiny-unified-edit), edits.png, eval.json and pretrain_unified_edit.json.
        """)

    @Option(help: "Optimizer steps.") var steps = UnifiedPretrainingSettings().steps
    @Option(help: "Batch size.") var batchSize = UnifiedPretrainingSettings().batchSize
    @Option(help: "Peak learning rate.") var learningRate = UnifiedPretrainingSettings().learningRate
    @Option(help: "Meta-queries.") var numQueries = UnifiedPretrainingSettings().numQueries
    @Option(help: "Seed of every draw.") var seed: UInt64 = 0
    @Option(help: "The LM folder (default: the bundled tiny LM).") var lm: String?
    @Option(help: "The tiny SANA folder the DiT and DC-AE start from (default: the bundled one).") var sana: String?
    @Option(help: "Evaluation prompts scored after training (0: none).") var evalPrompts = 600
    @Option(help: "Output folder.") var output = "runs/pretrain-unified"
    @Option(help: "Continue from this unified model folder's connector, queries and DiT (\"bundled\": the shipped one).")
    var from: String?
    @Option(help: "t2i (alignment, the default) or edit (the edit cold start on ShapesWorld editing pairs, from --base).")
    var stage = UnifiedStage.t2i
    @Option(help: "--stage edit: the unified model folder to start from (default: the bundled tiny unified model).") var base: String?
    @Option(help: "--stage edit: held-out editing quadruples scored after training (0: none).") var evalEdits = 96

    /// `--from` continues the t2i alignment and `--base` starts the edit stage: each given with the
    /// other stage would be silently ignored, so it is refused.
    func validate() throws {
        if stage == .edit, from != nil { throw ValidationError("--from continues the t2i alignment; with --stage edit use --base") }
        if stage == .t2i, base != nil { throw ValidationError("--base is the edit stage's start; with --stage t2i use --from") }
    }

    func run() throws {
        if stage == .edit { return try runEditStage() }
        var settings = UnifiedPretrainingSettings()
        settings.steps = steps
        settings.batchSize = batchSize
        settings.learningRate = learningRate
        settings.numQueries = numQueries
        settings.seed = seed
        let folder = URL(fileURLWithPath: output)
        guard let lmFolder = lm.map({ URL(fileURLWithPath: $0) }) ?? TinyLM.bundledDirectory else { throw TinyLMError.notBundled }
        let pretraining = UnifiedPretraining(settings: settings)
        let generator: UnifiedImageGenerator
        if let from {
            guard let start = from == "bundled" ? BundledUnifiedModel.directory : URL(fileURLWithPath: from) else {
                throw TinyModelError.unifiedNotBundled
            }
            generator = try pretraining.continuedModel(from: start, lmFolder: lmFolder)
        } else {
            generator = try pretraining.initialModel(lmFolder: lmFolder, sanaFolder: sana.map { URL(fileURLWithPath: $0) })
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        print("Aligning the tiny unified model (\(steps) steps of \(batchSize); LM and DC-AE frozen)…")
        let start = Date()
        let bar = ProgressBar(total: steps, keys: ["loss"])
        let losses = try pretraining.train(generator) { bar.update(step: $0.step, metrics: ["loss": Double($0.loss)]) }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        let head = losses.prefix(50), tail = losses.suffix(50)
        print(String(format: "flow-matching loss (mean of 50 steps) %.4f → %.4f; training took %.1f min",
                     head.reduce(0, +) / Float(Swift.max(head.count, 1)), tail.reduce(0, +) / Float(Swift.max(tail.count, 1)),
                     seconds / 60))
        try UnifiedPretraining.save(generator, lmFolder: lmFolder, to: folder)
        var record: [String: Any] = ["losses": losses.map(Double.init), "training_seconds": seconds]
        if evalPrompts > 0 {
            var s = TextToImagePack().defaultSettings
            s.testPrompts = evalPrompts
            s.model = folder.path
            let scenario = UnifiedTextToImageScenario(generator: try s.loadUnifiedModel(), reward: ShapesEvalReward(), settings: s)
            let prompts = try scenario.prompts(.test)
            let evalBar = ProgressBar(total: prompts.count, keys: [])
            let (report, images) = try scenario.evaluate(prompts, seed: TextToImagePack().evaluationSeed) { evalBar.update(step: $0) }
            evalBar.finish()
            try ImageGrid.tile(TextToImagePack.gridIndices(prompts).map { images[$0] }, columns: 8).upscaled(by: 3)
                .writePNG(to: folder.appendingPathComponent("samples.png"))
            try JSONEncoder().encode(report).write(to: folder.appendingPathComponent("eval.json"))
            print(report.table())
            record["eval_overall"] = report.overall
        }
        try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            .write(to: folder.appendingPathComponent("pretrain_unified.json"))
        print("Wrote \(folder.path): lm/, connector/, dm/, vae/, samples.png, eval.json, pretrain_unified.json")
    }
}

/// `unirl pretrain clip`: ShapesCLIP (``ShapesCLIPPretraining``), then its held-out evaluation
/// (``ShapesCLIPEvaluation``); `--evaluate` only evaluates a model folder.
struct PretrainClip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Train ShapesCLIP contrastively on ShapesWorld renders and captions; report held-out retrieval and zero-shot accuracy.",
        discussion: """
        Writes <output>/ (config.json, model.safetensors in F16, vocab.json, merges.txt, \
        preprocessor_config.json: transformers' CLIP layout) and <output>/evaluation.json. The shipped \
        model is this command's output with the defaults, copied to Sources/Scenarios/Resources/shapes-clip.
        """)

    @Option(help: "Optimizer steps.") var steps = ShapesCLIPPretrainingSettings().steps
    @Option(help: "Pairs per step.") var batchSize = ShapesCLIPPretrainingSettings().batchSize
    @Option(help: "Peak learning rate.") var learningRate = ShapesCLIPPretrainingSettings().learningRate
    @Option(help: "Seed of every draw.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "runs/pretrain-clip"
    @Option(help: "Held-out pairs of the evaluation.") var pairs = 500
    @Option(help: "Skip training: evaluate the model folder at this path ('bundled' for the shipped one).") var evaluate: String?

    func run() throws {
        if let evaluate {
            let clip = evaluate == "bundled" ? try ShapesCLIP.load() : try CLIPEmbedder(directory: URL(fileURLWithPath: evaluate))
            report(try ShapesCLIPEvaluation.run(clip, pairs: pairs))
            return
        }
        var settings = ShapesCLIPPretrainingSettings()
        settings.steps = steps; settings.batchSize = batchSize; settings.learningRate = learningRate; settings.seed = seed
        print("Pretraining ShapesCLIP (\(steps) steps of \(batchSize) pairs)…")
        let bar = ProgressBar(total: steps, keys: ["loss"])
        var losses: [Float] = []
        let start = Date()
        let trained = try ShapesCLIPPretraining(settings: settings).run { p in
            losses.append(p.loss)
            bar.update(step: p.step, metrics: ["loss": Double(p.loss)])
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        let head = losses.prefix(50), tail = losses.suffix(50)
        print(String(format: "loss (mean of 50 steps) %.4f → %.4f; %d parameters; training took %.1f min",
                     head.reduce(0, +) / Float(max(head.count, 1)), tail.reduce(0, +) / Float(max(tail.count, 1)),
                     trained.model.parameterCount(), seconds / 60))
        let folder = URL(fileURLWithPath: output)
        try trained.save(to: folder)
        let saved = try CLIPEmbedder(directory: folder)   // the F16 weights, as shipped
        let result = try ShapesCLIPEvaluation.run(saved, pairs: pairs)
        report(result)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result).write(to: folder.appendingPathComponent("evaluation.json"))
        let record: [String: Any] = ["seconds": seconds, "losses": losses.map(Double.init)]
        try JSONSerialization.data(withJSONObject: record).write(to: folder.appendingPathComponent("losses.json"))
        print("Wrote \(folder.path)")
    }

    func report(_ r: ShapesCLIPEvaluation) {
        print(String(format: "held-out retrieval recall@1 over %d pairs: image→text %.1f%%, text→image %.1f%%",
                     r.pairs, 100 * r.imageToTextRecall, 100 * r.textToImageRecall))
        print(String(format: "zero-shot accuracy: colour %.1f%% (6-way), shape %.1f%% (3-way), count %.1f%% (4-way)",
                     100 * r.colourAccuracy, 100 * r.shapeAccuracy, 100 * r.countAccuracy))
    }
}
