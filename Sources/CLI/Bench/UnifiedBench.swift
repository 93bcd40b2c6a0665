import ArgumentParser
import Foundation
import UniRLExperts
import UniRLTensor

/// `unirl bench unified`: the unified forward (LM over prompt + queries, connector, one DiT step)
/// and a 10-step SDE rollout with log-probs at tiny sizes, and one real-scale layer of each part
/// (a Qwen2.5-VL-3B decoder layer at sequence 1024, its vision tower with one block on 1,024
/// patches, the 2048-wide connector with one block at 256 queries, Sana_1600M with one block on
/// 32×32 latents and a 300-token caption), forward and forward+backward, against the same
/// computation in PyTorch (transformers + diffusers + the connector written from the official code;
/// scripts/bench_unified.py) in the same run, with each side's peak resident memory per row.
struct UnifiedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unified",
        abstract: "Unified model forward, 10-step SDE rollout and real-scale layers vs PyTorch.",
        discussion: """
            Tiny: batch 8 distinct prompts of 24 tokens, LM width 64 (2 layers, 4 heads, 2 KV heads), 16 queries, connector \
            2 layers → 64, SANA width 64 (4 layers) on 4×8×8 latents with the reference path; the rollout uses guidance 3.5 \
            (null condition zeros). Real scale: batch 1, forward and forward+backward of L = Σout²/numel (--passes). \
            Median of --repeats runs after --warmup. Peak RSS: VmHWM of each process, reset before the row.
            """)

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Threads for our kernels and PyTorch (set UNIRL_NUM_THREADS to the same).") var threads = 2
    @Option(help: "Timed runs per tiny case (real-scale rows use a third, at least 3).") var repeats = 10
    @Option(help: "Untimed runs before them.") var warmup = 3
    @Flag(help: "Skip the PyTorch comparison even if .venv-reference exists.") var noTorch = false
    @Option(help: "Package root holding .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath
    @Option(
        help: "Comma-separated cases: unified_forward, sde_rollout_10, qwen3b_layer, qwen3b_vision_block, connector_2048, sana_1600m_block."
    )
    var cases = "unified_forward,sde_rollout_10,qwen3b_layer,qwen3b_vision_block,connector_2048,sana_1600m_block"

    static let known = ["unified_forward", "sde_rollout_10"] + realScaleNames

    func validate() throws {
        if let bad = selected.first(where: { !Self.known.contains($0) }) {
            throw ValidationError("unknown case '\(bad)'; choose from \(Self.known.joined(separator: ", "))")
        }
        if let bad = selectedPasses.first(where: { !["forward", "forward_backward"].contains($0) }) {
            throw ValidationError("unknown pass '\(bad)'; choose from forward, forward_backward")
        }
        if Parallel.threadCount != threads {
            throw ValidationError(
                "our kernels use \(Parallel.threadCount) threads; run with UNIRL_NUM_THREADS=\(threads) to benchmark \(threads)")
        }
    }

    @Option(help: "Comma-separated passes of the real-scale rows: forward, forward_backward.")
    var passes = "forward,forward_backward"

    var selected: [String] { cases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    var selectedPasses: [String] { passes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    /// One real-scale layer: its parameters, input and forward (batch 1, random weights, the real shapes).
    struct RealScaleCase {
        var name: String
        var shape: String
        var parameters: [Parameter]
        var input: Tensor
        var forward: (Tensor) -> Tensor
    }

    /// The real-scale layer `name` (one of ``realScaleNames``): Qwen2.5-VL-3B's decoder layer at
    /// sequence 1024 (causal), its vision tower with one (full-attention) block on a 32 × 32 patch
    /// grid (1,024 patches, patch embedding and merger included), the 2048-wide connector with one
    /// block at 256 queries, Sana_1600M with one block on 32 × 32 latents with a 300-token caption
    /// and the reference path.
    func realScaleCase(_ name: String, using rng: inout RandomState) throws -> RealScaleCase {
        switch name {
        case "qwen3b_layer":
            let c = QwenVLConfiguration.qwen2_5_VL_3B_Instruct.text
            let layer = TransformerBlock(
                TransformerBlockConfiguration(
                    hiddenSize: c.hiddenSize, numHeads: c.numAttentionHeads,
                    numKeyValueHeads: c.numKeyValueHeads, intermediateSize: c.intermediateSize,
                    ropeTheta: c.ropeTheta, eps: c.rmsNormEps), rng: &rng)
            let positions = Array(0..<Self.qwenSequence)
            let rotary = RotaryEmbedding.multiSectionTables(
                positions: [positions, positions, positions], sections: [16, 24, 24],
                dimension: c.hiddenSize / c.numAttentionHeads, theta: c.ropeTheta)
            return RealScaleCase(
                    name: "qwen3b_layer", shape: "[1, \(Self.qwenSequence), 2048], GQA 16/2, MLP 11008",
                    parameters: layer.namedParameters().map(\.parameter),
                    input: .randomNormal([1, Self.qwenSequence, c.hiddenSize], using: &rng),
                    forward: { layer($0, rotary: rotary, mask: AttentionMask(causal: true)) })
        case "qwen3b_vision_block":
            var c = QwenVLConfiguration.qwen2_5_VL_3B_Instruct.vision
            c.depth = 1
            c.fullAttentionBlocks = [0]
            let tower = QwenVisionTransformer(c, rng: &rng)
            let side = Self.visionGrid
            return RealScaleCase(
                    name: "qwen3b_vision_block", shape: "\(side * side) patches (\(side)×\(side)), 1280 wide, 1 block + merger",
                    parameters: tower.namedParameters().map(\.parameter),
                    input: .randomNormal([side * side, c.patchValues], using: &rng),
                    forward: { try! tower([ProcessedImage(pixelValues: $0, grid: (t: 1, h: side, w: side))]) })
        case "connector_2048":
            var c = MetaQueryConnectorConfiguration.unirlZero
            c.numHiddenLayers = 1
            let connector = try MetaQueryConnector(configuration: c, rng: &rng)
            return RealScaleCase(
                    name: "connector_2048", shape: "[1, 256, 2048] → 2304, 1 block",
                    parameters: connector.namedParameters().map(\.parameter),
                    input: .randomNormal([1, 256, 2048], using: &rng), forward: { connector($0) })
        default:
            var c = SanaTransformerConfiguration.sana1600M1024
            c.numLayers = 1
            let dit = try SanaTransformer(configuration: c, referencePath: true, rng: &rng)
            let caption = Tensor.randomNormal([1, Self.captionTokens, 2304], using: &rng)
            return RealScaleCase(
                    name: "sana_1600m_block", shape: "[1, 32, 32, 32], caption \(Self.captionTokens), 1 block + ref",
                    parameters: dit.namedParameters().map(\.parameter),
                    input: .randomNormal([1, 32, 32, 32], using: &rng),
                    forward: { dit($0, encoderHiddenStates: caption, timestep: Tensor([500])) })
        }
    }

    static let realScaleNames = ["qwen3b_layer", "qwen3b_vision_block", "connector_2048", "sana_1600m_block"]
    static let qwenSequence = 1024, visionGrid = 32, captionTokens = 300

    /// Forward without a tape and forward+backward of L = Σout²/numel (gradients for every parameter
    /// and the input), each the median of `repeats` runs after one, with the peak RSS of the row.
    func realScaleRows(_ c: RealScaleCase, repeats: Int) -> [BenchmarkRow] {
        var rows: [BenchmarkRow] = []
        if selectedPasses.contains("forward") {
            resetPeakResident()
            let ms = medianMilliseconds(warmup: 1, repeats: repeats) { _ = withoutGrad { c.forward(c.input) } }
            rows.append(BenchmarkRow(name: c.name, pass: "forward", shape: c.shape, ms: ms, peakRSSMiB: peakResidentMiB()))
        }
        if selectedPasses.contains("forward_backward") {
            let x = c.input.requiringGrad()
            resetPeakResident()
            let ms = medianMilliseconds(warmup: 1, repeats: repeats) {
                for p in c.parameters { p.zeroGrad() }
                let out = c.forward(x)
                (out.square().sum() * (1 / Float(out.elementCount))).backward()
            }
            for p in c.parameters { p.zeroGrad() }
            rows.append(BenchmarkRow(name: c.name, pass: "forward_backward", shape: c.shape, ms: ms, peakRSSMiB: peakResidentMiB()))
        }
        return rows
    }

    /// The tiny unified model (also built by scripts/bench_unified.py with seeds of its own).
    static func tinyModel() throws -> UnifiedModel {
        var rng = RandomState(seed: 0)
        let lm = QwenVLForConditionalGeneration(
            QwenVLConfiguration(
                text: Qwen2Configuration(
                    vocabSize: 600, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
                    numAttentionHeads: 4, numKeyValueHeads: 2, tieWordEmbeddings: true),
                vision: QwenVisionConfiguration(
                    depth: 1, hiddenSize: 16, intermediateSize: 32, numHeads: 2, outHiddenSize: 64,
                    windowSize: 56, fullAttentionBlocks: [0]),
                mropeSection: [4, 2, 2], imageTokenID: 590, videoTokenID: 591, visionStartTokenID: 592, visionEndTokenID: 593), rng: &rng)
        let connector = try MetaQueryConnector(
            configuration: MetaQueryConnectorConfiguration(
                hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, outputSize: 64, numQueries: 16), rng: &rng)
        let dm = try SanaTransformer(
            configuration: SanaTransformerConfiguration(
                inChannels: 4, outChannels: 4, numAttentionHeads: 2, attentionHeadDim: 32, numLayers: 4, numCrossAttentionHeads: 2,
                crossAttentionHeadDim: 32, crossAttentionDim: 64, captionChannels: 64, mlpRatio: 2.5, sampleSize: 8, patchSize: 1,
                interpolationScale: 1), referencePath: true, rng: &rng)
        return try UnifiedModel(lm: lm, connector: connector, transformer: dm, autoencoder: nil)
    }

    static let tinyShape = "B=8 prompt 24 + 16 queries, LM 64×2, connector 64×2, DiT 64×4 on 4×8×8"

    func run() throws {
        var rows: [BenchmarkRow] = []
        let real = max(3, repeats / 3)
        var rng = RandomState(seed: 1)
        let prompts = (0..<8).map { _ in LanguagePrompt(tokens: (0..<24).map { _ in Int(rng.next() % 500) }) }
        if selected.contains("unified_forward") || selected.contains("sde_rollout_10") {
            let model = try Self.tinyModel()
            if selected.contains("unified_forward") {
                let x = Tensor.randomNormal([8, 4, 8, 8], using: &rng), t = Tensor([Float](repeating: 500, count: 8))
                resetPeakResident()
                let ms = medianMilliseconds(warmup: warmup, repeats: repeats) {
                    _ = withoutGrad { () -> Tensor in
                        let c = try! model.condition(for: prompts, querySet: .t2i)
                        return model.transformer(x, encoderHiddenStates: c, timestep: t)
                    }
                }
                rows.append(
                    BenchmarkRow(name: "unified_forward", pass: "LM+connector+DiT step", shape: Self.tinyShape, ms: ms,
                                 peakRSSMiB: peakResidentMiB()))
            }
            if selected.contains("sde_rollout_10") {
                let policy = UnifiedImagePolicy(model: model, settings: SanaPolicySettings(steps: 10, noiseLevel: 0.7, guidanceScale: 3.5))
                let conditions = prompts.map { UnifiedImageCondition(prompt: $0) }
                var sampling = RandomState(seed: 2)
                resetPeakResident()
                let ms = medianMilliseconds(warmup: 1, repeats: max(3, repeats / 2)) {
                    _ = try! policy.sample(conditions, using: &sampling)
                }
                rows.append(
                    BenchmarkRow(name: "sde_rollout_10", pass: "sample+logprob, cfg 3.5", shape: Self.tinyShape, ms: ms,
                                 peakRSSMiB: peakResidentMiB()))
            }
        }
        // One layer at a time, so that each row's peak RSS holds its own layer only.
        for name in Self.realScaleNames where selected.contains(name) {
            rows += realScaleRows(try realScaleCase(name, using: &rng), repeats: real)
        }

        var versions: String?
        if !noTorch, let reference = ReferenceBenchmark(root: URL(fileURLWithPath: root), script: "scripts/bench_unified.py"),
            let out = reference.run(arguments: [
                "--threads", String(threads), "--warmup", String(warmup), "--repeats", String(repeats),
                "--cases", selected.joined(separator: ","), "--passes", selectedPasses.joined(separator: ","),
            ])
        {
            versions = "torch \(out.torch), transformers \(out.transformers ?? "?"), diffusers \(out.diffusers ?? "?")"
            rows.fillReference(from: out, label: "torch \(out.torch)")
        }
        let report = BenchmarkReport(suite: "unified", threads: threads, machine: machineDescription(), torchVersion: versions, rows: rows)
        if json {
            print(try prettyJSON(report))
        } else {
            print("unirl bench unified — \(report.machine), \(threads) threads, median ms\n")
            print(report.table())
            if versions == nil && !noTorch {
                print("\n(PyTorch columns empty: run scripts/setup-reference-env.sh to create .venv-reference)")
            }
        }
    }
}
