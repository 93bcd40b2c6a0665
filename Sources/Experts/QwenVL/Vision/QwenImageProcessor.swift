import Foundation
import UniRLTensor

/// Problems with an image given to the processor.
public enum ImageProcessingError: Error, CustomStringConvertible, Equatable {
    case aspectRatio(width: Int, height: Int)
    case empty(width: Int, height: Int)

    public var description: String {
        switch self {
        case .aspectRatio(let w, let h): "image \(w)×\(h): the aspect ratio must be below 200"
        case .empty(let w, let h): "image \(w)×\(h) has no pixels"
        }
    }
}

/// Qwen2-VL / Qwen2.5-VL's image processor (transformers' `Qwen2VLImageProcessorPil`,
/// models/qwen2_vl/image_processing_pil_qwen2_vl.py): resize so both sides are multiples of
/// patch·merge (28) with the pixel count in [minPixels, maxPixels] (Pillow bicubic), scale to
/// [0, 1], normalise with the CLIP mean and std, and flatten into patches of
/// C × temporal × patch × patch values, merge blocks of m×m patches kept together, the frame
/// repeated `temporalPatchSize` times.
public struct QwenImageProcessor: Sendable {
    public var patchSize = 14
    public var temporalPatchSize = 2
    public var mergeSize = 2
    public var minPixels = 56 * 56
    public var maxPixels = 28 * 28 * 1280
    public var mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public var std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public init(patchSize: Int = 14, temporalPatchSize: Int = 2, mergeSize: Int = 2,
                minPixels: Int = 56 * 56, maxPixels: Int = 28 * 28 * 1280) {
        self.patchSize = patchSize; self.temporalPatchSize = temporalPatchSize; self.mergeSize = mergeSize
        self.minPixels = minPixels; self.maxPixels = maxPixels
    }

    /// The processor for a vision tower's settings.
    public init(_ c: QwenVisionConfiguration) {
        self.init(patchSize: c.patchSize, temporalPatchSize: c.temporalPatchSize, mergeSize: c.spatialMergeSize)
    }

    /// transformers' `smart_resize`: (height, width) after resizing. Python's `round` rounds
    /// halves to even, and so does this.
    public func targetSize(height: Int, width: Int) throws -> (height: Int, width: Int) {
        guard height > 0, width > 0 else { throw ImageProcessingError.empty(width: width, height: height) }
        guard Double(max(height, width)) / Double(min(height, width)) <= 200 else {
            throw ImageProcessingError.aspectRatio(width: width, height: height)
        }
        let f = Double(patchSize * mergeSize), h = Double(height), w = Double(width)
        var hBar = (h / f).rounded(.toNearestOrEven) * f, wBar = (w / f).rounded(.toNearestOrEven) * f
        if hBar * wBar > Double(maxPixels) {
            let beta = ((h * w) / Double(maxPixels)).squareRoot()
            hBar = max(f, (h / beta / f).rounded(.down) * f)
            wBar = max(f, (w / beta / f).rounded(.down) * f)
        } else if hBar * wBar < Double(minPixels) {
            let beta = (Double(minPixels) / (h * w)).squareRoot()
            hBar = (h * beta / f).rounded(.up) * f
            wBar = (w * beta / f).rounded(.up) * f
        }
        return (Int(hBar), Int(wBar))
    }

    /// The processed image: patches [h·w, 3·temporal·patch·patch] and grid (1, h, w).
    public func callAsFunction(_ image: RGBImage) throws -> ProcessedImage {
        let size = try targetSize(height: image.height, width: image.width)
        let resized = BicubicResampler.resize(image, width: size.width, height: size.height)
        let (p, m, tp) = (patchSize, mergeSize, temporalPatchSize)
        let gh = size.height / p, gw = size.width / p
        let values = 3 * tp * p * p
        var out = [Float](repeating: 0, count: gh * gw * values)
        // Per channel: x/255 then (x − mean)/std, in float32 as numpy does.
        let scale = Float(1.0 / 255.0)
        var row = 0
        for bh in 0..<(gh / m) { for bw in 0..<(gw / m) { for ih in 0..<m { for iw in 0..<m {
            let py0 = (bh * m + ih) * p, px0 = (bw * m + iw) * p
            for c in 0..<3 {
                for t in 0..<tp {
                    for y in 0..<p {
                        for x in 0..<p {
                            let v = Float(resized.pixels[((py0 + y) * size.width + px0 + x) * 3 + c]) * scale
                            out[row * values + ((c * tp + t) * p + y) * p + x] = (v - mean[c]) / std[c]
                        }
                    }
                }
            }
            row += 1
        } } } }
        return ProcessedImage(pixelValues: Tensor(shape: [gh * gw, values], scalars: out), grid: (1, gh, gw))
    }
}
