import UniRLCore
import UniRLTensor

/// The size of an image's JPEG file in kilobytes (bytes / 1000) at a fixed quality, as
/// ddpo-pytorch's `jpeg_incompressibility` (ddpo_pytorch/rewards.py: PIL, quality 95, 4:2:0).
public func jpegKilobytes(_ image: RGBImage, quality: Int = 95) throws -> Float {
    Float(try image.jpegData(quality: quality, subsampling: .chroma420).count) / 1000
}

/// Rewards images whose JPEG files are small: −(JPEG size in kB). The paper's sanity check:
/// RL should make the images simpler.
public struct JPEGCompressibilityReward: RewardFunction {
    public let name = "jpeg_compressibility"
    public var quality: Int
    public init(quality: Int = 95) { self.quality = quality }

    public func scores(for batch: [RGBImage]) async throws -> [Float?] {
        try batch.map { -(try jpegKilobytes($0, quality: quality)) }
    }
}

/// Rewards images whose JPEG files are large: +(JPEG size in kB); RL should add detail.
public struct JPEGIncompressibilityReward: RewardFunction {
    public let name = "jpeg_incompressibility"
    public var quality: Int
    public init(quality: Int = 95) { self.quality = quality }

    public func scores(for batch: [RGBImage]) async throws -> [Float?] {
        try batch.map { try jpegKilobytes($0, quality: quality) }
    }
}
