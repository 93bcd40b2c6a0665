import UniRLCore
import UniRLExperts
import UniRLTensor

/// An image with the text it should show (the input of ``CLIPScore``).
public struct CaptionedImage: Sendable {
    public var image: RGBImage
    public var caption: String
    public init(image: RGBImage, caption: String) { self.image = image; self.caption = caption }
}

/// An image and the image it is compared with (the input of ``CLIPImageSimilarity``).
public struct ImagePair: Sendable {
    public var image: RGBImage
    public var reference: RGBImage
    public init(image: RGBImage, reference: RGBImage) { self.image = image; self.reference = reference }
}

/// An edit: the source image and its caption, the edited image and the caption it should match
/// (the input of ``CLIPDirection``).
public struct ImageEdit: Sendable {
    public var source: RGBImage
    public var edited: RGBImage
    public var sourceCaption: String
    public var targetCaption: String
    public init(source: RGBImage, edited: RGBImage, sourceCaption: String, targetCaption: String) {
        self.source = source; self.edited = edited; self.sourceCaption = sourceCaption; self.targetCaption = targetCaption
    }
}

/// Cosine similarities of unit rows: row i of `a` with row i of `b`.
func rowDots(_ a: Tensor, _ b: Tensor) -> [Float] {
    (a * b).sum(axis: -1).scalars
}

/// CLIP score (Hessel et al. 2021): `scale` · cos(E_img(image), E_txt(caption)) on any CLIP
/// checkpoint, the whole batch embedded at once (each distinct caption once). `scale` 1 gives the raw
/// cosine; torchmetrics' `CLIPScore` reports 100 · max(cos, 0).
public struct CLIPScore: RewardFunction {
    public let name: String
    public let clip: CLIPEmbedder
    public var scale: Float

    public init(clip: CLIPEmbedder, scale: Float = 1, name: String = "clip_score") {
        self.clip = clip; self.scale = scale; self.name = name
    }

    public func scores(for batch: [CaptionedImage]) async throws -> [Float?] {
        guard !batch.isEmpty else { return [] }
        let distinct = Array(Set(batch.map(\.caption))).sorted()
        let index = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
        let texts = try clip.textEmbeddings(distinct).indexSelect(axis: 0, batch.map { index[$0.caption]! })
        let images = try clip.imageEmbeddings(batch.map(\.image))
        return rowDots(images, texts).map { scale * $0 }
    }
}

/// CLIP-I: cos(E_img(image), E_img(reference)), as the editing benchmarks use it to measure how much
/// of the source an edit keeps.
public struct CLIPImageSimilarity: RewardFunction {
    public let name: String
    public let clip: CLIPEmbedder

    public init(clip: CLIPEmbedder, name: String = "clip_i") { self.clip = clip; self.name = name }

    public func scores(for batch: [ImagePair]) async throws -> [Float?] {
        guard !batch.isEmpty else { return [] }
        let e = try clip.imageEmbeddings(batch.map(\.image) + batch.map(\.reference))
        return rowDots(e.slice(axis: 0, 0..<batch.count), e.slice(axis: 0, batch.count..<(2 * batch.count)))
    }
}

/// CLIP directional similarity (Gal et al. 2021, StyleGAN-NADA; used by InstructPix2Pix):
/// cos(E_img(edited) − E_img(source), E_txt(target caption) − E_txt(source caption)). An edit that
/// changes nothing, or captions that embed alike, have no direction: the score is 0.
public struct CLIPDirection: RewardFunction {
    public let name: String
    public let clip: CLIPEmbedder

    public init(clip: CLIPEmbedder, name: String = "clip_direction") { self.clip = clip; self.name = name }

    public func scores(for batch: [ImageEdit]) async throws -> [Float?] {
        guard !batch.isEmpty else { return [] }
        let n = batch.count
        let images = try clip.imageEmbeddings(batch.map(\.source) + batch.map(\.edited))
        let texts = try clip.textEmbeddings(batch.map(\.sourceCaption) + batch.map(\.targetCaption))
        let di = (images.slice(axis: 0, n..<(2 * n)) - images.slice(axis: 0, 0..<n)).scalars
        let dt = (texts.slice(axis: 0, n..<(2 * n)) - texts.slice(axis: 0, 0..<n)).scalars
        let p = images.shape[1]
        return (0..<n).map { i in
            var dot: Float = 0, ni: Float = 0, nt: Float = 0
            for k in 0..<p {
                let a = di[i * p + k], b = dt[i * p + k]
                dot += a * b; ni += a * a; nt += b * b
            }
            let norm = (ni * nt).squareRoot()
            return norm > 1e-12 ? dot / norm : 0
        }
    }
}
