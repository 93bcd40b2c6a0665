import Foundation
import UniRLTensor

/// Qwen2.5-VL (transformers' `Qwen2_5_VLForConditionalGeneration`): the vision tower's merged
/// patch features replace the image-pad tokens' embeddings, the text decoder runs with 3-D
/// multimodal rotary positions, and the head maps to the vocabulary (tied or not).
///
/// Parameter names are the hub's (`model.layers.*`, `visual.*`, `lm_head.weight`); checkpoints
/// in transformers' module layout (`model.language_model.*`, `model.visual.*`) load as well.
public final class QwenVLForConditionalGeneration: CausalLanguageModel {
    public let configuration: QwenVLConfiguration
    public let model: Qwen2Model
    public let visual: QwenVisionTransformer
    public let lmHead: Linear?

    /// Builds the model with parameters from `vb` (random, loaded or shapes only), hub names.
    public init(_ c: QwenVLConfiguration, _ vb: ParameterBuilder) {
        configuration = c
        visual = QwenVisionTransformer(c.vision, vb.scoped("visual"))
        model = Qwen2Model(c.text, ropeSections: c.mropeSection, vb.scoped("model"))
        lmHead =
            c.text.tieWordEmbeddings
            ? nil : Linear(inputSize: c.text.hiddenSize, outputSize: c.text.vocabSize, bias: false, vb.scoped("lm_head"))
    }

    /// A randomly initialised model, drawing from `rng`.
    public convenience init(_ c: QwenVLConfiguration, rng: inout RandomState) {
        let vb = ParameterBuilder.random(rng)
        self.init(c, vb)
        rng = vb.randomState
    }

    public var submodules: [String: any Module] {
        var s: [String: any Module] = ["model": model, "visual": visual]
        if let lmHead { s["lm_head"] = lmHead }
        return s
    }

    public var vocabularySize: Int { configuration.text.vocabSize }
    public var placeholderTokenIDs: Set<Int> {
        [configuration.imageTokenID, configuration.videoTokenID, configuration.visionStartTokenID, configuration.visionEndTokenID]
    }
    public var layerCount: Int { configuration.text.numHiddenLayers }

    /// Maps a checkpoint name to ours: both transformers layouts, and drops a tied head's copy.
    public static func checkpointName(_ name: String, tied: Bool) -> String? {
        if tied && name == "lm_head.weight" { return nil }
        if name.hasPrefix("model.language_model.") { return "model." + name.dropFirst("model.language_model.".count) }
        if name.hasPrefix("model.visual.") { return String(name.dropFirst("model.".count)) }
        return name
    }

    /// Loads `config.json` and the weights (single file or sharded) of a transformers checkpoint.
    public static func load(from directory: URL) throws -> QwenVLForConditionalGeneration {
        try load(from: directory, matrices: .float32)
    }

    /// The same, with the weight matrices kept as `matrices` says (``WeightPrecision/bfloat16``:
    /// frozen, memory-mapped from `BF16` files).
    public static func load(from directory: URL, matrices: WeightPrecision) throws -> QwenVLForConditionalGeneration {
        let c = try QwenVLConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let vb = ParameterBuilder.loading(try ShardedCheckpoint(contentsOf: directory), matrices: matrices) {
            checkpointName($0, tied: c.text.tieWordEmbeddings)
        }
        return try load(configuration: c, from: vb)
    }

    /// Builds a model of `configuration` from a loading builder whose names are already the hub's
    /// (``checkpointName(_:tied:)``), checking that nothing is missing or left over.
    static func load(configuration: QwenVLConfiguration, from vb: ParameterBuilder) throws -> QwenVLForConditionalGeneration {
        try vb.build { QwenVLForConditionalGeneration(configuration, $0) }
    }

    /// Logits [B, T, V] from final hidden states.
    public func head(_ h: Tensor) -> Tensor {
        if let lmHead { return lmHead(h) }
        if let frozen = model.embedTokens.weight.bfloat16 { return h.linear(bfloat16: frozen, bias: nil) }
        return h.matmul(model.embedTokens.weight.value, transposeOther: true)
    }

    /// Runs of consecutive image-pad tokens among each row's real tokens: (row, start, end) in
    /// columns, in order of appearance.
    func imageRuns(_ batch: TokenBatch) -> [(row: Int, start: Int, end: Int)] {
        let t = batch.length, image = configuration.imageTokenID
        var runs: [(Int, Int, Int)] = []
        for b in 0..<batch.batch {
            var j = 0
            while j < t {
                let i = b * t + j
                if batch.ids[i] == image && batch.attentionMask[i] != 0 {
                    var e = j
                    while e < t && batch.ids[b * t + e] == image && batch.attentionMask[b * t + e] != 0 { e += 1 }
                    runs.append((b, j, e)); j = e
                } else { j += 1 }
            }
        }
        return runs
    }

    func checkImages(_ batch: TokenBatch) throws -> [(row: Int, start: Int, end: Int)] {
        let runs = imageRuns(batch)
        guard runs.count == batch.images.count else {
            throw ModelInputError.imageCountMismatch(runs: runs.count, images: batch.images.count)
        }
        let m = configuration.vision.spatialMergeSize
        for (r, im) in zip(runs, batch.images) where r.end - r.start != im.tokenCount(spatialMerge: m) {
            throw ModelInputError.imageTokensMismatch(tokens: r.end - r.start, features: im.tokenCount(spatialMerge: m))
        }
        return runs
    }

    /// 3-D rotary positions over each row's real tokens (padding at 0), as transformers'
    /// `Qwen2_5_VLModel.get_rope_index`: text advances all three streams by one per token; an image
    /// of merged grid t×h×w starting at position s takes (s + t_i, s + h_i, s + w_i), and the text
    /// after it continues at s + max(h, w).
    public func positionIDs(for batch: TokenBatch) throws -> PositionIDs {
        let runs = try checkImages(batch)
        let t = batch.length, m = configuration.vision.spatialMergeSize
        var streams = [[Int]](repeating: [Int](repeating: 0, count: batch.ids.count), count: 3)
        var next = 0
        for b in 0..<batch.batch {
            var pos = 0, j = 0
            while j < t {
                let i = b * t + j
                guard batch.attentionMask[i] != 0 else { j += 1; continue }
                if next < runs.count, runs[next].row == b, runs[next].start == j {
                    let g = batch.images[next].grid
                    let (gh, gw) = (g.h / m, g.w / m)
                    var k = i
                    for ti in 0..<g.t { for hi in 0..<gh { for wi in 0..<gw {
                        streams[0][k] = pos + ti; streams[1][k] = pos + hi; streams[2][k] = pos + wi; k += 1
                    } } }
                    pos += max(gh, gw)
                    j = runs[next].end; next += 1
                } else {
                    streams[0][i] = pos; streams[1][i] = pos; streams[2][i] = pos
                    pos += 1; j += 1
                }
            }
        }
        return PositionIDs(streams: streams, batch: batch.batch)
    }

    /// Input embeddings [B, T, C]: token embeddings with the image features in the image-pad slots.
    public func inputEmbeddings(for batch: TokenBatch) throws -> Tensor {
        if let bad = batch.ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw ModelInputError.tokenOutOfRange(bad, vocabularySize: vocabularySize)
        }
        let (b, t, c) = (batch.batch, batch.length, configuration.text.hiddenSize)
        let tokens = model.embedTokens(batch.ids, shape: [b, t])
        guard !batch.images.isEmpty else { return tokens }
        let runs = try checkImages(batch)
        let features = try visual(batch.images)                      // [N, C]
        // Gather rows from [tokens; features]: slot i takes token row i or feature row BT + k.
        var source = Array(0..<(b * t))
        var k = b * t
        for r in runs { for j in r.start..<r.end { source[r.row * t + j] = k; k += 1 } }
        return Tensor.concatenate([tokens.reshaped([b * t, c]), features], axis: 0).indexSelect(axis: 0, source).reshaped([b, t, c])
    }

    public func logits(for batch: TokenBatch, positions: PositionIDs, cache: KeyValueCache?) throws -> Tensor {
        guard positions.batch == batch.batch, positions.length == batch.length else {
            throw ModelInputError.positionShape(expected: [3, batch.batch, batch.length], got: [3, positions.batch, positions.length])
        }
        let e = try inputEmbeddings(for: batch)
        return head(model(embeddings: e, positions: positions, attentionMask: batch.maskTensor, cache: cache))
    }

    /// Logits [B, T, V] with the positions a prompt gets (``positionIDs(for:)``).
    public func callAsFunction(_ batch: TokenBatch) throws -> Tensor {
        try logits(for: batch, positions: positionIDs(for: batch), cache: nil)
    }
}
