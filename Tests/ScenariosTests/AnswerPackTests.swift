import Foundation
import Testing
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLScenarios
import UniRLTensor

/// The `text` and `vqa` scenarios, end to end in a few tiny steps (the learning check is the slow
/// command in the README).
@Suite(.serialized) struct AnswerPackTests {
    func temporaryDirectory(_ tag: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("answer-\(tag)-\(UUID().uuidString)")
    }

    /// A few steps of a few prompts, short completions (so that some hit the limit).
    func quick(_ output: URL, _ more: [String] = []) -> [String] {
        [
            "run.output_dir=\(output.path)", "run.steps=2", "run.tensorboard=false", "run.progress_bar=never",
            "trainer.prompts_per_step=2", "trainer.group_size=3", "scenario.train_prompts=6", "scenario.test_prompts=4",
            "scenario.max_new_tokens=6", "scenario.evaluation_tokens=6",
        ] + more
    }

    func metricRows(_ output: URL) throws -> [[String: Any]] {
        try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    @Test(arguments: [AnswerPack.Task.text, .vqa])
    func aShortRunWritesSummaryCurvesAndTokenMetrics(task: AnswerPack.Task) async throws {
        let output = temporaryDirectory(task.rawValue)
        defer { try? FileManager.default.removeItem(at: output) }
        let summary = try await ScenarioRunner(pack: AnswerPack(task: task)).run(configFile: nil, overrides: quick(output))
        #expect(summary.steps == 2 && summary.evalPrompts == 4 && summary.metric == "accuracy")
        #expect((0...1).contains(summary.before) && (0...1).contains(summary.after))
        let other = task == .text ? "vqa_accuracy" : "text_accuracy"
        #expect(summary.extra["\(other)_start"] != nil && summary.extra["\(other)_end"] != nil)
        let rows = try metricRows(output)
        #expect(rows.count == 2)
        for key in [
            "reward", "kl", "entropy", "completions/mean_length", "completions/clipped_ratio", "rewards/accuracy/mean",
            "rewards/format/mean",
        ] {
            #expect(rows.allSatisfy { $0[key] is Double || $0[key] is Int }, "\(key)")
        }
        // Six tokens are too few for the tiny LM's replies: every completion is clipped.
        #expect(rows.allSatisfy { ($0["completions/clipped_ratio"] as? Double) == 1 })
        for file in [
            "summary.json", "reward_curve.png", "curve_reward.png", "curve_kl.png", "curve_entropy.png",
            "curve_completions_mean_length.png", "heldout_start.jsonl", "heldout_end.jsonl",
        ] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), "\(file)")
        }
        // The trained LM is written in the bundled folder's layout and loads again as a whole tiny LM.
        let saved = output.appendingPathComponent("lm")
        let reloaded = try AnswerLanguageModel(directory: saved, options: GenerationOptions())
        #expect(reloaded.imageProcessor != nil && reloaded.stopTokens == [reloaded.tokenizer.imEndID, reloaded.tokenizer.endOfTextID])
        let bundled = try TinyLM.load(from: #require(TinyLM.bundledDirectory))
        #expect(try TinyLM.load(from: saved).model.parameterCount() == bundled.model.parameterCount())
    }

    /// `scenario.pass_at_k`: sampled accuracy and pass@k on the held-out questions at the start and
    /// the end; pass@1 is the sampled mean, pass@k lies between the mean and k × the mean, and the
    /// draws are seeded.
    @Test func passAtKIsReportedAndBounded() async throws {
        var settings = AnswerPack(task: .text).defaultSettings
        settings.testPrompts = 6
        settings.forgetting = false
        let scenario = try AnswerPack(task: .text).makeScenario(settings: settings, configuration: GRPOConfiguration())
        let one = try scenario.sampledAccuracy(on: scenario.test, samples: 1)
        #expect(one.mean == one.passAtK)
        let three = try scenario.sampledAccuracy(on: scenario.test, samples: 3)
        #expect(three.passAtK >= three.mean && three.passAtK <= min(1, 3 * three.mean) + 1e-12)
        #expect(try scenario.sampledAccuracy(on: scenario.test, samples: 3) == three)
        #expect(three.mean > 0, "the text stage answers some of six held-out questions when sampling")

        let output = temporaryDirectory("passk")
        defer { try? FileManager.default.removeItem(at: output) }
        let summary = try await ScenarioRunner(pack: AnswerPack(task: .text))
            .run(configFile: nil, overrides: quick(output, ["run.steps=1", "scenario.pass_at_k=2", "scenario.forgetting=false"]))
        for key in ["sampled_accuracy_start", "pass_at_k_start", "sampled_accuracy_end", "pass_at_k_end"] {
            #expect(summary.extra[key].map { (0...1).contains($0) } == true, "\(key)")
        }
        #expect(throws: ConfigurationError.self) {
            try ScenarioRunner(pack: AnswerPack(task: .text)).resolve(configFile: nil, overrides: ["scenario.pass_at_k=-1"])
        }
    }

    @Test func aMalformedPromptFileLineIsNamed() throws {
        let dir = temporaryDirectory("prompts")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("prompts.jsonl")
        let good = #"{"question": "What is 1 + 1?", "answer": "2", "matching": "integer"}"#
        let test = #"{"question": "What is 2 + 2?", "answer": 4, "matching": "integer", "split": "test"}"#
        try [good, "", test].joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let read = try AnswerPromptFile.read(file)
        #expect(read.train.count == 1 && read.test.count == 1 && read.test[0].answer == "4")
        for (content, line) in [
            (good + "\n{\"question\": 3}", 2), (good + "\n\n" + test + "\nnot json", 4),
            (good + "\n" + #"{"question": "q", "answer": "a", "matching": "fuzzy"}"#, 2),
        ] {
            try content.write(to: file, atomically: true, encoding: .utf8)
            #expect {
                try AnswerPromptFile.read(file)
            } throws: { error in
                guard case .malformedLine(_, let l, _)? = error as? AnswerPromptFileError else { return false }
                return l == line && "\(error)".contains("prompts.jsonl:\(line):")
            }
        }
    }

    @Test func theSystemMessageComesFromTheTemplate() {
        let qwen25 = #"{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.<|im_end|>\n' }}"#
        #expect(AnswerLanguageModel.defaultSystemMessage(inTemplate: qwen25) == "You are Qwen, created by Alibaba Cloud.")
        #expect(
            AnswerLanguageModel.defaultSystemMessage(inTemplate: HFTokenizerConfig.qwen2_5_VLChatTemplate)
                == "You are a helpful assistant.")
        #expect(AnswerLanguageModel.defaultSystemMessage(inTemplate: "<|im_start|>system\n{{ messages[0] }}<|im_end|>") == nil)
    }

    /// A randomly initialised Qwen2.5-VL checkpoint in the hub's layout (flat config.json with
    /// `rope_scaling`, two BF16 shards and their index, tokenizer files with their own system
    /// message and stop token) runs `vqa` through `scenario.lm`.
    @Test func aHubLayoutCheckpointRunsTheScenarios() async throws {
        let dir = temporaryDirectory("hub")
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeHubCheckpoint(to: dir)
        let lm = try AnswerLanguageModel(directory: dir, options: GenerationOptions(maxNewTokens: 4))
        #expect(lm.systemMessage == "You are a tiny test model.")
        #expect(lm.stopTokens == [lm.tokenizer.imEndID])
        #expect(lm.imageProcessor != nil)
        let output = temporaryDirectory("hub-run")
        defer { try? FileManager.default.removeItem(at: output) }
        let summary = try await ScenarioRunner(pack: AnswerPack(task: .vqa))
            .run(configFile: nil, overrides: quick(output, ["scenario.lm=\(dir.path)", "run.steps=1"]))
        #expect(summary.steps == 1)

        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer.json"))
        #expect(throws: AnswerLMError.self) { try AnswerLanguageModel(directory: dir, options: GenerationOptions()) }
    }

    func writeHubCheckpoint(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bundled = try #require(TinyLM.bundledDirectory)
        let tokenizer = try QwenTokenizer(tokenizerJSON: bundled.appendingPathComponent("tokenizer.json"))
        try FileManager.default.copyItem(
            at: bundled.appendingPathComponent("tokenizer.json"),
            to: dir.appendingPathComponent("tokenizer.json"))
        var c = TinyLM.configuration(vocabularySize: tokenizer.bpe.vocabularySize + 8, tokenizer: tokenizer)
        c.text.hiddenSize = 32; c.text.intermediateSize = 48; c.text.numHiddenLayers = 1
        c.text.numAttentionHeads = 2; c.text.numKeyValueHeads = 1; c.mropeSection = [2, 3, 3]
        c.text.tieWordEmbeddings = false
        c.vision.outHiddenSize = 32
        var rng = RandomState(seed: 5)
        let model = QwenVLForConditionalGeneration(c, rng: &rng)
        let state = model.stateDict(), names = state.keys.sorted()
        let halves = [Array(names.prefix(names.count / 2)), Array(names.dropFirst(names.count / 2))]
        var weightMap: [String: String] = [:]
        for (i, half) in halves.enumerated() {
            let file = "model-0000\(i + 1)-of-00002.safetensors"
            try SafeTensors.write(
                Dictionary(uniqueKeysWithValues: half.map { ($0, state[$0]!) }), dtype: .BF16,
                to: dir.appendingPathComponent(file))
            for n in half { weightMap[n] = file }
        }
        func write(_ object: Any, _ name: String) throws {
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: dir.appendingPathComponent(name))
        }
        try write(["metadata": ["total_size": 0], "weight_map": weightMap], "model.safetensors.index.json")
        let t = c.text, v = c.vision
        try write(
            [
                "architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl", "torch_dtype": "bfloat16",
                "vocab_size": t.vocabSize, "hidden_size": t.hiddenSize, "intermediate_size": t.intermediateSize,
                "num_hidden_layers": t.numHiddenLayers, "num_attention_heads": t.numAttentionHeads,
                "num_key_value_heads": t.numKeyValueHeads, "rms_norm_eps": 1e-6, "hidden_act": "silu", "tie_word_embeddings": false,
                "rope_theta": 10000.0, "rope_scaling": ["type": "mrope", "mrope_section": c.mropeSection],
                "use_sliding_window": false, "max_position_embeddings": 2048, "attention_dropout": 0.0,
                "bos_token_id": tokenizer.endOfTextID, "eos_token_id": tokenizer.imEndID,
                "image_token_id": c.imageTokenID, "video_token_id": c.videoTokenID,
                "vision_start_token_id": c.visionStartTokenID, "vision_end_token_id": c.visionEndTokenID,
                "vision_config": [
                    "model_type": "qwen2_5_vl_vision", "depth": v.depth, "hidden_size": v.hiddenSize,
                    "intermediate_size": v.intermediateSize,
                    "num_heads": v.numHeads, "out_hidden_size": v.outHiddenSize, "patch_size": v.patchSize,
                    "spatial_merge_size": v.spatialMergeSize, "temporal_patch_size": v.temporalPatchSize, "window_size": v.windowSize,
                    "fullatt_block_indexes": v.fullAttentionBlocks, "in_chans": v.inChannels, "tokens_per_second": v.tokensPerSecond,
                    "hidden_act": "silu",
                ] as [String: Any],
            ] as [String: Any], "config.json")
        let template = HFTokenizerConfig.qwen2_5_VLChatTemplate.replacingOccurrences(
            of: "You are a helpful assistant.", with: "You are a tiny test model.")
        try write(["chat_template": template, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"], "tokenizer_config.json")
        try write(["eos_token_id": tokenizer.imEndID], "generation_config.json")
    }
}
