import UniRLTensor

/// Token sequences laid out [B, T] with padding (left or right), as transformers' `input_ids` and
/// `attention_mask`, plus the processed images whose placeholder tokens the sequences contain.
public struct TokenBatch: Sendable {
    /// Token ids, row-major [B, T].
    public var ids: [Int]
    /// 1 for real tokens, 0 for padding, [B, T].
    public var attentionMask: [Int]
    /// Rows (B).
    public var batch: Int
    /// Images in order of appearance (row by row), one per run of image-pad tokens.
    public var images: [ProcessedImage]

    /// Columns (T).
    public var length: Int { batch == 0 ? 0 : ids.count / batch }

    public init(ids: [Int], attentionMask: [Int]? = nil, batch: Int, images: [ProcessedImage] = []) {
        precondition(batch > 0 && ids.count % batch == 0, "\(ids.count) ids do not split into \(batch) rows")
        precondition(attentionMask == nil || attentionMask!.count == ids.count, "attention mask and ids differ in size")
        self.ids = ids
        self.attentionMask = attentionMask ?? Array(repeating: 1, count: ids.count)
        self.batch = batch
        self.images = images
    }

    /// Left-pads rows of different lengths with `padID` into one batch.
    public init(leftPadding rows: [[Int]], padID: Int, images: [ProcessedImage] = []) {
        let t = rows.map(\.count).max() ?? 0
        var ids = [Int](), mask = [Int]()
        for r in rows {
            ids += Array(repeating: padID, count: t - r.count) + r
            mask += Array(repeating: 0, count: t - r.count) + Array(repeating: 1, count: r.count)
        }
        self.init(ids: ids, attentionMask: mask, batch: rows.count, images: images)
    }

    /// The attention mask as a [B, T] tensor.
    public var maskTensor: Tensor { Tensor(shape: [batch, length], scalars: attentionMask.map(Float.init)) }
}

/// Rotary position ids in three streams (temporal, height, width), each row-major [B, T]. Text
/// tokens carry the same position in all three; Qwen2 (1-D rotary) reads only the first.
public struct PositionIDs: Equatable, Sendable {
    public var streams: [[Int]]
    public var batch: Int

    public init(streams: [[Int]], batch: Int) {
        precondition(streams.count == 3 && streams.allSatisfy { $0.count == streams[0].count }, "three equal position streams expected")
        self.streams = streams
        self.batch = batch
    }

    /// The same 1-D positions in all three streams.
    public init(text positions: [Int], batch: Int) { self.init(streams: [positions, positions, positions], batch: batch) }

    /// Columns (T).
    public var length: Int { streams[0].count / batch }

    /// 0..<T in every row, whatever the padding (transformers' forward without `position_ids`).
    public static func sequential(batch: Int, length: Int, offset: Int = 0) -> PositionIDs {
        PositionIDs(text: (0..<batch).flatMap { _ in (offset..<(offset + length)).map { $0 } }, batch: batch)
    }

    /// Positions counting only real tokens (`cumsum(mask) − 1`, padding at 0), as transformers'
    /// generation prepares them: a row's positions do not depend on how much it is padded.
    public static func counting(mask: [Int], batch: Int) -> PositionIDs {
        let t = mask.count / batch
        var out = [Int](repeating: 0, count: mask.count)
        for b in 0..<batch {
            var seen = 0
            for j in 0..<t where mask[b * t + j] != 0 { out[b * t + j] = seen; seen += 1 }
        }
        return PositionIDs(text: out, batch: batch)
    }

    /// Per row, the position the next generated token takes: one past the largest position of a real token.
    public func nextPositions(mask: [Int]) -> [Int] {
        let t = length
        return (0..<batch).map { b in
            var m = -1
            for j in 0..<t where mask[b * t + j] != 0 { for s in streams { m = Swift.max(m, s[b * t + j]) } }
            return m + 1
        }
    }
}

/// A decoder-only language model the generator and the policy can drive: full-sequence logits
/// with gradients (replay, SFT) and incremental decoding through a ``KeyValueCache``.
public protocol CausalLanguageModel: Module {
    /// Vocabulary size V (logits' last dimension).
    var vocabularySize: Int { get }
    /// Attention layers (the cache's size).
    var layerCount: Int { get }
    /// The rotary positions this model gives `batch` when it is a prompt (images included).
    func positionIDs(for batch: TokenBatch) throws -> PositionIDs
    /// Logits [B, T, V] of `batch` at `positions`. With a `cache`, `batch` holds the new tokens
    /// only: they attend to the cached ones and are appended to the cache.
    func logits(for batch: TokenBatch, positions: PositionIDs, cache: KeyValueCache?) throws -> Tensor
    /// Tokens that stand for image or video content in a prompt and so must never be generated
    /// (Qwen2.5-VL's `<|vision_start|>`, `<|vision_end|>`, `<|image_pad|>`, `<|video_pad|>`); none for
    /// a text-only model.
    var placeholderTokenIDs: Set<Int> { get }
}

extension CausalLanguageModel {
    /// An empty cache for this model.
    public func makeCache() -> KeyValueCache { KeyValueCache(layers: layerCount) }
    public var placeholderTokenIDs: Set<Int> { [] }
}
