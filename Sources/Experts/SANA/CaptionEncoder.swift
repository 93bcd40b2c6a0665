import Foundation
import UniRLTensor

/// The settings of ``CaptionEncoder``, stored as its `config.json` (snake_case keys).
public struct CaptionEncoderConfiguration: Codable, Sendable, Equatable {
    /// The words, in id order; ids 0 and 1 are `<pad>` and `<unk>`.
    public var vocabulary: [String]
    /// D, the width of the features (the transformer's `caption_channels`).
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    /// L: captions are padded or cut to this many tokens.
    public var maxLength: Int

    public static let padToken = "<pad>", unknownToken = "<unk>"

    public init(vocabulary: [String], hiddenSize: Int = 64, numLayers: Int = 2, numHeads: Int = 2,
                intermediateSize: Int = 128, maxLength: Int = 24) {
        self.vocabulary = vocabulary; self.hiddenSize = hiddenSize; self.numLayers = numLayers
        self.numHeads = numHeads; self.intermediateSize = intermediateSize; self.maxLength = maxLength
    }

    /// `<pad>`, `<unk>`, then every word of `captions` (``CaptionEncoder/words(of:)``), sorted.
    public static func vocabulary(from captions: [String]) -> [String] {
        [padToken, unknownToken] + Set(captions.flatMap(CaptionEncoder.words)).sorted()
    }

    public func validate() throws {
        func fail(_ reason: String) -> ModelConfigurationError { .inconsistent("caption encoder: " + reason) }
        guard vocabulary.count >= 2, vocabulary[0] == Self.padToken, vocabulary[1] == Self.unknownToken else {
            throw fail("the vocabulary must start with \(Self.padToken) and \(Self.unknownToken)")
        }
        guard Set(vocabulary).count == vocabulary.count else { throw fail("the vocabulary repeats a word") }
        guard hiddenSize > 0, numLayers >= 0, numHeads > 0, hiddenSize % numHeads == 0, (hiddenSize / numHeads) % 2 == 0 else {
            throw fail("hidden_size \(hiddenSize) must split into \(numHeads) heads of even size")
        }
        guard intermediateSize > 0, maxLength > 0 else { throw fail("intermediate_size and max_length must be positive") }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabulary, hiddenSize = "hidden_size", numLayers = "num_layers", numHeads = "num_heads"
        case intermediateSize = "intermediate_size", maxLength = "max_length"
    }
}

/// A small trainable caption encoder for the tiny SANA of ShapesWorld: caption → features
/// [L, D] + mask [L], the interface the full system fills with the language model and connector.
///
///     tokens = words of the lower-cased caption (commas apart), padded with <pad> to L
///     h = embed_tokens(tokens)
///     h = layers_i(h)   bidirectional TransformerBlocks (RMSNorm, rotary positions, SwiGLU), key padding mask
///     features = norm(h)
///
/// A learned `null_embedding` [D] stands for the empty caption (classifier-free guidance): one
/// token at position 0, the rest masked.
///
/// ```swift
/// let encoder = try CaptionEncoder.load(from: folder)
/// let (features, mask) = encoder.encode(["a red circle", "two blue squares"])   // [2, L, D], [2, L]
/// ```
public final class CaptionEncoder: Module {
    public let configuration: CaptionEncoderConfiguration
    let tokenEmbedding: Embedding
    let layers: ModuleList<TransformerBlock>
    let norm: RMSNorm
    let nullEmbedding: Parameter
    private let ids: [String: Int]

    /// A randomly initialised encoder, drawing from `rng`; throws for an invalid configuration.
    public convenience init(configuration c: CaptionEncoderConfiguration, rng: inout RandomState) throws {
        try c.validate()
        let vb = ParameterBuilder.random(rng)
        self.init(configuration: c, vb)
        rng = vb.randomState
    }

    /// Builds the encoder with parameters from `vb`; `configuration` must be valid.
    init(configuration c: CaptionEncoderConfiguration, _ vb: ParameterBuilder) {
        configuration = c
        tokenEmbedding = Embedding(count: c.vocabulary.count, dimension: c.hiddenSize, vb.scoped("embed_tokens"))
        let block = TransformerBlockConfiguration(hiddenSize: c.hiddenSize, numHeads: c.numHeads, intermediateSize: c.intermediateSize)
        layers = ModuleList((0..<c.numLayers).map { TransformerBlock(block, vb.scoped("layers.\($0)")) })
        norm = RMSNorm(dimension: c.hiddenSize, vb.scoped("norm"))
        nullEmbedding = vb.parameter("null_embedding", [1, c.hiddenSize], .normal(std: 1))
        ids = Dictionary(uniqueKeysWithValues: c.vocabulary.enumerated().map { ($0.element, $0.offset) })
    }

    public var parameters: [String: Parameter] { ["null_embedding": nullEmbedding] }
    public var submodules: [String: any Module] { ["embed_tokens": tokenEmbedding, "layers": layers, "norm": norm] }

    /// The words of a caption: lower-cased, split at spaces, commas as words of their own.
    public static func words(of caption: String) -> [String] {
        caption.lowercased().replacingOccurrences(of: ",", with: " , ").split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// Token ids of `caption`, cut to L, and how many are real (the rest is padding).
    public func tokenize(_ caption: String) -> (ids: [Int], length: Int) {
        let words = Self.words(of: caption).prefix(configuration.maxLength)
        let real = words.map { ids[$0] ?? 1 }
        return (real + [Int](repeating: 0, count: configuration.maxLength - real.count), real.count)
    }

    /// Features [B, L, D] and mask [B, L] of `captions` (on the tape while training). An empty
    /// caption attends to its first (padding) token, so that no row of the mask is all zeros.
    public func encode(_ captions: [String]) -> (features: Tensor, mask: Tensor) {
        let l = configuration.maxLength, b = captions.count
        let tokens = captions.map(tokenize)
        let mask = Tensor(shape: [b, l], scalars: tokens.flatMap { t in (0..<l).map { $0 < Swift.max(t.length, 1) ? 1 : 0 } })
        var h = tokenEmbedding(tokens.flatMap(\.ids), shape: [b, l])
        let rotary = RotaryEmbedding.tables(positions: Array(0..<l), dimension: configuration.hiddenSize / configuration.numHeads,
                                            theta: 10_000)
        let attention = AttentionMask(causal: false, keyPadding: mask)
        for layer in layers.items { h = layer(h, rotary: rotary, mask: attention) }
        return (norm(h), mask)
    }

    /// The unconditional features [B, L, D] and mask [B, L]: the null embedding at position 0.
    public func unconditional(count b: Int) -> (features: Tensor, mask: Tensor) {
        let l = configuration.maxLength, d = configuration.hiddenSize
        let row = Tensor.concatenate([nullEmbedding.value, Tensor.zeros([l - 1, d])], axis: 0)
        let mask = Tensor(shape: [b, l], scalars: (0..<b).flatMap { _ in (0..<l).map { $0 == 0 ? Float(1) : 0 } })
        return (row.unsqueezed(0).broadcast(to: [b, l, d]), mask)
    }

    // MARK: Files

    /// Writes `config.json` and `model.safetensors` (F32 or F16) into `directory`.
    public func save(to directory: URL, dtype: SafeTensorsDType = .F32) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(configuration).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        try SafeTensors.write(stateDict(), dtype: dtype, to: directory.appendingPathComponent("model.safetensors"))
    }

    /// Reads a folder written by ``save(to:dtype:)``; every parameter must be present with its shape.
    public static func load(from directory: URL) throws -> CaptionEncoder {
        let configuration = try decodeModelConfiguration(CaptionEncoderConfiguration.self,
                                                         from: directory.appendingPathComponent("config.json"),
                                                         knownKeys: Set(CaptionEncoderConfiguration.CodingKeys.allCases.map(\.rawValue)))
        try configuration.validate()
        let vb = ParameterBuilder.loading(try ShardedCheckpoint(contentsOf: directory))
        return try vb.build { CaptionEncoder(configuration: configuration, $0) }
    }
}
