import Foundation

/// The vision tower settings of Qwen2.5-VL (transformers' `Qwen2_5_VLVisionConfig`).
public struct QwenVisionConfiguration: Codable, Sendable, Equatable {
    public var depth: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHeads: Int
    public var outHiddenSize: Int
    public var patchSize: Int
    public var spatialMergeSize: Int
    public var temporalPatchSize: Int
    public var windowSize: Int
    public var fullAttentionBlocks: [Int]
    public var inChannels: Int
    public var tokensPerSecond: Int
    public var hiddenAct: String
    public var ropeTheta: Float

    public init(depth: Int, hiddenSize: Int, intermediateSize: Int, numHeads: Int, outHiddenSize: Int,
                patchSize: Int = 14, spatialMergeSize: Int = 2, temporalPatchSize: Int = 2, windowSize: Int = 112,
                fullAttentionBlocks: [Int], inChannels: Int = 3, tokensPerSecond: Int = 2, ropeTheta: Float = 10_000) {
        self.depth = depth; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.numHeads = numHeads; self.outHiddenSize = outHiddenSize; self.patchSize = patchSize
        self.spatialMergeSize = spatialMergeSize; self.temporalPatchSize = temporalPatchSize
        self.windowSize = windowSize; self.fullAttentionBlocks = fullAttentionBlocks; self.inChannels = inChannels
        self.tokensPerSecond = tokensPerSecond; self.hiddenAct = "silu"; self.ropeTheta = ropeTheta
    }

    enum CodingKeys: String, CodingKey {
        case depth, hiddenSize = "hidden_size", intermediateSize = "intermediate_size", numHeads = "num_heads"
        case outHiddenSize = "out_hidden_size", patchSize = "patch_size", spatialMergeSize = "spatial_merge_size"
        case temporalPatchSize = "temporal_patch_size", windowSize = "window_size"
        case fullAttentionBlocks = "fullatt_block_indexes", inChannels = "in_channels", inChans = "in_chans"
        case tokensPerSecond = "tokens_per_second", hiddenAct = "hidden_act", ropeParameters = "rope_parameters"
        case spatialPatchSize = "spatial_patch_size"
    }

    struct RopeParameters: Codable { var rope_theta: Float?; var rope_type: String? }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        depth = try c.decode(Int.self, forKey: .depth)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHeads = try c.decode(Int.self, forKey: .numHeads)
        outHiddenSize = try c.decode(Int.self, forKey: .outHiddenSize)
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? c.decodeIfPresent(Int.self, forKey: .spatialPatchSize) ?? 14
        spatialMergeSize = try c.decodeIfPresent(Int.self, forKey: .spatialMergeSize) ?? 2
        temporalPatchSize = try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? 2
        windowSize = try c.decodeIfPresent(Int.self, forKey: .windowSize) ?? 112
        fullAttentionBlocks = try c.decodeIfPresent([Int].self, forKey: .fullAttentionBlocks) ?? [7, 15, 23, 31]
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? c.decodeIfPresent(Int.self, forKey: .inChans) ?? 3
        tokensPerSecond = try c.decodeIfPresent(Int.self, forKey: .tokensPerSecond) ?? 2
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        let rope = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        if let type = rope?.rope_type, type != "axial" && type != "default" {
            throw ModelConfigurationError.inconsistent("vision rope_type '\(type)' is not supported (only 'axial')")
        }
        ropeTheta = rope?.rope_theta ?? 10_000
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(depth, forKey: .depth); try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize); try c.encode(numHeads, forKey: .numHeads)
        try c.encode(outHiddenSize, forKey: .outHiddenSize); try c.encode(patchSize, forKey: .patchSize)
        try c.encode(spatialMergeSize, forKey: .spatialMergeSize); try c.encode(temporalPatchSize, forKey: .temporalPatchSize)
        try c.encode(windowSize, forKey: .windowSize); try c.encode(fullAttentionBlocks, forKey: .fullAttentionBlocks)
        try c.encode(inChannels, forKey: .inChannels); try c.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(RopeParameters(rope_theta: ropeTheta, rope_type: "axial"), forKey: .ropeParameters)
    }

    /// Keys of `Qwen2_5_VLVisionConfig` (used, or without effect here).
    public static let knownKeys: Set<String> = [
        "depth", "hidden_size", "intermediate_size", "num_heads", "out_hidden_size", "patch_size", "spatial_merge_size",
        "temporal_patch_size", "window_size", "fullatt_block_indexes", "in_channels", "in_chans", "tokens_per_second",
        "hidden_act", "rope_parameters", "spatial_patch_size", "initializer_range",
    ]

    /// Per-head width.
    public var headDim: Int { hiddenSize / numHeads }
    /// Values of one flattened patch: C · temporal · patch · patch (1176 for the real model).
    public var patchValues: Int { inChannels * temporalPatchSize * patchSize * patchSize }

    public func validate() throws {
        guard hiddenAct == "silu" else {
            throw ModelConfigurationError.inconsistent("vision hidden_act '\(hiddenAct)' is not supported (only 'silu')")
        }
        guard numHeads > 0, hiddenSize % numHeads == 0, headDim % 4 == 0 else {
            throw ModelConfigurationError.inconsistent("vision head width \(hiddenSize)/\(numHeads) must be a multiple of 4 (2-D rotary)")
        }
        guard windowSize % (spatialMergeSize * patchSize) == 0, windowSize >= spatialMergeSize * patchSize else {
            throw ModelConfigurationError.inconsistent(
                "window_size \(windowSize) must be a multiple of spatial_merge_size·patch_size = \(spatialMergeSize * patchSize)")
        }
        if let bad = fullAttentionBlocks.first(where: { $0 < 0 || $0 >= depth }) {
            throw ModelConfigurationError.inconsistent("fullatt_block_indexes has \(bad), outside 0..<\(depth)")
        }
    }
}
